"""The registration wizard's pages (manual chapter 2): an overview of the five steps and the
form of the current one."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain import registration as reg
from idp.domain.errors import UserFacingError
from idp.oidc.adapter import origin_of
from idp.storage.models import Registration, User
from idp.web.activation import fresh_session, sign_in_first
from idp.web.context import WebContext, ctx
from idp.web.uploads import BAD_FORM, TooLarge, read_multipart, store_pdf


def _load(c: WebContext, user_id: str) -> tuple[Registration, User]:
    with c.services.db.session() as session:
        registration = reg.open_registration(session, user_id)
        user = session.get(User, user_id)
        assert user is not None
        return registration, user


async def wizard(
    request: Request, problem: UserFacingError | None = None, status: int = 200
) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(c, "/register")
    registration, user = await run_in_threadpool(_load, c, session.user_id)
    locale = c.render.locale(request)
    return c.render.page(
        request,
        "register.html",
        status=status,
        registration=registration,
        steps=reg.steps_of(registration),
        step=reg.current_step(registration),
        needs_upload=not user.assignment_order_on_file,
        consent_text=reg.CONSENT_TEXT_TH if locale == "th" else reg.CONSENT_TEXT_EN,
        consent_version=reg.CONSENT_VERSION,
        problem=problem.message.text(locale) if problem else None,
        problem_field=problem.field if problem else None,
    )


async def submit_identity(request: Request) -> Response:
    c = ctx(request)
    session = fresh_session(c, request)
    if session is None:
        return sign_in_first(c, "/register")
    try:
        form = await read_multipart(request)
        if not c.render.csrf.valid(request, str(form.get("csrf_token") or "")):
            return c.render.error(request, BAD_FORM, 403)
        upload = form.get("assignment_order")
        stored = None
        if isinstance(upload, UploadFile) and upload.filename:
            stored = await store_pdf(upload, c.services.settings.var_path / "uploads")
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
        if isinstance(problem, TooLarge):  # stop the upload: answer and close the connection
            response = await wizard(request, problem, 413)
            response.headers["Connection"] = "close"
            return response
        return await wizard(request, problem, 400)
    return RedirectResponse("/register", status_code=303)


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
