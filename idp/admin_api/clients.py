"""Relying parties (admin): list, register (the secret shown once), edit by the same rules
(the auth method stays), rotate the secret (shown once), delete with their grants. Every
worker sees a change within 5 seconds (the client cache); this one at once."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import Officer
from idp.admin_api.endpoint import NO_STORE, endpoint, json_object, json_response
from idp.core import Core
from idp.domain.back_office.clients import Clients
from idp.domain.client_protocol import ProtocolOptions
from idp.domain.clients import ClientSpec, Lifetimes
from idp.domain.errors import Message, UserFacingError


def clients_of(c: Core) -> Clients:
    tokens = c.services.settings.tokens
    ceiling = Lifetimes(tokens.access_token_ttl, tokens.id_token_ttl, tokens.refresh_token_ttl)
    return Clients(c.services.db, ceiling)


@endpoint("clients", write=False)
async def list_all(request: Request, c: Core, officer: Officer) -> Response:
    return json_response({"items": await run_in_threadpool(clients_of(c).describe_all)})


@endpoint("clients", write=True)
async def create(request: Request, c: Core, officer: Officer) -> Response:
    spec = _spec(await json_object(request))
    return json_response(await run_in_threadpool(clients_of(c).create, spec, officer.user_id), 201)


@endpoint("clients", write=True)
async def edit(request: Request, c: Core, officer: Officer) -> Response:
    client_id = request.path_params["id"]
    changes = await json_object(request)
    edited = await run_in_threadpool(clients_of(c).update, client_id, changes, officer.user_id)
    c.server.forget_client(client_id)
    return json_response(edited)


@endpoint("clients", write=True)
async def rotate_secret(request: Request, c: Core, officer: Officer) -> Response:
    client_id = request.path_params["id"]
    rotated = await run_in_threadpool(clients_of(c).rotate_secret, client_id, officer.user_id)
    c.server.forget_client(client_id)
    return json_response(rotated)


@endpoint("clients", write=True)
async def delete(request: Request, c: Core, officer: Officer) -> Response:
    client_id = request.path_params["id"]
    await run_in_threadpool(clients_of(c).delete, client_id, officer.user_id)
    c.server.forget_client(client_id)
    return Response(status_code=204, headers=NO_STORE)


def _spec(body: dict[str, Any]) -> ClientSpec:
    """A new client's settings from the body, with the defaults of registration."""
    return ClientSpec(
        client_id=str(body.get("client_id", "")),
        name=str(body.get("name", "")),
        redirect_uris=_strings(body, "redirect_uris", []),
        auth_method=str(body.get("token_endpoint_auth_method", "client_secret_basic")),
        grant_types=tuple(_strings(body, "grant_types", ["authorization_code", "refresh_token"])),
        scope=str(body.get("scope", "openid profile email")),
        post_logout_redirect_uris=tuple(_strings(body, "post_logout_redirect_uris", [])),
        backchannel_logout_uri=str(body.get("backchannel_logout_uri") or "") or None,
        first_party=bool(body.get("first_party", False)),
        require_pkce=bool(body.get("require_pkce", True)),
        id_token_alg=str(body.get("id_token_signed_response_alg", "RS256")),
        min_acr=str(body.get("min_acr") or "") or None,
        access_token_ttl=_seconds(body, "access_token_ttl"),
        id_token_ttl=_seconds(body, "id_token_ttl"),
        refresh_token_ttl=_seconds(body, "refresh_token_ttl"),
        allowed_claims=tuple(_strings(body, "allowed_claims", [])),
        protocol=ProtocolOptions.parse(body),
    )


def _seconds(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserFacingError(Message("{name} must be whole seconds", name=name), name)
    return value


def _strings(body: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = body.get(name, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserFacingError(Message("{name} must be a list of strings", name=name), name)
    return list(value)
