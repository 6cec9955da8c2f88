"""OpenID Provider metadata and JWKS, cached and served with ETag."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from idp.domain.client_protocol import REQUEST_SIGNING_ALGS
from idp.domain.clients import SCOPES
from idp.login import assurance
from idp.oidc.claims import CLAIMS_SUPPORTED
from idp.oidc.dpop import ALGS as DPOP_ALGS

CACHE = b"public, max-age=300"


def metadata(issuer: str, trust_framework: str = "th_dopa_ial") -> dict[str, Any]:
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
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:openid:params:grant-type:ciba",
        ],
        "backchannel_authentication_endpoint": issuer + "/bc-authorize",
        "backchannel_token_delivery_modes_supported": ["poll", "ping"],
        "backchannel_user_code_parameter_supported": False,
        "backchannel_authentication_request_signing_alg_values_supported": list(
            REQUEST_SIGNING_ALGS
        ),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": [*auth_methods, "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256", "PS256"],
        "revocation_endpoint_auth_methods_supported": [*auth_methods, "none"],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claims_parameter_supported": True,
        # JAR (RFC 9101) by value; a request_uri only from our PAR endpoint (none fetched)
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "request_object_signing_alg_values_supported": list(REQUEST_SIGNING_ALGS),
        "pushed_authorization_request_endpoint": issuer + "/par",
        "require_pushed_authorization_requests": False,  # per client (its options, FAPI 2.0)
        "acr_values_supported": list(assurance.SUPPORTED),
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_locales_supported": ["th", "en"],
        "ui_locales_supported": ["th", "en"],
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "verified_claims_supported": True,
        "trust_frameworks_supported": [trust_framework],
        "evidence_supported": ["electronic_record"],
        "documents_supported": [],
        "electronic_records_supported": ["upstream_identity_provider"],
        "claims_in_verified_claims_supported": [
            "national_id",
            "name",
            "name#en",
            "birthdate",
            "address",
        ],
    }


class CachedJson:
    """A raw ASGI endpoint for a JSON document that changes rarely: encoded once per content,
    sent with a strong ETag, 304 for a matching If-None-Match. `source` returns the content's
    version and a function that builds it; when `reads_database` says the source would read
    the database now, it is asked in a worker thread, never on the event loop."""

    def __init__(
        self,
        source: Callable[[Any], tuple[Any, Callable[[], Any]]],
        reads_database: Callable[[Any], bool] = lambda app: False,
    ) -> None:
        self._source = source
        self._reads_database = reads_database
        self._version: Any = object()
        self._full: list[tuple[bytes, bytes]] = []
        self._not_modified: list[tuple[bytes, bytes]] = []
        self._body = b""
        self._etag = b""

    def _refresh(self, app: Any) -> None:
        version, build = self._source(app)
        if version == self._version:
            return
        body = json.dumps(build(), separators=(",", ":")).encode()
        etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
        common = [(b"etag", etag), (b"cache-control", CACHE)]
        self._full = [
            *common,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        self._not_modified = common
        self._body, self._etag, self._version = body, etag, version

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._reads_database(scope["app"]):
            await run_in_threadpool(self._refresh, scope["app"])
        else:
            self._refresh(scope["app"])
        matches = any(k == b"if-none-match" and v == self._etag for k, v in scope["headers"])
        if matches:
            await send(
                {"type": "http.response.start", "status": 304, "headers": self._not_modified}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": self._full})
        await send({"type": "http.response.body", "body": self._body})


def _discovery_source(app: Any) -> tuple[Any, Callable[[], Any]]:
    issuer = app.state.ctx.issuer
    framework = app.state.ctx.services.settings.upstream.trust_framework
    return issuer, lambda: metadata(issuer, framework)


def _jwks_source(app: Any) -> tuple[Any, Callable[[], Any]]:
    snapshot = app.state.ctx.services.keys.snapshot()
    return snapshot.etag, lambda: {"keys": snapshot.published}


openid_configuration = CachedJson(_discovery_source)
jwks = CachedJson(_jwks_source, lambda app: app.state.ctx.services.keys.stale())
