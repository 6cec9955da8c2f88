"""OpenID Provider metadata and JWKS, cached and served with ETag."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from idp.domain.clients import SCOPES
from idp.oidc import acr
from idp.oidc.claims import CLAIMS_SUPPORTED
from idp.web.context import ctx

CACHE = "public, max-age=300"


def metadata(issuer: str) -> dict[str, Any]:
    auth_methods = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
    return {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + "/token",
        "userinfo_endpoint": issuer + "/userinfo",
        "jwks_uri": issuer + "/jwks",
        "revocation_endpoint": issuer + "/revoke",
        "introspection_endpoint": issuer + "/introspect",
        "end_session_endpoint": issuer + "/logout",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": [*auth_methods, "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "PS256"],
        "revocation_endpoint_auth_methods_supported": [*auth_methods, "none"],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "acr_values_supported": list(acr.SUPPORTED),
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_locales_supported": ["th", "en"],
        "ui_locales_supported": ["th", "en"],
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
    }


class CachedJson:
    """A JSON body computed once per content, with a strong ETag."""

    def __init__(self) -> None:
        self._key: Any = None
        self._body = b""
        self._etag = ""

    def response(self, request: Request, key: Any, build: Any) -> Response:
        if key != self._key:
            self._body = json.dumps(build(), separators=(",", ":")).encode()
            self._etag = '"' + hashlib.sha256(self._body).hexdigest()[:32] + '"'
            self._key = key
        headers = {"ETag": self._etag, "Cache-Control": CACHE}
        if request.headers.get("if-none-match") == self._etag:
            return Response(status_code=304, headers=headers)
        return Response(self._body, media_type="application/json", headers=headers)


async def openid_configuration(request: Request) -> Response:
    c = ctx(request)
    cache: CachedJson = request.app.state.discovery_cache
    return cache.response(request, c.issuer, lambda: metadata(c.issuer))


async def jwks(request: Request) -> Response:
    snapshot = ctx(request).services.keys.snapshot()
    cache: CachedJson = request.app.state.jwks_cache
    return cache.response(request, snapshot.etag, lambda: {"keys": snapshot.published})
