"""The registration wizard's pages (manual chapter 2): an overview of the five steps and the
form of the current one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import segno
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from idp.domain import audit, kept_files
from idp.domain import registration as reg
from idp.domain.errors import Message, UserFacingError
from idp.domain.kept_files import uploads_folder
from idp.domain.lifecycle import needs_assignment_order
from idp.domain.thai_dates import format_datetime
from idp.domain.validation import BAD_EMAIL, normalise_email
from idp.oidc.adapter import origin_of
from idp.storage.models import Registration, User
from idp.upstream.keys import public_jwks
from idp.upstream.proofing import ProofingError
from idp.web import continuation
from idp.web.activation import fresh_session, sign_in_first
from idp.web.context import WebContext, ctx
from idp.web.uploads import BAD_FORM, TooLarge, read_multipart, store_pdf


def _proofing_status(c: WebContext, user_id: str) -> str | None:
    """What the polling page asks every 1.5 s: only the registration, not its user."""
    with c.services.db.session() as session:  # open_registration may create the record
        return reg.open_registration(session, user_id).proofing_status


async def wizard(
    request: Request, problem: UserFacingError | None = None, status: int = 200
) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(
            c, "/register" + (f"?{request.url.query}" if request.url.query else "")
        )
    if token := request.query_params.get("next"):
        continuation.adopt(c, session.user_id, token)
    registration, user, previous = await run_in_threadpool(_load_with_history, c, session.user_id)
    locale = c.render.locale(request)
    step = reg.current_step(registration)
    extra: dict[str, object] = {}
    if step == 2:
        link = await run_in_threadpool(c.proofing.phone_link, registration.id)
        extra["proof_link"] = link
        extra["proof_qr"] = segno.make(link, error="m").svg_data_uri(scale=5)
        failure = PROOFING_PROBLEMS.get(registration.proofing_status or "")
        if failure and problem is None:
            problem = UserFacingError(failure)
    if step == 3:
        extra["email"] = registration.email or user.email
        extra["code_sent"] = c.email_codes.codes.pending(registration.id)
    return c.render.page(
        request,
        "register.html",
        status=status,
        registration=registration,
        user=user,
        previous=previous,
        steps=reg.steps_of(registration),
        step=step,
        needs_upload=needs_assignment_order(user),
        consent_text=reg.CONSENT_TEXT_TH if locale == "th" else reg.CONSENT_TEXT_EN,
        consent_version=reg.CONSENT_VERSION,
        problem=problem.message.text(locale) if problem else None,
        problem_field=problem.field if problem else None,
        **extra,
    )


def _load_with_history(
    c: WebContext, user_id: str
) -> tuple[Registration, User, Registration | None]:
    with c.services.db.session() as session:
        registration = reg.open_registration(session, user_id)
        user = session.get(User, user_id)
        assert user is not None
        previous = reg.previous_attempt(session, registration)
        return registration, user, previous


async def submit_identity(request: Request) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(c, "/register")
    stored = None
    try:
        form = await read_multipart(request)
        if not c.render.csrf.valid(request, str(form.get("csrf_token") or "")):
            return c.render.error(request, BAD_FORM, 403)
        upload = form.get("assignment_order")
        if isinstance(upload, UploadFile) and upload.filename:
            stored = await store_pdf(upload, uploads_folder(c.services.settings))
        await run_in_threadpool(
            _save_identity,
            c,
            session.user_id,
            str(form.get("national_id") or ""),
            form.get("consent") == "yes",
            stored,
            request,
        )
    except UserFacingError as problem:
        if stored is not None:  # refused: keep no file that nothing names
            await run_in_threadpool(_discard, c, stored.sha256)
        if isinstance(problem, TooLarge):  # stop the upload: answer and close the connection
            response = await wizard(request, problem, 413)
            response.headers["Connection"] = "close"
            return response
        return await wizard(request, problem, 400)
    return RedirectResponse("/register", status_code=303)


def _discard(c: WebContext, digest: str) -> None:
    with c.services.db.read() as session:
        kept_files.discard(session, uploads_folder(c.services.settings), digest)


def _save_identity(
    c: WebContext,
    user_id: str,
    national_id: str,
    consent: bool,
    stored: reg.StoredUpload | None,
    request: Request,
) -> None:
    if not consent:  # recorded in a transaction of its own, then refused
        with c.services.db.session() as session:
            reg.record_declined_consent(session, user_id, origin_of(request))
    with c.services.db.session() as session:
        registration = reg.open_registration(session, user_id)
        user = session.get(User, user_id)
        assert user is not None
        reg.submit_identity(
            session, registration, user, national_id, consent, stored, origin_of(request)
        )


# -- step 2: proofing at the upstream IdP, cross-device ---------------------------------------
PROOFING_PROBLEMS = {
    "id_mismatch": Message(
        "เลขประจำตัวประชาชนที่พิสูจน์ตัวตนไม่ตรงกับที่ท่านระบุ",
        "the proofed national ID differs from the one you entered",
    ),
    "failed": Message("พิสูจน์ตัวตนไม่สำเร็จ กรุณาลองใหม่", "identity proofing failed: try again"),
}


PROOFING_REASONS = (
    "id_mismatch",
    "state_mismatch",
    "nonce_mismatch",
    "invalid_id_token",
    "token_exchange_failed",
    "upstream_access_denied",
    "upstream_unreachable",
    "link_expired",
    "no_code",
    "failed",
)


async def proof_start(request: Request) -> Response:
    """The phone opened the desktop's QR code: on to the upstream identity provider."""
    c = ctx(request)
    try:
        url = await run_in_threadpool(c.proofing.authorization_url, request.path_params["token"])
    except ProofingError:
        return c.render.error(
            request,
            Message(
                "ลิงก์หมดอายุ กรุณาสแกน QR Code ใหม่จากหน้าจอคอมพิวเตอร์",
                "this link has expired: scan the QR code on the computer again",
            ),
        )
    return RedirectResponse(url, status_code=303)


