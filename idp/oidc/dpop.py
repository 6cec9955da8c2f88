"""DPoP, RFC 9449: tokens bound to a key the client proves it holds, request by request.

A client sends a *proof* in the `DPoP` header: a JWT (`typ: dpop+jwt`) signed with its private
key, the public key in the header's `jwk`, and claims that tie it to one request (`htm`, `htu`),
one moment (`iat`), once (`jti`), and, when the server asks, a server `nonce`; at a resource,
also the access token's hash (`ath`).

- At the token endpoint (every grant: the check runs when the client has authenticated, before
  a code or a refresh token is used up), a good proof binds the access token (`cnf.jkt`, the
  key's RFC 7638 thumbprint; `token_type: DPoP`) and, for a public client, the refresh token
  family (`grants.dpop_jkt`; a refresh then needs a proof with the same key, §5). A client
  registered with `dpop_bound_access_tokens` (or the FAPI 2.0 profile) is refused without one.
- At a resource (`/userinfo`), a bound token is accepted only as `Authorization: DPoP` with a
  proof of its key and its hash; as a Bearer token it is `invalid_token`.
- Replay: each proof's `jti` is added to the expiring store for as long as its `iat` is
  acceptable; a second use is refused. A store that cannot be reached raises (503, fail closed).
- Nonces (§8): an HMAC of the time slot under a key derived from the master key, so every
  process makes and checks the same nonce without shared state; one is accepted during its slot
  and the next. Settings `dpop.require_nonce` says of whom they are demanded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import import_key
from joserfc.jws import JWSRegistry

from idp.domain.audit import Origin
from idp.domain.client_protocol import FAPI2, ProtocolOptions
from idp.oidc.models import OAuthClient
from idp.services import Services

ALGS = ("ES256", "PS256", "RS256")
PROOF_TYP = "dpop+jwt"
INVALID_PROOF = "invalid_dpop_proof"
USE_NONCE = "use_dpop_nonce"
MAX_PROOF_CHARS = 8192
MAX_JTI_CHARS = 256
FUTURE_SKEW = 10  # seconds a proof's iat may lie ahead of our clock
MIN_RSA_BITS = 2048
# The members a public JWK must not have (private or symmetric key material).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7638: the required members of each key type, in lexicographic order.
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}
KEY_OF_ALG = {"ES256": ("EC", "P-256"), "PS256": ("RSA", None), "RS256": ("RSA", None)}
B64URL = frozenset(string.ascii_letters + string.digits + "-_")


def _registry(alg: str) -> JWSRegistry:
    registry = JWSRegistry(algorithms=[alg])
    registry.max_header_length = 4096  # the header holds the jwk: an RSA key's is over 512
    return registry


REGISTRIES = {alg: _registry(alg) for alg in ALGS}  # each accepts exactly one algorithm


class DPoPError(OAuth2Error):  # type: ignore[misc]
    """A proof refused: `invalid_dpop_proof`, or `use_dpop_nonce` (send the nonce given in the
    `DPoP-Nonce` header). 400 at the token endpoint; a resource answers 401 with a challenge."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description=description, status_code=400)
        self.error = error
        self.nonce: str | None = None  # at a resource: the nonce to send with use_dpop_nonce


@dataclass(frozen=True)
class Proof:
    jkt: str
    claims: dict[str, Any]


@dataclass
class TokenRequest:
    """The DPoP part of one token request, in `current` while Authlib answers it."""

    proofs: list[str]
    method: str
    uri: str
    origin: Origin
    checked: bool = False
    jkt: str | None = None  # the key the tokens are bound to
    nonce: str | None = None  # a fresh nonce for the DPoP-Nonce response header


current: ContextVar[TokenRequest | None] = ContextVar("dpop_token_request", default=None)


