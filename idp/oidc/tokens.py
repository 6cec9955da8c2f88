"""Issuing, checking and revoking tokens: JWT access tokens (RFC 9068), refresh token families.

A *grant* is the family of tokens that one authorization code started. Refresh tokens rotate on
every use; presenting a refresh token that was already rotated means it was copied, so the
whole family is revoked (and so are access tokens carrying its `gid` claim, at introspection and
userinfo). Access tokens are signed ES256 JWTs that carry `jti`; revoking one records its `jti`
in the database and, for the hot path, in the expiring store (idp.oidc.revocations).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from idp.domain import audit
from idp.domain.audit import Origin
from idp.domain.secrets import random_token, sha256_hex
from idp.oidc.dpop import DPoP
from idp.oidc.models import OAuthClient, RefreshTokenRecord, SignedInUser
from idp.oidc.revocations import Revocations, Verdict, markers, verdict
from idp.services import Services
from idp.storage.models import Grant, RefreshToken

ACCESS_TOKEN_ALG = "ES256"
log = logging.getLogger(__name__)
CODE_TOMBSTONE_TTL = 900


# Set by TokenService.deferred_signing for the asyncio task that issues the token.
_signing_deferred: ContextVar[bool] = ContextVar("signing_deferred", default=False)


@dataclass(frozen=True)
class UnsignedJwt:
    """An access token still to be signed; never serialisable, so never sent by mistake."""

    claims: dict[str, Any]
    alg: str
    typ: str


@dataclass(frozen=True)
class AccessTokenClaims:
    claims: dict[str, Any]

    @property
    def grant_id(self) -> str | None:
        return self.claims.get("gid")


class TokenService:
    def __init__(self, services: Services) -> None:
        self._s = services
        self._issuer = services.settings.server.issuer
        self._tokens = services.settings.tokens
        self.revocations = Revocations(services)
        self.dpop = DPoP(services)

    def keys_stale(self) -> bool:
        """The next use of the signing keys reads the database (to be done in a thread)."""
        return self._s.keys.stale()

    # -- issuing -------------------------------------------------------------------------
    def generate(
        self,
        grant_type: str,
        client: OAuthClient,
        user: SignedInUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        """Authlib's token generator: an access token, and a refresh token where allowed."""
        ttl = expires_in or client.record.access_token_ttl or self._tokens.access_token_ttl
        jkt = self.dpop.binding(client)  # RFC 9449: the key a DPoP proof showed, if any
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": user.user_id if user else client.get_client_id(),
            "aud": client.get_client_id(),
            "client_id": client.get_client_id(),
            "iat": now,
            "exp": now + ttl,
            "jti": random_token(16),
            "scope": scope or "",
        }
        if user:
            claims.update(auth_time=user.auth_time, acr=user.acr, amr=list(user.amr))
            if user.grant_id:
                claims["gid"] = user.grant_id
            if user.sid:
                claims["sid"] = user.sid
            if user.authorization_details:
                claims["authorization_details"] = user.authorization_details
        if jkt:
            claims["cnf"] = {"jkt": jkt}
        access: str | UnsignedJwt = (
            UnsignedJwt(claims, ACCESS_TOKEN_ALG, "at+jwt")
            if _signing_deferred.get()
            else self._s.keys.sign(claims, ACCESS_TOKEN_ALG, typ="at+jwt")
        )
        token: dict[str, Any] = {
            "token_type": "DPoP" if jkt else "Bearer",
            "access_token": access,
            "expires_in": ttl,
            "scope": scope or "",
        }
        if user and user.authorization_details:  # RFC 9396 §7: what was granted
            token["authorization_details"] = user.authorization_details
        if user and user.approval_receipt:  # the device's signature over them (push_auth)
            token["approval_receipt"] = user.approval_receipt
        wants_refresh = "offline_access" in (scope or "").split() or not client.is_public
        if user and include_refresh_token and wants_refresh:
            token["refresh_token"] = random_token(32)
        return token

    @contextmanager
    def deferred_signing(self) -> Iterator[None]:
        """Within this block (one asyncio task), generate leaves the access token unsigned;
        finish_signing then signs it, awaited, in the signer process."""
        reset = _signing_deferred.set(True)
        try:
            yield
        finally:
            _signing_deferred.reset(reset)

    async def finish_signing(self, body: Any) -> None:
        """Sign the access token that deferred_signing left in a token response, if any."""
        unsigned = body.get("access_token") if isinstance(body, dict) else None
        if isinstance(unsigned, UnsignedJwt):
            body["access_token"] = await self._s.keys.sign_async(
                unsigned.claims, unsigned.alg, unsigned.typ
            )

    def save(
        self,
        token: dict[str, Any],
        client: OAuthClient,
        user: SignedInUser | None,
        scope: str,
        claims_request: dict[str, Any] | None,
        origin: Origin,
    ) -> None:
        """Record the grant (family) on first issue and the refresh token, if any."""
        if user is not None and user.grant_id:
            with self._s.db.session() as session:
                self._save_grant(session, token, client, user, scope, claims_request)
        self._s.audit.record(
            "token.issue",
            actor=client.get_client_id(),
            subject=user.user_id if user else client.get_client_id(),
            origin=origin,
            scope=scope,
            refresh=bool(token.get("refresh_token")),
        )

    def _save_grant(
        self,
        session: Session,
        token: dict[str, Any],
        client: OAuthClient,
        user: SignedInUser,
        scope: str,
        claims_request: dict[str, Any] | None,
    ) -> None:
        assert user.grant_id is not None
        # RFC 9449 §5: a public client's refresh tokens are bound to the key of its proof.
        jkt = self.dpop.binding(client) if client.is_public else None
        grant = session.get(Grant, user.grant_id)
        if grant is not None and jkt and grant.dpop_jkt is None:
            grant.dpop_jkt = jkt
        if grant is None:
            session.add(
                Grant(
                    grant_id=user.grant_id,
                    user_id=user.user_id,
                    client_id=client.get_client_id(),
                    scope=scope,
                    sid=user.sid,
                    auth_time=user.auth_time,
                    acr=user.acr,
                    amr=list(user.amr),
                    claims_request=claims_request,
                    authorization_details=user.authorization_details,
                    dpop_jkt=jkt,
                    created_at=datetime.now(UTC),
                )
            )
        if refresh := token.get("refresh_token"):
            now = datetime.now(UTC)
            session.add(
                RefreshToken(
                    token_hash=sha256_hex(refresh),
                    grant_id=user.grant_id,
                    client_id=client.get_client_id(),
                    user_id=user.user_id,
                    scope=scope,
                    issued_at=now,
                    expires_at=now + timedelta(seconds=self._refresh_ttl(client)),
                )
            )

    def _refresh_ttl(self, client: OAuthClient) -> int:
        return client.record.refresh_token_ttl or self._tokens.refresh_token_ttl

    # -- refresh tokens ------------------------------------------------------------------
    def use_refresh_token(
        self, session: Session, value: str, origin: Origin
    ) -> RefreshTokenRecord | None:
        """Take a refresh token for rotation, exactly once; a second use revokes its family."""
        token_hash = sha256_hex(value)
        row = session.get(RefreshToken, token_hash)
        if row is None:
            return None
        bound = session.get(Grant, row.grant_id)
        if bound is not None and bound.dpop_jkt is not None:
            self.dpop.refresh_bound_to(bound.dpop_jkt, row.client_id)  # before it is used up
        now = datetime.now(UTC)
        taken = session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None))
            .values(used_at=now)
        )
        grant = session.get(Grant, row.grant_id)
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            self.revoke_grant(session, row.grant_id, reason="refresh_token_reuse", origin=origin)
            return None
        if grant is None or grant.revoked_at is not None or _aware(row.expires_at) <= now:
            return None
        user = SignedInUser(
            grant.user_id,
            grant.auth_time,
            grant.acr,
            tuple(grant.amr),
            grant.sid,
            grant.grant_id,
            grant.authorization_details,
        )
        return RefreshTokenRecord(
            token_hash=token_hash,
            client_id=row.client_id,
            user_id=row.user_id,
            scope=row.scope,
            grant_id=row.grant_id,
            expires_at=int(_aware(row.expires_at).timestamp()),
            user=user,
            extra={"claims_request": grant.claims_request},
        )

    def find_refresh_token(self, session: Session, value: str) -> RefreshToken | None:
        row = session.get(RefreshToken, sha256_hex(value))
        if row is None or row.used_at is not None:
            return None
        grant = session.get(Grant, row.grant_id)
        if grant is None or grant.revoked_at is not None:
            return None
        if _aware(row.expires_at) <= datetime.now(UTC):
            return None
        return row

    # -- revocation ----------------------------------------------------------------------
    def revoke_grant(self, session: Session, grant_id: str, reason: str, origin: Origin) -> None:
        """Revoke a token family: its refresh tokens go, and its access tokens stop working at
        once (a marker in the expiring store outlives every access token of the grant; the
        grant's `revoked_at` is the durable record)."""
        self.revocations.revoke_grant(grant_id)
        grant = session.get(Grant, grant_id)
        if grant is None:
            return
        if grant.revoked_at is None:
            grant.revoked_at = datetime.now(UTC)
        session.execute(delete(RefreshToken).where(RefreshToken.grant_id == grant_id))
        audit.record(
            session,
            "grant.revoke",
            actor="system" if reason.endswith("reuse") else grant.client_id,
            subject=grant.user_id,
            outcome="alert" if reason.endswith("reuse") else "success",
            origin=origin,
            reason=reason,
            client_id=grant.client_id,
        )

    def revoke_access_token(self, session: Session, claims: dict[str, Any]) -> None:
        self.revocations.revoke_access_token(session, claims)

    def code_was_used(self, code_hash: str, grant_id: str) -> None:
        self._s.store.put("code-used:" + code_hash, {"grant_id": grant_id}, CODE_TOMBSTONE_TTL)

    def used_code_grant(self, code_hash: str) -> str | None:
        record = self._s.store.get("code-used:" + code_hash)
        return None if record is None else str(record["grant_id"])

    # -- checking access tokens ----------------------------------------------------------
    def check_access_token(self, token: str) -> AccessTokenClaims | None:
        """The claims of a live access token of ours, or None (expired, revoked, not ours):
        signature, issuer, expiry, and one look-up for a revoked jti or a revoked grant."""
        claims = self._verified(token)
        if claims is None:
            return None
        keys = markers(claims)
        found = verdict(self._s.store.count_existing(keys))
        if not self.revocations.current():  # another server since the load: its markers may lag
            found = Verdict.UNKNOWN
        if found is Verdict.UNKNOWN and self._loaded():
            found = verdict(self._s.store.count_existing(keys))
        return AccessTokenClaims(claims) if found is Verdict.LIVE else None

    async def check_access_token_async(self, token: str) -> AccessTokenClaims | None:
        """check_access_token from the event loop: the same checks, the look-up awaited."""
        claims = self._verified(token)
        if claims is None:
            return None
        keys = markers(claims)
        found = verdict(await self._s.store.count_existing_async(keys))
        if not self.revocations.current():
            found = Verdict.UNKNOWN
        if found is Verdict.UNKNOWN and await anyio.to_thread.run_sync(self._loaded):
            found = verdict(await self._s.store.count_existing_async(keys))
        return AccessTokenClaims(claims) if found is Verdict.LIVE else None

    def _loaded(self) -> bool:
        """Load the revocations after the store lost them; False (refuse) when it fails."""
        try:
            self.revocations.load()
        except Exception:
            log.exception("revocations could not be loaded: tokens are refused until they are")
            return False
        return True

    def signed_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of an unexpired access token of ours, not yet checked for revocation
        (no I/O): what it is bound to, before check_access_token decides whether it is live."""
        return self._verified(token)

    def _verified(self, token: str) -> dict[str, Any] | None:
        try:
            claims = self._s.keys.verify(token, (ACCESS_TOKEN_ALG,))
        except ValueError:
            return None
        if claims.get("iss") != self._issuer or int(claims.get("exp", 0)) <= time.time():
            return None
        return claims


def grant_is_live(grant: Grant | None) -> bool:
    return grant is not None and grant.revoked_at is None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
