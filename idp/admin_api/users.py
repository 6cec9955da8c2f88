"""Users (officer, admin): search, a user's whole record, disable or enable, a new password by
email, signed out everywhere, the assignment order on file, and a CSV import with a preview."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api import cursors
from idp.admin_api.access import Officer
from idp.admin_api.endpoint import endpoint, json_object, json_response
from idp.admin_api.push_devices import PushAuthDevices
from idp.core import Core
from idp.domain.back_office.users import Users
from idp.domain.errors import Message, NotFound, UserFacingError

IMPORT_LIMIT = 10 * 1024 * 1024  # the same ceiling as the manual's PDF uploads
NO_ACTION = Message("no such action")
ON_FILE_NEEDED = Message("on_file must be true or false")


def users_of(c: Core) -> Users:
    return Users(c.services.db, c.services.lifecycle, PushAuthDevices(c.push), c.mail)


@endpoint("users", write=False)
async def search(request: Request, c: Core, officer: Officer) -> Response:
    """`?q=`: a user ID, a national ID, an email, or the start of a name."""
    text = (request.query_params.get("q") or "").strip()
    return await cursors.listed(request, users_of(c).search, text)


@endpoint("users", write=False)
async def detail(request: Request, c: Core, officer: Officer) -> Response:
    """The record, `lifecycle` (state, abilities, officer actions), registrations, the
    activated device, signed-in applications, the last 50 audit events."""
    user_id = request.path_params["user_id"]
    return json_response(await run_in_threadpool(users_of(c).detail, user_id))


@endpoint("users", write=True)
async def set_disabled(request: Request, c: Core, officer: Officer) -> Response:
    """`/disable` or `/enable`; a disabled user is signed out everywhere."""
    action = request.path_params["action"]
    if action not in ("disable", "enable"):
        raise NotFound(NO_ACTION, "action")
    disabled = action == "disable"
    record = await run_in_threadpool(
        users_of(c).set_in_service,
        request.path_params["user_id"],
        not disabled,
        officer.user_id,
        officer.origin,
    )
    if disabled:
        await c.back_channel.sign_out_everywhere(record["user_id"], "disabled", officer.origin)
    return json_response(record)


@endpoint("users", write=True)
async def reset_password(request: Request, c: Core, officer: Officer) -> Response:
    """A random password emailed to the registered address (the officer never sees it), to be
    changed at the next sign-in; signed out everywhere."""
    user_id = await run_in_threadpool(
        users_of(c).reset_password, request.path_params["user_id"], officer.user_id, officer.origin
    )
    c.mail.wake()
    await c.back_channel.sign_out_everywhere(user_id, "password_reset", officer.origin)
    return json_response({"user_id": user_id, "emailed": True})


@endpoint("users", write=True)
async def end_sessions(request: Request, c: Core, officer: Officer) -> Response:
    """Signed out everywhere: every sign-in session and grant ends, relying parties are told
    by back-channel logout."""
    user_id = request.path_params["user_id"]
    await run_in_threadpool(users_of(c).require, user_id)
    told = await c.back_channel.sign_out_everywhere(user_id, "officer", officer.origin)
    return json_response({"user_id": user_id, "relying_parties_told": told})


@endpoint("users", write=True)
async def assignment_order(request: Request, c: Core, officer: Officer) -> Response:
    """`{"on_file": true|false}`: the written assignment order is (or is no longer) on file,
    so registration step 1 needs no PDF and step 4 may approve by itself. 409 once the
    registration is approved."""
    on_file = (await json_object(request)).get("on_file")
    if not isinstance(on_file, bool):
        raise UserFacingError(ON_FILE_NEEDED, "on_file")
    changed = await run_in_threadpool(
        users_of(c).mark_assignment_order,
        request.path_params["user_id"],
        on_file,
        officer.user_id,
        officer.origin,
    )
    return json_response(changed)


@endpoint("users", write=True)
async def import_csv(request: Request, c: Core, officer: Officer) -> Response:
    """CSV text in the body (the columns of `idp users import`); `?preview=1` checks every row
    and changes nothing. All or nothing: a 400 lists every bad row."""
    body = await request.body()
    if len(body) > IMPORT_LIMIT:
        raise UserFacingError(Message("the file is larger than 10 MB"), "file")
    text = body.decode("utf-8-sig", errors="replace")
    if "\x00" in text:  # PostgreSQL cannot store it, and no CSV needs it
        raise UserFacingError(Message("the file contains a NUL character"), "file")
    preview = request.query_params.get("preview") in ("1", "true")
    result = await run_in_threadpool(users_of(c).import_csv, text, officer.user_id, preview)
    return json_response(result, 400 if result["errors"] else 200)
