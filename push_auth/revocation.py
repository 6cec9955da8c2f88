"""Ending or restoring a device's standing: revocation (the user's cancellation or an officer's
decision) takes effect at once, even for a challenge already on the phone, and drops the
device's push subscriptions and a web device's credential key; after "not me" an
officer who has called the user either revokes the device or lifts the suspension."""

from __future__ import annotations

from dataclasses import dataclass

from push_auth.activation import Activations
from push_auth.backoff import PushBackoff
from push_auth.challenges import Challenges
from push_auth.errors import forbidden
from push_auth.models import Device, DeviceStatus
from push_auth.ports import Clock, Devices, Events
from push_auth.webpush.subscriptions import Subscriptions


@dataclass(frozen=True, kw_only=True)
class Revocation:
    devices: Devices
    events: Events
    challenges: Challenges
    activations: Activations
    backoff: PushBackoff
    clock: Clock
    subscriptions: Subscriptions | None = None

    def revoke(self, user_id: str, reason: str, actor: str) -> Device | None:
        """Revoke the user's current device (None when there is none)."""
        device = self.devices.active_for(user_id)
        if device is None:
            return None
        device.status = DeviceStatus.REVOKED
        device.revoked_at = self.clock.now()
        device.revoke_reason = reason[:200]
        device.credential_public_key = None  # a web device's credential can never sign again
        self.devices.update(device)
        self._unsubscribe(device)
        self.challenges.withdraw(user_id)
        self.activations.forget(user_id)  # no "activated" left over on the page
        self.events.record(
            "device.revoke", subject=user_id, device_id=device.device_id, reason=reason, actor=actor
        )
        return device

    def _unsubscribe(self, device: Device) -> None:
        """Nothing is pushed to a revoked device's browsers any more."""
        if self.subscriptions is None:
            return
        for subscription in self.subscriptions.for_device(device.device_id):
            self.subscriptions.drop(subscription.endpoint)

    def lift_suspension(self, user_id: str, actor: str, note: str) -> Device:
        """Pushes reach the suspended device again (`note`: what the call established)."""
        device = self.devices.active_for(user_id)
        if device is None or device.status is not DeviceStatus.SUSPENDED:
            raise forbidden("not_suspended", "this device is not suspended")
        device.status = DeviceStatus.ACTIVE
        self.devices.update(device)
        self.backoff.clear(user_id)
        self.events.record(
            "device.suspension_lifted",
            subject=user_id,
            device_id=device.device_id,
            actor=actor,
            note=note[:200],
        )
        return device
