"""More of the admin API: relying parties' edits, a user's whole record, forced password resets,
user import with a preview, the uploaded assignment order, and the dashboard's numbers."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import STEP_UP_SECONDS, Officer, may_change
from idp.admin_api.endpoint import NO_STORE, NO_USER, endpoint, iso, json_object, json_response
from idp.core import Core
from idp.domain import clients, registration
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.kept_files import MAX_PDF_BYTES, TOO_LARGE, check_and_keep, kept_pdf, uploads_folder
from idp.domain.lifecycle import OfficerAction
from idp.domain.names import normalise_name
from idp.domain.recovery import registered_email
from idp.domain.users import import_users, lifecycle_record, public_record
from idp.storage.models import AuditEvent, Grant, Registration, ServiceRequest, User

IMPORT_LIMIT = 10 * 1024 * 1024  # the same ceiling as the manual's PDF uploads
UNREADABLE_CSV = Message("อ่านไฟล์ CSV ไม่ได้", "the CSV file could not be read")
NO_ROWS = Message("ไฟล์ไม่มีรายชื่อผู้ใช้", "the file has no user rows")


def ceiling(c: Core) -> clients.Lifetimes:
    """The deployment's token lifetimes, which a client's own may only shorten."""
    tokens = c.services.settings.tokens
    return clients.Lifetimes(tokens.access_token_ttl, tokens.id_token_ttl, tokens.refresh_token_ttl)


@endpoint("me", write=False)
async def me(request: Request, c: Core, officer: Officer) -> Response:
    """Who is calling: the back office shows only what these roles may use."""
    with c.services.db.read() as session:
        user = session.get(User, officer.user_id)
        assert user is not None  # authorise() found the user
        return json_response(
            {
                "user_id": officer.user_id,
                "name_th": user.name_th,
                "name_en": user.name_en,
                "roles": sorted(officer.roles),
                "acr": officer.acr,
                "auth_time": officer.auth_time,
                "changes_allowed_until": officer.auth_time + STEP_UP_SECONDS
                if may_change(c, officer)
                else 0,
            }
        )


@endpoint("clients", write=True)
async def edit_client(request: Request, c: Core, officer: Officer) -> Response:
    changes = await json_object(request)

    def edit() -> dict[str, Any]:
        with c.services.db.session() as session:
            return clients.describe(
                clients.update(
                    session, request.path_params["id"], dict(changes), officer.user_id, ceiling(c)
                )
            )

    result = await run_in_threadpool(edit)
    c.server.forget_client(request.path_params["id"])
    return json_response(result)


@endpoint("clients", write=True)
async def rotate_client_secret(request: Request, c: Core, officer: Officer) -> Response:
    def rotate() -> dict[str, Any]:
        with c.services.db.session() as session:
            secret = clients.rotate_secret(session, request.path_params["id"], officer.user_id)
        return {"client_id": request.path_params["id"], "client_secret": secret}

    result = await run_in_threadpool(rotate)
    c.server.forget_client(request.path_params["id"])
    return json_response(result)


@endpoint("clients", write=True)
async def delete_client(request: Request, c: Core, officer: Officer) -> Response:
    def remove() -> None:
        with c.services.db.session() as session:
            clients.delete(session, request.path_params["id"], officer.user_id)

    await run_in_threadpool(remove)
    c.server.forget_client(request.path_params["id"])
    return Response(status_code=204, headers=NO_STORE)


@endpoint("users", write=False)
async def user_detail(request: Request, c: Core, officer: Officer) -> Response:
    """The record, its place in the lifecycle (state, the user's abilities, the officer's
    actions), registration history, device, signed-in applications and audit trail."""

    def load() -> dict[str, Any]:
        user_id = request.path_params["user_id"]
        with c.services.db.read() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound(NO_USER, "user_id")
            history = session.scalars(
                select(Registration)
                .where(Registration.user_id == user_id)
                .order_by(Registration.attempt.desc())
            )
            grants = session.scalars(
                select(Grant).where(Grant.user_id == user_id, Grant.revoked_at.is_(None))
            )
            trail = session.scalars(
                select(AuditEvent)
                .where(AuditEvent.subject == user_id)
                .order_by(AuditEvent.id.desc())
                .limit(50)
            )
            data: dict[str, Any] = {
                "user": public_record(user),
                "lifecycle": lifecycle_record(c.services.lifecycle.account(session, user)),
                "registrations": [registration.summary(r) for r in history],
                "applications": [
                    {"client_id": g.client_id, "since": iso(g.created_at), "acr": g.acr}
                    for g in grants
                ],
                "audit": [
                    {
                        "at": iso(e.at),
                        "action": e.action,
                        "actor": e.actor,
                        "outcome": e.outcome,
                        "ip": e.ip,
                    }
                    for e in trail
                ],
            }
        device = c.push.devices.active_for(user_id)
        data["device"] = (
            None
            if device is None
            else {
                "device_id": device.device_id,
                "status": device.status,
                "model": device.model,
                "activated": iso(device.created_at),
                "not_after": iso(device.not_after),
            }
        )
        return data

    return json_response(await run_in_threadpool(load))


@endpoint("users", write=True)
async def force_password_reset(request: Request, c: Core, officer: Officer) -> Response:
    """A new random password, emailed to the registered address; the officer never sees it
    (ASVS 6.4.6); the user must change it and is signed out everywhere."""

    def reset() -> str:
        with c.services.db.session() as session:
            user, account = c.services.lifecycle.user(session, request.path_params["user_id"])
            account.require_officer(OfficerAction.RESET_PASSWORD)
            password = c.services.lifecycle.issue_temporary_password(
                session, user, "officer", actor=officer.user_id, origin=officer.origin
            )
            email = registered_email(session, user)[1]
            c.mail.enqueue(session, "password_new", email, user_id=user.user_id, password=password)
            return str(user.user_id)

    user_id = await run_in_threadpool(reset)
    c.mail.wake()
    await c.back_channel.sign_out_everywhere(user_id, "password_reset", officer.origin)
    return json_response({"user_id": user_id, "emailed": True})


@endpoint("users", write=True)
async def import_csv(request: Request, c: Core, officer: Officer) -> Response:
    """CSV text in the body; `?preview=1` checks every row and changes nothing."""
    body = await request.body()
    if len(body) > IMPORT_LIMIT:
        raise UserFacingError(Message("ไฟล์ใหญ่เกิน 10 MB", "the file is larger than 10 MB"), "file")
    text = body.decode("utf-8-sig", errors="replace")
    if "\x00" in text:  # PostgreSQL cannot store it, and no CSV needs it
        raise UserFacingError(Message("ไฟล์มีอักขระ NUL", "the file contains a NUL character"), "file")
    preview = request.query_params.get("preview") in ("1", "true")

    def run() -> dict[str, Any]:
        with c.services.db.session() as session:
            try:
                result = import_users(session, text, officer.user_id)
            except csv.Error as exc:  # a field over the csv module's limit, say
                raise UserFacingError(UNREADABLE_CSV, "file") from exc
            if not result.imported and not result.errors:
                raise UserFacingError(NO_ROWS, "file")
            errors = [
                {"line": e.line, "column": e.column, "th": e.message.th, "en": e.message.en}
                for e in result.errors
            ]
            if preview or errors:
                session.rollback()
                return {"imported": [], "would_import": len(result.imported), "errors": errors}
            return {"imported": result.imported, "errors": []}

    result = await run_in_threadpool(run)
    return json_response(result, 400 if result["errors"] else 200)


@endpoint("registrations", write=False)
async def registration_detail(request: Request, c: Core, officer: Officer) -> Response:
    """One registration beside the user record and the proofing result, differences marked."""
    with c.services.db.read() as session:
        found = session.get(Registration, request.path_params["id"])
        if found is None:
            raise NotFound(Message("ไม่พบการลงทะเบียน", "no such registration"), "id")
        user = session.get(User, found.user_id)
        assert user is not None
        proofing = found.proofing or {}
        claims = proofing.get("claims") or {}
        return json_response(
            {
                "registration": {
                    **registration.summary(found),
                    "created_at": iso(found.created_at),
                    "consent_version": found.consent_version,
                    "email_verified_at": iso(found.email_verified_at),
                    "upload_size": found.upload_size,
                    "address": found.address,
                    "decision_reason": found.decision_reason,
                    "decided_by": found.decided_by,
                    "decided_at": iso(found.decided_at),
                },
                "user": public_record(user),
                "proofing": {
                    "issuer": proofing.get("issuer"),
                    "assurance_level": proofing.get("assurance_level"),
                    "claims": claims,
                },
                "comparison": _compare(found, user, claims),
            }
        )


def _compare(found: Registration, user: User, claims: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's value and the proofed value of each field that both have."""
    rows = [
        ("national_id", found.national_id, claims.get("national_id")),
        ("name_th", user.name_th, claims.get("name_th")),
        ("name_en", user.name_en, claims.get("name_en")),
    ]
    return [
        {
            "field": name,
            "record": ours,
            "proofed": theirs,
            "same": theirs is None
            or normalise_name(str(ours or "")) == normalise_name(str(theirs)),
        }
        for name, ours, theirs in rows
    ]


