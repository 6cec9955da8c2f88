"""Authenticating device requests: a JWS signed by a key the server knows, fresh (`iat` ±60 s
on real time), used once (`jti`), bound to the method and path, from a device that is neither
revoked nor (unless the operation allows it) past its certificate.

`kid` is DEVICE_ID (the certificate's key, unlocked by the PIN on the device) or DEVICE_ID#poll
(the polling key: reading challenges and status, and denying). An activation request is signed
by the key of the CSR it carries: the device has no record yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509

from push_auth import protocol
from push_auth.certificates import csr_of
from push_auth.errors import PushError, bad_request, forbidden, unauthorized
from push_auth.models import Device, DeviceStatus
from push_auth.ports import Clock, Devices, Ephemeral, RealTime
from push_auth.renewal import Renewal

ENDED = (DeviceStatus.REVOKED, DeviceStatus.REPLACED)


@dataclass(frozen=True, kw_only=True)
class DeviceAuth:
    devices: Devices
    ephemeral: Ephemeral
    renewal: Renewal
    audience: str
    clock: Clock
    real_time: RealTime

    def authenticate(
        self,
        token: str,
        method: str,
        path: str,
        *,
        allow_expired: bool = False,
        poll_key_allowed: bool = False,
    ) -> tuple[Device, dict[str, Any]]:
        """The device that signed this request, after every check; raise PushError otherwise.
        The claims say which key signed (`_key`: "device" or "poll")."""
        header, _ = protocol.peek(token)
        device_id, _, key_name = str(header.get("kid", "")).partition("#")
        device = self.devices.get(device_id)
        if device is None:
            raise unauthorized("unknown device")
        used_next_key = False
        if key_name == "poll":
            claims = _verify_with_poll_key(token, device, allowed=poll_key_allowed)
        else:
            claims, used_next_key = _verify_with_device_keys(token, device)
        self._check_fresh(claims, device.device_id, method, path)
        if device.status in ENDED:
            raise forbidden("device_revoked", "this device has been revoked")
        if used_next_key:
            self.renewal.key_used(device)
        elif device.expired(self.clock.now()) and not allow_expired:
            raise forbidden(
                "certificate_expired",
                "the certificate has expired: renew it (Update Profile)",
            )
        return device, claims

    def authenticate_activation(self, token: str, path: str) -> tuple[dict[str, Any], str]:
        """The claims and the CSR of an activation request, signed by the CSR's own key."""
        _header, unverified = protocol.peek(token)
        csr_pem = csr_of(unverified)
        try:
            key = x509.load_pem_x509_csr(csr_pem.encode()).public_key()
        except ValueError as exc:
            raise bad_request("invalid_csr", "the CSR is not valid") from exc
        claims = protocol.verify(token, key, protocol.REQUEST_TYP)  # type: ignore[arg-type]
        self._check_fresh(claims, "activation", "POST", path)
        return claims, csr_pem

    def _check_fresh(self, claims: dict[str, Any], who: str, method: str, path: str) -> None:
        now = self.real_time()
        protocol.check_request_claims(claims, self.audience, method, path, now=now)
        if not self.ephemeral.add(f"device-jti:{who}:{claims['jti']}", {}, protocol.JTI_TTL):
            raise unauthorized("this request (jti) was already used")


def _verify_with_poll_key(token: str, device: Device, *, allowed: bool) -> dict[str, Any]:
    if not allowed or device.poll_public_key_pem is None:
        raise unauthorized("this request needs the device key")
    claims = protocol.verify(token, device.poll_public_key_pem, protocol.REQUEST_TYP)
    claims["_key"] = "poll"
    return claims


def _verify_with_device_keys(token: str, device: Device) -> tuple[dict[str, Any], bool]:
    """The claims, and whether the renewal's new key (not yet used) signed them."""
    try:
        claims = protocol.verify(token, device.public_key_pem, protocol.REQUEST_TYP)
        used_next_key = False
    except PushError:
        if device.next_public_key_pem is None:
            raise
        claims = protocol.verify(token, device.next_public_key_pem, protocol.REQUEST_TYP)
        used_next_key = True
    claims["_key"] = "device"
    return claims, used_next_key
