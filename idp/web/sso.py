"""The server-side single sign-on session, kept in the expiring store behind a cookie."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from starlette.requests import Request
from starlette.responses import Response

from idp.domain.secrets import random_token, sha256_hex
from idp.settings import SessionSettings
from idp.storage.expiring import ExpiringStore
from idp.web.cookies import host_cookie_name, set_private_cookie


@dataclass(frozen=True)
class SsoSession:
    sid: str
    user_id: str
    auth_time: int
    acr: str
    amr: list[str]
    created: float


class SsoSessions:
    def __init__(self, store: ExpiringStore, settings: SessionSettings, secure: bool) -> None:
        self._store = store
        self._settings = settings
        self._secure = secure
        self.cookie = host_cookie_name("idp_session", secure)

    def start(
        self,
        response: Response,
        user_id: str,
        acr: str,
        amr: list[str],
        previous: str | None = None,
    ) -> SsoSession:
        """A new session (and cookie value) on every authentication."""
        if previous:
            self._store.delete("sso:" + sha256_hex(previous))
        now = time.time()
        token = random_token(32)
        session = SsoSession(random_token(16), user_id, int(now), acr, amr, now)
        self._store.put("sso:" + sha256_hex(token), asdict(session), self._settings.idle_ttl)
        self._store.put(
            "sso-sid:" + session.sid, {"token_hash": sha256_hex(token)}, self._settings.absolute_ttl
        )
        set_private_cookie(
            response, self.cookie, token, self._secure, max_age=self._settings.absolute_ttl
        )
        return session

    def current(self, request: Request) -> SsoSession | None:
        token = request.cookies.get(self.cookie)
        if not token:
            return None
        key = "sso:" + sha256_hex(token)
        data = self._store.get(key)
        if data is None:
            return None
        session = SsoSession(**data)
        ended = self._store.get("sso-ended:" + session.user_id)
        too_old = time.time() - session.created > self._settings.absolute_ttl
        if too_old or (ended is not None and session.created <= float(ended["at"])):
            self._store.delete(key)
            return None
        self._store.put(key, data, self._settings.idle_ttl)  # sliding idle timeout
        return session

    def end_all(self, user_id: str) -> None:
        """Sign the user out everywhere: every session started until now stops working."""
        self._store.put("sso-ended:" + user_id, {"at": time.time()}, self._settings.absolute_ttl)

    def end(self, request: Request, response: Response) -> SsoSession | None:
        session = None
        if token := request.cookies.get(self.cookie):
            data = self._store.consume("sso:" + sha256_hex(token))
            session = SsoSession(**data) if data else None
            if session:
                self._store.delete("sso-sid:" + session.sid)
        response.delete_cookie(
            self.cookie, path="/", secure=self._secure, httponly=True, samesite="lax"
        )
        return session
