"""The hosted pages' routing table, health and readiness, and the error pages (404, 405, 503
while a dependency is down, 500). idp.app mounts the APIs beside them."""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from idp import metrics
from idp.domain.errors import Message
from idp.services import Services
from idp.upstream.keys import upstream_client_key
from idp.upstream.simulated import SimulatedUpstream
from idp.web import dev_clock, dev_mailbox, discovery, proxies, pushed, token_routes
from idp.web.account import email_change, passkeys, self_service
from idp.web.context import WebContext
from idp.web.control_chars import API_PREFIXES
from idp.web.recovery import forgot_password
from idp.web.registration import activation, proofing, wizard
from idp.web.render import TEMPLATES
from idp.web.security_headers import NO_STORE, policy, secured
from idp.web.signin import authorize, login, logout, push
from idp.web.static_files import SharedStatic
from idp.web.token_login import initial_password
from idp.web.webapp import pages as webapp_pages

STATIC = TEMPLATES.parent / "static"
log = logging.getLogger(__name__)

NOT_FOUND = Message("Page not found")
SERVER_ERROR = Message("Something went wrong on our side. Please try again.")


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


READY_TIMEOUT = 1.0  # seconds: a database that does not answer by then is not ready


async def ready(request: Request) -> Response:
    """Ready when the signing keys, the expiring store and the database all answer."""
    services: Services = request.app.state.ctx.services
    try:
        await asyncio.wait_for(run_in_threadpool(services.probe), READY_TIMEOUT)
    except Exception as exc:
        log.warning("readiness check failed: %s", type(exc).__name__)
        return JSONResponse(
            {"status": "unavailable"}, status_code=503, headers={"Retry-After": "5"}
        )
    return JSONResponse({"status": "ok"})


def routes(context: WebContext) -> list[Route | Mount]:
    settings = context.services.settings
    development_only: list[Route | Mount] = []
    if settings.mail.transport == "dev":
        development_only.append(Route("/dev/mailbox", dev_mailbox.mailbox))
    if settings.development.movable_clock:
        development_only.append(Route("/dev/clock", dev_clock.clock_page))
        development_only.append(Route("/dev/clock", dev_clock.move_clock, methods=["POST"]))
    if settings.upstream.simulated:
        upstream = SimulatedUpstream(
            settings.server.issuer,
            settings.upstream.client_id,
            settings.upstream.client_secret,
            context.services.master.derive(b"simulated-upstream"),
            context.services.store,
            upstream_client_key(context.services.master),
        )
        development_only.append(Mount("/dev/upstream", routes=upstream.routes()))
    return [  # the machine-to-machine endpoints first: routes are matched in order
        Route("/.well-known/openid-configuration", discovery.openid_configuration),
        Route("/jwks", discovery.jwks),
        Route("/token", token_routes.token, methods=["POST"]),
        Route("/introspect", token_routes.introspect, methods=["POST"]),
        Route("/bc-authorize", token_routes.backchannel_authentication, methods=["POST"]),
        Route("/userinfo", token_routes.userinfo, methods=["GET", "POST"]),
        Route("/revoke", token_routes.revoke, methods=["POST"]),
        Route("/par", pushed.par, methods=["POST"]),
        *development_only,
        # sign-in and sessions (idp.web.signin)
        Route("/authorize", authorize.authorize, methods=["GET", "POST"]),
        Route("/authorize/resume/{txn}", authorize.resume),
        Route("/consent/{txn}", authorize.consent_submit, methods=["POST"]),
        # Login by Token (idp.web.token_login), matched before the sign-in pages' /login/{txn}
        Route("/login/token", initial_password.token_page),
        Route("/login/token", initial_password.issue_initial_password, methods=["POST"]),
        Route("/login/{txn}", login.login_page),
        Route("/login/{txn}", login.login_submit, methods=["POST"]),
        Route("/login/{txn}/push", push.push_status),
        Route("/login/{txn}/device", push.device_status),
        Route("/logout", logout.end_session, methods=["GET", "POST"]),
        # registration and activation (idp.web.registration)
        Route("/register", wizard.wizard),
        Route("/register/identity", wizard.submit_identity, methods=["POST"]),
        Route("/register/proof/callback", proofing.proof_callback),
        Route("/register/proof/status", proofing.proof_status),
        Route("/register/proof/{token}", proofing.proof_start),
        Route("/upstream/jwks", proofing.upstream_client_jwks),
        Route("/register/email", wizard.send_code, methods=["POST"]),
        Route("/register/email/verify", wizard.verify_code, methods=["POST"]),
        Route("/register/confirm", wizard.confirm, methods=["POST"]),
        Route("/activate", activation.activate_page),
        Route("/activate/status", activation.activation_status),
        Route("/activate/qr.png", activation.activation_qr_png),
        Route("/continue", activation.continue_request),
        # the account (idp.web.account)
        Route("/app", webapp_pages.app_page),
        Route("/app/activate", webapp_pages.app_page),
        Route("/app/approve", webapp_pages.app_page),
        Route("/app/manifest.webmanifest", webapp_pages.manifest),
        Route("/app/sw.js", webapp_pages.service_worker),
        Route("/app/cancel", webapp_pages.cancel, methods=["POST"]),
        Route("/account", self_service.account_page),
        Route("/account/cancel", self_service.cancel_soft_token, methods=["POST"]),
        Route("/account/sign-out-everywhere", self_service.sign_out_all, methods=["POST"]),
        Route("/account/language", self_service.set_language, methods=["POST"]),
        Route(passkeys.NEW, passkeys.new_passkey),
        Route("/account/passkeys", passkeys.add_passkey, methods=["POST"]),
        Route("/account/passkeys/rename", passkeys.rename_passkey, methods=["POST"]),
        Route("/account/passkeys/remove", passkeys.remove_passkey, methods=["POST"]),
        Route("/verify-email/{token}", email_change.confirm_email),
        # forgot password (idp.web.recovery)
        Route("/forgot", forgot_password.forgot_page),
        Route("/forgot", forgot_password.forgot_submit, methods=["POST"]),
        Route("/forgot/{flow}", forgot_password.code_page),
        Route("/forgot/{flow}/verify", forgot_password.verify, methods=["POST"]),
        Route("/forgot/{flow}/resend", forgot_password.resend, methods=["POST"]),
        Route("/healthz", health),
        Route("/readyz", ready),
        Mount("/static", SharedStatic(directory=STATIC), name="static"),
    ]


