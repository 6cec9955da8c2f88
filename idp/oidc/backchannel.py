"""OpenID Connect Back-Channel Logout 1.0: logout tokens POSTed to relying parties."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import httpx

from idp.domain import audit
from idp.domain.keys import KeyRing
from idp.domain.secrets import random_token
from idp.storage.db import Database

EVENT = "http://schemas.openid.net/event/backchannel-logout"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogoutNotice:
    client_id: str
    uri: str
    alg: str
    sub: str
    sid: str | None


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
    """Send every notice once (5 s timeout each) and audit the outcome."""
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        for notice in notices:
            token = logout_token(keys, issuer, notice)
            try:
                response = await client.post(notice.uri, data={"logout_token": token})
                outcome = "success" if response.status_code == 200 else "failure"
                status = response.status_code
            except httpx.HTTPError as exc:
                outcome, status = "failure", 0
                log.warning("back-channel logout to %s failed: %s", notice.client_id, exc)
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
