"""The web authenticator's device key: a WebAuthn credential of the phone's platform
authenticator, used for what the softtoken app's PIN-protected key does.

- Activation (manual 2.5): the activation code's user gets creation options; the credential
  made with them becomes the device (a certificate from the internal CA for its key), once the
  code is used and the lifecycle allows it. The page's polling key (WebCrypto, non-extractable)
  is recorded beside it.
- Approval: an assertion whose challenge is the hash of the server's challenge ID and the
  pictures tapped (`ceremony.approval_challenge`), with user verification; then the challenge
  is answered as any device's approval (one answer wins, the pictures are compared).
- Renewal and cancellation (chapters 5 and 6): a single-use challenge (asked for with the
  polling key), an assertion by the current credential over it; renewal registers the new
  credential over the same challenge and it replaces the old one at once.

Every refusal is audited (`device.webauthn_refused`) and changes nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes

from push_auth import pictures
from push_auth.activation import Activations
from push_auth.ca import public_pem
from push_auth.certificates import DeviceCertificates
from push_auth.challenges import Challenges
from push_auth.device_auth import ENDED
from push_auth.errors import PushError, bad_request, forbidden, unauthorized
from push_auth.models import Challenge, Device, DeviceStatus
from push_auth.ports import Clock, Devices, Ephemeral, Events
from push_auth.receipts import webauthn_receipt
from push_auth.webapp.ceremony import RelyingParty, approval_challenge, new_challenge

CEREMONY_TTL = 300
WEB_PLATFORM = "web"


class Purpose(StrEnum):
    """What a single-use challenge asked for with the polling key may be used for."""

    RENEW = "renew"
    CANCEL = "cancel"


@dataclass(frozen=True, kw_only=True)
class WebDeviceKey:
    devices: Devices
    ephemeral: Ephemeral
    activations: Activations
    certificates: DeviceCertificates
    challenges: Challenges
    events: Events
    party: RelyingParty
    audience: str
    clock: Clock

    # -- activation --------------------------------------------------------------------------
    def activation_options(self, code: object) -> dict[str, Any]:
        """Creation options for the user of this activation code (the code stays unused)."""
        user_id = self.activations.code_user(code)
        challenge = new_challenge()
        self.ephemeral.put(_ceremony_key(code), {"challenge": challenge}, CEREMONY_TTL)
        return {"publicKey": self.party.creation_options(user_id, challenge)}

    def activate(self, code: object, credential: Any, poll_key: Any, meta: Any) -> dict[str, Any]:
        """The credential made with this code's options becomes the user's device."""
        user_id = self.activations.code_user(code)
        stored = self.ephemeral.consume(_ceremony_key(code))
        if stored is None:
            raise _ceremony_expired()
        new = self._checked(
            user_id, "activate", lambda: self.party.registration(credential, stored["challenge"])
        )
        poll_pem = _poll_key(poll_key)
        user_id = self.activations.redeem(code)  # used only now: a failed ceremony keeps it
        device_id = secrets.token_urlsafe(16)
        issued = self.certificates.issue_for_key(new.key, user_id, device_id)
        pinned, challenge_key = self.certificates.ca.current_challenge_key()
        about = meta if isinstance(meta, dict) else {}
        device = Device(
            device_id=device_id,
            user_id=user_id,
            status=DeviceStatus.ACTIVE,
            public_key_pem=issued.public_key_pem,
            certificate_pem=issued.certificate_pem,
            serial=issued.serial,
            not_before=issued.not_before,
            not_after=issued.not_after,
            platform=WEB_PLATFORM,
            model=str(about.get("model", ""))[:100],
            name=str(about.get("name", ""))[:100],
            app_version=str(about.get("app_version", "web"))[:40],
            biometrics=new.user_verified,
            push_token=None,
            created_at=self.clock.now(),
            poll_public_key_pem=poll_pem,
            credential_id=new.credential_id,
            credential_public_key=new.public_key,
            sign_count=new.sign_count,
            challenge_key_id=pinned,
        )
        self.activations.enrol(device)
        return {
            "device_id": device_id,
            "credential_id": new.credential_id,
            "not_after": int(issued.not_after.timestamp()),
            "challenge_public_key": public_pem(challenge_key.public_key()),
            "api": self.audience,
        }

    # -- approval ----------------------------------------------------------------------------
    def approve(
        self, device_id: object, challenge_id: str, tapped: Any, credential: Any
    ) -> Challenge:
        """Approve with the pictures tapped, signed by the phone's user verification (and, for
        a challenge with authorization details, over their digest: the receipt)."""
        device = self._device(device_id)
        sequence = _pictures(tapped)
        challenge = self.challenges.get(challenge_id)
        if challenge is None or challenge.device_id != device.device_id:
            raise forbidden(
                "not_your_challenge",
                "no such challenge for this device",
            )
        digest = str(challenge.context.get("details_sha256") or "")
        signed = approval_challenge(challenge_id, sequence, digest)
        self._assert(device, "approve", credential, signed)
        claims = {
            "cid": challenge_id,
            "action": "approve",
            "pictures": sequence,
            "amr": ["user"],  # presence and verification: what WebAuthn's UP and UV flags prove
            "details_sha256": digest,
            "_key": "device",
            "_receipt": webauthn_receipt(
                credential,
                challenge_id,
                sequence,
                digest,
                device.certificate_pem,
                self.certificates.ca.certificate_for(device.certificate_pem),
            ),
        }
        return self.challenges.answer(device, challenge_id, claims)

    # -- renewal and cancellation ------------------------------------------------------------
    def ceremony(self, device: Device, purpose: object) -> dict[str, Any]:
        """A single-use challenge for `purpose` (asked for with the polling key)."""
        if purpose not in tuple(Purpose) or device.credential_id is None:
            raise bad_request("invalid_request", "purpose must be renew or cancel (web devices)")
        challenge = new_challenge()
        self.ephemeral.put(
            _operation_key(device.device_id, str(purpose)), {"challenge": challenge}, CEREMONY_TTL
        )
        answer: dict[str, Any] = {
            "challenge": challenge,
            "credential_id": device.credential_id,
            "rp_id": self.party.rp_id,
        }
        if purpose == Purpose.RENEW:
            answer["publicKey"] = self.party.creation_options(device.user_id, challenge)
        return answer

    def authorize(self, device_id: object, purpose: Purpose, credential: Any) -> Device:
        """The device, once its credential has signed this purpose's challenge."""
        device = self._device(device_id, allow_expired=True)
        challenge = self._operation_challenge(device, purpose)
        self._assert(device, purpose, credential, base64url_to_bytes(challenge))
        return device

    def renew(self, device_id: object, credential: Any, new_credential: Any) -> dict[str, Any]:
        """The current credential signs the renewal's challenge; the new one, registered over
        the same challenge, replaces it with a new two-year certificate."""
        device = self._device(device_id, allow_expired=True)
        challenge = self._operation_challenge(device, Purpose.RENEW)
        self._assert(device, Purpose.RENEW, credential, base64url_to_bytes(challenge))
        new = self._checked(
            device.user_id, "renew", lambda: self.party.registration(new_credential, challenge)
        )
        issued = self.certificates.issue_for_key(new.key, device.user_id, device.device_id)
        old_serial = device.serial
        device.public_key_pem = issued.public_key_pem
        device.certificate_pem = issued.certificate_pem
        device.serial = issued.serial
        device.not_before, device.not_after = issued.not_before, issued.not_after
        device.credential_id, device.credential_public_key = new.credential_id, new.public_key
        device.sign_count = new.sign_count
        self.devices.update(device)
        self.events.record(
            "device.certificate_renewed",
            subject=device.user_id,
            device_id=device.device_id,
            revoked_serial=old_serial,
            serial=device.serial,
        )
        return {"credential_id": new.credential_id, "not_after": int(issued.not_after.timestamp())}

    # -- checks ------------------------------------------------------------------------------
    def _device(self, device_id: object, *, allow_expired: bool = False) -> Device:
        known = isinstance(device_id, str) and len(device_id) <= 43
        device = self.devices.get(str(device_id)) if known else None
        if device is None or device.credential_id is None or device.credential_public_key is None:
            raise unauthorized("unknown device")
        if device.status in ENDED:
            raise forbidden("device_revoked", "this device has been revoked")
        if not allow_expired and device.expired(self.clock.now()):
            raise forbidden(
                "certificate_expired",
                "the certificate has expired: renew it",
            )
        return device

    def _operation_challenge(self, device: Device, purpose: Purpose) -> str:
        stored = self.ephemeral.consume(_operation_key(device.device_id, purpose))
        if stored is None:
            raise _ceremony_expired()
        return str(stored["challenge"])

    def _assert(self, device: Device, purpose: str, credential: Any, challenge: bytes) -> None:
        """Check the assertion and move the signature counter on (nothing else changes)."""
        assert device.credential_id is not None
        assert device.credential_public_key is not None
        credential_id, public_key = device.credential_id, device.credential_public_key
        verified = self._checked(
            device.user_id,
            purpose,
            lambda: self.party.assertion(
                credential, challenge, credential_id, public_key, device.sign_count or 0
            ),
            device_id=device.device_id,
        )
        device.sign_count = verified.sign_count
        self.devices.update(device)

    def _checked(self, user_id: str, purpose: str, check: Any, **detail: Any) -> Any:
        try:
            return check()
        except PushError as refused:
            self.events.record(
                "device.webauthn_refused",
                subject=user_id,
                outcome="failure",
                purpose=purpose,
                reason=refused.code,
                detail=refused.en[:200],
                **detail,
            )
            raise


def _digest(value: object) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


def _ceremony_key(code: object) -> str:
    return "webauthn-activate:" + _digest(code)


def _operation_key(device_id: str, purpose: str) -> str:
    return f"webauthn-op:{device_id}:{purpose}"


def _ceremony_expired() -> PushError:
    return PushError(
        "ceremony_expired",
        "the WebAuthn ceremony expired or was used: start again",
        409,
    )


def _pictures(tapped: Any) -> list[int]:
    if (
        not isinstance(tapped, list)
        or len(tapped) > pictures.SEQUENCE_LENGTH * 2  # none: CIBA's binding-message variant
        or not all(isinstance(p, int) and not isinstance(p, bool) for p in tapped)
        or not all(0 <= p < pictures.COUNT for p in tapped)
    ):
        raise bad_request("invalid_pictures", "pictures must be a list of picture numbers")
    return list(tapped)


def _poll_key(value: Any) -> str:
    """The page's polling key: a P-256 public key (PEM, SubjectPublicKeyInfo)."""
    try:
        key = serialization.load_pem_public_key(value.encode()) if isinstance(value, str) else None
    except ValueError:
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise bad_request("invalid_request", "poll_key must be a P-256 public key (PEM)")
    return str(value)
