"""The SSO session's cookie: the browser holds the token, idp.login.sso the session."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idp.login.sso import SsoSession, SsoSessions
from idp.web.cookies import host_cookie_name, set_private_cookie


class SessionCookie:
    def __init__(self, sessions: SsoSessions, secure: bool) -> None:
        self._sessions = sessions
        self._secure = secure
        self.cookie = host_cookie_name("idp_session", secure)

    def start(
        self,
        request: Request,
        response: Response,
        user_id: str,
        acr: str,
        amr: list[str],
        factors: tuple[str, ...],
    ) -> SsoSession:
        """A new session on every authentication; the one this browser had ends."""
        session, token = self._sessions.start(
            user_id, acr, amr, factors, previous=request.cookies.get(self.cookie)
        )
        set_private_cookie(
            response, self.cookie, token, self._secure, max_age=self._sessions.lifetime
        )
        return session

    def current(self, request: Request) -> SsoSession | None:
        return self._sessions.current(request.cookies.get(self.cookie))

    def end(self, request: Request, response: Response) -> SsoSession | None:
        session = self._sessions.end(request.cookies.get(self.cookie))
        response.delete_cookie(
            self.cookie, path="/", secure=self._secure, httponly=True, samesite="lax"
        )
        return session
