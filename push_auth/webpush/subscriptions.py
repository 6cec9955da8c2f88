"""A browser's push subscription (what `PushManager.subscribe()` returns) and the storage port
that the host supplies for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Subscription:
    device_id: str
    user_id: str
    endpoint: str  # the push service's URL for this browser (a capability: keep it private)
    p256dh: str  # the browser's P-256 public key, base64url (uncompressed point)
    auth: str  # the 16-byte authentication secret, base64url
    created_at: datetime


class Subscriptions(Protocol):
    """Durable subscriptions per device; one endpoint is stored once."""

    def save(self, subscription: Subscription) -> None: ...
    def for_device(self, device_id: str) -> list[Subscription]: ...
    def drop(self, endpoint: str) -> None: ...
