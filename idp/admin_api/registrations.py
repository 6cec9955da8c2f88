"""Registrations (officer, admin; manual chapter 2, step 4): those waiting, one beside the
proofing result, its uploaded assignment order, and the officer's approval or rejection."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api import cursors
from idp.admin_api.access import Officer
from idp.admin_api.endpoint import endpoint, json_object, json_response
from idp.admin_api.uploads import pdf_download
from idp.core import Core
from idp.domain.back_office.registrations import Registrations
from idp.domain.errors import Message, NotFound

NO_DECISION = Message("no such action")


def registrations_of(c: Core) -> Registrations:
    four_eyes = c.services.settings.registration.four_eyes
    return Registrations(c.services.db, c.mail, c.issuer, four_eyes)


@endpoint("registrations", write=False)
async def search(request: Request, c: Core, officer: Officer) -> Response:
    """`?status=` (waiting_approval unless given), `?q=`: a user ID or a national ID."""
    status = request.query_params.get("status", "waiting_approval")
    text = request.query_params.get("q", "").strip()
    return await cursors.listed(request, registrations_of(c).search, status, text)


@endpoint("registrations", write=False)
async def detail(request: Request, c: Core, officer: Officer) -> Response:
    """With the user record, the proofing result and a `comparison` of the two."""
    registration_id = request.path_params["id"]
    return json_response(await run_in_threadpool(registrations_of(c).detail, registration_id))


@endpoint("registrations", write=False)
async def assignment_order(request: Request, c: Core, officer: Officer) -> Response:
    """The uploaded assignment order as an attachment."""
    digest = await run_in_threadpool(
        registrations_of(c).assignment_order, request.path_params["id"]
    )
    return await pdf_download(c, digest or "")


@endpoint("registrations", write=True)
async def decide(request: Request, c: Core, officer: Officer) -> Response:
    """`/approve` or `/reject` (`{"reason"}`, required to reject); the user is emailed."""
    decision = request.path_params["decision"]
    if decision not in ("approve", "reject"):
        raise NotFound(NO_DECISION, "decision")
    reason = str((await json_object(request)).get("reason") or "")
    decided = await run_in_threadpool(
        registrations_of(c).decide,
        request.path_params["id"],
        decision == "approve",
        reason,
        officer.user_id,
    )
    c.mail.wake()
    return json_response(decided)
