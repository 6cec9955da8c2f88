"""The registration wizard's pages (manual chapter 2): an overview of the five steps and the
form of the current one; step 1 (identity, the assignment order) and step 3 (the email code,
then confirm) are posted here, step 2 is idp.web.registration.proofing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import segno
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain import registration as reg
from idp.domain.audit import Origin
from idp.domain.errors import UserFacingError
from idp.domain.kept_files import kept_pdf
from idp.domain.registration import StoredUpload
from idp.domain.registration_wizard import RegistrationWizard
from idp.oidc.adapter import origin_of
from idp.web import continuation
from idp.web.context import WebContext, ctx
from idp.web.csrf import BAD_FORM
from idp.web.registration import pending_upload
from idp.web.registration.pending_upload import PendingUpload
from idp.web.registration.proofing import PROOFING_PROBLEMS
from idp.web.registration.uploads import TooLarge, read_multipart, store_pdf
from idp.web.signin.required import fresh_session, sign_in_first


@dataclass(frozen=True)
class Entered:
    """What a refused step 1 shows again: the national ID, the consent chosen and the file kept
    server-side (idp.web.registration.pending_upload). There is no password on this form."""

    national_id: str = ""
    consent: str = ""
    kept: PendingUpload | None = None


async def wizard(
    request: Request,
    problem: UserFacingError | None = None,
    status: int = 200,
    entered: Entered | None = None,
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
        extra["resend_wait"] = state.resend_wait
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
        entered=entered or Entered(),
        **extra,
    )


async def submit_identity(request: Request) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(c, "/register")
    stored, filename, earlier, entered = None, "", None, Entered()
    try:
        form = await read_multipart(request)
        if not c.render.csrf.valid(request, str(form.get("csrf_token") or "")):
            return c.render.error(request, BAD_FORM, 403)
        entered = Entered(str(form.get("national_id") or "")[:32], str(form.get("consent") or ""))
        earlier = await run_in_threadpool(
            _earlier, c, session.sid, str(form.get("kept_upload") or "")
        )
        upload = form.get("assignment_order")
        if isinstance(upload, UploadFile) and upload.filename:  # a new choice replaces it
            stored, filename = await store_pdf(upload, c.registration.uploads), upload.filename
        elif earlier is not None:
            stored, filename = earlier.stored, earlier.filename
        await run_in_threadpool(
            c.registration.submit_identity,
            session.user_id,
            entered.national_id,
            entered.consent == "yes",
            stored,
            origin_of(request),
        )
    except UserFacingError as problem:
        if isinstance(problem, TooLarge):  # stop the upload: answer and close the connection
            response = await wizard(request, problem, 413, entered)
            response.headers["Connection"] = "close"
            return response
        kept = await run_in_threadpool(_keep, c, session.sid, stored, filename, earlier)
        return await wizard(request, problem, 400, replace(entered, kept=kept))
    await run_in_threadpool(_settled, c, session.sid, stored, earlier)
    return RedirectResponse("/register", status_code=303)


def _earlier(c: WebContext, sid: str, token: str) -> PendingUpload | None:
    """The file kept from this session's refused try, while it is still on disk."""
    earlier = pending_upload.find(c.services.store, sid, token)
    if earlier is None or kept_pdf(c.registration.uploads, earlier.sha256) is None:
        return None
    return earlier


def _keep(
    c: WebContext,
    sid: str,
    stored: StoredUpload | None,
    filename: str,
    earlier: PendingUpload | None,
) -> PendingUpload | None:
    """A refused try: keep its file for the next one (the session's earlier file, if
    replaced, goes)."""
    if stored is None:
        return None
    replaced = earlier or pending_upload.held(c.services.store, sid)
    if replaced is not None and replaced.sha256 != stored.sha256:
        c.registration.discard_upload(replaced.sha256)
    kept = pending_upload.keep(c.services.store, sid, stored, filename)
    if kept is None:  # nothing could name it: keep no file that nothing names
        c.registration.discard_upload(stored.sha256)
    return kept


def _settled(
    c: WebContext, sid: str, stored: StoredUpload | None, earlier: PendingUpload | None
) -> None:
    """Step 1 done: the registration names its file; a replaced earlier one goes."""
    previous = earlier or pending_upload.held(c.services.store, sid)
    if previous is not None:
        pending_upload.forget(c.services.store, sid)
        if stored is None or previous.sha256 != stored.sha256:
            c.registration.discard_upload(previous.sha256)


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
