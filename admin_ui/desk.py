"""One request at the back office: the officer's session, the page renderer, the API with the
officer's token, and the wrapper that turns API refusals into pages people understand."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from admin_ui import cards
from admin_ui.api import AdminApi, ApiError, Origin, SignInNeeded, StepUpNeeded
from admin_ui.oidc import RelyingParty
from admin_ui.session import CookieSessions
from admin_ui.settings import AdminUISettings
from admin_ui.texts import translator

log = logging.getLogger(__name__)
MAX_BODY = 11 * 1024 * 1024  # a 10 MB PDF and the form around it


def page_headers(issuer: str) -> dict[str, str]:
    """Strict: no script at all, forms only to us or to the IdP (sign-in, sign-out); styles and
    fonts also from the IdP (its look.css)."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(issuer))
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": (
            f"default-src 'self'; img-src 'self' data:; style-src 'self' {origin}; "
            f"font-src 'self' {origin}; script-src 'none'; "
            f"frame-src 'self'; frame-ancestors 'none'; form-action 'self' {origin}; "
            "base-uri 'none'; object-src 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


@dataclass
class BackOffice:
    """Everything shared by the app's requests."""

    settings: AdminUISettings
    sessions: CookieSessions
    rp: RelyingParty
    api: AdminApi
    templates: Environment
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Desk:
    office: BackOffice
    request: Request
    session: dict[str, Any]
    dirty: bool = field(default=False)

    @classmethod
    def of(cls, request: Request) -> Desk:
        """The desk of this request: the back office and the officer's session cookie."""
        office = office_of(request)
        return cls(office, request, office.sessions.read(request))

    def csrf_ok(self, form: Any) -> bool:
        """The posted form carries this session's CSRF token."""
        sent = str(form.get("csrf_token", ""))
        return secrets.compare_digest(sent, str(self.session.get("csrf", "")))

    # -- who and which language ------------------------------------------------------------
    @property
    def token(self) -> str:
        return str(self.session.get("token", ""))

    @property
    def roles(self) -> set[str]:
        return set(self.session.get("roles", []))

    @property
    def locale(self) -> str:
        return str(self.session.get("locale") or self.office.settings.default_locale)

    def t(self, key: str) -> str:
        return translator(self.locale)(key)

    def message(self, error: ApiError) -> str:
        return error.th if self.locale == "th" else error.en

    @property
    def here(self) -> str:
        query = self.request.url.query
        return self.request.url.path + ("?" + query if query else "")

    async def fresh_token(self) -> bool:
        """True with a usable access token, renewed by the refresh token when it ran out."""
        if not self.token:
            return False
        if self.session.get("expires_at", 0) > time.time():
            return True
        renewed = await self.office.rp.refresh(str(self.session.get("refresh", "")))
        self.dirty = True
        if renewed is None:
            self.session.pop("token", None)
            return False
        self.session.update(
            token=renewed.access_token,
            expires_at=renewed.expires_at,
            refresh=renewed.refresh_token,
        )
        return True

    # -- the API, with this officer's token -------------------------------------------------
    @property
    def origin(self) -> Origin:
        client = self.request.client
        return Origin(client.host if client else None, self.request.headers.get("user-agent"))

    async def get(self, path: str, **params: str) -> Any:
        return await self.office.api.get(self.token, path, self.origin, **params)

    async def call(self, method: str, path: str, **options: Any) -> httpx.Response:
        return await self.office.api.call(self.token, method, path, origin=self.origin, **options)

    async def send(self, method: str, path: str, body: Any = None) -> Any:
        return await self.office.api.send(self.token, method, path, body, self.origin)

    # -- answers ----------------------------------------------------------------------------
    def url(self, path: str, **query: str) -> str:
        query = {k: v for k, v in query.items() if v}
        return (
            self.office.settings.cookie_path.rstrip("/")
            + path
            + ("?" + urlencode(query) if query else "")
        )

    def render(self, template: str, code: int = 200, **context: Any) -> Response:
        flash = self.session.pop("flash", None)
        if flash:
            self.dirty = True
        body = self.office.templates.get_template(template).render(
            t=self.t,
            url=self.url,
            locale=self.locale,
            roles=self.roles,
            officer=self.session.get("name", ""),
            csrf=self.session.get("csrf", ""),
            flash=flash,
            path=self.request.url.path,
            here=self.here,
            **context,
        )
        body = cards.label_cells(body)
        return self.finish(HTMLResponse(body, status_code=code, headers=self.office.headers))

    def form_page(self, template: str, error: ApiError | None, **context: Any) -> Response:
        """A form again, with the API's refusal (in the officer's language) and its field."""
        return self.render(
            template,
            400 if error else 200,
            error=self.message(error) if error else "",
            error_field=(error.field or "") if error else "",
            **context,
        )

    def redirect(self, path: str, flash: str | None = None, **query: str) -> Response:
        if flash:
            self.session["flash"] = flash
            self.dirty = True
        return self.finish(RedirectResponse(self.url(path, **query), status_code=303))

    def finish(self, response: Response) -> Response:
        if self.dirty:
            self.office.sessions.write(response, self.session)
        return response


Screen = Callable[[Desk], Awaitable[Response]]


def office_of(request: Request) -> BackOffice:
    office: BackOffice = request.app.state.office
    return office


def screen(handler: Screen) -> Callable[[Request], Awaitable[Response]]:
    """Signed in or sent to sign in; forms carry the session's CSRF token; the API's refusals
    become a page in the officer's language, a change after 15 minutes asks for the phone."""

    async def run(request: Request) -> Response:
        desk = Desk.of(request)
        posted = request.method == "POST"
        declared = request.headers.get("content-length", "")
        if posted and (not declared.isdigit() or int(declared) > MAX_BODY):
            return desk.render("error.html", 413, message=desk.t("error.too_large"))
        if not await desk.fresh_token():
            return desk.redirect("/login", next="" if posted else desk.here)
        here = desk.here
        if posted:
            form = await request.form()
            here = _local(str(form.get("return_to", "")), desk)  # the form's page
            if not desk.csrf_ok(form):
                return desk.render("error.html", 400, message=desk.t("error.csrf"))
        try:
            return await handler(desk)
        except StepUpNeeded as needed:
            return desk.redirect("/login", "flash.step_up", next=here, max_age=str(needed.max_age))
        except SignInNeeded:
            return desk.redirect("/login", next=here)
        except ApiError as error:
            status = error.status if error.status in (400, 403, 404) else 502
            return desk.render("error.html", status, message=desk.message(error) or error.error)
        except httpx.HTTPError:
            log.exception("the admin API could not be reached")
            return desk.render("error.html", 502, message=desk.t("error.unreachable"))

    return run


def _local(target: str, desk: Desk) -> str:
    """Only a path inside the back office may be a `next` (no open redirect)."""
    return local_path(target, desk.office.settings.cookie_path)


def local_path(target: str, mount: str) -> str:
    prefix = mount.rstrip("/") + "/"
    safe = target.startswith(prefix) and "//" not in target and "\\" not in target
    return target if safe else ""
