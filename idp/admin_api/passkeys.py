"""A user's passkeys (officer, admin): listed, renamed and removed (a lost laptop, say). Each
change is audited with the officer and emailed to the user (idp.domain.passkeys)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import Officer
from idp.admin_api.endpoint import NO_STORE, endpoint, json_object, json_response
from idp.core import Core
from idp.domain.passkeys import PasskeyBook


def book_of(c: Core) -> PasskeyBook:
    services = c.services
    return PasskeyBook(services.db, services.clock, c.mail.enqueue, c.mail.wake, c.issuer)


@endpoint("users", write=False)
async def list_all(request: Request, c: Core, officer: Officer) -> Response:
    """The user's passkeys, oldest first (no key material)."""
    found = await run_in_threadpool(book_of(c).all_of, request.path_params["user_id"])
    return json_response({"items": [p.as_json() for p in found]})


@endpoint("users", write=True)
async def rename(request: Request, c: Core, officer: Officer) -> Response:
    """`{"name"}`: 1 to 60 characters."""
    name = str((await json_object(request)).get("name") or "")
    renamed = await run_in_threadpool(
        book_of(c).rename,
        request.path_params["user_id"],
        request.path_params["credential_id"],
        name,
        officer.user_id,
        officer.origin,
    )
    return json_response(renamed.as_json())


@endpoint("users", write=True)
async def remove(request: Request, c: Core, officer: Officer) -> Response:
    await run_in_threadpool(
        book_of(c).remove,
        request.path_params["user_id"],
        request.path_params["credential_id"],
        officer.user_id,
        officer.origin,
    )
    return Response(status_code=204, headers=NO_STORE)