async def not_found(request: Request, exc: Exception) -> Response:
    """404 and 405: JSON for the APIs (405 with its Allow header), a page for people."""
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    if status == 405:
        return JSONResponse({"error": "method_not_allowed"}, status_code=405, headers=headers)
    if request.url.path.startswith(API_PREFIXES):
        return JSONResponse(
            {"error": "not_found", "error_description": NOT_FOUND.en}, status_code=404
        )
    context: WebContext = request.app.state.ctx
    return context.render.error(request, NOT_FOUND, status=404)


UNAVAILABLE = Message(
    "The service is temporarily unavailable. Please try again in a moment.",
)
RETRY_AFTER = "5"
REQUEST_ID = Message("reference")


async def unavailable(request: Request, exc: Exception) -> Response:
    """503 with Retry-After while a dependency is down (fail closed, and say so clearly). The
    answer and the log line carry one request ID, for a user's report to find the log."""
    request_id = proxies.request_id(request)
    metrics.dependency_error(exc)
    log.warning(
        "dependency unavailable on %s %s (request %s): %s",
        request.method,
        request.url.path,
        request_id,
        exc,
    )
    headers = {"Retry-After": RETRY_AFTER, "Cache-Control": "no-store", "X-Request-ID": request_id}
    if request.url.path.startswith(API_PREFIXES):
        body = {
            "error": "temporarily_unavailable",
            "error_description": UNAVAILABLE.en,
            "request_id": request_id,
        }
        return JSONResponse(body, status_code=503, headers=headers)
    context: WebContext = request.app.state.ctx
    locale = context.render.locale(request)
    text = f"{UNAVAILABLE.text(locale)} ({REQUEST_ID.text(locale)} {request_id})"
    response = context.render.error(request, text, status=503)
    response.headers.update(headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 page (JSON for the APIs), with the request's ID to quote to the help desk, as in
    the log lines. Starlette answers it outside every middleware, so the security headers and
    the X-Request-ID that idp.web.edge gives every other response are added here."""
    request_id = proxies.request_id(request)
    log.error(
        "unhandled error on %s %s (request %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=exc,
    )
    context: WebContext | None = getattr(request.app.state, "ctx", None)
    if request.url.path.startswith(API_PREFIXES):
        body = {"error": "server_error", "error_description": SERVER_ERROR.en}
        response: Response = JSONResponse({**body, "request_id": request_id}, status_code=500)
    elif context is None:  # raised inside a mounted app (the back office), which answered
        text = f"{SERVER_ERROR} ({REQUEST_ID} {request_id})"
        response = PlainTextResponse(text, status_code=500)
    else:
        locale = context.render.locale(request)
        text = f"{SERVER_ERROR.text(locale)} ({REQUEST_ID.text(locale)} {request_id})"
        response = context.render.error(request, text, status=500)
    https = context.services.settings.is_https if context else request.url.scheme == "https"
    id_header = (b"x-request-id", request_id.encode("ascii"))
    response.raw_headers = secured([*response.raw_headers, NO_STORE, id_header], policy(https))
    return response
