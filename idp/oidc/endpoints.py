"""RFC 7662 introspection and RFC 7009 revocation, as Authlib endpoints over our token store."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from authlib.consts import default_json_headers
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from idp.domain import audit
from idp.domain.audit import Origin
from idp.oidc.models import OAuthClient
from idp.oidc.tokens import AccessTokenClaims, TokenService
from idp.services import Services

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


@dataclass
class FoundToken:
    """An access token (its verified claims) or a refresh token (its record), uniformly."""

    kind: str
    client_id: str
    claims: dict[str, Any] = field(default_factory=dict)
    refresh_grant_id: str | None = None

    def check_client(self, client: OAuthClient) -> bool:
        return client.get_client_id() == self.client_id

    def is_expired(self) -> bool:
        return self.kind == "access_token" and int(self.claims["exp"]) <= time.time()

    def is_revoked(self) -> bool:
        return False  # revoked tokens are not found at all

    @classmethod
    def access_token(cls, checked: AccessTokenClaims | None) -> FoundToken | None:
        """The access token that check_access_token found live, or None."""
        if checked is None:
            return None
        return cls("access_token", str(checked.claims["client_id"]), checked.claims)


class _Lookup:
    services: Services
    tokens: TokenService

    def query_token(self, token_string: str, token_type_hint: str | None) -> FoundToken | None:
        finders = [self._access, self._refresh]
        if token_type_hint == "refresh_token":
            finders.reverse()
        for find in finders:
            if found := find(token_string):
                return found
        return None

    def _access(self, value: str) -> FoundToken | None:
        return FoundToken.access_token(self.tokens.check_access_token(value))

    def _refresh(self, value: str) -> FoundToken | None:
        with self.services.db.read() as session:
            row = self.tokens.find_refresh_token(session, value)
            if row is None:
                return None
            claims = {
                "sub": row.user_id,
                "scope": row.scope,
                "exp": int(row.expires_at.timestamp()),
                "iat": int(row.issued_at.timestamp()),
            }
            return FoundToken("refresh_token", row.client_id, claims, row.grant_id)


class Introspection(_Lookup, IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, server: Any, services: Services, tokens: TokenService) -> None:
        super().__init__(server)
        self.services, self.tokens = services, tokens

    def check_permission(self, token: FoundToken, client: OAuthClient, request: Any) -> bool:
        return token.check_client(client)

    def answer_checked(
        self, request: Any, client: OAuthClient, checked: AccessTokenClaims | None
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """create_endpoint_response's answer for a client already authenticated and an access
        token already checked (idp.oidc.dispatch.LoopFirst, on the event loop)."""
        request.client = client
        self.check_params(request, client)
        found = FoundToken.access_token(checked)
        token = found if found and self.check_permission(found, client, request) else None
        return 200, self.create_introspection_payload(token), default_json_headers

    def introspect_token(self, token: FoundToken) -> dict[str, Any]:
        body = {
            "active": True,
            "client_id": token.client_id,
            "token_type": token.kind,
            "iss": self.services.settings.server.issuer,
        }
        names = (
            *("sub", "scope", "exp", "iat", "aud", "jti", "auth_time", "acr", "amr", "cnf"),
            "authorization_details",  # RFC 9396 §9.2
        )
        for name in names:
            if name in token.claims:
                body[name] = token.claims[name]
        if "cnf" in token.claims:
            body["token_type"] = "DPoP"  # RFC 9449 §6.2: and cnf.jkt, the key to check
        return body


class Revocation(_Lookup, RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = [*AUTH_METHODS, "none"]  # noqa: RUF012 (Authlib reads the list)

    def __init__(self, server: Any, services: Services, tokens: TokenService) -> None:
        super().__init__(server)
        self.services, self.tokens = services, tokens

    def revoke_token(self, token: FoundToken, request: Any) -> None:
        origin: Origin = getattr(request, "origin", None) or Origin()
        if token.kind == "access_token":
            with self.services.db.session() as session:
                self.tokens.revoke_access_token(session, token.claims)
                audit.record(
                    session,
                    "token.revoke",
                    actor=token.client_id,
                    subject=str(token.claims.get("sub")),
                    origin=origin,
                )
            return
        assert token.refresh_grant_id is not None
        with self.services.db.session() as session:
            self.tokens.revoke_grant(
                session, token.refresh_grant_id, reason="revocation", origin=origin
            )
