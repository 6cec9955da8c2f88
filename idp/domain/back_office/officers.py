"""Officers in the back office: who holds a role (admin), a role granted or revoked under the
rules that keep the back office reachable, and what the admin API asks of its caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, select

from idp.domain import officers
from idp.domain.audit import Origin
from idp.domain.back_office.listing import Page, keyset
from idp.domain.back_office.users import find
from idp.domain.lifecycle import in_service
from idp.domain.users import public_record
from idp.storage.db import Database
from idp.storage.models import User


@dataclass(frozen=True)
class Officers:
    db: Database

    # -- queries ---------------------------------------------------------------------------
    def search(self, limit: int, after: str | None) -> Page:
        """Everyone with a back-office role, by user ID."""
        query = select(User).where(func.length(cast(User.roles, String)) > 2)  # not "[]"
        return keyset(self.db, query, User.user_id, after, limit, public_record)

    def roles_of(self, user_id: str) -> frozenset[str]:
        """The caller's roles: none unless the account exists and is in service."""
        with self.db.read() as session:
            user = session.get(User, user_id)
            return frozenset(user.roles) if user is not None and in_service(user) else frozenset()

    def names(self, user_id: str) -> dict[str, str]:
        with self.db.read() as session:
            user = find(session, user_id)
            return {"name_th": user.name_th, "name_en": user.name_en}

    # -- commands --------------------------------------------------------------------------
    def change_role(
        self, user_id: str, role: str, grant: bool, officer: str, origin: Origin
    ) -> dict[str, Any]:
        with self.db.session() as session:
            user = find(session, user_id)
            officers.change_role(session, user, role, grant, officer, origin)
            return public_record(user)
