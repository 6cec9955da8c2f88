"""Account changes by the user: a new password (forced after import or a reset)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.domain import audit, password_policy
from idp.domain.audit import Origin
from idp.domain.errors import Message, UserFacingError
from idp.domain.passwords import hash_password, verify_password
from idp.storage.models import PasswordHistory, User

WRONG_CURRENT = Message("the current password is wrong")


def change_password(
    session: Session, user: User, current: str, new: str, confirm: str, origin: Origin
) -> None:
    """Check every rule, keep the old hash in the history, store the new one."""
    if not verify_password(current, user.password_hash):
        audit.record(
            session,
            "password.change",
            actor=user.user_id,
            subject=user.user_id,
            outcome="failure",
            origin=origin,
            reason="wrong_current",
        )
        raise UserFacingError(WRONG_CURRENT, "current_password")
    if new != confirm:
        raise UserFacingError(password_policy.MISMATCH, "confirm_password")
    if problem := password_policy.problem(new, user.user_id, [user.name_th, user.name_en]):
        raise UserFacingError(problem, "new_password")
    history = list(
        session.scalars(
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.user_id == user.user_id)
            .order_by(PasswordHistory.id.desc())
            .limit(password_policy.HISTORY - 1)
        )
    )
    if any(verify_password(new, old) for old in [user.password_hash or "", *history] if old):
        raise UserFacingError(password_policy.REUSED, "new_password")
    set_password(session, user, new, must_change=False)
    audit.record(
        session, "password.change", actor=user.user_id, subject=user.user_id, origin=origin
    )


PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


def issue_random_password(session: Session, user: User) -> str:
    """A random 16-character password (no look-alike characters) that the user must change
    at the next sign-in; returned once, for the caller to hand over."""
    password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    set_password(session, user, password, must_change=True)
    return password


def set_password(session: Session, user: User, new: str, must_change: bool) -> None:
    """Replace the password, keeping the last five hashes."""
    now = datetime.now(UTC)
    if user.password_hash:
        session.add(
            PasswordHistory(user_id=user.user_id, password_hash=user.password_hash, created_at=now)
        )
        session.flush()
        keep = (
            select(PasswordHistory.id)
            .where(PasswordHistory.user_id == user.user_id)
            .order_by(PasswordHistory.id.desc())
            .limit(password_policy.HISTORY)
        )
        session.execute(
            delete(PasswordHistory).where(
                PasswordHistory.user_id == user.user_id, PasswordHistory.id.not_in(keep)
            )
        )
    user.password_hash = hash_password(new)
    user.must_change_password = must_change
    user.single_use_password = None  # a new password ends any one-time initial one
    user.updated_at = now
