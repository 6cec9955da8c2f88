"""RFC 9101 (JAR): signed request objects, at /authorize and at /par.

A request object is a JWT signed by the client with a key of its registered `jwks` or
`jwks_uri` (the keys private_key_jwt uses), ES256, PS256 or RS256 — never `none`, never
encrypted. Its `iss` is the client_id, its `aud` our issuer, and it carries `exp` (at most an
hour ahead) and, if any, an `nbf` not in the future and at most an hour old (FAPI 2.0 Message
Signing's bounds, for every client). Its claims are the authorization request's parameters and
replace the query's entirely (RFC 9101 §6.3): only client_id is read from outside, and it must
match. A request object may not carry `request` or `request_uri` itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2 import OAuth2Error
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from idp.domain.client_protocol import REQUEST_SIGNING_ALGS
from idp.oidc.models import OAuthClient

MAX_LIFETIME = 3600  # exp at most this far ahead; nbf at most this old
LEEWAY = 30
MAX_LENGTH = 16_000
TYPES = (None, "JWT", "oauth-authz-req+jwt")
# JWT claims that are about the object, not request parameters
JWT_CLAIMS = ("iss", "aud", "exp", "nbf", "iat", "jti", "sub")
NESTED = ("request", "request_uri")


class InvalidRequestObject(OAuth2Error):  # type: ignore[misc]
    """OIDC Core §6.6 / RFC 9101 §6.3: the request object is not valid."""

    error = "invalid_request_object"


class InvalidRequestUri(OAuth2Error):  # type: ignore[misc]
    """RFC 9101 §7 / RFC 9126 §4: the request_uri is unknown, used, expired or not this
    client's."""

    error = "invalid_request_uri"


class RequestUriNotSupported(OAuth2Error):  # type: ignore[misc]
    """Only PAR's request_uri values are accepted: we fetch no request object by URL."""

    error = "request_uri_not_supported"


KeyFetcher = Callable[[str], dict[str, Any]]


def client_keys(client: OAuthClient, fetch_jwks: KeyFetcher) -> KeySet:
    """The client's public keys, as private_key_jwt resolves them."""
    record = client.record
    if record.jwks:
        return KeySet.import_key_set(record.jwks)  # type: ignore[arg-type]
    if record.jwks_uri:
        try:
            return KeySet.import_key_set(fetch_jwks(record.jwks_uri))  # type: ignore[arg-type]
        except Exception as exc:  # the network, a bad document: the object cannot be checked
            raise InvalidRequestObject("the client's jwks_uri could not be read") from exc
    raise InvalidRequestObject("the client has no registered keys to verify a request object")


def verify(
    value: str, client: OAuthClient, issuer: str, fetch_jwks: KeyFetcher
) -> list[tuple[str, str]]:
    """The request object's parameters, once its signature and claims are checked; raises
    InvalidRequestObject. The client_id parameter is always the client's."""
    if len(value) > MAX_LENGTH or value.count(".") != 2:
        raise InvalidRequestObject("the request object must be a signed JWT (JWS compact)")
    keys = client_keys(client, fetch_jwks)
    try:
        token = jwt.decode(value, keys, algorithms=list(REQUEST_SIGNING_ALGS))
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidRequestObject(
            "the request object's signature or algorithm is not valid"
        ) from exc
    if token.header.get("typ") not in TYPES:
        raise InvalidRequestObject("the request object's typ must be oauth-authz-req+jwt")
    claims = token.claims
    _check_claims(claims, client.get_client_id(), issuer)
    return _parameters(claims, client.get_client_id())


def _check_claims(claims: dict[str, Any], client_id: str, issuer: str) -> None:
    registry = JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": client_id},
        aud={"essential": True, "value": issuer},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        name = getattr(exc, "claim", None) or "a claim"
        raise InvalidRequestObject(f"the request object's {name} is not valid") from exc
    now = int(time.time())
    if claims["exp"] > now + MAX_LIFETIME + LEEWAY:  # a NumericDate: checked by the registry
        raise InvalidRequestObject("the request object's exp is too far ahead")
    nbf = claims.get("nbf")
    if nbf is not None and nbf < now - MAX_LIFETIME:
        raise InvalidRequestObject("the request object's nbf is too old")


def _parameters(claims: dict[str, Any], client_id: str) -> list[tuple[str, str]]:
    inner_client = claims.get("client_id")
    if inner_client is not None and inner_client != client_id:
        raise InvalidRequestObject("the request object's client_id is another client's")
    if any(name in claims for name in NESTED):
        raise InvalidRequestObject("a request object cannot carry request or request_uri")
    params: list[tuple[str, str]] = [("client_id", client_id)]
    for name, value in claims.items():
        if name in JWT_CLAIMS or name == "client_id":
            continue
        params.append((name, _as_parameter(name, value)))
    return params


def _as_parameter(name: str, value: Any) -> str:
    """A claim as the request parameter it stands for: strings as they are, numbers as their
    digits, JSON values (`claims`, `authorization_details`) as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise InvalidRequestObject(f"the request object's {name} has an unexpected type")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    raise InvalidRequestObject(f"the request object's {name} has an unexpected type")
