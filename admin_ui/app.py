"""The back office as a Starlette app: mounted at /admin inside idp by default, or run alone
on another host (`uvicorn --factory admin_ui.app:standalone`) with ADMIN_UI_… settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from admin_ui import signin
from admin_ui.api import AdminApi
from admin_ui.desk import BackOffice, Desk, page_headers
from admin_ui.oidc import RelyingParty
from admin_ui.screens import (
    audit,
    clients,
    dashboard,
    keys,
    officers,
    passkeys,
    registrations,
    users,
)
from admin_ui.screens import service_requests as requests
from admin_ui.session import CookieSessions, decode_key
from admin_ui.settings import AdminUISettings
from softtoken_i18n.templates import FILTERS

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
POST = ["POST"]


def routes() -> list[Route | Mount]:
    return [
        Route("/", dashboard.dashboard),
        Route("/login", signin.login),
        Route("/callback", signin.callback),
        Route("/logout", signin.logout, methods=POST),
        Route("/signed-out", signin.signed_out),
        Route("/language/{locale}", signin.language),
        Route("/registrations", registrations.queue),
        Route("/registrations/{id}", registrations.one),
        Route("/registrations/{id}/assignment-order.pdf", registrations.assignment_order),
        Route("/registrations/{id}/{decision:str}", registrations.decide, methods=POST),
        Route("/service-requests", requests.listing),
        Route("/service-requests/new", requests.blank),
        Route("/service-requests/new", requests.record, methods=POST),
        Route("/service-requests/{id}", requests.one),
        Route("/service-requests/{id}/form.pdf", requests.signed_form),
        Route("/service-requests/{id}/process", requests.process, methods=POST),
        Route("/users", users.search),
        Route("/users/import", users.import_form),
        Route("/users/import", users.import_csv, methods=POST),
        Route("/users/{user_id}", users.one),
        Route("/users/{user_id}/device/revoke", users.revoke_device, methods=POST),
        Route("/users/{user_id}/passkeys/{credential_id}/rename", passkeys.rename, methods=POST),
        Route("/users/{user_id}/passkeys/{credential_id}/remove", passkeys.remove, methods=POST),
        Route("/users/{user_id}/{action:str}", users.act, methods=POST),
        Route("/clients", clients.listing),
        Route("/clients/new", clients.blank),
        Route("/clients/new", clients.create, methods=POST),
        Route("/clients/{id}", clients.edit_form),
        Route("/clients/{id}", clients.edit, methods=POST),
        Route("/clients/{id}/rotate-secret", clients.rotate, methods=POST),
        Route("/clients/{id}/delete", clients.delete, methods=POST),
        Route("/audit", audit.log),
        Route("/audit.csv", audit.export),
        Route("/keys", keys.listing),
        Route("/keys/rotate", keys.rotate, methods=POST),
        Route("/officers", officers.listing),
        Route("/officers/{change:str}", officers.change, methods=POST),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def create_app(settings: AdminUISettings, local_idp: ASGIApp | None = None) -> Starlette:
    """`local_idp`: idp's own ASGI app when the back office is mounted inside it, so that the
    back office's calls to idp never leave the process."""
    transport = httpx.ASGITransport(app=local_idp) if local_idp is not None else None
    http = httpx.AsyncClient(transport=transport, timeout=15.0, follow_redirects=False)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await http.aclose()

    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates.filters.update(FILTERS)  # dates, numbers and money in the officer's language
    templates.globals["look_css"] = settings.issuer + "/static/look.css"  # the project's one look
    app = Starlette(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_found, 500: _server_error},
    )
    app.state.office = BackOffice(
        settings=settings,
        sessions=CookieSessions(
            decode_key(settings.session_key),
            int(settings.session_hours * 3600),
            settings.cookie_path,
            settings.secure_cookies,
        ),
        rp=RelyingParty(settings, http),
        api=AdminApi(settings.api, http, local_idp),
        templates=templates,
        headers=page_headers(settings.issuer),
    )
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    desk = Desk.of(request)
    return desk.render("error.html", 404, message=desk.t("error.not_found"))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("back office error on %s %s", request.method, request.url.path, exc_info=exc)
    try:
        desk = Desk.of(request)
        return desk.render("error.html", 500, message=desk.t("error.server"))
    except Exception:  # the error page itself failed: say it plainly, never a stack trace
        log.exception("back office error page failed")
        return PlainTextResponse("ระบบขัดข้อง / Something went wrong", status_code=500)


def standalone() -> Starlette:
    """Deployed alone: settings from the environment."""
    return create_app(AdminUISettings())
