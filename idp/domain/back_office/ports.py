"""What the back office needs from outside the domain, declared here and supplied by the admin
API: the mail outbox (idp.mail) and push authentication's devices (push_auth)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from idp.domain.errors import Message
from idp.storage.models import Registration, User


class Mail(Protocol):
    """Email queued in the caller's transaction (sent once it commits)."""

    def enqueue(self, session: Session, kind: str, to_address: str, **values: object) -> None: ...

    def registration_decided(
        self, session: Session, registration: Registration, user: User, issuer: str
    ) -> None: ...


class Device(Protocol):
    """A Soft Token device, as far as the back office shows it."""

    @property
    def device_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def not_after(self) -> datetime: ...


class PushDevices(Protocol):
    """The users' devices, as push authentication keeps them; a revocation or a lifted
    suspension takes effect on the phone at once."""

    def active(self, user_id: str) -> Device | None: ...

    def expiring(self, start: datetime, end: datetime) -> int:
        """How many current devices' certificates end in [start, end)."""
        ...

    def revoke(self, user_id: str, reason: str, actor: str) -> Device | None:
        """The user's device revoked (None: there was none)."""
        ...

    def lift_suspension(self, user_id: str, actor: str, note: str) -> Device:
        """Pushes reach the device again; DeviceRefused when it is not suspended."""
        ...


class DeviceRefused(Exception):
    """Push authentication refused a change of the device (say, another officer was first)."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message
