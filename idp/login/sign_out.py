"""Signing out: one SSO session (RP-initiated logout) or every session of a user (a password
change, a cancelled Soft Token, an officer's action). The grants they hold are revoked, and the
relying parties to tell by back-channel logout are returned (idp.oidc.backchannel tells them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import audit
from idp.domain.audit import Origin
from idp.login.sso import SsoSession, SsoSessions
from idp.storage.db import Database
from idp.storage.models import Client, Grant


@dataclass(frozen=True)
class LogoutNotice:
    client_id: str
    uri: str
    alg: str
    sub: str
    sid: str | None


class GrantRevoker(Protocol):
    def revoke_grant(self, session: Session, grant_id: str, reason: str, origin: Origin) -> None:
        """Revoke a token family: its refresh tokens and its access tokens."""


class SignOut:
    def __init__(self, db: Database, sso: SsoSessions, grants: GrantRevoker) -> None:
        self._db = db
        self._sso = sso
        self._grants = grants

    def session_ended(self, ended: SsoSession, origin: Origin) -> list[LogoutNotice]:
        """Revoke the ended session's online grants (offline access outlives it)."""
        with self._db.session() as session:
            grants = list(session.scalars(select(Grant).where(Grant.sid == ended.sid)))
            notices = self._revoke(session, grants, "logout", origin, keep_offline=True)
            audit.record(
                session,
                "logout",
                actor=ended.user_id,
                subject=ended.user_id,
                origin=origin,
                sid=ended.sid,
            )
        return notices

    def everywhere(self, user_id: str, reason: str, origin: Origin) -> list[LogoutNotice]:
        """Every SSO session of the user ends and every grant is revoked, offline ones too."""
        self._sso.end_all(user_id)
        with self._db.session() as session:
            live = select(Grant).where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
            grants = list(session.scalars(live))
            notices = self._revoke(session, grants, reason, origin, keep_offline=False)
            audit.record(
                session,
                "sessions.end_all",
                actor=user_id,
                subject=user_id,
                origin=origin,
                reason=reason,
            )
        return notices

    def _revoke(
        self,
        session: Session,
        grants: list[Grant],
        reason: str,
        origin: Origin,
        keep_offline: bool,
    ) -> list[LogoutNotice]:
        notices: dict[tuple[str, str | None], LogoutNotice] = {}
        for grant in grants:
            offline = "offline_access" in grant.scope.split()
            if grant.revoked_at is None and not (keep_offline and offline):
                self._grants.revoke_grant(session, grant.grant_id, reason, origin)
            client = session.get(Client, grant.client_id)
            if client is not None and client.backchannel_logout_uri:
                notices[(client.client_id, grant.sid)] = LogoutNotice(
                    client.client_id,
                    client.backchannel_logout_uri,
                    client.id_token_signed_response_alg,
                    grant.user_id,
                    grant.sid,
                )
        return list(notices.values())
