"""The wire format between devices and the server: compact JWS, ES256, exactly what is signed.

Device → server: every request body (or, for GET, the `Authorization: SoftToken <jws>` header)
is a compact JWS with header `{"alg": "ES256", "typ": "softtoken-req+jwt", "kid": DEVICE_ID}`
and claims `aud` (the device API base URL), `iat` (within ±60 s), `jti` (never accepted twice),
`htm` and `htu` (the HTTP method and path it is for), plus the operation's own claims.
Server → device: challenges are compact JWS with `typ` `softtoken-challenge+jwt`, signed by the
server's challenge key that the device received at activation. docs/device-protocol.md gives
the byte-level layout for app developers.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from push_auth.errors import unauthorized

ALG = "ES256"
REQUEST_TYP = "softtoken-req+jwt"
CHALLENGE_TYP = "softtoken-challenge+jwt"
CLOCK_SKEW = 60
JTI_TTL = 2 * CLOCK_SKEW + 60
MAX_TOKEN_BYTES = 16_384


def _key(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey | str) -> ECKey:
    if isinstance(key, str):
        return ECKey.import_key(key.encode())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return ECKey.import_key(pem)
    return ECKey.import_key(
        key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def sign(
    key: ec.EllipticCurvePrivateKey | str, claims: dict[str, Any], typ: str, kid: str | None = None
) -> str:
    header: dict[str, Any] = {"alg": ALG, "typ": typ}
    if kid:
        header["kid"] = kid
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, payload, _key(key), algorithms=[ALG])


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified (to find the key); raise if it is not a compact JWS."""
    if len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
        raise unauthorized("the request is not a compact JWS")
    try:
        header_b64, payload_b64, _sig = token.split(".")
        header = json.loads(_b64(header_b64))
        claims = json.loads(_b64(payload_b64))
    except (ValueError, UnicodeDecodeError) as exc:
        raise unauthorized("the request is not a compact JWS") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise unauthorized("the request is not a compact JWS")
    return header, claims


def verify(token: str, public_key: ec.EllipticCurvePublicKey | str, typ: str) -> dict[str, Any]:
    """The claims, if the signature is good and the header is what it must be."""
    header, _claims = peek(token)
    if header.get("alg") != ALG or header.get("typ") != typ:
        raise unauthorized("wrong JWS algorithm or type")
    try:
        verified = jws.deserialize_compact(token, _key(public_key), algorithms=[ALG])
    except (JoseError, ValueError) as exc:
        raise unauthorized("the signature does not verify") from exc
    claims = json.loads(verified.payload)
    assert isinstance(claims, dict)
    return claims


def check_request_claims(
    claims: dict[str, Any], audience: str, method: str, path: str, *, now: float
) -> None:
    """aud, htm, htu and an iat within CLOCK_SKEW of `now` (real time, seconds); the caller
    checks jti against its replay cache."""
    iat = claims.get("iat")
    if (
        not isinstance(iat, int | float)
        or isinstance(iat, bool)
        or not math.isfinite(iat)  # NaN is never "more than 60 s away"
        or abs(now - iat) > CLOCK_SKEW
    ):
        raise unauthorized(
            "iat is missing or more than 60 s away from the server's clock",
        )
    if claims.get("aud") != audience:
        raise unauthorized("aud is not this device API")
    if claims.get("htm") != method or claims.get("htu") != path:
        raise unauthorized("htm/htu do not match this request")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 16 <= len(jti) <= 128:
        raise unauthorized("jti must be a string of 16-128 characters")


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
