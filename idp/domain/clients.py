"""Relying parties (OIDC clients): registration, secrets and their rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import acr, audit, client_protocol
from idp.domain.client_protocol import CIBA_GRANT, ProtocolOptions
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.secrets import random_token, sha256_hex
from idp.storage.models import Client

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", CIBA_GRANT)
SCOPES = ("openid", "profile", "email", "phone", "offline_access", "gfmis", "admin")
ID_TOKEN_ALGS = ("RS256", "ES256")


@dataclass(frozen=True)
class ClientSpec:
    client_id: str
    name: str
    redirect_uris: list[str]
    auth_method: str = "client_secret_basic"
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    scope: str = "openid profile email phone offline_access gfmis"
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    first_party: bool = False
    require_pkce: bool = True
    id_token_alg: str = "RS256"
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    min_acr: str | None = None
    access_token_ttl: int | None = None
    id_token_ttl: int | None = None
    refresh_token_ttl: int | None = None
    allowed_claims: tuple[str, ...] = ()
    protocol: ProtocolOptions = field(default_factory=ProtocolOptions)


@dataclass(frozen=True)
class Lifetimes:
    """The deployment's token lifetimes (seconds): a client may shorten them, never lengthen
    them (a revoked grant's marker outlives the longest access token only so)."""

    access_token: int
    id_token: int
    refresh_token: int


def _invalid(message: Message, field: str) -> UserFacingError:
    return UserFacingError(message, field)


def _check_uri(uri: str, field: str) -> None:
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname  # an unclosed "[" (an IPv6 literal) fails here or above
    except ValueError:
        hostname = None
    if hostname is None or parts.scheme not in ("https", "http") or parts.fragment:
        raise _invalid(Message("not a valid absolute URI: {uri}", uri=uri), field)
    local = hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme == "http" and not local:
        raise _invalid(Message("must use https: {uri}", uri=uri), field)


def validate(spec: ClientSpec, ceiling: Lifetimes | None = None) -> None:
    if not spec.client_id or len(spec.client_id) > 100 or not spec.client_id.isascii():
        raise _invalid(Message("client_id must be 1-100 ASCII characters"), "id")
    if len(spec.name) > 200 or len(spec.scope) > 500:  # the columns' lengths
        raise _invalid(Message("name or scope is too long"), "name")
    if spec.backchannel_logout_uri and len(spec.backchannel_logout_uri) > 500:
        raise _invalid(Message("the URI is too long"), "backchannel_logout_uri")
    if spec.auth_method not in AUTH_METHODS:
        raise _invalid(Message("unsupported auth method"), "auth_method")
    if unknown := set(spec.grant_types) - set(GRANT_TYPES):
        raise _invalid(Message("unsupported grant types {unknown}", unknown=unknown), "grant_types")
    if unknown := set(spec.scope.split()) - set(SCOPES):
        raise _invalid(Message("unsupported scopes {unknown}", unknown=unknown), "scope")
    if spec.id_token_alg not in ID_TOKEN_ALGS:
        raise _invalid(Message("id_token alg must be RS256 or ES256"), "alg")
    if "authorization_code" in spec.grant_types and not spec.redirect_uris:
        raise _invalid(Message("a redirect URI is required"), "redirect_uri")
    if spec.auth_method == "none" and "client_credentials" in spec.grant_types:
        raise _invalid(
            Message("a public client cannot use client_credentials"),
            "grant_types",
        )
    if spec.auth_method == "private_key_jwt" and not (spec.jwks or spec.jwks_uri):
        raise _invalid(Message("private_key_jwt needs jwks or jwks_uri"), "jwks")
    for uri in (*spec.redirect_uris, *spec.post_logout_redirect_uris):
        _check_uri(uri, "redirect_uri")
    if spec.backchannel_logout_uri:
        _check_uri(spec.backchannel_logout_uri, "backchannel_logout_uri")
    if spec.min_acr is not None and spec.min_acr not in acr.SUPPORTED:
        raise _invalid(Message("unsupported min_acr"), "min_acr")
    client_protocol.validate(spec.protocol, spec.grant_types, spec.auth_method)
    for name, floor in (("access_token", 30), ("id_token", 30), ("refresh_token", 60)):
        value = getattr(spec, name + "_ttl")
        most = getattr(ceiling, name) if ceiling else None
        if value is not None and (value < floor or (most is not None and value > most)):
            raise _invalid(
                Message(
                    "{name}_ttl must be {floor} to {most} seconds",
                    name=name,
                    floor=floor,
                    most=most,
                )
                if most
                else Message(
                    "{name}_ttl must be {floor} seconds or more, up to the deployment's",
                    name=name,
                    floor=floor,
                ),
                name + "_ttl",
            )


def create(
    session: Session, spec: ClientSpec, actor: str, ceiling: Lifetimes | None = None
) -> tuple[Client, str | None]:
    """Register a client; return it with its secret (shown once, stored only as a digest)."""
    validate(spec, ceiling)
    if session.get(Client, spec.client_id) is not None:
        raise _invalid(Message("a client with this ID already exists"), "id")
    secret = random_token(32) if spec.auth_method.startswith("client_secret") else None
    client = Client(
        client_id=spec.client_id,
        name=spec.name,
        secret_hash=sha256_hex(secret) if secret else None,
        token_endpoint_auth_method=spec.auth_method,
        redirect_uris=list(spec.redirect_uris),
        post_logout_redirect_uris=list(spec.post_logout_redirect_uris),
        backchannel_logout_uri=spec.backchannel_logout_uri,
        grant_types=list(spec.grant_types),
        scope=spec.scope,
        allowed_claims=list(spec.allowed_claims),
        jwks=spec.jwks,
        jwks_uri=spec.jwks_uri,
        id_token_signed_response_alg=spec.id_token_alg,
        require_pkce=spec.require_pkce or spec.auth_method == "none",
        first_party=spec.first_party,
        min_acr=spec.min_acr,
        access_token_ttl=spec.access_token_ttl,
        id_token_ttl=spec.id_token_ttl,
        refresh_token_ttl=spec.refresh_token_ttl,
        protocol=spec.protocol.as_stored(),
        created_at=datetime.now(UTC),
    )
    session.add(client)
    audit.record(session, "client.create", actor=actor, subject=spec.client_id)
    return client, secret


def rotate_secret(session: Session, client_id: str, actor: str) -> str:
    client = get(session, client_id)
    if not client.token_endpoint_auth_method.startswith("client_secret"):
        raise _invalid(Message("this client does not use a secret"), "id")
    secret = random_token(32)
    client.secret_hash = sha256_hex(secret)
    audit.record(session, "client.rotate_secret", actor=actor, subject=client_id)
    return secret


def delete(session: Session, client_id: str, actor: str) -> None:
    session.delete(get(session, client_id))
    audit.record(session, "client.delete", actor=actor, subject=client_id)


def get(session: Session, client_id: str) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(Message("no such client"), "id")
    return client


def list_all(session: Session) -> list[Client]:
    return list(session.scalars(select(Client).order_by(Client.client_id)))


def describe(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name": client.name,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": client.redirect_uris,
        "post_logout_redirect_uris": client.post_logout_redirect_uris,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "grant_types": client.grant_types,
        "scope": client.scope,
        "allowed_claims": client.allowed_claims,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "require_pkce": client.require_pkce,
        "first_party": client.first_party,
        "jwks_uri": client.jwks_uri,
        "min_acr": client.min_acr,
        "access_token_ttl": client.access_token_ttl,
        "id_token_ttl": client.id_token_ttl,
        "refresh_token_ttl": client.refresh_token_ttl,
        **ProtocolOptions.of(client.protocol).as_stored(),
    }


EDITABLE = {
    "name": str,
    "redirect_uris": list,
    "post_logout_redirect_uris": list,
    "backchannel_logout_uri": str,
    "grant_types": list,
    "scope": str,
    "allowed_claims": list,
    "first_party": bool,
    "require_pkce": bool,
    "id_token_signed_response_alg": str,
    "min_acr": str,
    "access_token_ttl": int,
    "id_token_ttl": int,
    "refresh_token_ttl": int,
}


def update(
    session: Session,
    client_id: str,
    changes: dict[str, Any],
    actor: str,
    ceiling: Lifetimes | None = None,
) -> Client:
    """Change a client's settings; the same rules as at creation, nothing half-written."""
    client = get(session, client_id)
    unknown = set(changes) - set(EDITABLE) - set(ProtocolOptions.names())
    if unknown:
        raise _invalid(
            Message("not editable: {names}", names=", ".join(sorted(unknown))), sorted(unknown)[0]
        )
    for name, kind in EDITABLE.items():
        value = changes.get(name)
        if value is not None and (
            not isinstance(value, kind)
            or isinstance(value, bool) != (kind is bool)
            or (isinstance(value, list) and not all(isinstance(v, str) for v in value))
        ):
            raise _invalid(
                Message("{name} must be a {__name__}", name=name, __name__=kind.__name__), name
            )
    merged = {**describe(client), **changes}
    spec = ClientSpec(
        client_id=client.client_id,
        name=str(merged["name"]),
        redirect_uris=list(merged["redirect_uris"]),
        auth_method=client.token_endpoint_auth_method,
        grant_types=tuple(merged["grant_types"]),
        scope=str(merged["scope"]),
        post_logout_redirect_uris=tuple(merged["post_logout_redirect_uris"]),
        backchannel_logout_uri=merged["backchannel_logout_uri"] or None,
        first_party=bool(merged["first_party"]),
        require_pkce=bool(merged["require_pkce"]),
        id_token_alg=str(merged["id_token_signed_response_alg"]),
        jwks=client.jwks,
        jwks_uri=client.jwks_uri,
        min_acr=merged["min_acr"] or None,
        access_token_ttl=merged["access_token_ttl"],
        id_token_ttl=merged["id_token_ttl"],
        refresh_token_ttl=merged["refresh_token_ttl"],
        protocol=ProtocolOptions.parse(changes, base=ProtocolOptions.of(client.protocol)),
    )
    validate(spec, ceiling)
    client.name, client.redirect_uris = spec.name, list(spec.redirect_uris)
    client.post_logout_redirect_uris = list(spec.post_logout_redirect_uris)
    client.backchannel_logout_uri = spec.backchannel_logout_uri
    client.grant_types, client.scope = list(spec.grant_types), spec.scope
    client.allowed_claims = [str(c) for c in merged["allowed_claims"]]
    client.first_party, client.require_pkce = spec.first_party, spec.require_pkce
    client.id_token_signed_response_alg = spec.id_token_alg
    client.min_acr = spec.min_acr
    client.access_token_ttl, client.id_token_ttl = spec.access_token_ttl, spec.id_token_ttl
    client.refresh_token_ttl = spec.refresh_token_ttl
    client.protocol = spec.protocol.as_stored()
    audit.record(session, "client.update", actor=actor, subject=client_id, fields=sorted(changes))
    return client
