"""Login by Token (manual chapter 0): the holder of a legacy GFMIS token-key certificate, found
by its fingerprint, gets a one-time initial password. Each call is a transaction of its own:
call it from a worker thread."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain.audit import Origin
from idp.domain.lifecycle import in_service
from idp.domain.transitions import Lifecycle
from idp.storage.db import Database
from idp.storage.models import User


@dataclass(frozen=True)
class TokenLogin:
    db: Database
    lifecycle: Lifecycle

    def holder(self, fingerprint: str) -> User | None:
        """The user in service whose certificate has this SHA-256 fingerprint, or None."""
        with self.db.read() as session:
            return _holder_of(session, fingerprint)

    def issue_initial_password(self, fingerprint: str, origin: Origin) -> tuple[str, str] | None:
        """(user ID, the one-time initial password) for the holder, or None. The password is
        shown once, never emailed, and works for one sign-in, which forces a change."""
        with self.db.session() as session:
            user = _holder_of(session, fingerprint)
            if user is None:
                return None
            password = self.lifecycle.issue_initial_password(
                session, user, "token_key", actor=user.user_id, origin=origin
            )
            return str(user.user_id), password


def _holder_of(session: Session, fingerprint: str) -> User | None:
    user = session.scalars(select(User).where(User.legacy_cert_fingerprint == fingerprint)).first()
    return user if user is not None and in_service(user) else None
