"""Authlib's authorization server, configured: grants, extensions and storage hooks.

Protocol logic (request validation, PKCE, OIDC code flow, client authentication) is Authlib's;
this module only supplies storage and our rules: S256-only PKCE required per client, single-use
60-second codes whose reuse revokes what they issued, rotating refresh tokens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request, grants
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.domain.audit import Origin
from idp.domain.client_protocol import FAPI2, ProtocolOptions
from idp.domain.clients import SCOPES
from idp.domain.lifecycle import certificate_expiry, current_device_of_user, in_service
from idp.domain.registration import latest_proofing
from idp.domain.secrets import random_token, sha256_hex
from idp.oidc import dpop, rar
from idp.oidc.ciba import Approvals, BackchannelAuthentication, CibaGrant, CibaRequests
from idp.oidc.claims import (
    parse_claims_request,
    release,
    verified_claims,
    wants_verified_claims,
)
from idp.oidc.dispatch import Dispatch, LoopFirst
from idp.oidc.endpoints import Introspection, Revocation
from idp.oidc.logout import EndSession
from idp.oidc.models import AuthorizationCode, OAuthClient, RefreshTokenRecord, SignedInUser
from idp.oidc.tokens import TokenService
from idp.services import Services
from idp.storage.models import Client, DeviceRecord, User

# A changed or deleted client takes effect in every process within this many seconds.
CLIENT_CACHE_SECONDS = 5
FAPI2_CODE_TTL = 60  # FAPI 2.0 Security Profile §5.3.2.1: codes live at most 60 s


def is_fapi2(client: OAuthClient) -> bool:
    return ProtocolOptions.of(client.record.protocol).profile == FAPI2


def origin_of(request: OAuth2Request) -> Origin:
    return getattr(request, "origin", None) or Origin()


def verified_claims_for(
    services: Services, user_id: str, claims_request: dict[str, Any] | None, part: str
) -> dict[str, Any]:
    """{"verified_claims": …} from the user's approved proofing, or {} when there is none."""
    with services.db.read() as session:
        proofing = latest_proofing(session, user_id)
    value = verified_claims(
        proofing, claims_request, part, services.settings.upstream.trust_framework
    )
    return {"verified_claims": value} if value else {}


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only; required for public clients and clients that opt in."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        client: OAuthClient = grant.request.client
        required = client.record.require_pkce or is_fapi2(client)
        if required and not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with S256")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Unsupported 'code_challenge_method': only S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        code: AuthorizationCode = grant.request.authorization_code
        if code.code_challenge and not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


class IdTokens(OpenIDCode):  # type: ignore[misc]
    """ID tokens: RS256 by default, ES256 per client; minimal claims plus what `claims` asks."""

    def __init__(self, services: Services) -> None:
        super().__init__(require_nonce=False)
        self._s = services
        self._local = threading.local()  # the code being exchanged, per request thread

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return False  # codes are single-use; the nonce is the relying party's replay check

    def resolve_client_private_key(self, client: OAuthClient) -> Any:
        return self._s.keys.private_key(client.id_token_signed_response_alg)[1]

    def get_encode_header(self, client: OAuthClient) -> dict[str, str]:
        alg = client.id_token_signed_response_alg
        return {"alg": alg, "kid": self._s.keys.private_key(alg)[0], "typ": "JWT"}

    def get_client_claims(self, client: OAuthClient) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self._s.settings.server.issuer,
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + (client.record.id_token_ttl or self._s.settings.tokens.id_token_ttl),
        }

    def get_authorization_code_claims(
        self, authorization_code: AuthorizationCode
    ) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        if authorization_code.sid:
            claims["sid"] = authorization_code.sid
        return claims

    def generate_user_info(self, user: SignedInUser, scope: str) -> dict[str, Any]:
        code = getattr(self._local, "code", None)
        claims_request = code.claims if code else None
        client: OAuthClient | None = getattr(self._local, "client", None)
        query = select(User, DeviceRecord).where(User.user_id == user.user_id)
        query = query.outerjoin_from(User, DeviceRecord, current_device_of_user())
        with self._s.db.read() as session:  # one query: the user and their current device
            row = session.execute(query).first()
            assert row is not None
            record, device = row
            allowed = client.record.allowed_claims if client else []
            registered = client.record.scope if client else None
            expiry = certificate_expiry(device, self._s.clock.now())
            extra = release(
                record, scope, allowed, claims_request, "id_token", False, registered, expiry
            )
        if client is not None and wants_verified_claims(allowed, claims_request, "id_token"):
            extra.update(verified_claims_for(self._s, user.user_id, claims_request, "id_token"))
        return {"sub": user.user_id, **extra}

    def process_token(self, grant: Any, response: Any) -> Any:
        self._local.code = grant.request.authorization_code
        self._local.client = grant.request.client
        try:
            return super().process_token(grant, response)
        finally:
            self._local.code = None
            self._local.client = None


