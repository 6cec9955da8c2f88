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

    def end_session(self, end_session_request: Any) -> None:
        """The web layer ends the SSO session: it owns the cookie (idp.web.logout)."""
