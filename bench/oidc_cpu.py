"""CPU time per request of the token and introspection endpoints, measured inside the process.

The application is driven through ASGI directly (no sockets, no HTTP client) by 32 concurrent
tasks on one event loop, as 32 connections would drive it, on PostgreSQL + Redis. Printed per
endpoint: the process's CPU time per request (every thread) and the event loop thread's alone,
the best and the median of several rounds. CPU time per request moves far less than throughput
when other work shares the machine, so it compares two versions of the code measured one after
the other (run this script from each checkout with PYTHONPATH set to it):

    SOFTTOKEN_TEST_POSTGRES_URL=… SOFTTOKEN_TEST_REDIS_URL=… \\
        .venv/bin/python bench/oidc_cpu.py [--requests 4000] [--rounds 5]

The access token's signature is made in the signer process, whose CPU is not counted here (the
same work before and after any change to the paths measured).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import support  # noqa: E402  (the same helpers as the tests)
from tests.backends import Backend, ProductionServers, drop_production  # noqa: E402

CONCURRENCY = 32
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def post(app: App, path: str, form: dict[str, str], auth: tuple[str, str]) -> Any:
    """One POST through the ASGI application; the JSON body of a 200 answer."""
    body = urlencode(form).encode()
    basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode())
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", b"Basic " + basic),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    assert status == 200, (path, status, sent)
    return orjson.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    )


async def measure(
    app: App, path: str, form: dict[str, str], auth: tuple[str, str], n: int
) -> tuple[float, float]:
    """CPU µs per request: the whole process, the event loop's thread."""
    remaining = n

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await post(app, path, form, auth)

    process, thread = time.process_time(), time.thread_time()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return (time.process_time() - process) / n * 1e6, (time.thread_time() - thread) / n * 1e6


async def run(settings: Any, requests: int, rounds: int) -> dict[str, list[tuple[float, float]]]:
    from idp.app import create_app

    app = create_app(settings)
    services = app.state.ctx.services
    rp = support.create_client(services, grant_types=("client_credentials",))
    auth = (rp.client_id, str(rp.secret))
    cc = {"grant_type": "client_credentials", "scope": "gfmis"}
    results: dict[str, list[tuple[float, float]]] = {
        "token (client_credentials)": [],
        "introspection": [],
    }
    async with app.router.lifespan_context(app):
        token = (await post(app, "/token", cc, auth))["access_token"]
        cases = {
            "token (client_credentials)": ("/token", cc),
            "introspection": ("/introspect", {"token": token}),
        }
        for path, form in cases.values():
            await measure(
                app, path, form, auth, requests // 2
            )  # warm: caches, pools, the JIT-less rest
        for _ in range(rounds):
            for name, (path, form) in cases.items():
                results[name].append(await measure(app, path, form, auth, requests))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    pg_admin = os.environ.get("SOFTTOKEN_TEST_POSTGRES_URL")
    redis_url = os.environ.get("SOFTTOKEN_TEST_REDIS_URL")
    if not (pg_admin and redis_url):
        print("set SOFTTOKEN_TEST_POSTGRES_URL and SOFTTOKEN_TEST_REDIS_URL", file=sys.stderr)
        return 2
    database = "idp_bench_" + secrets.token_hex(4)
    prefix = f"idp-bench-{secrets.token_hex(4)}:"
    folder = Path(tempfile.mkdtemp(prefix="idp-bench-"))
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    backend = Backend("production", f"{url}/{database}", redis_url, redis_url, prefix)
    settings = support.make_settings(backend, folder, security={"ip_attempts": 100_000})
    try:
        results = asyncio.run(run(settings, args.requests, args.rounds))
    finally:
        drop_production(ProductionServers(pg_admin, redis_url, database, prefix))
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{'endpoint':<28} {'cpu us best':>12} {'median':>8} {'loop us best':>13} {'median':>8}")
    for name, samples in results.items():
        cpu, loop = [s[0] for s in samples], [s[1] for s in samples]
        print(
            f"{name:<28} {min(cpu):>12.1f} {statistics.median(cpu):>8.1f} "
            f"{min(loop):>13.1f} {statistics.median(loop):>8.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
