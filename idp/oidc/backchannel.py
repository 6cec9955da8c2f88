"""OpenID Connect Back-Channel Logout 1.0: logout tokens POSTed to relying parties, and signing
a user out everywhere with the relying parties told in the background."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
from starlette.concurrency import run_in_threadpool

from idp.domain import audit
from idp.domain.audit import Origin
from idp.domain.keys import KeyRing
from idp.domain.secrets import random_token
from idp.login.sign_out import LogoutNotice, SignOut
from idp.storage.db import Database

EVENT = "http://schemas.openid.net/event/backchannel-logout"
log = logging.getLogger(__name__)


def logout_token(keys: KeyRing, issuer: str, notice: LogoutNotice) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": notice.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": random_token(16),
        "sub": notice.sub,
        "events": {EVENT: {}},
    }
    if notice.sid:
        claims["sid"] = notice.sid
    return keys.sign(claims, notice.alg, typ="logout+jwt")


async def deliver(keys: KeyRing, db: Database, issuer: str, notices: list[LogoutNotice]) -> None:
    """Send every notice once (5 s timeout each) and audit the outcome. The token is signed and
    the outcome written in a worker thread (the key snapshot and the audit read the database)."""
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        for notice in notices:
            token = await run_in_threadpool(logout_token, keys, issuer, notice)
            try:
                response = await client.post(notice.uri, data={"logout_token": token})
                outcome = "success" if response.status_code == 200 else "failure"
                status = response.status_code
            except httpx.HTTPError as exc:
                outcome, status = "failure", 0
                log.warning("back-channel logout to %s failed: %s", notice.client_id, exc)
            await run_in_threadpool(_record, db, notice, outcome, status)


def _record(db: Database, notice: LogoutNotice, outcome: str, status: int) -> None:
    with db.session() as session:
        audit.record(
            session,
            "logout.backchannel",
            actor="idp",
            subject=notice.sub,
            outcome=outcome,
            client_id=notice.client_id,
            status=status,
        )


class BackChannel:
    """Sign-outs whose relying parties are told by back-channel logout, in the background."""

    def __init__(self, sign_out: SignOut, keys: KeyRing, db: Database, issuer: str) -> None:
        self.sign_out = sign_out
        self._keys = keys
        self._db = db
        self._issuer = issuer
        self._deliveries: set[asyncio.Task[None]] = set()  # referenced until each one ends

    async def deliver(self, notices: list[LogoutNotice]) -> None:
        await deliver(self._keys, self._db, self._issuer, notices)

    def tell(self, notices: list[LogoutNotice]) -> None:
        """Deliver the notices in a task of their own (the answer to the user does not wait)."""
        if notices:
            task = asyncio.create_task(self.deliver(notices))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def sign_out_everywhere(self, user_id: str, reason: str, origin: Origin) -> int:
        """Sign the user out everywhere and tell every relying party; how many were told."""
        notices = await run_in_threadpool(self.sign_out.everywhere, user_id, reason, origin)
        self.tell(notices)
        return len(notices)