async def proof_callback(request: Request) -> Response:
    c = ctx(request)
    params = {k: v for k, v in request.query_params.items()}
    try:
        registration_id, result = await run_in_threadpool(c.proofing.complete, params)
    except ProofingError as failure:
        await run_in_threadpool(_proofing_failed, c, failure.reason, request)
        reason = failure.reason if failure.reason in PROOFING_REASONS else "failed"
        return c.render.page(request, "proofed.html", ok=False, reason=reason, status=400)
    status = await run_in_threadpool(_record_proofing, c, registration_id, result, request)
    return c.render.page(request, "proofed.html", ok=status == "completed", reason=status)


def _record_proofing(c: WebContext, registration_id: str, result: object, request: Request) -> str:
    with c.services.db.session() as session:
        registration = session.get(Registration, registration_id)
        assert registration is not None
        user = session.get(User, registration.user_id)
        assert user is not None
        return reg.record_proofing(session, registration, user, result, origin_of(request))


def _proofing_failed(c: WebContext, reason: str, request: Request) -> None:
    with c.services.db.session() as session:
        audit.record(
            session,
            "registration.proofing",
            actor="upstream",
            subject="-",
            outcome="failure",
            origin=origin_of(request),
            reason=reason,
        )


async def proof_status(request: Request) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return JSONResponse({"status": "gone"}, status_code=401)
    status = await run_in_threadpool(_proofing_status, c, session.user_id)
    return JSONResponse({"status": status or "waiting"}, headers={"Cache-Control": "no-store"})


# -- step 3: review, email code, confirm ------------------------------------------------------
async def _step3(
    request: Request, action: Callable[[WebContext, str, Request, dict[str, str]], None]
) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(c, "/register")
    form = await c.render.csrf.checked_form(request, max_fields=20)
    if form is None:
        return c.render.error(request, BAD_FORM, 403)
    try:
        await run_in_threadpool(action, c, session.user_id, request, form)
    except UserFacingError as problem:
        return await wizard(request, problem, 400)
    return RedirectResponse("/register", status_code=303)


def _send_code(c: WebContext, user_id: str, request: Request, form: dict[str, str]) -> None:
    email = normalise_email(form.get("email", ""))
    if email is None:
        raise UserFacingError(BAD_EMAIL, "email")
    with c.services.db.session() as session:
        registration = reg.open_registration(session, user_id)
        if reg.current_step(registration) != 3:
            raise UserFacingError(Message("ยังไม่ถึงขั้นตอนนี้", "not at this step yet"))
        code, expires = c.email_codes.issue(session, registration, email)
        when = datetime.fromtimestamp(expires, UTC)
        c.mail.enqueue(
            session,
            "email_otp",
            email,
            otp=code,
            expires_th=format_datetime(when, "th"),
            expires_en=format_datetime(when, "en"),
        )
        audit.record(
            session,
            "registration.email_otp_sent",
            actor=user_id,
            subject=user_id,
            origin=origin_of(request),
        )
    c.mail.wake()


def _verify_code(c: WebContext, user_id: str, request: Request, form: dict[str, str]) -> None:
    with c.services.db.session() as session:
        registration = reg.open_registration(session, user_id)
        c.email_codes.verify(session, registration, form.get("otp", ""), origin_of(request))


def _confirm(c: WebContext, user_id: str, request: Request, form: dict[str, str]) -> None:
    with c.services.db.session() as session:
        registration = reg.open_registration(session, user_id)
        user = session.get(User, user_id)
        assert user is not None
        status = reg.confirm(session, registration, user, origin_of(request))
        if status == "approved":
            c.mail.registration_decided(session, registration, user, c.issuer)
    c.mail.wake()


async def send_code(request: Request) -> Response:
    return await _step3(request, _send_code)


async def verify_code(request: Request) -> Response:
    return await _step3(request, _verify_code)


async def confirm(request: Request) -> Response:
    return await _step3(request, _confirm)


async def upstream_client_jwks(request: Request) -> Response:
    """The public key that signs our private_key_jwt assertions to the upstream."""
    return JSONResponse(
        public_jwks(ctx(request).proofing.client_key),
        headers={"Cache-Control": "public, max-age=3600"},
    )
