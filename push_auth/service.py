"""Push authentication: activation, challenges with picture matching, answers, renewal, revocation.

Rules (issue #3 and the manual): one active device per user; activation codes ≥ 112 bits,
single use, 10 minutes; challenges live 120 s, are answered at most once, and at most one is
pending per user; unanswered, denied and failed challenges back off pushes for that user
(10 s doubling to 1 h); "not me" suspends the device; certificates last two years, an expired
one cannot approve but can renew; revocation takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from cryptography import x509

from push_auth import pictures, protocol
from push_auth.ca import CertificateAuthority, Issued
from push_auth.errors import PushError, bad_request, forbidden, unauthorized
from push_auth.models import Challenge, Device
from push_auth.notifier import Notifier
from push_auth.ports import Clock, Devices, Enrolment, Ephemeral, Events, Wakeup

log = logging.getLogger(__name__)
ACTIVATION_TTL = 600
CHALLENGE_TTL = 120
BACKOFF_START = 10
BACKOFF_MAX = 3600
DEVICE_AMR = ("pin", "face", "fpt")
ACTIONS = ("approve", "deny", "not_me")


@dataclass(frozen=True)
class Activation:
    code: str
    expires_at: int
    qr_text: str


@dataclass(frozen=True)
class PushConfig:
    audience: str  # the device API base URL, e.g. https://idp.example/push/v1
    mode: str = "sequence"  # sequence | compare
    certificate_days: int = 730  # the manual's two years


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class PushAuth:
    def __init__(
        self,
        devices: Devices,
        ephemeral: Ephemeral,
        ca: CertificateAuthority,
        events: Events,
        wakeup: Wakeup,
        notifier: Notifier,
        config: PushConfig,
        clock: Clock,
        enrolment: Enrolment,
    ) -> None:
        self.devices = devices
        self.ephemeral = ephemeral
        self.ca = ca
        self.events = events
        self.wakeup = wakeup
        self.notifier = notifier
        self.config = config
        self.clock = clock
        self.enrolment = enrolment

    # -- activation ----------------------------------------------------------------------
    def start_activation(self, user_id: str) -> Activation:
        """A new one-time activation code; a code given earlier to this user stops working.
        The host's lifecycle decides whether this user may enrol a device at all."""
        self.enrolment.check(user_id)
        previous = self.ephemeral.get("act-user:" + user_id)
        if previous and previous.get("code"):
            self.ephemeral.delete("act:" + _digest(str(previous["code"])))
        code = secrets.token_urlsafe(18)  # 144 bits
        expires = int(time.time()) + ACTIVATION_TTL
        self.ephemeral.put("act:" + _digest(code), {"user_id": user_id}, ACTIVATION_TTL)
        self.ephemeral.put(
            "act-user:" + user_id,
            {"status": "pending", "expires": expires, "code": code},
            ACTIVATION_TTL + 60,
        )
        self.events.record("device.activation_started", subject=user_id)
        return self._activation(code, expires)

    def _activation(self, code: str, expires: int) -> Activation:
        return Activation(
            code, expires, f"softtoken://activate?server={self.config.audience}&code={code}"
        )

    def current_activation(self, user_id: str) -> Activation | None:
        """The user's activation code while it is pending and valid (for the desktop page)."""
        record = self.ephemeral.get("act-user:" + user_id)
        if not record or record["status"] != "pending" or record["expires"] <= time.time():
            return None
        return self._activation(str(record["code"]), int(record["expires"]))

    def activation_status(self, user_id: str) -> str:
        record = self.ephemeral.get("act-user:" + user_id)
        if record is None:
            return "none"
        if record["status"] == "pending" and record["expires"] < time.time():
            return "expired"
        return str(record["status"])

    def activate(self, token: str, path: str) -> dict[str, Any]:
        _header, unverified = protocol.peek(token)
        csr_pem = unverified.get("csr")
        if not isinstance(csr_pem, str):
            raise bad_request("invalid_request", "ไม่มีคำขอใบรับรอง", "csr is missing")
        try:
            key = x509.load_pem_x509_csr(csr_pem.encode()).public_key()
        except ValueError as exc:
            raise bad_request("invalid_csr", "คำขอใบรับรองไม่ถูกต้อง", "the CSR is not valid") from exc
        claims = protocol.verify(token, key, protocol.REQUEST_TYP)  # type: ignore[arg-type]
        self._check_fresh(claims, "activation", "POST", path)
        code = claims.get("code")
        record = self.ephemeral.consume("act:" + _digest(str(code))) if code else None
        if record is None:
            raise forbidden(
                "invalid_activation_code",
                "รหัสเปิดใช้งานไม่ถูกต้อง ใช้ไปแล้ว หรือหมดอายุ",
                "the activation code is wrong, used or expired",
            )
        user_id = str(record["user_id"])
        self.enrolment.check(user_id)  # again: the account may have changed since the code
        device_id = secrets.token_urlsafe(16)
        issued = self._issue(csr_pem, user_id, device_id)
        meta = claims.get("device") if isinstance(claims.get("device"), dict) else {}
        assert isinstance(meta, dict)
        poll_key = claims.get("poll_key")
        if not isinstance(poll_key, str) or "PUBLIC KEY" not in poll_key:
            raise bad_request("invalid_request", "ไม่มีกุญแจสำหรับรับคำขอ", "poll_key (PEM) is missing")
        device = Device(
            poll_public_key_pem=poll_key,
            device_id=device_id,
            user_id=user_id,
            status="active",
            public_key_pem=issued.public_key_pem,
            certificate_pem=issued.certificate_pem,
            serial=issued.serial,
            not_before=issued.not_before,
            not_after=issued.not_after,
            platform=str(meta.get("platform", ""))[:40],
            model=str(meta.get("model", ""))[:100],
            name=str(meta.get("name", ""))[:100],
            app_version=str(meta.get("app_version", ""))[:40],
            biometrics=bool(meta.get("biometrics", False)),
            push_token=str(meta["push_token"])[:500] if meta.get("push_token") else None,
            created_at=self.clock.now(),
        )
        self.devices.add(device)
        try:  # the device is recorded: the host's own bookkeeping must not undo the activation
            self.enrolment.enrolled(user_id)
        except Exception:
            log.exception("the host could not record the enrolment of %s", device_id)
        self.ephemeral.put(
            "act-user:" + user_id, {"status": "activated", "expires": 0}, ACTIVATION_TTL
        )
        self.events.record(
            "device.activate",
            subject=user_id,
            device_id=device_id,
            model=device.model,
            platform=device.platform,
        )
        return {
            "device_id": device_id,
            "certificate": issued.certificate_pem,
            "ca_certificate": self.ca.certificate_pem,
            "challenge_public_key": self.ca.challenge_public_pem(),
            "not_after": int(issued.not_after.timestamp()),
            "api": self.config.audience,
        }

    def _issue(self, csr_pem: str, user_id: str, device_id: str) -> Issued:
        validity = timedelta(days=self.config.certificate_days)
        return self.ca.issue(csr_pem, user_id, device_id, self.clock.now(), validity)

    # -- authenticating device requests --------------------------------------------------
    def _check_fresh(self, claims: dict[str, Any], who: str, method: str, path: str) -> None:
        protocol.check_request_claims(claims, self.config.audience, method, path)
        if not self.ephemeral.add(f"device-jti:{who}:{claims['jti']}", {}, protocol.JTI_TTL):
            raise unauthorized("คำขอนี้ถูกใช้ไปแล้ว", "this request (jti) was already used")

    def authenticate(
        self,
        token: str,
        method: str,
        path: str,
        allow_expired: bool = False,
        poll_key_allowed: bool = False,
    ) -> tuple[Device, dict[str, Any]]:
        """The device that signed this request, after every check; raise PushError otherwise.

        `kid` is DEVICE_ID (the certificate's key, unlocked by the PIN on the device) or
        DEVICE_ID#poll (the polling key: reading challenges and status, and denying)."""
        header, _ = protocol.peek(token)
        device_id, _, key_name = str(header.get("kid", "")).partition("#")
        device = self.devices.get(device_id)
        if device is None:
            raise unauthorized("ไม่รู้จักอุปกรณ์นี้", "unknown device")
        used_next_key = False
        if key_name == "poll":
            if not poll_key_allowed or device.poll_public_key_pem is None:
                raise unauthorized("ต้องยืนยันด้วย PIN", "this request needs the device key")
            claims = protocol.verify(token, device.poll_public_key_pem, protocol.REQUEST_TYP)
            claims["_key"] = "poll"
        else:
            claims, used_next_key = self._verify_with_device_keys(token, device)
            claims["_key"] = "device"
        self._check_fresh(claims, device.device_id, method, path)
        if device.status == "revoked" or device.status == "replaced":
            raise forbidden(
                "device_revoked", "Soft Token ของเครื่องนี้ถูกยกเลิกแล้ว", "this device has been revoked"
            )
        if used_next_key:
            self._promote_renewed_key(device)
        elif device.expired(self.clock.now()) and not allow_expired:
            raise forbidden(
                "certificate_expired",
                "ใบรับรองหมดอายุ กรุณาต่ออายุ (Update Profile)",
                "the certificate has expired: renew it (Update Profile)",
            )
        return device, claims

    @staticmethod
    def _verify_with_device_keys(token: str, device: Device) -> tuple[dict[str, Any], bool]:
        try:
            return protocol.verify(token, device.public_key_pem, protocol.REQUEST_TYP), False
        except PushError:
            if device.next_public_key_pem is None:
                raise
            return protocol.verify(token, device.next_public_key_pem, protocol.REQUEST_TYP), True

    def _promote_renewed_key(self, device: Device) -> None:
        """The new key has been used: it becomes the device's key; the old certificate is void."""
        old_serial = device.serial
        assert device.next_public_key_pem
        assert device.next_certificate_pem
        assert device.next_serial
        assert device.next_not_after is not None
        device.public_key_pem = device.next_public_key_pem
        device.certificate_pem = device.next_certificate_pem
        device.serial = device.next_serial
        device.not_after = device.next_not_after
        device.not_before = self.clock.now()
        device.next_public_key_pem = device.next_certificate_pem = device.next_serial = None
        device.next_not_after = None
        self.devices.update(device)
        self.events.record(
            "device.certificate_renewed",
            subject=device.user_id,
            device_id=device.device_id,
            revoked_serial=old_serial,
            serial=device.serial,
        )

    # -- challenges ----------------------------------------------------------------------
    def start_challenge(self, user_id: str, context: dict[str, Any]) -> Challenge:
        device = self.devices.active_for(user_id)
        if device is None:
            raise forbidden("no_device", "ยังไม่ได้ลงทะเบียน Soft Token", "no active device")
        if device.status != "active":
            raise forbidden(
                "device_suspended",
                "ระงับการส่งคำขออนุมัติชั่วคราว กรุณาติดต่อเจ้าหน้าที่",
                "pushes to this device are suspended: contact an officer",
            )
        if device.expired(self.clock.now()):
            raise forbidden(
                "certificate_expired",
                "ใบรับรองหมดอายุ กรุณาต่ออายุในแอป",
                "the device certificate has expired",
            )
        now = int(time.time())
        backoff = self.ephemeral.get("push-backoff:" + user_id) or {}
        if backoff.get("until", 0) > now:
            wait = int(backoff["until"] - now)
            raise PushError(
                "push_backoff",
                f"กรุณารอ {wait} วินาทีก่อนส่งคำขออนุมัติใหม่",
                f"please wait {wait} s before another push",
                429,
            )
        previous = self.ephemeral.get("chal-pending:" + user_id)
        if previous is not None:
            self._end_unanswered(str(previous["cid"]), "superseded")
        length = pictures.SEQUENCE_LENGTH if self.config.mode == "sequence" else 1
        challenge = Challenge(
            challenge_id=secrets.token_urlsafe(16),
            user_id=user_id,
            device_id=device.device_id,
            mode=self.config.mode,
            pictures=pictures.random_sequence(length),
            created=now,
            expires=now + CHALLENGE_TTL,
            context=context,
        )
        self._save(challenge)
        self.ephemeral.put("chal-open:" + challenge.challenge_id, {}, CHALLENGE_TTL)
        self.ephemeral.put(
            "chal-pending:" + user_id, {"cid": challenge.challenge_id}, CHALLENGE_TTL
        )
        self.events.record(
            "push.challenge",
            subject=user_id,
            device_id=device.device_id,
            challenge_id=challenge.challenge_id,
            client=context.get("client"),
        )
        self.wakeup.notify(device.device_id)
        self.notifier.wake(device)
        return challenge

    def _save(self, challenge: Challenge) -> None:
        self.ephemeral.put(
            "chal:" + challenge.challenge_id, asdict(challenge), CHALLENGE_TTL * 2 + 60
        )

    def challenge(self, challenge_id: str) -> Challenge | None:
        """The challenge as the browser sees it; a pending one past its time becomes expired."""
        data = self.ephemeral.get("chal:" + challenge_id) if len(challenge_id) < 64 else None
        if data is None:
            return None
        challenge = Challenge(**data)
        if challenge.status == "pending" and challenge.expires <= time.time():
            challenge = self._end_unanswered(challenge_id, "expired") or challenge
        return challenge

    def _end_unanswered(self, challenge_id: str, status: str) -> Challenge | None:
        if self.ephemeral.consume("chal-open:" + challenge_id) is None and status != "expired":
            return None
        data = self.ephemeral.get("chal:" + challenge_id)
        if data is None or data["status"] != "pending":
            return None
        challenge = Challenge(**data)
        challenge.status = "expired"
        self._save(challenge)
        self.ephemeral.delete("chal-pending:" + challenge.user_id)
        self._back_off(challenge.user_id)
        self.events.record(
            "push.unanswered",
            subject=challenge.user_id,
            outcome="failure",
            challenge_id=challenge_id,
            reason=status,
        )
        return challenge

    def _back_off(self, user_id: str) -> None:
        key = "push-backoff:" + user_id
        level = int((self.ephemeral.get(key) or {}).get("level", 0)) + 1
        wait = min(BACKOFF_MAX, BACKOFF_START * 2 ** (level - 1))
        self.ephemeral.put(key, {"level": level, "until": int(time.time()) + wait}, 86_400)

    def pending_challenge_token(self, device: Device) -> str | None:
        """The signed challenge waiting for this device, if any (what the long-poll returns)."""
        pointer = self.ephemeral.get("chal-pending:" + device.user_id)
        if pointer is None:
            return None
        challenge = self.challenge(str(pointer["cid"]))
        if challenge is None or challenge.status != "pending":
            return None
        if challenge.device_id != device.device_id:
            return None
        claims: dict[str, Any] = {
            "iss": self.config.audience,
            "aud": device.device_id,
            "cid": challenge.challenge_id,
            "iat": challenge.created,
            "exp": challenge.expires,
            "mode": challenge.mode,
            "context": challenge.context,
            "picture_count": len(challenge.pictures),
        }
        if challenge.mode == "compare":
            claims["pictures"] = challenge.pictures  # the manual's compare-and-approve only
        return protocol.sign(
            self.ca.challenge_key(), claims, protocol.CHALLENGE_TYP, kid="challenge"
        )

    def answer(self, device: Device, challenge_id: str, claims: dict[str, Any]) -> Challenge:
        """Apply the device's signed answer; exactly one answer per challenge wins."""
        challenge = self.challenge(challenge_id)
        if challenge is None or challenge.device_id != device.device_id:
            raise forbidden(
                "not_your_challenge",
                "ไม่พบคำขออนุมัตินี้สำหรับเครื่องนี้",
                "no such challenge for this device",
            )
        if claims.get("cid") != challenge_id or claims.get("action") not in ACTIONS:
            raise bad_request("invalid_answer", "คำตอบไม่ถูกต้อง", "cid or action is invalid")
        if claims["action"] == "approve" and claims.get("_key") != "device":
            raise forbidden(
                "pin_required",
                "การอนุมัติต้องยืนยันด้วย PIN",
                "approvals must be signed by the PIN-protected device key",
            )
        if claims["action"] == "approve" and device.not_after <= self.clock.now():
            raise forbidden(
                "certificate_expired",
                "ใบรับรองหมดอายุ กรุณาต่ออายุ",
                "the certificate has expired: it cannot approve",
            )
        if challenge.expires <= time.time():
            raise PushError("challenge_expired", "คำขออนุมัติหมดเวลาแล้ว", "the challenge expired", 409)
        if self.ephemeral.consume("chal-open:" + challenge_id) is None:
            raise PushError(
                "challenge_closed", "คำขออนุมัตินี้ถูกตอบไปแล้ว", "the challenge was already answered", 409
            )
        self.ephemeral.delete("chal-pending:" + challenge.user_id)
        challenge.status = self._decide(challenge, device, claims)
        self._save(challenge)
        return challenge

    def _decide(self, challenge: Challenge, device: Device, claims: dict[str, Any]) -> str:
        action = claims["action"]
        if action == "not_me":
            device.status = "suspended"
            self.devices.update(device)
            return self._refuse(
                challenge,
                "push.not_me",
                "not_me",
                outcome="alert",
                device_id=device.device_id,
                ip=challenge.context.get("ip"),
            )
        if action == "deny":
            return self._refuse(challenge, "push.deny", "denied")
        if challenge.mode == "sequence" and not _same_pictures(
            claims.get("pictures"), challenge.pictures
        ):
            return self._refuse(challenge, "push.wrong_pictures", "failed")
        challenge.amr = [m for m in claims.get("amr", []) if m in DEVICE_AMR]
        user = challenge.user_id
        self.ephemeral.delete("push-backoff:" + user)
        self.events.record(
            "push.approve",
            subject=user,
            device_id=device.device_id,
            challenge_id=challenge.challenge_id,
            amr=challenge.amr,
        )
        return "approved"

    def _refuse(
        self, challenge: Challenge, event: str, status: str, outcome: str = "failure", **detail: Any
    ) -> str:
        """A challenge that did not end in approval: back off pushes and record why."""
        self._back_off(challenge.user_id)
        self.events.record(
            event,
            subject=challenge.user_id,
            outcome=outcome,
            challenge_id=challenge.challenge_id,
            **detail,
        )
        return status

    # -- renewal and revocation ----------------------------------------------------------
    def renew(self, device: Device, claims: dict[str, Any]) -> dict[str, Any]:
        """A new key's CSR, in a request signed by the old key: a certificate for the new key.
        The old certificate stays valid until the new key signs its first request."""
        csr_pem = claims.get("csr")
        if not isinstance(csr_pem, str):
            raise bad_request("invalid_request", "ไม่มีคำขอใบรับรอง", "csr is missing")
        issued = self._issue(csr_pem, device.user_id, device.device_id)
        device.next_public_key_pem = issued.public_key_pem
        device.next_certificate_pem = issued.certificate_pem
        device.next_serial = issued.serial
        device.next_not_after = issued.not_after
        self.devices.update(device)
        self.events.record(
            "device.renewal_issued",
            subject=device.user_id,
            device_id=device.device_id,
            serial=issued.serial,
        )
        return {
            "certificate": issued.certificate_pem,
            "not_after": int(issued.not_after.timestamp()),
        }

    def revoke(self, user_id: str, reason: str, actor: str) -> Device | None:
        device = self.devices.active_for(user_id)
        if device is None:
            return None
        device.status = "revoked"
        device.revoked_at = self.clock.now()
        device.revoke_reason = reason[:200]
        self.devices.update(device)
        pointer = self.ephemeral.consume("chal-pending:" + user_id)
        if pointer is not None:
            self.ephemeral.delete("chal-open:" + str(pointer["cid"]))
        self.ephemeral.delete("act-user:" + user_id)  # no "activated" left over on the page
        self.events.record(
            "device.revoke", subject=user_id, device_id=device.device_id, reason=reason, actor=actor
        )
        return device

    def lift_suspension(self, user_id: str, actor: str, note: str) -> Device:
        """After "not me", an officer who has called the user lets pushes reach the device
        again (the alternative is revoking it)."""
        device = self.devices.active_for(user_id)
        if device is None or device.status != "suspended":
            raise forbidden("not_suspended", "อุปกรณ์นี้ไม่ได้ถูกระงับ", "this device is not suspended")
        device.status = "active"
        self.devices.update(device)
        self.ephemeral.delete("push-backoff:" + user_id)
        self.events.record(
            "device.suspension_lifted",
            subject=user_id,
            device_id=device.device_id,
            actor=actor,
            note=note[:200],
        )
        return device


def _same_pictures(answer: Any, expected: list[int]) -> bool:
    if not isinstance(answer, list) or not all(isinstance(p, int) for p in answer):
        return False
    return hmac.compare_digest(bytes(p % 256 for p in answer), bytes(expected)) and len(
        answer
    ) == len(expected)