@endpoint("registrations", write=True)
async def upload_pdf(request: Request, c: Core, officer: Officer) -> Response:
    """A signed service-request form (PDF, at most 10 MB) in the body; its SHA-256 back."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PDF_BYTES:
        raise UserFacingError(TOO_LARGE, "form_pdf")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_PDF_BYTES:
            raise UserFacingError(TOO_LARGE, "form_pdf")
    stored = await run_in_threadpool(
        check_and_keep, bytes(body), uploads_folder(c.services.settings)
    )
    return json_response({"sha256": stored.sha256, "size": stored.size}, 201)


@endpoint("registrations", write=False)
async def uploaded_pdf(request: Request, c: Core, officer: Officer) -> Response:
    """A stored PDF by its SHA-256 (a service request's signed form)."""
    return _pdf(c, str(request.path_params["sha256"]))


@endpoint("registrations", write=False)
async def assignment_order(request: Request, c: Core, officer: Officer) -> Response:
    """The uploaded assignment order, as a download that the browser never runs as a page."""
    with c.services.db.read() as session:
        found = session.get(Registration, request.path_params["id"])
        digest = found.upload_sha256 if found else None
    return _pdf(c, digest or "")


def _pdf(c: Core, digest: str) -> Response:
    path = kept_pdf(uploads_folder(c.services.settings), digest)
    if path is None:
        raise NotFound(Message("ไม่มีไฟล์แนบ", "no such file on record"), "id")
    return Response(
        path.read_bytes(),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="assignment-order-{digest[:12]}.pdf"',
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Content-Type-Options": "nosniff",
            **NO_STORE,
        },
    )


