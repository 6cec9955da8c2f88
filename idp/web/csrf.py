"""CSRF protection for every form: a token bound by HMAC to a per-browser cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from idp.domain.errors import Message
from idp.web.cookies import host_cookie_name, set_private_cookie

# What a page answers to a form it cannot take: no valid CSRF token, or a body it cannot read.
BAD_FORM = Message("the form could not be read")


class Csrf:
    def __init__(self, key: bytes, secure: bool) -> None:
        self._key = key
        self._secure = secure
        self.cookie = host_cookie_name("csrf", secure)

    def _sign(self, browser_id: str) -> str:
        return hmac.new(self._key, browser_id.encode(), hashlib.sha256).hexdigest()

    def token_for(self, request: Request) -> tuple[str, str | None]:
        """The form token, and a new browser id to set when the request had none."""
        browser_id = request.cookies.get(self.cookie)
        if browser_id:
            return self._sign(browser_id), None
        browser_id = secrets.token_urlsafe(32)
        return self._sign(browser_id), browser_id

    def set_cookie(self, response: Response, browser_id: str | None) -> None:
        if browser_id:
            set_private_cookie(response, self.cookie, browser_id, self._secure)

    def valid(self, request: Request, submitted: str | None) -> bool:
        browser_id = request.cookies.get(self.cookie)
        if not browser_id or not submitted:
            return False
        return hmac.compare_digest(self._sign(browser_id), submitted)

    async def checked_form(self, request: Request, max_fields: int = 10) -> dict[str, str] | None:
        """The posted form's text fields, or None when its CSRF token is missing or wrong."""
        form = {k: str(v) for k, v in (await request.form(max_fields=max_fields)).items()}
        return form if self.valid(request, form.get("csrf_token")) else None
