"""RP-Initiated Logout 1.0: Authlib validates the request; the web layer ends the session."""

from __future__ import annotations

from typing import Any

from authlib.oidc.rpinitiated import EndSessionEndpoint

from idp.domain.keys import ALGORITHMS
from idp.services import Services


class EndSession(EndSessionEndpoint):  # type: ignore[misc]
    def __init__(self, server: Any, services: Services) -> None:
        super().__init__(server)
        self._s = services

    def get_server_jwks(self) -> dict[str, Any]:
        return {"keys": self._s.keys.snapshot().published}

    def get_algorithms(self) -> list[str]:
        return list(ALGORITHMS)

    def resolve_client_from_id_token_claims(self, id_token_claims: dict[str, Any]) -> Any:
        """Our ID tokens carry `aud` as a one-element list: that client is the one."""
        aud = id_token_claims.get("aud")
        if isinstance(aud, list) and len(aud) == 1:
            return self.server.query_client(aud[0])
        return super().resolve_client_from_id_token_claims(id_token_claims)

    def end_session(self, end_session_request: Any) -> None:
        """The web layer ends the SSO session: it owns the cookie (idp.web.signin.logout)."""