@endpoint("dashboard", write=False)
async def dashboard(request: Request, c: Core, officer: Officer) -> Response:
    """Pending work, registrations and sign-ins per day over 30 days, certificates expiring."""

    def numbers() -> dict[str, Any]:
        now = datetime.now(UTC)
        since = now - timedelta(days=30)
        with c.services.db.read() as session:
            pending = session.scalar(
                select(func.count())
                .select_from(Registration)
                .where(Registration.status == "waiting_approval")
            )
            requests = session.scalar(
                select(func.count())
                .select_from(ServiceRequest)
                .where(ServiceRequest.status == "received")
            )
            registered = _per_day(session, Registration.created_at, since)
            sign_ins = _per_day(
                session,
                AuditEvent.at,
                since,
                AuditEvent.action == "login.password",
                AuditEvent.outcome == "success",
            )
        expiring = len(c.push.devices.expiring_between(now, now + timedelta(days=30)))
        return {
            "pending_registrations": pending,
            "pending_service_requests": requests,
            "registrations_per_day": registered,
            "sign_ins_per_day": sign_ins,
            "certificates_expiring_30_days": expiring,
        }

    return json_response(await run_in_threadpool(numbers))


def _per_day(session: Any, column: Any, since: datetime, *where: Any) -> dict[str, int]:
    day = func.date(column)
    rows = session.execute(
        select(day, func.count()).where(column >= since, *where).group_by(day).order_by(day)
    )
    return {str(d): int(n) for d, n in rows}
