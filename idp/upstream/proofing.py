"""Identity proofing at the upstream OpenID provider (registration step 2), cross-device.

The desktop shows a QR code for /register/proof/<token>; the phone opens it and is sent to the
upstream's authorization endpoint (code + PKCE S256 + nonce + state, Authlib's client); the
callback exchanges the code, validates the ID token (signature by the upstream's JWKS, issuer,
audience, expiry, nonce) and maps its claims through configuration.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from idp.settings import Settings
from idp.storage.expiring import ExpiringStore

PROOF_TTL = 600
log = logging.getLogger(__name__)


class ProofingError(Exception):
    """The proofing did not complete; `reason` is a stable code shown with a bilingual text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProofingResult:
    issuer: str
    subject: str
    claims: dict[str, Any]  # mapped: national_id, name_th, name_en, birthdate, address, …
    assurance_level: str | None
    verified_at: int


class UpstreamProofing:
    def __init__(self, settings: Settings, store: ExpiringStore, client_key: ECKey) -> None:
        self._settings = settings
        self._upstream = settings.upstream
        self._store = store
        self._issuer = settings.upstream_issuer
        self._redirect_uri = settings.server.issuer + "/register/proof/callback"
        self._metadata: dict[str, Any] | None = None
        self._client_key = client_key  # signs private_key_jwt assertions, when configured

    @property
    def client_key(self) -> ECKey:
        return self._client_key

    # -- the desktop's QR code -----------------------------------------------------------
    def phone_link(self, registration_id: str) -> str:
        token = secrets.token_urlsafe(24)
        self._store.put("proof-link:" + token, {"registration": registration_id}, PROOF_TTL)
        return f"{self._settings.server.issuer}/register/proof/{token}"

    # -- the phone: to the upstream and back ---------------------------------------------
    def authorization_url(self, link_token: str) -> str:
        link = self._store.get("proof-link:" + link_token) if len(link_token) < 64 else None
        if link is None:
            raise ProofingError("link_expired")
        metadata = self._discover()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        client = self._client()
        url, _state = client.create_authorization_url(
            metadata["authorization_endpoint"],
            state=state,
            nonce=nonce,
            code_verifier=verifier,
            scope=self._upstream.scopes,
        )
        self._store.put(
            "proof-state:" + state,
            {
                "registration": link["registration"],
                "nonce": nonce,
                "verifier": verifier,
            },
            PROOF_TTL,
        )
        return str(url)

    def complete(self, params: dict[str, str]) -> tuple[str, ProofingResult]:
        """(registration id, result) for the callback; ProofingError says why not."""
        pending = self._store.consume("proof-state:" + params.get("state", "")[:64])
        if pending is None:
            raise ProofingError("state_mismatch")
        if params.get("error"):
            raise ProofingError("upstream_" + params["error"][:40])
        if not params.get("code"):
            raise ProofingError("no_code")
        metadata = self._discover()
        client = self._client()
        try:
            token = client.fetch_token(
                metadata["token_endpoint"],
                code=params["code"],
                code_verifier=pending["verifier"],
                redirect_uri=self._redirect_uri,
            )
        except Exception as exc:  # any upstream failure: stop here, say so
            log.warning("upstream token exchange failed: %s", exc)
            raise ProofingError("token_exchange_failed") from exc
        claims = self._validate(str(token.get("id_token", "")), str(pending["nonce"]), metadata)
        return str(pending["registration"]), self._result(claims)

    def _validate(self, id_token: str, nonce: str, metadata: dict[str, Any]) -> dict[str, Any]:
        try:
            keys = KeySet.import_key_set(self._get(metadata["jwks_uri"]))  # type: ignore[arg-type]
            token = jwt.decode(id_token, keys, algorithms=["ES256", "RS256", "PS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._upstream.client_id},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError, KeyError) as exc:
            raise ProofingError("invalid_id_token") from exc
        if token.claims.get("nonce") != nonce:
            raise ProofingError("nonce_mismatch")
        return dict(token.claims)

    def _result(self, claims: dict[str, Any]) -> ProofingResult:
        mapped = {ours: claims.get(theirs) for ours, theirs in self._upstream.claims.items()}
        level = mapped.get("assurance_level")
        if level is not None:
            level = self._upstream.assurance_levels.get(str(level), str(level))
        return ProofingResult(
            self._issuer,
            str(claims["sub"]),
            mapped,
            str(level) if level is not None else None,
            int(time.time()),
        )

    # -- plumbing ------------------------------------------------------------------------
    def _client(self) -> OAuth2Client:
        key_auth = self._upstream.auth_method == "private_key_jwt"
        client = OAuth2Client(
            client_id=self._upstream.client_id,
            client_secret=self._client_key if key_auth else self._upstream.client_secret,
            token_endpoint_auth_method=self._upstream.auth_method,
            redirect_uri=self._redirect_uri,
            code_challenge_method="S256",
            timeout=self._upstream.http_timeout_seconds,
        )
        if key_auth:
            client.register_client_auth_method(
                PrivateKeyJWT(
                    self._discover()["token_endpoint"],
                    alg="ES256",
                    headers={"kid": self._client_key.thumbprint()},
                    claims={"aud": self._issuer},  # the issuer, as RFC 7523bis and FAPI 2 ask
                )
            )
        return client

    def _discover(self) -> dict[str, Any]:
        if self._metadata is None:
            self._metadata = self._get(self._issuer + "/.well-known/openid-configuration")
        return self._metadata

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self._upstream.http_timeout_seconds)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProofingError("upstream_unreachable") from exc
        return data
