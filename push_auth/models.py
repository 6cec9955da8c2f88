"""Devices and challenges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Device:
    device_id: str
    user_id: str
    status: str  # active | revoked | suspended | replaced
    public_key_pem: str
    certificate_pem: str
    serial: str
    not_before: datetime
    not_after: datetime
    platform: str
    model: str
    name: str
    app_version: str
    biometrics: bool
    push_token: str | None
    created_at: datetime
    poll_public_key_pem: str | None = None  # signs polls, status and denials (no PIN needed)
    revoked_at: datetime | None = None
    revoke_reason: str | None = None
    next_public_key_pem: str | None = None  # renewal in progress: new key, not yet used
    next_certificate_pem: str | None = None
    next_serial: str | None = None
    next_not_after: datetime | None = None

    @property
    def usable(self) -> bool:
        return self.status == "active"

    @property
    def effective_not_after(self) -> datetime:
        """The end of validity, counting a renewal that was issued but not yet used."""
        return self.next_not_after or self.not_after

    def expired(self, now: datetime) -> bool:
        return self.effective_not_after <= now


@dataclass
class Challenge:
    challenge_id: str
    user_id: str
    device_id: str
    mode: str  # sequence | compare
    pictures: list[int]
    created: int
    expires: int
    context: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"  # pending | approved | denied | not_me | failed | expired
    amr: list[str] = field(default_factory=list)
