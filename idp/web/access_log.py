"""Structured access log: one JSON line per request, without query strings or bodies (they
can carry codes, tokens and personal data)."""

from __future__ import annotations

import logging
import time

import orjson
from starlette.types import Scope

log = logging.getLogger("idp.access")


def enabled() -> bool:
    return log.isEnabledFor(logging.INFO)


def log_request(scope: Scope, status: int, started: float, request_id: str) -> None:
    client = scope.get("client") or ("-", 0)
    log.info(
        orjson.dumps(
            {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "ip": client[0],
                "request_id": request_id,
            }
        ).decode()
    )
