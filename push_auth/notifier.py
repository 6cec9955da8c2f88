"""Notifications that a challenge waits (Web Push; FCM, APNs, HMS later): a hint to fetch it
now, never the only delivery path (the long-poll is). An implementation is told the device and
the challenge; what it sends must never carry the answer (the pictures)."""

from __future__ import annotations

import logging
from typing import Protocol

from push_auth.models import Challenge, Device

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def wake(self, device: Device, challenge: Challenge) -> None: ...
    def close(self) -> None:
        """Stop sending (the process is stopping); what is queued may be dropped."""


class LoggingNotifier:
    """Records that a wake-up would be sent (no push service is reachable from here)."""

    def wake(self, device: Device, challenge: Challenge) -> None:
        if device.push_token:
            log.info("wake-up for device %s (%s)", device.device_id, device.platform or "unknown")

    def close(self) -> None:
        pass
