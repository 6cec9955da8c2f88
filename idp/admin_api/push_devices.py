"""push_auth's devices as the back office asks for them (idp.domain.back_office.ports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from idp.domain.back_office.ports import DeviceRefused
from idp.domain.errors import Relayed
from push_auth.errors import PushError
from push_auth.models import Device
from push_auth.service import PushAuth


@dataclass(frozen=True)
class PushAuthDevices:
    push: PushAuth

    def active(self, user_id: str) -> Device | None:
        return self.push.devices.active_for(user_id)

    def expiring(self, start: datetime, end: datetime) -> int:
        return len(self.push.devices.expiring_between(start, end))

    def revoke(self, user_id: str, reason: str, actor: str) -> Device | None:
        return self.push.revoke(user_id, reason, actor)

    def lift_suspension(self, user_id: str, actor: str, note: str) -> Device:
        try:
            return self.push.lift_suspension(user_id, actor, note)
        except PushError as refused:
            raise DeviceRefused(Relayed(refused.th, refused.en)) from refused
