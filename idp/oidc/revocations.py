"""Revocation that survives the loss of the expiring store (issue #11, item 1).

The database is the record: a revoked access token's `jti` (`revoked_access_tokens`) and a
revoked grant (`grants.revoked_at`). The expiring store (Redis) holds a marker per revocation
for the hot path, plus one *loaded* marker that says "every revocation of the database is
here". A Redis that restarted empty, or evicted it, has no loaded marker: the markers are
loaded again from the database before any token is believed, and while that cannot be done the
token is refused, never accepted.

One look-up answers both questions: the loaded marker is named three times in one EXISTS
(which counts a key as often as it is named) beside the token's at most two markers, so the
count is at least 3 exactly when the store is loaded, and above 3 when the token is revoked.

The loaded marker is replicated like any key, so a replica promoted by Sentinel has it even
when the last revocations written to the old master never reached it. The store therefore
says which server it reaches (its `generation` changes with the server's replication ID, seen
on every new connection), and a process believes the markers only of the server it loaded:
after a failover or a restart the first check loads them again from the database (fail
closed: refused until that succeeds). The cost is one INFO per new connection, and one load
per process per failover; nothing per request.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.services import Services
from idp.storage.models import Grant, RevokedAccessToken

LOADED = "revocations-loaded"
LOADED_WEIGHT = 3  # more than the token's own markers
# Reloaded from the record at least this often: a store restored from a snapshot, a promoted
# replica or an eviction may keep the loaded marker and lose newer revocation markers.
LOADED_TTL = 300
HEAL_SECONDS = 1.0
log = logging.getLogger(__name__)


class Verdict(enum.Enum):
    LIVE = "live"
    REVOKED = "revoked"
    UNKNOWN = "unknown"  # the store lost what it knew: load it again, or refuse


def markers(claims: dict[str, Any]) -> list[str]:
    """The keys to count for one access token: the loaded marker (weighted) and its own."""
    own = ["revoked-at:" + str(claims.get("jti"))]
    if gid := claims.get("gid"):
        own.append("revoked-grant:" + str(gid))
    return [LOADED] * LOADED_WEIGHT + own


def verdict(count: int) -> Verdict:
    if count < LOADED_WEIGHT:
        return Verdict.UNKNOWN
    return Verdict.REVOKED if count > LOADED_WEIGHT else Verdict.LIVE


class Revocations:
    """Records revocations durably and keeps the expiring store's markers complete."""

    def __init__(self, services: Services) -> None:
        self._s = services
        self._window = services.settings.tokens.access_token_ttl + 60  # longest access token
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}  # markers the store refused: key -> expiry
        self._healer: threading.Thread | None = None
        self._generation = -1  # the store's generation when last loaded; -1: never

    def revoke_access_token(self, session: Session, claims: dict[str, Any]) -> None:
        """The record in the caller's transaction, and the store's marker (see _mark)."""
        expires = int(claims.get("exp", 0))
        if expires <= int(time.time()):
            return
        jti = str(claims["jti"])
        self._mark("revoked-at:" + jti, expires)
        if session.get(RevokedAccessToken, jti) is not None:
            return
        try:  # the same token revoked twice at once: the second finds the first's record
            with session.begin_nested():
                session.add(
                    RevokedAccessToken(
                        jti=jti,
                        expires_at=datetime.fromtimestamp(expires, UTC),
                        revoked_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            log.info("access token %s was revoked by a concurrent request", jti)

    def revoke_grant(self, grant_id: str) -> None:
        """The marker of a revoked grant (the grant's row is the caller's to update)."""
        self._mark("revoked-grant:" + grant_id, int(time.time()) + self._window)

    def _mark(self, key: str, expires: int) -> None:
        """Write a marker; when the store is down the revocation still goes ahead (the database
        is the record, and a store that comes back empty is loaded again), and the marker is
        written again every second until the store takes it (a store that comes back with its
        data)."""
        try:
            self._s.store.put(key, {}, expires - int(time.time()))
        except Exception as exc:
            log.warning("revocation marker not written, retrying in the background: %s", exc)
            with self._lock:
                self._pending[key] = expires
                if self._healer is None or not self._healer.is_alive():
                    self._healer = threading.Thread(
                        target=self._heal, name="revocation-markers", daemon=True
                    )
                    self._healer.start()

    def _rewrite(self, key: str, expires: int) -> bool:
        """True once the marker is written (or no longer needed)."""
        left = expires - int(time.time())
        try:
            if left > 0:
                self._s.store.put(key, {}, left)
        except Exception as exc:
            log.debug("revocation marker still not written: %s", exc)
            return False
        return True

    def _heal(self) -> None:
        while True:
            time.sleep(HEAL_SECONDS)
            with self._lock:
                pending = dict(self._pending)
            for key, expires in pending.items():
                if self._rewrite(key, expires):
                    with self._lock:
                        self._pending.pop(key, None)
            with self._lock:
                if not self._pending:
                    self._healer = None
                    return

    def current(self) -> bool:
        """True while the store's server is the one this process loaded (no failover since)."""
        return self._generation == self._s.store.generation()

    def load(self, force: bool = False) -> None:
        """Every revocation still in force, from the database into the store; then the loaded
        marker. Several processes may do it at once: the result is the same. Unless forced,
        nothing to do when the store is loaded and is the server this process loaded."""
        with self._lock:
            generation = self._s.store.generation()
            if not force and self.current() and self._s.store.count_existing([LOADED]):
                return
            now = datetime.now(UTC)
            with self._s.db.read() as session:
                tokens = session.execute(
                    select(RevokedAccessToken.jti, RevokedAccessToken.expires_at).where(
                        RevokedAccessToken.expires_at > now
                    )
                ).all()
                grants = session.execute(
                    select(Grant.grant_id, Grant.revoked_at).where(
                        Grant.revoked_at > now - timedelta(seconds=self._window)
                    )
                ).all()
            for jti, expires_at in tokens:
                self._put("revoked-at:" + jti, _aware(expires_at) - now)
            for grant_id, revoked_at in grants:
                assert revoked_at is not None  # selected for it
                left = _aware(revoked_at) + timedelta(seconds=self._window) - now
                self._put("revoked-grant:" + grant_id, left)
            self._s.store.put(LOADED, {"at": int(now.timestamp())}, LOADED_TTL)
            self._generation = generation
            log.info(
                "revocations loaded into the expiring store: %d tokens, %d grants",
                len(tokens),
                len(grants),
            )

    def _put(self, key: str, left: timedelta) -> None:
        seconds = int(left.total_seconds()) + 1
        if seconds > 0:
            self._s.store.put(key, {}, seconds)

    def forget_expired(self) -> int:
        """Remove records of tokens that have expired anyway (a scheduled job)."""
        with self._s.db.session() as session:
            result = session.execute(
                delete(RevokedAccessToken).where(RevokedAccessToken.expires_at <= datetime.now(UTC))
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
