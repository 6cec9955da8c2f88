"""Service requests to CGD (manual chapter 7): what self-service can't do, recorded by an officer
from the signed form and processed: reset the device, change the email, change the holder."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from idp.domain import audit
from idp.domain.audit import Origin
from idp.domain.errors import Message, UserFacingError
from idp.domain.validation import (
    BAD_EMAIL,
    BAD_MOBILE,
    BAD_UNIT_CODE,
    BAD_USER_ID,
    MOBILE,
    UNIT_CODE,
    USER_ID,
    check,
    email_problem,
)
from idp.storage.models import ServiceRequest, User

# Section 3 of the form, as printed.
DEVICE_RESET = ("forgot_pin_or_locked", "app_or_certificate_deleted", "change_phone", "lost_phone")
CHANGE_EMAIL = ("change_email",)
CHANGE_HOLDER = ("holder_resigned", "holder_moved", "holder_other")
OTHER = ("app_other", "existing_other")
REASONS = (*DEVICE_RESET, *CHANGE_EMAIL, *CHANGE_HOLDER, *OTHER)


@dataclass
class RequestForm:
    user_id: str
    unit_code: str
    unit_name: str
    requester_name: str
    registered_email: str
    mobile: str
    division: str
    department: str
    ministry: str
    reasons: list[str]
    other_text: str = ""
    new_email: str = ""
    new_holder: dict[str, str] = field(default_factory=dict)
    email_new_password: bool = False
    new_password_email: str = ""
    form_pdf_sha256: str | None = None


def _bad(field_name: str, message: Message) -> UserFacingError:
    return UserFacingError(message, field_name)


def validate(form: RequestForm) -> None:
    """Every field of the form, with the manual's formats; the first problem is raised."""
    for name, pattern, message in (
        ("user_id", USER_ID, BAD_USER_ID),
        ("unit_code", UNIT_CODE, BAD_UNIT_CODE),
        ("mobile", MOBILE, BAD_MOBILE),
    ):
        if problem := check(pattern, str(getattr(form, name)), message):
            raise _bad(name, problem)
    for name in ("unit_name", "requester_name", "division", "department", "ministry"):
        if not str(getattr(form, name)).strip():
            raise _bad(name, Message("this field is required"))
    if not form.reasons or any(r not in REASONS for r in form.reasons):
        raise _bad(
            "reasons",
            Message("choose the request's reasons from the form"),
        )
    if email_problem(form.registered_email):
        raise _bad("registered_email", BAD_EMAIL)
    if set(form.reasons) & set(CHANGE_EMAIL) and email_problem(form.new_email):
        raise _bad("new_email", BAD_EMAIL)
    if set(form.reasons) & set(CHANGE_HOLDER):
        holder = form.new_holder
        if not holder.get("name_th") or not holder.get("name_en"):
            raise _bad(
                "new_holder",
                Message("the new holder's names are required"),
            )
        if email_problem(holder.get("email", "")):
            raise _bad("new_holder.email", BAD_EMAIL)
        if check(MOBILE, holder.get("mobile", ""), BAD_MOBILE):
            raise _bad("new_holder.mobile", BAD_MOBILE)
    if form.email_new_password and email_problem(form.new_password_email):
        raise _bad("new_password_email", BAD_EMAIL)


def record(session: Session, form: RequestForm, officer: str, origin: Origin) -> ServiceRequest:
    validate(form)
    if session.get(User, form.user_id) is None:
        raise _bad("user_id", Message("no user with this ID"))
    request = ServiceRequest(
        id=secrets.token_hex(12),
        user_id=form.user_id,
        unit_code=form.unit_code,
        unit_name=form.unit_name.strip(),
        requester_name=form.requester_name.strip(),
        registered_email=form.registered_email.lower(),
        mobile=form.mobile,
        division=form.division.strip(),
        department=form.department.strip(),
        ministry=form.ministry.strip(),
        reasons=list(form.reasons),
        other_text=form.other_text.strip() or None,
        new_email=form.new_email.lower() or None,
        new_holder=form.new_holder or None,
        email_new_password=form.email_new_password,
        new_password_email=form.new_password_email.lower() or None,
        form_pdf_sha256=form.form_pdf_sha256,
        status="received",
        recorded_by=officer,
        created_at=datetime.now(UTC),
    )
    session.add(request)
    audit.record(
        session,
        "service_request.record",
        actor=officer,
        subject=form.user_id,
        origin=origin,
        reasons=form.reasons,
    )
    return request


def describe(request: ServiceRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "user_id": request.user_id,
        "status": request.status,
        "reasons": request.reasons,
        "unit_code": request.unit_code,
        "unit_name": request.unit_name,
        "requester_name": request.requester_name,
        "registered_email": request.registered_email,
        "mobile": request.mobile,
        "division": request.division,
        "department": request.department,
        "ministry": request.ministry,
        "other_text": request.other_text,
        "new_email": request.new_email,
        "new_holder": request.new_holder,
        "email_new_password": request.email_new_password,
        "new_password_email": request.new_password_email,
        "form_pdf_sha256": request.form_pdf_sha256,
        "actions": actions_for(request),
        "recorded_by": request.recorded_by,
        "processed_by": request.processed_by,
        "processed_at": request.processed_at.isoformat() if request.processed_at else None,
        "result": request.result,
        "created_at": request.created_at.isoformat(),
    }


def actions_for(request: ServiceRequest) -> list[str]:
    """What processing does, in order: reset_device, change_holder, change_email."""
    reasons = set(request.reasons)
    actions = []
    if reasons & set(DEVICE_RESET) or reasons & set(CHANGE_HOLDER):
        actions.append("reset_device")
    if reasons & set(CHANGE_HOLDER):
        actions.append("change_holder")
    if reasons & set(CHANGE_EMAIL):
        actions.append("change_email")
    return actions


def replace_holder(user: User, holder: dict[str, str]) -> None:
    """The next holder takes the user ID: their names, email and mobile replace the record."""
    user.name_th = holder["name_th"]
    user.name_en = holder["name_en"]
    user.email = holder["email"].lower()
    user.mobile = holder["mobile"]
    user.updated_at = datetime.now(UTC)


def mark_done(request: ServiceRequest, officer: str, result: str) -> None:
    request.status = "done"
    request.processed_by = officer
    request.processed_at = datetime.now(UTC)
    request.result = result[:1000]
