"""Service requests (officer, admin; manual chapter 7): the signed form recorded, the list,
one request with the actions processing will run, and its processing."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api import cursors
from idp.admin_api.access import Officer
from idp.admin_api.endpoint import endpoint, json_object, json_response
from idp.admin_api.push_devices import PushAuthDevices
from idp.core import Core
from idp.domain.back_office.service_requests import ServiceRequests
from idp.domain.errors import Message, UserFacingError
from idp.domain.kept_files import uploads_folder
from idp.domain.service_requests import RequestForm

# Each field's type and longest value, as the record stores it (PostgreSQL refuses longer).
TEXT_FIELDS = {
    "user_id": 15,
    "unit_code": 10,
    "unit_name": 300,
    "requester_name": 200,
    "registered_email": 254,
    "mobile": 10,
    "division": 300,
    "department": 300,
    "ministry": 300,
    "other_text": 500,
    "new_email": 254,
    "new_password_email": 254,
    "form_pdf_sha256": 64,
}
HOLDER_FIELDS = {"name_th": 200, "name_en": 200, "email": 254, "mobile": 10}
WRONG_TYPE = Message("the value has the wrong type")
TOO_LONG = Message("the value is too long")
INCOMPLETE = Message("the form is incomplete")


def requests_of(c: Core) -> ServiceRequests:
    return ServiceRequests(
        c.services.db,
        c.services.lifecycle,
        PushAuthDevices(c.push),
        c.mail,
        c.services.store,
        c.issuer,
        uploads_folder(c.services.settings),
    )


@endpoint("registrations", write=False)
async def search(request: Request, c: Core, officer: Officer) -> Response:
    """`?status=` (received unless given)."""
    status = request.query_params.get("status", "received")
    return await cursors.listed(request, requests_of(c).search, status)


@endpoint("registrations", write=False)
async def show(request: Request, c: Core, officer: Officer) -> Response:
    return json_response(await run_in_threadpool(requests_of(c).show, request.path_params["id"]))


@endpoint("registrations", write=True)
async def record(request: Request, c: Core, officer: Officer) -> Response:
    """The form's fields as JSON, its signed PDF uploaded first (`form_pdf_sha256`)."""
    form = _form(await json_object(request))
    recorded = await run_in_threadpool(requests_of(c).record, form, officer.user_id, officer.origin)
    return json_response(recorded, 201)


@endpoint("registrations", write=True)
async def process(request: Request, c: Core, officer: Officer) -> Response:
    processed = await run_in_threadpool(
        requests_of(c).process, request.path_params["id"], officer.user_id, officer.origin
    )
    if processed.device_reset:
        await c.back_channel.sign_out_everywhere(
            processed.user_id, "service_request", officer.origin
        )
    c.mail.wake()
    return json_response(processed.request)


def _form(body: dict[str, Any]) -> RequestForm:
    fields = {k: body.get(k) for k in RequestForm.__dataclass_fields__}
    if (wrong := _misshapen(fields)) is not None:
        raise UserFacingError(wrong[1], wrong[0])
    try:
        return RequestForm(**{k: v for k, v in fields.items() if v is not None})
    except TypeError as exc:
        raise UserFacingError(INCOMPLETE) from exc


def _misshapen(fields: dict[str, Any]) -> tuple[str, Message] | None:
    """The first field of the wrong type or too long for its column, with why."""
    for name, longest in TEXT_FIELDS.items():
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            return name, WRONG_TYPE
        if value is not None and len(value) > longest:
            return name, TOO_LONG
    reasons, holder = fields.get("reasons"), fields.get("new_holder")
    if reasons is not None and not (
        isinstance(reasons, list) and all(isinstance(r, str) for r in reasons)
    ):
        return "reasons", WRONG_TYPE
    if fields.get("email_new_password") is not None and not isinstance(
        fields["email_new_password"], bool
    ):
        return "email_new_password", WRONG_TYPE
    if holder is None:
        return None
    if not isinstance(holder, dict) or not all(isinstance(v, str) for v in holder.values()):
        return "new_holder", WRONG_TYPE
    if any(len(str(holder.get(k, ""))) > n for k, n in HOLDER_FIELDS.items()):
        return "new_holder", TOO_LONG
    return None