class _ServerParts:
    """A grant's dependencies, from the server that made it: Authlib builds a grant for each
    request as `grant_cls(request, server)`, so a grant uses its own server's services, and
    two servers in one process (tests, tools) never share them through the class."""

    server: IdPAuthorizationServer

    @property
    def services(self) -> Services:
        return self.server.services

    @property
    def tokens(self) -> TokenService:
        return self.server.tokens


class AuthorizationCodeGrant(_ServerParts, grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = [  # noqa: RUF012
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        user: SignedInUser = request.user
        data = request.payload.data
        record = AuthorizationCode(
            client_id=request.client.get_client_id(),
            redirect_uri=data.get("redirect_uri") or "",
            scope=request.scope or "",
            user_id=user.user_id,
            auth_time=user.auth_time,
            acr=user.acr,
            amr=list(user.amr),
            sid=user.sid,
            grant_id=random_token(24),
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            claims=parse_claims_request(data.get("claims")),
            approval_receipt=user.approval_receipt,
            dpop_jkt=data.get("dpop_jkt") or None,
            authorization_details=rar.parse(
                data.get("authorization_details"),
                request.client.record.protocol,
                self.services.settings.authorization_details.schema_dir,
            ),
        )
        ttl = self.services.settings.tokens.authorization_code_ttl
        if is_fapi2(request.client):
            ttl = min(ttl, FAPI2_CODE_TTL)
        self.services.store.put("code:" + sha256_hex(code), record.__dict__, ttl)

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        code_hash = sha256_hex(code)
        raw = self.services.store.consume("code:" + code_hash)
        if raw is None:
            if grant_id := self.tokens.used_code_grant(code_hash):
                with self.services.db.session() as session:
                    self.tokens.revoke_grant(
                        session,
                        grant_id,
                        reason="authorization_code_reuse",
                        origin=origin_of(self.request),
                    )
            return None
        record = AuthorizationCode(**raw)
        self.tokens.code_was_used(code_hash, record.grant_id)
        if record.client_id != client.get_client_id():
            return None
        return record

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Already consumed by query_authorization_code."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> SignedInUser | None:
        expected = authorization_code.dpop_jkt
        if expected and self.tokens.dpop.binding(self.request.client) != expected:
            raise dpop.DPoPError(  # RFC 9449 §10: the authorization request named the key
                dpop.INVALID_PROOF, "the code is bound to another DPoP key (dpop_jkt)"
            )
        with self.services.db.read() as session:
            user = session.get(User, authorization_code.user_id)
            if user is None or not in_service(user):
                return None
        return authorization_code.signed_in_user()


class RefreshTokenGrant(_ServerParts, grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenRecord | None:
        with self.services.db.session() as session:
            return self.tokens.use_refresh_token(session, refresh_token, origin_of(self.request))

    def authenticate_user(self, refresh_token: RefreshTokenRecord) -> SignedInUser | None:
        with self.services.db.read() as session:
            user = session.get(User, refresh_token.user_id)
            if user is None or not in_service(user):
                return None
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token: RefreshTokenRecord) -> None:
        """Rotation already marked it used in authenticate_refresh_token."""


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]  # noqa: RUF012


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, services: Services, fetch_jwks: Any) -> None:
        super().__init__(validate_jti=True)
        self._s = services
        self._fetch_jwks = fetch_jwks

    def get_audiences(self) -> list[str]:
        issuer = self._s.settings.server.issuer
        return [issuer, issuer + "/token", issuer + "/par"]  # RFC 9126 §2

    def validate_jti(self, claims: Any, jti: str) -> bool:
        ttl = max(60, int(claims.get("exp", 0)) - int(time.time()) + 60)
        return self._s.store.add(f"assertion-jti:{claims['sub']}:{jti}", {}, ttl)

    def resolve_client_public_key(self, client: OAuthClient) -> KeySet:
        jwks = client.record.jwks or self._fetch_jwks(client.record.jwks_uri)
        return KeySet.import_key_set(jwks)  # type: ignore[arg-type]


class IdPAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's server with our grants, endpoints and storage; `dispatch` is where its token,
    introspection and revocation requests run (idp.oidc.dispatch), LoopFirst unless told."""

    def __init__(
        self,
        services: Services,
        fetch_jwks: Any,
        dispatch: Callable[[IdPAuthorizationServer], Dispatch] = LoopFirst,
    ) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.services = services
        self.fetch_jwks = fetch_jwks  # a client's jwks_uri (private_key_jwt, request objects)
        self.tokens = TokenService(services)
        self.dpop = self.tokens.dpop
        self._clients: dict[str, tuple[float, OAuthClient]] = {}
        self.register_token_generator("default", self.tokens.generate)
        self.register_client_auth_method(
            PrivateKeyJWT.CLIENT_AUTH_METHOD, PrivateKeyJWT(services, fetch_jwks)
        )
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(), IdTokens(services)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.introspection = Introspection(self, services, self.tokens)
        self.register_endpoint(self.introspection)
        self.register_endpoint(Revocation(self, services, self.tokens))
        self.register_endpoint(EndSession(self, services))
        self.ciba: CibaRequests | None = None  # enable_ciba, once push authentication exists
        self.dispatch = dispatch(self)

    def enable_ciba(self, approvals: Approvals) -> CibaRequests:
        """CIBA's endpoint and grant, asking the phone through `approvals`."""
        self.ciba = CibaRequests(self.services, approvals, self.query_client, self.fetch_jwks)
        self.register_endpoint(BackchannelAuthentication(self, self.ciba))
        self.register_grant(CibaGrant, [IdTokens(self.services)])
        return self.ciba

    def query_client(self, client_id: str) -> OAuthClient | None:
        """The client, cached in this process for CLIENT_CACHE_SECONDS."""
        now = time.monotonic()
        cached = self._clients.get(client_id)
        if cached and cached[0] > now:
            return cached[1]
        with self.services.db.read() as session:
            record = session.get(Client, client_id)
        client = OAuthClient(record) if record else None
        if client is not None:
            if len(self._clients) > 10_000:
                self._clients.clear()
            self._clients[client_id] = (now + CLIENT_CACHE_SECONDS, client)
        return client

    def create_token_response(self, request: OAuth2Request) -> tuple[int, Any, Any]:
        """Authlib's token endpoint, for every grant, with its DPoP proof (idp.oidc.dpop) in
        hand: checked when the client has authenticated, binding the tokens it issues."""
        headers = getattr(request, "headers", None) or {}
        proofs = headers.getlist("dpop") if hasattr(headers, "getlist") else []
        binding = dpop.TokenRequest(list(proofs), request.method, request.uri, origin_of(request))
        reset = dpop.current.set(binding)
        try:
            status, body, reply_headers = super().create_token_response(request)
        finally:
            dpop.current.reset(reset)
        if binding.nonce:
            reply_headers = [*reply_headers, ("DPoP-Nonce", binding.nonce)]
        return status, body, reply_headers

    def authenticate_client(
        self, request: OAuth2Request, methods: list[str], endpoint: str = "token"
    ) -> OAuthClient:
        client: OAuthClient = super().authenticate_client(request, methods, endpoint)
        binding = dpop.current.get()
        if endpoint == "token" and binding is not None and not binding.checked:
            self.dpop.at_token_endpoint(binding, client)
        return client

    def forget_client(self, client_id: str) -> None:
        """Drop this process's cached copy at once after an edit; other processes follow
        within CLIENT_CACHE_SECONDS."""
        self._clients.pop(client_id, None)

    def verified_claims_of(
        self, user_id: str, claims_request: dict[str, Any] | None, part: str
    ) -> dict[str, Any]:
        return verified_claims_for(self.services, user_id, claims_request, part)

    def cached_client(self, client_id: str) -> OAuthClient | None:
        """The client if this process's cache holds it (no I/O), else None."""
        cached = self._clients.get(client_id)
        return cached[1] if cached and cached[0] > time.monotonic() else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        code = request.authorization_code
        claims_request = code.claims if code else None
        if request.refresh_token is not None:
            claims_request = request.refresh_token.extra.get("claims_request")
        self.tokens.save(
            token,
            request.client,
            request.user,
            token.get("scope", ""),
            claims_request,
            origin_of(request),
        )

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's signals are not used: audit happens in the storage hooks."""

    # The framework binding (create_oauth2_request, handle_response) is idp.oidc.adapter's.
    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> tuple[int, Any, Any]:
        return status, body, headers
