"""The back office as an OpenID Connect relying party of idp: authorization code with PKCE
(S256), a confidential client (client_secret_basic), a checked ID token, RP-initiated logout."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from admin_ui.settings import AdminUISettings

ACR_PUSH = "urn:th:go:cgd:idp:aal2-push"  # what idp calls a push sign-in
ACR_PHISHING_RESISTANT = "urn:th:go:cgd:idp:aal2-phr"  # a passkey sign-in
STRONG_LEVELS = (ACR_PUSH, ACR_PHISHING_RESISTANT)  # lowest first, as idp ranks them


def meets(acr: str, required: str) -> bool:
    """`acr` is the required level or a higher one."""
    if acr not in STRONG_LEVELS or required not in STRONG_LEVELS:
        return False
    return STRONG_LEVELS.index(acr) >= STRONG_LEVELS.index(required)


METADATA_SECONDS = 3600
CLOCK_SKEW = 60


class SignInFailed(Exception):
    """The IdP's answer could not be trusted or was an error; never shown with details."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    expires_at: int
    refresh_token: str


@dataclass(frozen=True)
class SignedIn:
    user_id: str
    name: str
    tokens: Tokens
    auth_time: int
    acr: str
    id_token: str


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _tokens(body: dict[str, Any], previous_refresh: str) -> Tokens:
    return Tokens(
        access_token=str(body["access_token"]),
        expires_at=int(time.time()) + int(body.get("expires_in", 300)) - 30,
        refresh_token=str(body.get("refresh_token") or previous_refresh),
    )


class RelyingParty:
    def __init__(self, settings: AdminUISettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._keys: KeySet | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata and self._metadata[0] > time.monotonic():
            return self._metadata[1]
        url = self.settings.issuer + "/.well-known/openid-configuration"
        response = await self.http.get(url)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        if data.get("issuer") != self.settings.issuer:
            raise SignInFailed("the discovery document names another issuer")
        self._metadata = (time.monotonic() + METADATA_SECONDS, data)
        return data

    async def _keyset(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            response = await self.http.get((await self.metadata())["jwks_uri"])
            response.raise_for_status()
            self._keys = KeySet.import_key_set(response.json())
        return self._keys

    async def start(self, max_age: int | None = None) -> tuple[dict[str, str], str]:
        """The state to keep in the session, and the URL to send the browser to."""
        login = {
            "state": secrets.token_urlsafe(24),
            "nonce": secrets.token_urlsafe(24),
            "verifier": secrets.token_urlsafe(48),
        }
        params = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": self.settings.redirect_uri,
            "scope": "openid profile admin",
            "state": login["state"],
            "nonce": login["nonce"],
            "code_challenge": _s256(login["verifier"]),
            "code_challenge_method": "S256",
            "acr_values": self.settings.required_acr,
            "ui_locales": "th en",
        }
        if max_age is not None:
            params["max_age"] = str(max_age)
        endpoint = (await self.metadata())["authorization_endpoint"]
        return login, endpoint + "?" + urlencode(params)

    async def finish(self, query: dict[str, str], login: dict[str, str]) -> SignedIn:
        """Check the callback against the state we kept, redeem the code, check the ID token."""
        if not login or not secrets.compare_digest(query.get("state", ""), login["state"]):
            raise SignInFailed("state mismatch")
        if "error" in query or not query.get("code"):
            raise SignInFailed(query.get("error", "no code"))
        if query.get("iss") not in (None, self.settings.issuer):
            raise SignInFailed("the response names another issuer")  # RFC 9207
        metadata = await self.metadata()
        response = await self.http.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": query["code"],
                "redirect_uri": self.settings.redirect_uri,
                "code_verifier": login["verifier"],
            },
            auth=(self.settings.client_id, self.settings.client_secret),
        )
        if response.status_code != 200:
            raise SignInFailed(f"token endpoint said {response.status_code}")
        body = response.json()
        claims = await self._id_token_claims(str(body.get("id_token", "")), login["nonce"])
        return SignedIn(
            user_id=str(claims["sub"]),
            name=str(claims.get("name") or claims["sub"]),
            tokens=_tokens(body, ""),
            auth_time=int(claims.get("auth_time", 0)),
            acr=str(claims.get("acr", "")),
            id_token=str(body["id_token"]),
        )

    async def refresh(self, refresh_token: str) -> Tokens | None:
        """A fresh access token for the same sign-in (same acr and auth_time), or None when
        the IdP has ended it (signed out everywhere, disabled, expired)."""
        if not refresh_token:
            return None
        response = await self.http.post(
            (await self.metadata())["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(self.settings.client_id, self.settings.client_secret),
        )
        if response.status_code != 200:
            return None
        return _tokens(response.json(), refresh_token)

    async def _id_token_claims(self, token: str, nonce: str) -> dict[str, Any]:
        try:
            try:
                decoded = jwt.decode(token, await self._keyset())
            except (ValueError, JoseError):  # perhaps a rotated key: fetch once more
                decoded = jwt.decode(token, await self._keyset(refresh=True))
        except (ValueError, JoseError) as exc:
            raise SignInFailed("the ID token's signature does not verify") from exc
        claims = decoded.claims
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        now = time.time()
        if (
            claims.get("iss") != self.settings.issuer
            or self.settings.client_id not in audiences
            or (len(audiences) > 1 and claims.get("azp") != self.settings.client_id)
            or not secrets.compare_digest(str(claims.get("nonce", "")), nonce)
            or float(claims.get("exp", 0)) < now - CLOCK_SKEW
            or float(claims.get("iat", 0)) > now + CLOCK_SKEW
            or not claims.get("sub")
        ):
            raise SignInFailed("the ID token's claims do not match this sign-in")
        if not meets(str(claims.get("acr", "")), self.settings.required_acr):
            raise SignInFailed("the back office needs a stronger sign-in")
        return dict(claims)

    async def logout_url(self, id_token: str) -> str:
        """RP-initiated logout: idp ends its session (no question asked when the ID token
        names it) and comes back to our signed-out page."""
        endpoint = (await self.metadata()).get("end_session_endpoint")
        after = self.settings.public_url + "/signed-out"
        if not endpoint:
            return after
        params = {"client_id": self.settings.client_id, "post_logout_redirect_uri": after}
        if id_token:
            params["id_token_hint"] = id_token
        query = urlencode(params)
        return f"{endpoint}?{query}"
