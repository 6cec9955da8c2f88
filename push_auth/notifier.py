"""Wake-up notifications (FCM, APNs, HMS): a hint to poll now, never the only delivery path."""

from __future__ import annotations

import logging
from typing import Protocol

from push_auth.models import Device

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def wake(self, device: Device) -> None: ...


class LoggingNotifier:
    """Records that a wake-up would be sent (no push service is reachable from here)."""

    def wake(self, device: Device) -> None:
        if device.push_token:
            log.info("wake-up for device %s (%s)", device.device_id, device.platform or "unknown")
