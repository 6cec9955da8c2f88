"""Server-rendered pages: Jinja2 templates with the request's locale and CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from idp.domain.errors import Message
from idp.web.csrf import Csrf
from idp.web.i18n import COOKIE, Catalogs, request_locale
from softtoken_i18n.templates import FILTERS

TEMPLATES = Path(__file__).resolve().parent / "templates"


class Renderer:
    def __init__(self, catalogs: Catalogs, csrf: Csrf, default_locale: str, secure: bool) -> None:
        self.catalogs = catalogs
        self.csrf = csrf
        self.default_locale = default_locale
        self._secure = secure
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(), auto_reload=False
        )
        self.env.filters.update(FILTERS)  # dates, numbers and money in the page's language

    def locale(self, request: Request) -> str:
        return request_locale(request, self.default_locale)

    def page(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        locale = self.locale(request)
        token, new_browser_id = self.csrf.token_for(request)
        query = {k: v for k, v in request.query_params.items() if k != "lang"}
        html = self.env.get_template(template).render(
            _=self.catalogs.gettext(locale),
            locale=locale,
            csrf_token=token,
            path=request.url.path,
            query=query,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        self.csrf.set_cookie(response, new_browser_id)
        if request.query_params.get("lang") == locale:
            response.set_cookie(
                COOKIE, locale, max_age=31_536_000, samesite="lax", secure=self._secure, path="/"
            )
        return response

    def error(self, request: Request, message: Message | str, status: int = 400) -> HTMLResponse:
        locale = self.locale(request)
        text = message.text(locale) if isinstance(message, Message) else message
        return self.page(request, "error.html", status=status, message=text)
