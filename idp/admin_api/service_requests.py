"""Service requests in the admin API: record the form, list, process (manual chapter 7)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api import pages
from idp.admin_api.access import Officer
from idp.admin_api.endpoint import endpoint, json_object, json_response
from idp.core import Core
from idp.domain import service_requests
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.kept_files import kept_pdf, uploads_folder
from idp.domain.recovery import registered_email
from idp.domain.secrets import random_token
from idp.storage.models import ServiceRequest

EMAIL_CHANGE_TTL = 86_400
RESULTS = {
    "reset_device": (
        "ยกเลิก Soft Token เครื่องเดิมแล้ว สามารถลงทะเบียนเครื่องใหม่ได้",
        "the old device was revoked; a new one can be activated",
    ),
    "change_holder": (
        "เปลี่ยนผู้รับผิดชอบแล้ว ผู้รับผิดชอบคนใหม่ต้องลงทะเบียน Soft Token",
        "the holder was changed; the new holder must register Soft Token",
    ),
    "change_email": ("ส่งลิงก์ยืนยันไปยังอีเมลใหม่แล้ว", "a confirmation link was sent to the new email"),
}


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
WRONG_TYPE = Message("รูปแบบข้อมูลไม่ถูกต้อง", "the value has the wrong type")
TOO_LONG = Message("ข้อมูลยาวเกินไป", "the value is too long")


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


@endpoint("registrations", write=True)
async def record_request(request: Request, c: Core, officer: Officer) -> Response:
    body = await json_object(request)
    fields = {k: body.get(k) for k in service_requests.RequestForm.__dataclass_fields__}
    if (wrong := _misshapen(fields)) is not None:
        raise UserFacingError(wrong[1], wrong[0])
    try:
        form = service_requests.RequestForm(**{k: v for k, v in fields.items() if v is not None})
    except TypeError as exc:
        raise UserFacingError(Message("ข้อมูลแบบคำร้องไม่ครบ", "the form is incomplete")) from exc

    digest = form.form_pdf_sha256
    if digest and kept_pdf(uploads_folder(c.services.settings), digest) is None:
        raise UserFacingError(
            Message("ไม่พบไฟล์แบบคำร้องที่อัปโหลด", "upload the signed form first"), "form_pdf"
        )

    def save() -> dict[str, Any]:
        with c.services.db.session() as session:
            return service_requests.describe(
                service_requests.record(session, form, officer.user_id, officer.origin)
            )

    return json_response(await run_in_threadpool(save), 201)


@endpoint("registrations", write=False)
async def list_requests(request: Request, c: Core, officer: Officer) -> Response:
    status = request.query_params.get("status", "received")
    limit, after = pages.window(request.query_params)

    def query() -> dict[str, Any]:
        q = select(ServiceRequest).where(ServiceRequest.status == status)
        if after:
            q = q.where(ServiceRequest.id > str(after[0]))
        with c.services.db.read() as session:
            rows = list(session.scalars(q.order_by(ServiceRequest.id).limit(limit + 1)))
        return pages.page(rows, limit, lambda r: r.id, service_requests.describe)

    return json_response(await run_in_threadpool(query))


@endpoint("registrations", write=False)
async def show_request(request: Request, c: Core, officer: Officer) -> Response:
    with c.services.db.read() as session:
        found = session.get(ServiceRequest, request.path_params["id"])
        if found is None:
            raise NotFound(Message("ไม่พบคำร้อง", "no such request"), "id")
        return json_response(service_requests.describe(found))


@endpoint("registrations", write=True)
async def process_request(request: Request, c: Core, officer: Officer) -> Response:
    request_id = request.path_params["id"]
    actions, user_id = await run_in_threadpool(_process, c, request_id, officer)
    if "reset_device" in actions:
        await c.back_channel.sign_out_everywhere(user_id, "service_request", officer.origin)
    c.mail.wake()
    with c.services.db.read() as session:
        found = session.get(ServiceRequest, request_id)
        assert found is not None
        return json_response(service_requests.describe(found))


def _process(c: Core, request_id: str, officer: Officer) -> tuple[list[str], str]:
    with c.services.db.session() as session:
        found = session.get(ServiceRequest, request_id)
        if found is None or found.status != "received":
            raise NotFound(Message("ไม่พบคำร้องที่รอดำเนินการ", "no such request waiting"), "id")
        lifecycle = c.services.lifecycle
        user, _account = lifecycle.user(session, found.user_id)
        actions = service_requests.actions_for(found)
        old_email = registered_email(session, user)[1]
        if "reset_device" in actions:
            reason = "service_request:" + ",".join(found.reasons)
            lifecycle.reset_device_if_any(
                session,
                user,
                reason,
                officer.user_id,
                revoke=lambda: c.push.revoke(user.user_id, reason, actor=officer.user_id),
            )
        if "change_holder" in actions and found.new_holder:
            service_requests.replace_holder(user, found.new_holder)
            lifecycle.change_holder(session, user, officer.user_id)
            if found.email_new_password:
                password = lifecycle.issue_initial_password(
                    session, user, "change_holder", actor=officer.user_id, origin=officer.origin
                )
                c.mail.enqueue(
                    session,
                    "holder_initial_password",
                    found.new_password_email or found.new_holder["email"],
                    user_id=user.user_id,
                    password=password,
                    link=c.issuer + "/register",
                )
        if "change_email" in actions and found.new_email:
            token = random_token(24)
            c.services.store.put(
                "email-change:" + token,
                {"user_id": user.user_id, "email": found.new_email},
                EMAIL_CHANGE_TTL,
            )
            c.mail.enqueue(
                session,
                "email_change_link",
                found.new_email,
                user_id=user.user_id,
                link=f"{c.issuer}/verify-email/{token}",
            )
        result_th = " ".join(RESULTS[a][0] for a in actions) or "บันทึกคำร้องแล้ว"
        result_en = " ".join(RESULTS[a][1] for a in actions) or "the request was recorded"
        service_requests.mark_done(found, officer.user_id, result_en)
        new_address = found.new_email or (found.new_holder or {}).get("email")
        for address in {old_email, found.registered_email, new_address} - {None, ""}:
            c.mail.enqueue(
                session,
                "service_request_result",
                str(address),
                user_id=user.user_id,
                result_th=result_th,
                result_en=result_en,
                register="change_holder" in actions or "reset_device" in actions,
                link=c.issuer + "/register",
            )
        return actions, user.user_id
