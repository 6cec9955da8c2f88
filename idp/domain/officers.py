"""Back-office roles (officer, admin, auditor): granted and revoked by an admin or the CLI.

Two rules keep the back office reachable: nobody removes a role from themselves (another
admin does it), and the last enabled admin keeps the admin role (grant it to someone first).
"""

from __future__ import annotations

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from idp.domain import audit
from idp.domain.audit import SYSTEM, Origin
from idp.domain.errors import Message, UserFacingError
from idp.storage.models import User

ROLES = ("officer", "admin", "auditor")
UNKNOWN_ROLE = Message("unknown role")
OWN_ROLE = Message(
    "you cannot remove a role from yourself: ask another admin",
)
LAST_ADMIN = Message(
    "there must be at least one admin: grant the admin role to someone else first",
)

OWN_ACCOUNT = Message("you cannot disable your own account: ask another admin")


class RoleRefused(UserFacingError):
    """A role change that would lock officers out (answered 409 by the admin API)."""


def change_role(
    session: Session, user: User, role: str, grant: bool, actor: str, origin: Origin = SYSTEM
) -> list[str]:
    """The user's roles afterwards; the change is audited."""
    if role not in ROLES:
        raise UserFacingError(UNKNOWN_ROLE, "role")
    if not grant and role in user.roles:
        if actor == user.user_id:
            raise RoleRefused(OWN_ROLE, "role")
        if role == "admin" and not _other_admins(session, user.user_id):
            raise RoleRefused(LAST_ADMIN, "role")
    roles = set(user.roles)
    user.roles = sorted(roles | {role} if grant else roles - {role})
    audit.record(
        session,
        "officer.grant" if grant else "officer.revoke",
        actor=actor,
        subject=user.user_id,
        role=role,
        origin=origin,
    )
    return list(user.roles)


def refuse_locking_out(session: Session, user: User, actor: str) -> None:
    """Disabling this account must leave the back office reachable."""
    if actor == user.user_id:
        raise RoleRefused(OWN_ACCOUNT, "user_id")
    if "admin" in user.roles and not _other_admins(session, user.user_id):
        raise RoleRefused(LAST_ADMIN, "user_id")


def _other_admins(session: Session, user_id: str) -> bool:
    candidates = session.scalars(
        select(User)
        .where(
            User.user_id != user_id,
            User.disabled.is_(False),
            cast(User.roles, String).like('%"admin"%'),
        )
        .with_for_update()  # two admins demoting each other at once: one waits, or is refused
    )
    return any("admin" in other.roles for other in candidates)
