"""HTTP handlers of the authorization endpoint, its resumption after sign-in, and consent."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.domain.errors import Message
from idp.login.sso import SsoSession
from idp.login.transaction import LoginTransaction
from idp.oidc import rar
from idp.oidc.adapter import BadRequestBody, StarletteOAuth2Request, build_request, read_form
from idp.oidc.authorization import (
    AuthorizationFlow,
    NeedConsent,
    NeedDevice,
    NeedLogin,
    Outcome,
    Redirect,
    ShowError,
)
from idp.oidc.par import PushedRequests
from idp.oidc.server import IdPAuthorizationServer
from idp.web import continuation
from idp.web.context import ctx
from idp.web.signin.login import EXPIRED, STALE_FORM
from idp.web.signin.next_step import link, next_step

INVALID_REQUEST = Message("The sign-in request is invalid")


async def authorize(request: Request) -> Response:
    c = ctx(request)
    try:
        form = await read_form(request)
    except BadRequestBody:
        return c.render.error(request, INVALID_REQUEST)
    oreq = build_request(request, c.issuer, form)
    session = c.sso.current(request)
    outcome = await run_in_threadpool(_decide, c.server, c.flow, oreq, session)
    return await _respond(request, outcome)


def _decide(
    server: IdPAuthorizationServer,
    flow: AuthorizationFlow,
    oreq: StarletteOAuth2Request,
    session: SsoSession | None,
) -> Outcome:
    """The request to decide is a pushed one (PAR), a signed one (JAR) or this one; a refusal
    of either is shown here, never redirected (idp.oidc.par)."""
    try:
        resolved = PushedRequests(server).resolve(oreq)
    except OAuth2Error as error:
        text = f"{error.error}: {error.description}" if error.description else error.error
        return ShowError(text)
    return flow.decide(resolved, session, None)


async def resume(request: Request) -> Response:
    c = ctx(request)
    txn = c.transactions.get(request.path_params["txn"])
    if txn is None:
        return c.render.error(request, EXPIRED)
    return await _continue(request, txn)


async def _continue(request: Request, txn: LoginTransaction) -> Response:
    c = ctx(request)
    oreq = build_request(request, c.issuer, [], QueryParams(txn.params))
    session = c.sso.current(request)
    if session is not None and txn.user_id not in (None, session.user_id):
        session = None
    outcome = await run_in_threadpool(c.flow.decide, oreq, session, txn)
    return await _respond(request, outcome)


async def consent_submit(request: Request) -> Response:
    c = ctx(request)
    txn = c.transactions.get(request.path_params["txn"])
    if txn is None:
        return c.render.error(request, EXPIRED)
    form = await request.form(max_fields=10)
    if not c.render.csrf.valid(request, str(form.get("csrf_token") or "")):
        return c.render.error(request, STALE_FORM, status=403)
    session = c.sso.current(request)
    if session is None or txn.user_id not in (None, session.user_id):
        return c.render.error(request, EXPIRED)  # another user signed in here meanwhile
    txn.user_id = session.user_id
    if form.get("decision") != "allow":
        c.transactions.finish(txn)
        oreq = build_request(request, c.issuer, [], QueryParams(txn.params))
        return await _respond(request, await run_in_threadpool(c.flow.deny, oreq))
    await run_in_threadpool(c.flow.remember_consent, session.user_id, txn)
    txn.consented = True
    c.transactions.save(txn)
    return await _continue(request, txn)


async def _respond(request: Request, outcome: Outcome) -> Response:
    c = ctx(request)
    if isinstance(outcome, Redirect):  # may carry a code: never cached (RFC 6749 §5.1 spirit)
        return RedirectResponse(
            outcome.location, status_code=302, headers={"Cache-Control": "no-store"}
        )
    if isinstance(outcome, NeedLogin):
        return RedirectResponse(f"/login/{outcome.txn.id}", status_code=303)
    if isinstance(outcome, NeedDevice):
        return await _need_device(request, outcome)
    if isinstance(outcome, NeedConsent):
        return c.render.page(
            request,
            "consent.html",
            txn=outcome.txn,
            client_name=outcome.client_name,
            scopes=outcome.scopes,
            claims=outcome.claims,
            details=rar.summary(list(outcome.details), c.render.locale(request)),
        )
    return c.render.error(
        request, INVALID_REQUEST.th + " / " + INVALID_REQUEST.en + ": " + outcome.description
    )


async def _need_device(request: Request, outcome: NeedDevice) -> Response:
    """The level asked for needs Soft Token (or a passkey): the next step this user's
    lifecycle allows, the request parked to continue after it."""
    c = ctx(request)
    token = continuation.park(c, outcome.params)  # come back here after the detour
    session = c.sso.current(request)
    account = await run_in_threadpool(c.account, session.user_id) if session else None
    step = next_step(account)
    return c.render.page(
        request,
        "need_device.html",
        status=403,
        step=step,
        next_url=link(step, token),
        passkey=outcome.passkey,
    )
