"""Push challenges: one pending per user, 120 s on real time, answered at most once.

A challenge goes to the user's active device (not a suspended one, nor one past its
certificate), unless that user's pushes are backed off. The device fetches it signed by the
server's challenge key and answers in a signed request: an approval (PIN-protected device key
only, certificate valid) must carry the picture sequence the computer shows ("sequence" mode);
"deny" and "not me" may come from the polling key, and "not me" suspends the device.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from push_auth import pictures, protocol
from push_auth.backoff import PushBackoff
from push_auth.ca import CertificateAuthority
from push_auth.errors import PushError, bad_request, forbidden
from push_auth.models import Challenge, ChallengeMode, ChallengeStatus, Device, DeviceStatus
from push_auth.notifier import Notifier
from push_auth.ports import Clock, Devices, Ephemeral, Events, RealTime, Wakeup

log = logging.getLogger(__name__)
CHALLENGE_TTL = 120
APP_AMR = ("pin", "face", "fpt")  # what the softtoken app reports of how its key was unlocked
WEB_AMR = ("user",)  # a web device's assertion: presence and verification, checked here


class Answer(StrEnum):
    APPROVE = "approve"
    DENY = "deny"
    NOT_ME = "not_me"


@dataclass(frozen=True, kw_only=True)
class Challenges:
    devices: Devices
    ephemeral: Ephemeral
    ca: CertificateAuthority
    events: Events
    backoff: PushBackoff
    wakeup: Wakeup
    notifier: Notifier
    audience: str
    mode: ChallengeMode
    clock: Clock
    real_time: RealTime
    # told of every answer once it is saved (the host's CIBA pings); a failing one is logged
    listeners: list[Callable[[Challenge], None]] = field(default_factory=list)

    # -- the browser's side ------------------------------------------------------------------
    def start(
        self, user_id: str, context: dict[str, Any], mode: ChallengeMode | None = None
    ) -> Challenge:
        """A new challenge for the user's device (it replaces one still pending), and a wake-up;
        `mode` other than the deployment's: CIBA's (binding message, or pictures)."""
        device = self._pushable_device(user_id)
        self.backoff.check(user_id)
        previous = self.ephemeral.get("chal-pending:" + user_id)
        if previous is not None:
            self._end_unanswered(str(previous["cid"]), "superseded")
        now = int(self.real_time())
        mode = mode or self.mode
        length = {ChallengeMode.SEQUENCE: pictures.SEQUENCE_LENGTH, ChallengeMode.COMPARE: 1}
        challenge = Challenge(
            challenge_id=secrets.token_urlsafe(16),
            user_id=user_id,
            device_id=device.device_id,
            mode=mode,
            pictures=pictures.random_sequence(length[mode]) if mode in length else [],
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
        self.notifier.wake(device, challenge)
        return challenge

    def _pushable_device(self, user_id: str) -> Device:
        device = self.devices.active_for(user_id)
        if device is None:
            raise forbidden("no_device", "no active device")
        if device.status is not DeviceStatus.ACTIVE:
            raise forbidden(
                "device_suspended",
                "pushes to this device are suspended: contact an officer",
            )
        if device.expired(self.clock.now()):
            raise forbidden(
                "certificate_expired",
                "the device certificate has expired",
            )
        return device

    def get(self, challenge_id: str) -> Challenge | None:
        """The challenge as the browser sees it; a pending one past its time becomes expired."""
        data = self.ephemeral.get("chal:" + challenge_id) if len(challenge_id) < 64 else None
        if data is None:
            return None
        challenge = Challenge(**data)
        if challenge.status is ChallengeStatus.PENDING and challenge.expires <= self.real_time():
            challenge = self._end_unanswered(challenge_id, "expired") or challenge
        return challenge

    def withdraw(self, user_id: str) -> None:
        """No challenge of this user stays answerable (the device was revoked)."""
        pointer = self.ephemeral.consume("chal-pending:" + user_id)
        if pointer is not None:
            self.ephemeral.delete("chal-open:" + str(pointer["cid"]))

    # -- the device's side -------------------------------------------------------------------
    def pending_token(self, device: Device) -> str | None:
        """The signed challenge waiting for this device, if any (what the long-poll returns)."""
        pointer = self.ephemeral.get("chal-pending:" + device.user_id)
        if pointer is None:
            return None
        challenge = self.get(str(pointer["cid"]))
        if challenge is None or challenge.status is not ChallengeStatus.PENDING:
            return None
        if challenge.device_id != device.device_id:
            return None
        claims: dict[str, Any] = {
            "iss": self.audience,
            "aud": device.device_id,
            "cid": challenge.challenge_id,
            "iat": challenge.created,
            "exp": challenge.expires,
            "mode": challenge.mode,
            "context": challenge.context,
            "picture_count": len(challenge.pictures),
        }
        if challenge.mode is ChallengeMode.COMPARE:
            claims["pictures"] = challenge.pictures  # the manual's compare-and-approve only
        try:  # the key this device pinned at activation, whichever is newest now
            key = self.ca.challenge_key_of(device.challenge_key_id)
        except KeyError as exc:
            raise forbidden(
                "challenge_key_retired",
                "the challenge key this device pinned was retired: activate it again",
            ) from exc
        return protocol.sign(key, claims, protocol.CHALLENGE_TYP, kid="challenge")

    def answer(self, device: Device, challenge_id: str, claims: dict[str, Any]) -> Challenge:
        """Apply the device's signed answer; exactly one answer per challenge wins."""
        challenge = self.get(challenge_id)
        if challenge is None or challenge.device_id != device.device_id:
            raise forbidden(
                "not_your_challenge",
                "no such challenge for this device",
            )
        action = _answer_of(claims, challenge_id)
        if action is Answer.APPROVE:
            self._check_may_approve(device, claims)
            _check_details(challenge, claims)
        if challenge.expires <= self.real_time():
            raise PushError("challenge_expired", "the challenge expired", 409)
        if self.ephemeral.consume("chal-open:" + challenge_id) is None:
            raise PushError("challenge_closed", "the challenge was already answered", 409)
        self.ephemeral.delete("chal-pending:" + challenge.user_id)
        challenge.status = self._decide(challenge, device, action, claims)
        self._save(challenge)
        self._tell(challenge)
        return challenge

    def _tell(self, challenge: Challenge) -> None:
        for listener in self.listeners:
            try:
                listener(challenge)
            except Exception:  # the answer stands; a listener's fault is its own
                log.exception("a listener failed on challenge %s", challenge.challenge_id)

    def _check_may_approve(self, device: Device, claims: dict[str, Any]) -> None:
        """Before the challenge is spent: a malformed approval leaves it open."""
        reported = claims.get("amr", [])
        if not isinstance(reported, list) or not all(isinstance(m, str) for m in reported):
            raise bad_request(
                "invalid_amr",
                "amr must be a list of strings",
            )
        if claims.get("_key") != "device":
            raise forbidden(
                "pin_required",
                "approvals must be signed by the PIN-protected device key",
            )
        if device.not_after <= self.clock.now():
            raise forbidden(
                "certificate_expired",
                "the certificate has expired: it cannot approve",
            )

    def _decide(
        self, challenge: Challenge, device: Device, action: Answer, claims: dict[str, Any]
    ) -> ChallengeStatus:
        if action is Answer.NOT_ME:
            device.status = DeviceStatus.SUSPENDED
            self.devices.update(device)
            self._refuse(
                challenge,
                "push.not_me",
                outcome="alert",
                device_id=device.device_id,
                ip=challenge.context.get("ip"),
            )
            return ChallengeStatus.NOT_ME
        if action is Answer.DENY:
            self._refuse(challenge, "push.deny")
            return ChallengeStatus.DENIED
        if challenge.mode is ChallengeMode.SEQUENCE and not _same_pictures(
            claims.get("pictures"), challenge.pictures
        ):
            self._refuse(challenge, "push.wrong_pictures")
            return ChallengeStatus.FAILED
        allowed = WEB_AMR if device.credential_id else APP_AMR
        challenge.amr = [m for m in claims.get("amr", []) if m in allowed]
        if challenge.context.get("details_sha256"):
            challenge.receipt = claims.get("_receipt")
        self.backoff.clear(challenge.user_id)
        self.events.record(
            "push.approve",
            subject=challenge.user_id,
            device_id=device.device_id,
            challenge_id=challenge.challenge_id,
            amr=challenge.amr,
        )
        return ChallengeStatus.APPROVED

    # -- endings that are not an approval ----------------------------------------------------
    def _refuse(
        self, challenge: Challenge, event: str, outcome: str = "failure", **detail: Any
    ) -> None:
        """A challenge that did not end in approval: back off pushes and record why."""
        self.backoff.increase(challenge.user_id)
        self.events.record(
            event,
            subject=challenge.user_id,
            outcome=outcome,
            challenge_id=challenge.challenge_id,
            **detail,
        )

    def _end_unanswered(self, challenge_id: str, reason: str) -> Challenge | None:
        """Expire a pending challenge that ran out of time or was replaced (`reason`); the user's
        pushes back off as for a refusal. A replaced one ends only if still open."""
        if self.ephemeral.consume("chal-open:" + challenge_id) is None and reason != "expired":
            return None
        data = self.ephemeral.get("chal:" + challenge_id)
        if data is None or data["status"] != ChallengeStatus.PENDING:
            return None
        challenge = Challenge(**data)
        challenge.status = ChallengeStatus.EXPIRED
        self._save(challenge)
        self.ephemeral.delete("chal-pending:" + challenge.user_id)
        self._refuse(challenge, "push.unanswered", reason=reason)
        return challenge

    def _save(self, challenge: Challenge) -> None:
        self.ephemeral.put(
            "chal:" + challenge.challenge_id, asdict(challenge), CHALLENGE_TTL * 2 + 60
        )


def _answer_of(claims: dict[str, Any], challenge_id: str) -> Answer:
    action = claims.get("action")
    if claims.get("cid") != challenge_id or action not in tuple(Answer):
        raise bad_request("invalid_answer", "cid or action is invalid")
    return Answer(action)


def _check_details(challenge: Challenge, claims: dict[str, Any]) -> None:
    """A challenge that carries authorization details is approved only with a signature over
    their digest (push_auth.receipts); otherwise it stays open."""
    expected = challenge.context.get("details_sha256")
    if expected and not hmac.compare_digest(str(claims.get("details_sha256", "")), expected):
        raise bad_request(
            "details_mismatch",
            "the approval must sign the authorization details shown (details_sha256)",
        )


def _same_pictures(answer: Any, expected: list[int]) -> bool:
    if not isinstance(answer, list) or not all(isinstance(p, int) for p in answer):
        return False
    same = hmac.compare_digest(bytes(p % 256 for p in answer), bytes(expected))
    return same and len(answer) == len(expected)
