"""A user's passkeys as records: listed, added, renamed and removed — by the user on the
account page or by an officer in the back office. Every change is audited and emailed to the
user (the registration's verified address). The ceremonies that create and check them are
idp.login.factors.passkey. Each call is a transaction of its own: call it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from idp.domain import audit
from idp.domain.audit import Origin
from idp.domain.clock import Clock
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.recovery import registered_email
from idp.domain.thai_dates import BANGKOK, THAI_MONTHS, format_datetime
from idp.domain.transitions import NO_USER, Enqueue
from idp.storage.db import Database
from idp.storage.models import Passkey, User

NAME_LENGTH = 60
MAX_PASSKEYS = 10  # per user
NOT_FOUND = Message("no such passkey")
BAD_NAME = Message("a passkey's name has 1 to {NAME_LENGTH} characters", NAME_LENGTH=NAME_LENGTH)
TOO_MANY = Message(
    "at most {MAX_PASSKEYS} passkeys: remove one you no longer use first",
    MAX_PASSKEYS=MAX_PASSKEYS,
)
CHANGES = {  # what the email says happened
    "add": Message("A passkey was added"),
    "rename": Message("A passkey was renamed"),
    "remove": Message("A passkey was removed"),
}


@dataclass(frozen=True)
class PasskeyView:
    credential_id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    transports: list[str]
    aaguid: str
    backup_eligible: bool
    backed_up: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "credential_id": self.credential_id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "transports": self.transports,
            "aaguid": self.aaguid,
            "backup_eligible": self.backup_eligible,
            "backed_up": self.backed_up,
        }


@dataclass(frozen=True)
class NewPasskey:
    """What a verified registration gives (idp.login.factors.passkey)."""

    credential_id: str
    public_key: bytes
    sign_count: int
    transports: list[str]
    aaguid: str
    backup_eligible: bool
    backed_up: bool


def view(row: Passkey) -> PasskeyView:
    return PasskeyView(
        row.credential_id,
        row.name,
        row.created_at,
        row.last_used_at,
        list(row.transports or []),
        row.aaguid,
        row.backup_eligible,
        row.backed_up,
    )


def clean_name(name: str) -> str:
    """A name as given, trimmed; UserFacingError when empty, too long or with control
    characters."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > NAME_LENGTH or not cleaned.isprintable():
        raise UserFacingError(BAD_NAME, "name")
    return cleaned


def default_name(count: int, now: datetime) -> str:
    """ "Passkey 1 ธ.ค.": the user's how-many-th, and the day it was added (Bangkok)."""
    local = now.astimezone(BANGKOK)
    return f"Passkey {count} {local.day} {THAI_MONTHS[local.month - 1]}"


def rows_of(session: Session, user_id: str) -> list[Passkey]:
    return list(
        session.scalars(
            select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)
        )
    )


def count_of(session: Session, user_id: str) -> int:
    query = select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
    return session.scalar(query) or 0


@dataclass(frozen=True)
class PasskeyBook:
    db: Database
    clock: Clock
    enqueue: Enqueue  # an email in the caller's transaction
    wake: Callable[[], None]  # the mail sender, once the transaction has committed
    issuer: str

    def all_of(self, user_id: str) -> list[PasskeyView]:
        with self.db.read() as session:
            return [view(row) for row in rows_of(session, user_id)]

    def credential_ids(self, user_id: str) -> list[str]:
        return [p.credential_id for p in self.all_of(user_id)]

    def add(self, user_id: str, new: NewPasskey, name: str, origin: Origin) -> PasskeyView:
        """Keep a verified registration; the name given, or the default one."""
        with self.db.session() as session:
            user = self._user(session, user_id)
            count = count_of(session, user_id)
            if count >= MAX_PASSKEYS:
                raise UserFacingError(TOO_MANY)
            now = self.clock.now()
            row = Passkey(
                credential_id=new.credential_id,
                user_id=user_id,
                public_key=new.public_key,
                sign_count=new.sign_count,
                transports=new.transports,
                name=clean_name(name) if name.strip() else default_name(count + 1, now),
                aaguid=new.aaguid,
                backup_eligible=new.backup_eligible,
                backed_up=new.backed_up,
                created_at=now,
                last_used_at=None,
            )
            session.add(row)
            self._changed(session, user, "add", row.name, user_id, origin, row.credential_id)
            shown = view(row)
        self.wake()
        return shown

    def rename(
        self, user_id: str, credential_id: str, name: str, actor: str, origin: Origin
    ) -> PasskeyView:
        cleaned = clean_name(name)
        with self.db.session() as session:
            user = self._user(session, user_id)
            row = self._row(session, user_id, credential_id)
            before, row.name = row.name, cleaned
            self._changed(
                session, user, "rename", cleaned, actor, origin, credential_id, before=before
            )
            shown = view(row)
        self.wake()
        return shown

    def remove(self, user_id: str, credential_id: str, actor: str, origin: Origin) -> None:
        with self.db.session() as session:
            user = self._user(session, user_id)
            row = self._row(session, user_id, credential_id)
            session.delete(row)
            self._changed(session, user, "remove", row.name, actor, origin, credential_id)
        self.wake()

    @staticmethod
    def _user(session: Session, user_id: str) -> User:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(NO_USER, "user_id")
        return user

    @staticmethod
    def _row(session: Session, user_id: str, credential_id: str) -> Passkey:
        row = session.get(Passkey, credential_id[:1400])
        if row is None or row.user_id != user_id:
            raise NotFound(NOT_FOUND, "credential_id")
        return row

    def _changed(
        self,
        session: Session,
        user: User,
        change: str,
        name: str,
        actor: str,
        origin: Origin,
        credential_id: str,
        **detail: Any,
    ) -> None:
        """Audit the change and email the user about it."""
        audit.record(
            session,
            "passkey." + change,
            actor=actor,
            subject=user.user_id,
            origin=origin,
            credential=credential_id[:16],
            name=name,
            **detail,
        )
        now = self.clock.now()
        message = CHANGES[change]
        self.enqueue(
            session,
            "passkey_changed",
            registered_email(session, user)[1],
            user_id=user.user_id,
            change_th=message.th,
            change_en=message.en,
            name=name,
            by_officer=actor != user.user_id,
            when_th=format_datetime(now, "th"),
            when_en=format_datetime(now, "en"),
            link=self.issuer + "/account",
        )
