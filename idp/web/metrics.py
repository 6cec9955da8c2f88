"""GET /metrics: the Prometheus exposition, for a scraper that holds `metrics.token`.

Not public: without `Authorization: Bearer <metrics.token>` the answer is 401; with no token
configured the route is not mounted (404). The token is compared in constant time. With
several workers (PROMETHEUS_MULTIPROC_DIR, idp.metrics) any process answers for all of them.
The outbox's gauges are read at scrape time, by one indexed query in a worker thread.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from idp import metrics
from idp.mail.outbox import Outbox
from idp.web.context import ctx

log = logging.getLogger(__name__)
PATH = "/metrics"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"}


def route(token: str) -> list[Route]:
    """The route when a token is configured, else none (404)."""
    return [Route(PATH, scrape)] if token else []


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def authorized(header: str | None, token: str) -> bool:
    scheme, _, given = (header or "").partition(" ")
    # Digests of equal length: compare_digest then takes the same time whatever was sent.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        _digest(given.strip()), _digest(token)
    )


async def scrape(request: Request) -> Response:
    c = ctx(request)
    if not authorized(request.headers.get("authorization"), c.services.settings.metrics.token):
        return Response("unauthorized\n", status_code=401, headers=CHALLENGE)
    body = await run_in_threadpool(exposition, c.mail.outbox)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def exposition(outbox: Outbox) -> bytes:
    """Every process's values (multi-process mode) or this one's, then the outbox's gauges."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics.MULTIPROCESS and path:
        metrics.forget_dead_processes(path)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    extra.register(OutboxCollector(outbox))
    return body + generate_latest(extra)


class OutboxCollector(Collector):
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            count, oldest = self._outbox.backlog()
        except Exception as exc:  # the scrape still answers; the gap shows the outage
            log.warning("metrics: the outbox could not be read: %s", type(exc).__name__)
            return
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "idp_outbox_messages", "Emails waiting in the outbox (pending or being sent)", count
        )
        yield GaugeMetricFamily(
            "idp_outbox_oldest_age_seconds",
            "Age of the oldest email waiting in the outbox (0 when empty)",
            max(0.0, age),
        )


def count_long_polls(routes: list[Route], path: str = "/challenge") -> list[Route]:
    """The device API's long-poll counted while it waits (idp_push_long_polls_active)."""
    for found in routes:
        if found.path == path:
            found.app = _LongPolls(found.app)
    return routes


class _LongPolls:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        metrics.LONG_POLLS.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            metrics.LONG_POLLS.dec()
