"""Certificate renewal (the app's Update Profile → Accept): a new key's CSR in a request signed
by the current key gets a certificate for the new key. The old certificate stays valid until
the new key signs its first request; from then on only the new one counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from push_auth.certificates import DeviceCertificates, csr_of
from push_auth.models import Device
from push_auth.ports import Clock, Devices, Events


@dataclass(frozen=True, kw_only=True)
class Renewal:
    devices: Devices
    certificates: DeviceCertificates
    events: Events
    clock: Clock

    def renew(self, device: Device, claims: dict[str, Any]) -> dict[str, Any]:
        """Issue the new key's certificate (what the device API answers)."""
        issued = self.certificates.issue(csr_of(claims), device.user_id, device.device_id)
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

    def key_used(self, device: Device) -> None:
        """The new key has signed a request: it becomes the device's key; the old certificate
        is void."""
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
