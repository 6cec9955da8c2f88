"""Activation (manual 2.5): a one-time code (144 bits, 10 minutes, a new one voids the old)
that a phone uses once, with its CSR, to become the user's device.

The host's enrolment port decides whether the user may enrol at all: when the code is given
and again when the phone uses it (the account may have changed in between).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from push_auth.ca import Issued, public_pem
from push_auth.certificates import DeviceCertificates
from push_auth.device_auth import DeviceAuth
from push_auth.errors import PushError, bad_request, forbidden
from push_auth.models import Device, DeviceStatus
from push_auth.ports import Clock, Devices, Enrolment, Ephemeral, Events, RealTime

log = logging.getLogger(__name__)
ACTIVATION_TTL = 600


class ActivationStatus(StrEnum):
    """What the desktop's activation page polls for."""

    NONE = "none"
    PENDING = "pending"
    EXPIRED = "expired"
    ACTIVATED = "activated"


@dataclass(frozen=True)
class Activation:
    code: str
    expires_at: int
    qr_text: str


@dataclass(frozen=True, kw_only=True)
class Activations:
    devices: Devices
    ephemeral: Ephemeral
    certificates: DeviceCertificates
    events: Events
    enrolment: Enrolment
    device_auth: DeviceAuth
    audience: str
    app_url: str  # the web authenticator, e.g. https://idp.example/app
    clock: Clock
    real_time: RealTime

    # -- the desktop's side ------------------------------------------------------------------
    def start(self, user_id: str) -> Activation:
        """A new one-time activation code; a code given earlier to this user stops working.
        The host's lifecycle decides whether this user may enrol a device at all."""
        self.enrolment.check(user_id)
        previous = self.ephemeral.get("act-user:" + user_id)
        if previous and previous.get("code"):
            self.ephemeral.delete("act:" + _digest(str(previous["code"])))
        code = secrets.token_urlsafe(18)  # 144 bits
        expires = int(self.real_time()) + ACTIVATION_TTL
        self.ephemeral.put("act:" + _digest(code), {"user_id": user_id}, ACTIVATION_TTL)
        self.ephemeral.put(
            "act-user:" + user_id,
            {"status": ActivationStatus.PENDING, "expires": expires, "code": code},
            ACTIVATION_TTL + 60,
        )
        self.events.record("device.activation_started", subject=user_id)
        return self._activation(code, expires)

    def current(self, user_id: str) -> Activation | None:
        """The user's activation code while it is pending and valid (for the desktop page)."""
        record = self.ephemeral.get("act-user:" + user_id)
        if not record or record["status"] != ActivationStatus.PENDING:
            return None
        if record["expires"] <= self.real_time():
            return None
        return self._activation(str(record["code"]), int(record["expires"]))

    def status(self, user_id: str) -> ActivationStatus:
        record = self.ephemeral.get("act-user:" + user_id)
        if record is None:
            return ActivationStatus.NONE
        status = ActivationStatus(record["status"])
        if status is ActivationStatus.PENDING and record["expires"] < self.real_time():
            return ActivationStatus.EXPIRED
        return status

    def forget(self, user_id: str) -> None:
        """No activation state left over for the page (the device was revoked)."""
        self.ephemeral.delete("act-user:" + user_id)

    def _activation(self, code: str, expires: int) -> Activation:
        """The QR code is a web address: a phone's camera opens the web authenticator with it,
        and the softtoken app reads its code and server from it."""
        qr_text = f"{self.app_url}/activate?code={code}"
        return Activation(code, expires, qr_text)

    # -- the phone's side --------------------------------------------------------------------
    def activate(self, token: str, path: str) -> dict[str, Any]:
        """Use the code in this signed request: the phone becomes the user's device."""
        claims, csr_pem = self.device_auth.authenticate_activation(token, path)
        user_id = self.redeem(claims.get("code"))
        device_id = secrets.token_urlsafe(16)
        issued = self.certificates.issue(csr_pem, user_id, device_id)
        device = self._device(claims, issued, user_id, device_id)
        pinned, challenge_key = self.certificates.ca.current_challenge_key()
        device.challenge_key_id = pinned
        self.enrol(device)
        return {
            "device_id": device_id,
            "certificate": issued.certificate_pem,
            "ca_certificate": self.certificates.ca.certificate_for(issued.certificate_pem),
            "challenge_public_key": public_pem(challenge_key.public_key()),
            "not_after": int(issued.not_after.timestamp()),
            "api": self.audience,
        }

    def code_user(self, code: object) -> str:
        """The user a valid code was given to, without using it (the web authenticator asks
        before its ceremony); the lifecycle's gate is asked too."""
        record = self.ephemeral.get("act:" + _digest(code)) if _well_formed(code) else None
        if record is None:
            raise _invalid_code()
        user_id = str(record["user_id"])
        self.enrolment.check(user_id)
        return user_id

    def redeem(self, code: object) -> str:
        """Use the code (once): the user it was given to, if that user may still enrol."""
        record = self.ephemeral.consume("act:" + _digest(code)) if _well_formed(code) else None
        if record is None:
            raise _invalid_code()
        user_id = str(record["user_id"])
        self.enrolment.check(user_id)  # again: the account may have changed since the code
        return user_id

    def enrol(self, device: Device) -> None:
        """Record the new device (one current device per user: the store refuses a second),
        tell the host, and let the desktop's page see that activation is done."""
        self.devices.add(device)
        user_id = device.user_id
        try:  # the device is recorded: the host's own bookkeeping must not undo the activation
            self.enrolment.enrolled(user_id)
        except Exception:
            log.exception("the host could not record the enrolment of %s", device.device_id)
        self.ephemeral.put(
            "act-user:" + user_id,
            {"status": ActivationStatus.ACTIVATED, "expires": 0},
            ACTIVATION_TTL,
        )
        self.events.record(
            "device.activate",
            subject=user_id,
            device_id=device.device_id,
            model=device.model,
            platform=device.platform,
        )

    def _device(
        self, claims: dict[str, Any], issued: Issued, user_id: str, device_id: str
    ) -> Device:
        """The device record: its certificate, its polling key and what the app says of itself."""
        poll_key = claims.get("poll_key")
        if not isinstance(poll_key, str) or "PUBLIC KEY" not in poll_key:
            raise bad_request("invalid_request", "poll_key (PEM) is missing")
        meta = claims.get("device")
        if not isinstance(meta, dict):
            meta = {}
        return Device(
            poll_public_key_pem=poll_key,
            device_id=device_id,
            user_id=user_id,
            status=DeviceStatus.ACTIVE,
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


def _digest(value: object) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


def _well_formed(code: object) -> bool:
    return isinstance(code, str) and 0 < len(code) <= 64


def _invalid_code() -> PushError:
    return forbidden(
        "invalid_activation_code",
        "the activation code is wrong, used or expired",
    )