def thumbprint(key: dict[str, Any]) -> str:
    """RFC 7638 JWK SHA-256 thumbprint, base64url."""
    members = THUMBPRINT_MEMBERS[str(key["kty"])]
    canonical = json.dumps({m: key[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def access_token_hash(access_token: str) -> str:
    """`ath`: base64url of the SHA-256 of the access token's ASCII bytes."""
    return _b64(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def bound_key(claims: dict[str, Any]) -> str | None:
    """The `cnf.jkt` of an access token's claims, if it is DPoP-bound."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    return jkt if isinstance(jkt, str) else None


def target_uri(uri: str) -> str:
    """An HTTP URI compared as RFC 9449 §4.3 says: without query and fragment, scheme and host
    in lower case, without the scheme's default port (RFC 3986 §6.2.2-3)."""
    parts = urlsplit(uri)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


class DPoP:
    def __init__(self, services: Services) -> None:
        self._s = services
        self._settings = services.settings.dpop
        self._nonce_key = services.master.derive(b"dpop-nonce")

    # -- policy per client ---------------------------------------------------------------
    @staticmethod
    def required(client: OAuthClient) -> bool:
        """The client must bind its tokens (`dpop_bound_access_tokens`, or FAPI 2.0)."""
        return ProtocolOptions.of(client.record.protocol).effective().dpop_bound_access_tokens

    def nonce_required(self, client: OAuthClient | None) -> bool:
        mode = self._settings.require_nonce
        if mode == "always":
            return True
        if mode == "never" or client is None:
            return False
        return ProtocolOptions.of(client.record.protocol).profile == FAPI2

    # -- nonces --------------------------------------------------------------------------
    def nonce(self) -> str:
        return self._nonce_for(self._slot())

    def _slot(self) -> int:
        return int(time.time()) // self._settings.nonce_lifetime

    def _nonce_for(self, slot: int) -> str:
        mac = hmac.new(self._nonce_key, b"dpop-nonce:%d" % slot, hashlib.sha256).digest()
        return _b64(mac[:24])

    def _nonce_ok(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        slot = self._slot()
        valid = [self._nonce_for(slot), self._nonce_for(slot - 1)]
        return any(hmac.compare_digest(value.encode(), v.encode()) for v in valid)

    # -- the token endpoint --------------------------------------------------------------
    def at_token_endpoint(self, request: TokenRequest, client: OAuthClient) -> None:
        """Check the token request's proof once its client is known; remember the key."""
        request.checked = True
        if not request.proofs:
            if self.required(client):
                raise DPoPError(INVALID_PROOF, "this client must send a DPoP proof")
            return
        nonce_required = self.nonce_required(client)
        if nonce_required:
            request.nonce = self.nonce()
        proof = self.check(
            request.proofs,
            request.method,
            request.uri,
            nonce_required=nonce_required,
            client_id=client.get_client_id(),
            origin=request.origin,
        )
        request.jkt = proof.jkt

    def binding(self, client: OAuthClient) -> str | None:
        """The key this token request's tokens are bound to, if any (checked now if the grant
        did not authenticate its client through the server)."""
        request = current.get()
        if request is None:
            return None
        if not request.checked:
            self.at_token_endpoint(request, client)
        return request.jkt

    def refresh_bound_to(self, jkt: str, client_id: str) -> None:
        """A refresh token bound to `jkt` may be used only with a proof of that key (§5)."""
        request = current.get()
        presented = request.jkt if request is not None else None
        if request is None or presented is None:
            raise DPoPError(INVALID_PROOF, "this refresh token needs a DPoP proof of its key")
        if not hmac.compare_digest(presented.encode(), jkt.encode()):
            self._refused(client_id, request.origin, "refresh_token_key_mismatch")
            raise DPoPError(INVALID_PROOF, "the DPoP key is not the refresh token's")

    # -- a resource ----------------------------------------------------------------------
    def at_resource(
        self,
        proofs: Sequence[str],
        method: str,
        uri: str,
        access_token: str,
        jkt: str,
        client: OAuthClient | None,
        origin: Origin,
    ) -> None:
        """A DPoP-bound access token presented with `proofs` (§7.1); DPoPError if refused."""
        client_id = client.get_client_id() if client else "unknown"
        nonce_required = self.nonce_required(client)
        try:
            self.check(
                proofs,
                method,
                uri,
                nonce_required=nonce_required,
                client_id=client_id,
                origin=origin,
                access_token=access_token,
                jkt=jkt,
            )
        except DPoPError as error:
            if error.error == USE_NONCE:
                error.nonce = self.nonce()
            raise

    # -- the proof -----------------------------------------------------------------------
    def check(
        self,
        proofs: Sequence[str],
        method: str,
        uri: str,
        *,
        nonce_required: bool,
        client_id: str,
        origin: Origin,
        access_token: str | None = None,
        jkt: str | None = None,
    ) -> Proof:
        """The proof of one request, checked as RFC 9449 §4.3 lists; DPoPError if it fails.
        With `access_token`, also its `ath` and that its key is `jkt` (§7.1)."""
        if len(proofs) != 1:
            raise DPoPError(INVALID_PROOF, "send exactly one DPoP header")
        claims, key = self._verified(proofs[0])
        proof_jkt = thumbprint(key)
        if jkt is not None and not hmac.compare_digest(proof_jkt.encode(), jkt.encode()):
            self._refused(client_id, origin, "key_mismatch")
            raise DPoPError(INVALID_PROOF, "the DPoP key is not the one the token is bound to")
        self._check_claims(claims, method, uri, access_token)
        if ("nonce" in claims or nonce_required) and not self._nonce_ok(claims.get("nonce")):
            raise DPoPError(USE_NONCE, "use the DPoP-Nonce this server provides")
        # Last, so that only proofs that are good otherwise take room in the store.
        ttl = self._settings.proof_max_age + 2 * FUTURE_SKEW
        key_name = "dpop-jti:" + hashlib.sha256(f"{proof_jkt}:{claims['jti']}".encode()).hexdigest()
        if not self._s.store.add(key_name, {}, ttl):
            self._refused(client_id, origin, "replay")
            raise DPoPError(INVALID_PROOF, "this DPoP proof was used before")
        return Proof(proof_jkt, claims)

    def _verified(self, proof: str) -> tuple[dict[str, Any], dict[str, Any]]:
        if not proof or len(proof) > MAX_PROOF_CHARS or proof.count(".") != 2:
            raise DPoPError(INVALID_PROOF, "the DPoP proof is not a JWT")
        try:
            header = json.loads(_unb64(proof.split(".")[0]))
        except ValueError as exc:
            raise DPoPError(INVALID_PROOF, "the DPoP proof's header is not JSON") from exc
        if not isinstance(header, dict) or header.get("typ") != PROOF_TYP:
            raise DPoPError(INVALID_PROOF, "the DPoP proof's typ must be dpop+jwt")
        alg = header.get("alg")
        if alg not in ALGS:
            raise DPoPError(INVALID_PROOF, "the DPoP proof's alg is not supported")
        key = self._public_key(header.get("jwk"), alg)
        try:
            public = import_key(key)
            signed = jws.deserialize_compact(proof, public, registry=REGISTRIES[alg])
            claims = json.loads(signed.payload)
        except (JoseError, ValueError, TypeError) as exc:
            raise DPoPError(INVALID_PROOF, "the DPoP proof's signature is not valid") from exc
        if not isinstance(claims, dict):
            raise DPoPError(INVALID_PROOF, "the DPoP proof's claims are not an object")
        return claims, key

    @staticmethod
    def _public_key(jwk: Any, alg: str) -> dict[str, Any]:
        if not isinstance(jwk, dict) or not all(isinstance(k, str) for k in jwk):
            raise DPoPError(INVALID_PROOF, "the DPoP proof's header needs the public jwk")
        if PRIVATE_MEMBERS & set(jwk):
            raise DPoPError(INVALID_PROOF, "the DPoP proof's jwk must not hold a private key")
        kty, crv = KEY_OF_ALG[alg]
        members = THUMBPRINT_MEMBERS[kty]
        if jwk.get("kty") != kty or not all(isinstance(jwk.get(m), str) for m in members):
            raise DPoPError(INVALID_PROOF, "the DPoP proof's jwk does not fit its alg")
        if crv is not None and jwk.get("crv") != crv:
            raise DPoPError(INVALID_PROOF, "the DPoP proof's jwk does not fit its alg")
        if kty == "RSA":
            try:
                bits = len(_unb64(jwk["n"]).lstrip(b"\0")) * 8
            except ValueError:
                bits = 0
            if bits < MIN_RSA_BITS:
                raise DPoPError(INVALID_PROOF, "the DPoP proof's RSA key is too short")
        return dict(jwk)

    def _check_claims(
        self, claims: dict[str, Any], method: str, uri: str, access_token: str | None
    ) -> None:
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS:
            raise DPoPError(INVALID_PROOF, "the DPoP proof needs a jti")
        if claims.get("htm") != method:
            raise DPoPError(INVALID_PROOF, "the DPoP proof's htm is not this request's method")
        htu = claims.get("htu")
        if not isinstance(htu, str) or not _same_target(htu, uri):
            raise DPoPError(INVALID_PROOF, "the DPoP proof's htu is not this request's URI")
        iat = claims.get("iat")
        now = time.time()
        if not isinstance(iat, int | float) or isinstance(iat, bool):
            raise DPoPError(INVALID_PROOF, "the DPoP proof needs an iat")
        if not now - self._settings.proof_max_age <= iat <= now + FUTURE_SKEW:
            raise DPoPError(INVALID_PROOF, "the DPoP proof's iat is not recent")
        if access_token is not None:
            ath = claims.get("ath")
            expected = access_token_hash(access_token)
            if not isinstance(ath, str) or not hmac.compare_digest(ath.encode(), expected.encode()):
                raise DPoPError(INVALID_PROOF, "the DPoP proof's ath is not the token's hash")

    def _refused(self, client_id: str, origin: Origin, reason: str) -> None:
        """A replayed proof or a proof of another key: someone holds what is not theirs."""
        self._s.audit.record(
            "dpop.refuse",
            actor=client_id,
            subject=client_id,
            outcome="failure",
            origin=origin,
            reason=reason,
        )


def _same_target(htu: str, uri: str) -> bool:
    try:
        return target_uri(htu) == target_uri(uri)
    except ValueError:  # a port that is not a number
        return False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not isinstance(text, str) or not set(text) <= B64URL:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc
