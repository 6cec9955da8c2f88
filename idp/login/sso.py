"""The server-side single sign-on session, kept in the expiring store under the hash of a
random token (the browser's cookie, set by idp.web.session_cookie)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass

from idp.domain.secrets import random_token, sha256_hex
from idp.login.assurance import Proven
from idp.settings import SessionSettings
from idp.storage.expiring import ExpiringStore


@dataclass(frozen=True)
class SsoSession:
    sid: str
    user_id: str
    auth_time: int
    acr: str
    amr: list[str]
    created: float
    factors: tuple[str, ...] = ()  # sessions started before factors were recorded have none

    @property
    def proven(self) -> Proven:
        return Proven(self.acr, self.factors, self.auth_time)


SESSION_FIELDS = frozenset(f.name for f in dataclasses.fields(SsoSession))


def _session(data: dict[str, object]) -> SsoSession:
    """A stored session; fields a newer version added are ignored, `factors` may be absent."""
    known = {k: v for k, v in data.items() if k in SESSION_FIELDS}
    known["factors"] = tuple(known.get("factors") or ())  # type: ignore[arg-type]
    return SsoSession(**known)  # type: ignore[arg-type]


class SsoSessions:
    def __init__(self, store: ExpiringStore, settings: SessionSettings) -> None:
        self._store = store
        self._settings = settings

    @property
    def lifetime(self) -> int:
        return self._settings.absolute_ttl

    def start(
        self,
        user_id: str,
        acr: str,
        amr: list[str],
        factors: tuple[str, ...],
        previous: str | None = None,
    ) -> tuple[SsoSession, str]:
        """A new session and its token on every authentication (the previous one ends)."""
        if previous:
            self._store.delete("sso:" + sha256_hex(previous))
        now = time.time()
        token = random_token(32)
        session = SsoSession(random_token(16), user_id, int(now), acr, amr, now, factors)
        self._store.put("sso:" + sha256_hex(token), asdict(session), self._settings.idle_ttl)
        self._store.put(
            "sso-sid:" + session.sid, {"token_hash": sha256_hex(token)}, self._settings.absolute_ttl
        )
        return session, token

    def current(self, token: str | None) -> SsoSession | None:
        if not token:
            return None
        key = "sso:" + sha256_hex(token)
        data = self._store.get(key)
        if data is None:
            return None
        session = _session(dict(data))
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

    def end(self, token: str | None) -> SsoSession | None:
        if not token:
            return None
        data = self._store.consume("sso:" + sha256_hex(token))
        session = _session(dict(data)) if data else None
        if session:
            self._store.delete("sso-sid:" + session.sid)
        return session
