"""The token signing keys (admin): their public facts (never key material), and a rotation:
next → active → retired, published until their last token expires; other processes pick it up
within tokens.key_refresh_seconds."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import Officer
from idp.admin_api.endpoint import endpoint, json_response
from idp.core import Core
from idp.domain.back_office.keys import SigningKeys


def keys_of(c: Core) -> SigningKeys:
    services, tokens = c.services, c.services.settings.tokens
    longest = max(tokens.access_token_ttl, tokens.id_token_ttl)
    return SigningKeys(services.db, services.master, services.keys, longest)


@endpoint("keys", write=False)
async def list_all(request: Request, c: Core, officer: Officer) -> Response:
    return json_response({"items": await run_in_threadpool(keys_of(c).describe_all)})


@endpoint("keys", write=True)
async def rotate(request: Request, c: Core, officer: Officer) -> Response:
    activated = await run_in_threadpool(keys_of(c).rotate, officer.user_id)
    return json_response({"activated": activated})
