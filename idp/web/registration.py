"""The registration wizard's pages (manual chapter 2): an overview of the five steps and the
form of the current one."""

from __future__ import annotations

from collections.abc import Callable

import segno
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from idp.domain import registration as reg
from idp.domain.audit import Origin
from idp.domain.errors import Message, UserFacingError
from idp.domain.kept_files import uploads_folder
from idp.domain.registration_wizard import RegistrationWizard
from idp.oidc.adapter import origin_of
from idp.upstream.keys import public_jwks
from idp.upstream.proofing import ProofingError
from idp.web import continuation
from idp.web.activation import fresh_session, sign_in_first
from idp.web.context import ctx
from idp.web.uploads import BAD_FORM, TooLarge, read_multipart, store_pdf


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
    state = await run_in_threadpool(c.registration.state, session.user_id)
    registration = state.registration
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
        extra["email"] = registration.email or state.user.email
        extra["code_sent"] = state.code_sent
    return c.render.page(
        request,
        "register.html",
        status=status,
        registration=registration,
        user=state.user,
        previous=state.previous,
        steps=reg.steps_of(registration),
        step=step,
        needs_upload=state.needs_upload,
        consent_text=reg.CONSENT_TEXT_TH if locale == "th" else reg.CONSENT_TEXT_EN,
        consent_version=reg.CONSENT_VERSION,
        problem=problem.message.text(locale) if problem else None,
        problem_field=problem.field if problem else None,
        **extra,
    )


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
            c.registration.submit_identity,
            session.user_id,
            str(form.get("national_id") or ""),
            form.get("consent") == "yes",
            stored,
            origin_of(request),
        )
    except UserFacingError as problem:
        if stored is not None:  # refused: keep no file that nothing names
            await run_in_threadpool(c.registration.discard_upload, stored.sha256)
        if isinstance(problem, TooLarge):  # stop the upload: answer and close the connection
            response = await wizard(request, problem, 413)
            response.headers["Connection"] = "close"
            return response
        return await wizard(request, problem, 400)
    return RedirectResponse("/register", status_code=303)


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
        await run_in_threadpool(c.registration.proofing_failed, failure.reason, origin_of(request))
        reason = failure.reason if failure.reason in PROOFING_REASONS else "failed"
        return c.render.page(request, "proofed.html", ok=False, reason=reason, status=400)
    status = await run_in_threadpool(
        c.registration.record_proofing, registration_id, result, origin_of(request)
    )
    return c.render.page(request, "proofed.html", ok=status == "completed", reason=status)


async def proof_status(request: Request) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return JSONResponse({"status": "gone"}, status_code=401)
    status = await run_in_threadpool(c.registration.proofing_status, session.user_id)
    return JSONResponse({"status": status or "waiting"}, headers={"Cache-Control": "no-store"})


# -- step 3: review, email code, confirm ------------------------------------------------------
Step3 = Callable[[RegistrationWizard, str, dict[str, str], Origin], None]


async def _step3(request: Request, command: Step3) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(c, "/register")
    form = await c.render.csrf.checked_form(request, max_fields=20)
    if form is None:
        return c.render.error(request, BAD_FORM, 403)
    try:
        await run_in_threadpool(command, c.registration, session.user_id, form, origin_of(request))
    except UserFacingError as problem:
        return await wizard(request, problem, 400)
    return RedirectResponse("/register", status_code=303)


async def send_code(request: Request) -> Response:
    return await _step3(
        request,
        lambda wizard, user_id, form, origin: wizard.send_code(
            user_id, form.get("email", ""), origin
        ),
    )


async def verify_code(request: Request) -> Response:
    return await _step3(
        request,
        lambda wizard, user_id, form, origin: wizard.verify_code(
            user_id, form.get("otp", ""), origin
        ),
    )


async def confirm(request: Request) -> Response:
    return await _step3(
        request, lambda wizard, user_id, form, origin: wizard.confirm(user_id, origin)
    )


async def upstream_client_jwks(request: Request) -> Response:
    """The public key that signs our private_key_jwt assertions to the upstream."""
    return JSONResponse(
        public_jwks(ctx(request).proofing.client_key),
        headers={"Cache-Control": "public, max-age=3600"},
    )
