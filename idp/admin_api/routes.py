"""The admin API's resources: registrations, users, audit log, relying parties, officers.
Every call is audited with the officer's user ID."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from idp.admin_api import manage, operations, pages
from idp.admin_api import service_requests as requests
from idp.admin_api.access import Officer
from idp.admin_api.endpoint import NO_STORE, NO_USER, endpoint, iso, json_object, json_response
from idp.core import Core
from idp.domain import clients, national_id, officers, registration
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.users import public_record
from idp.domain.validation import USER_ID
from idp.storage.models import AuditEvent, Registration, User

NOT_FOUND = Message("ไม่พบรายการที่ขอ", "no such action")
OPENAPI = Path(__file__).resolve().parent / "openapi.json"


# -- registrations ------------------------------------------------------------------------------
@endpoint("registrations", write=False)
async def list_registrations(request: Request, c: Core, officer: Officer) -> Response:
    status = request.query_params.get("status", "waiting_approval")
    limit, after = pages.window(request.query_params)

    def query(session: Session) -> dict[str, Any]:
        q = select(Registration).where(Registration.status == status)
        if text := request.query_params.get("q", "").strip():  # a user ID or a national ID
            q = q.where(
                or_(
                    Registration.user_id == text.upper(),
                    Registration.national_id == national_id.normalise(text),
                )
            )
        if after:
            q = q.where(Registration.id > str(after[0]))
        rows = list(session.scalars(q.order_by(Registration.id).limit(limit + 1)))
        return pages.page(rows, limit, lambda r: r.id, registration.summary)

    with c.services.db.read() as session:
        return json_response(await run_in_threadpool(query, session))


@endpoint("registrations", write=True)
async def decide_registration(request: Request, c: Core, officer: Officer) -> Response:
    decision = request.path_params["decision"]
    if decision not in ("approve", "reject"):
        raise NotFound(NOT_FOUND, "decision")
    body = await json_object(request)
    approve = decision == "approve"

    def decide() -> dict[str, Any]:
        with c.services.db.session() as session:
            found = session.get(Registration, request.path_params["id"])
            if found is None:
                raise NotFound(Message("ไม่พบการลงทะเบียน", "no such registration"), "id")
            registration.decide(
                session,
                found,
                approve,
                str(body.get("reason") or ""),
                officer.user_id,
                c.services.settings.registration.four_eyes,
            )
            user = session.get(User, found.user_id)
            assert user is not None
            c.mail.registration_decided(session, found, user, c.issuer)
            return registration.summary(found)

    result = await run_in_threadpool(decide)
    c.mail.wake()
    return json_response(result)


def _matches(text: str) -> Any:
    """One indexed condition for the kind of text typed: a user ID, a national ID, an email, or
    else the start of a Thai or English name."""
    if USER_ID.fullmatch(text.upper()):
        return User.user_id == text.upper()
    digits = national_id.normalise(text)
    if digits.isdigit() and len(digits) == 13:
        return User.user_id.in_(
            select(Registration.user_id).where(Registration.national_id == digits)
        )
    if "@" in text:
        return User.email == text.lower()
    return or_(User.name_th.startswith(text), User.name_en.startswith(text))


# -- users --------------------------------------------------------------------------------------
@endpoint("users", write=False)
async def search_users(request: Request, c: Core, officer: Officer) -> Response:
    text = (request.query_params.get("q") or "").strip()
    limit, after = pages.window(request.query_params)

    def query() -> dict[str, Any]:
        q = select(User).where(_matches(text)) if text else select(User)
        if after:
            q = q.where(User.user_id > str(after[0]))
        with c.services.db.read() as session:
            rows = list(session.scalars(q.order_by(User.user_id).limit(limit + 1)))
        return pages.page(rows, limit, lambda u: u.user_id, public_record)

    return json_response(await run_in_threadpool(query))


@endpoint("users", write=True)
async def set_user_disabled(request: Request, c: Core, officer: Officer) -> Response:
    action = request.path_params["action"]
    if action not in ("disable", "enable"):
        raise NotFound(NOT_FOUND, "action")
    disabled = action == "disable"

    def change() -> dict[str, Any]:
        with c.services.db.session() as session:
            user, _account = c.services.lifecycle.user(session, request.path_params["user_id"])
            c.services.lifecycle.set_in_service(
                session, user, not disabled, officer.user_id, officer.origin
            )
            return public_record(user)

    record = await run_in_threadpool(change)
    if disabled:  # a disabled user is signed out everywhere
        await c.back_channel.sign_out_everywhere(record["user_id"], "disabled", officer.origin)
    return json_response(record)


# -- audit log ----------------------------------------------------------------------------------
def _audit_query(request: Request, after: list[Any] | None, limit: int) -> Any:
    try:
        return _audit_filters(request, after).order_by(AuditEvent.id.desc()).limit(limit)
    except ValueError as exc:
        raise UserFacingError(
            Message("วันที่ไม่ถูกต้อง", "since/until must be ISO 8601"), "since"
        ) from exc


def _audit_filters(request: Request, after: list[Any] | None) -> Any:
    params = request.query_params
    q = select(AuditEvent)
    for name, column in (
        ("user", AuditEvent.subject),
        ("officer", AuditEvent.actor),
        ("action", AuditEvent.action),
        ("outcome", AuditEvent.outcome),
    ):
        if value := params.get(name):
            q = q.where(column == value)
    if since := params.get("since"):
        q = q.where(AuditEvent.at >= datetime.fromisoformat(since))
    if until := params.get("until"):
        q = q.where(AuditEvent.at < datetime.fromisoformat(until))
    if after:
        q = q.where(AuditEvent.id < int(after[0]))
    return q


def _event(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": iso(e.at),
        "actor": e.actor,
        "action": e.action,
        "subject": e.subject,
        "outcome": e.outcome,
        "ip": e.ip,
        "detail": e.detail,
    }


@endpoint("audit", write=False)
async def audit_log(request: Request, c: Core, officer: Officer) -> Response:
    limit, after = pages.window(request.query_params)
    query = _audit_query(request, after, limit + 1)

    def run() -> dict[str, Any]:
        with c.services.db.read() as session:
            rows = list(session.scalars(query))
        return pages.page(rows, limit, lambda e: e.id, _event)

    return json_response(await run_in_threadpool(run))


@endpoint("audit", write=False)
async def audit_csv(request: Request, c: Core, officer: Officer) -> Response:
    query = _audit_query(request, None, 100_000)

    def run() -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["id", "at", "actor", "action", "subject", "outcome", "ip"])
        with c.services.db.read() as session:
            for e in session.scalars(query):
                writer.writerow(
                    [e.id, iso(e.at), e.actor, e.action, e.subject, e.outcome, e.ip or ""]
                )
        return "\ufeff" + buffer.getvalue()  # a BOM, so spreadsheet programs read Thai

    return Response(
        await run_in_threadpool(run),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"', **NO_STORE},
    )


# -- relying parties and officers (admin) --------------------------------------------------------
@endpoint("clients", write=False)
async def list_clients(request: Request, c: Core, officer: Officer) -> Response:
    with c.services.db.read() as session:
        return json_response({"items": [clients.describe(x) for x in clients.list_all(session)]})


@endpoint("clients", write=True)
async def create_client(request: Request, c: Core, officer: Officer) -> Response:
    body = await json_object(request)

    def create() -> dict[str, Any]:
        spec = clients.ClientSpec(
            client_id=str(body.get("client_id", "")),
            name=str(body.get("name", "")),
            redirect_uris=_strings(body, "redirect_uris", []),
            auth_method=str(body.get("token_endpoint_auth_method", "client_secret_basic")),
            grant_types=tuple(
                _strings(body, "grant_types", ["authorization_code", "refresh_token"])
            ),
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
        )
        with c.services.db.session() as session:
            client, secret = clients.create(session, spec, officer.user_id, manage.ceiling(c))
            return {**clients.describe(client), "client_secret": secret}

    return json_response(await run_in_threadpool(create), 201)


def _seconds(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserFacingError(Message("ต้องเป็นจำนวนวินาที", f"{name} must be whole seconds"), name)
    return value


def _strings(body: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = body.get(name, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserFacingError(
            Message("ต้องเป็นรายการข้อความ", f"{name} must be a list of strings"), name
        )
    return list(value)


@endpoint("officers", write=False)
async def list_officers(request: Request, c: Core, officer: Officer) -> Response:
    """Everyone with a back-office role, by user ID."""
    limit, after = pages.window(request.query_params)
    q = select(User).where(func.length(cast(User.roles, String)) > 2)  # not "[]"
    if after:
        q = q.where(User.user_id > str(after[0]))
    with c.services.db.read() as session:
        rows = list(session.scalars(q.order_by(User.user_id).limit(limit + 1)))
        return json_response(pages.page(rows, limit, lambda u: u.user_id, public_record))


@endpoint("officers", write=True)
async def set_role(request: Request, c: Core, officer: Officer) -> Response:
    body = await json_object(request)
    role, grant = str(body.get("role", "")), request.method == "PUT"

    def change() -> dict[str, Any]:
        with c.services.db.session() as session:
            user = session.get(User, request.path_params["user_id"])
            if user is None:
                raise NotFound(NO_USER, "user_id")
            officers.change_role(session, user, role, grant, officer.user_id, officer.origin)
            return public_record(user)

    return json_response(await run_in_threadpool(change))


async def openapi(request: Request) -> Response:
    return Response(OPENAPI.read_bytes(), media_type="application/json")


def admin_routes() -> list[Route]:
    return [
        Route("/openapi.json", openapi),
        # fixed paths before the {user_id}/{action} and {id}/{decision} patterns
        Route("/me", manage.me),
        Route("/uploads", manage.upload_pdf, methods=["POST"]),
        Route("/uploads/{sha256}", manage.uploaded_pdf),
        Route("/dashboard", manage.dashboard),
        Route("/alerts", operations.alerts),
        Route("/registrations/{id}/assignment-order", manage.assignment_order),
        Route("/registrations/{id}", manage.registration_detail),
        Route("/users/import", manage.import_csv, methods=["POST"]),
        Route("/users/{user_id}", manage.user_detail),
        Route("/users/{user_id}/reset-password", manage.force_password_reset, methods=["POST"]),
        Route("/users/{user_id}/device/revoke", operations.revoke_device, methods=["POST"]),
        Route(
            "/users/{user_id}/device/lift-suspension",
            operations.lift_suspension,
            methods=["POST"],
        ),
        Route("/users/{user_id}/assignment-order", operations.assignment_order, methods=["POST"]),
        Route("/users/{user_id}/sessions/end", operations.end_sessions, methods=["POST"]),
        Route("/keys", operations.list_keys),
        Route("/keys/rotate", operations.rotate_keys, methods=["POST"]),
        Route("/clients/{id}", manage.edit_client, methods=["PATCH"]),
        Route("/clients/{id}", manage.delete_client, methods=["DELETE"]),
        Route("/clients/{id}/rotate-secret", manage.rotate_client_secret, methods=["POST"]),
        Route("/registrations", list_registrations),
        Route("/registrations/{id}/{decision:str}", decide_registration, methods=["POST"]),
        Route("/users", search_users),
        Route("/users/{user_id}/{action:str}", set_user_disabled, methods=["POST"]),
        Route("/audit", audit_log),
        Route("/audit.csv", audit_csv),
        Route("/clients", list_clients),
        Route("/clients", create_client, methods=["POST"]),
        Route("/officers", list_officers),
        Route("/officers/{user_id}/roles", set_role, methods=["PUT", "DELETE"]),
        Route("/service-requests", requests.list_requests),
        Route("/service-requests", requests.record_request, methods=["POST"]),
        Route("/service-requests/{id}", requests.show_request),
        Route("/service-requests/{id}/process", requests.process_request, methods=["POST"]),
    ]
