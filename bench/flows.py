"""The flows users actually go through, driven on the hosted pages as a browser does (httpx):

- sso: the SSO cookie already there: authorize → code → token;
- password: a fresh sign-in: authorize → sign-in form, password (argon2id) → code → token;
- push: a fresh sign-in approved on the reference authenticator (push_auth.authenticator):
  authorize → password → push page; the phone's long-poll gets the challenge and approves it;
  "I have approved" → code → token.

Starts `idp serve --workers 1` itself (optionally pinned to one core with taskset), on SQLite +
memory or PostgreSQL + Redis, runs `--concurrency` browsers at once for `--flows` flows of each
kind, and prints flows/s, the server's CPU per flow (from /proc, before and after: all its
processes, and its event loop's thread alone) and the p50/p99 of a flow's wall time. On a
shared machine flows/s moves with the load; the CPU per flow much less: compare that, A/B.

    .venv/bin/python bench/flows.py [--backend embedded|production] [--flows 200]
        [--concurrency 8] [--kinds sso password push] [--server-cpu 0]

PostgreSQL and Redis come from SOFTTOKEN_TEST_POSTGRES_URL / SOFTTOKEN_TEST_REDIS_URL (the
same variables as the tests); a fresh database and key prefix are made and removed.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.oidc_endpoints import Cpu, start  # noqa: E402
from bench.push_latency import percentile  # noqa: E402
from push_auth.authenticator.client import Authenticator  # noqa: E402
from tests import push_support, support  # noqa: E402
from tests.backends import (  # noqa: E402
    Backend,
    create_production,
    drop_production,
    embedded,
    production,
)
from tests.live import free_port  # noqa: E402

PORT = free_port()  # not a fixed port: bench/soak.py may be running on its own


@dataclass
class Browser:
    """One simulated user: a browser, the user, and their phone for push sign-ins."""

    client: httpx.Client
    user: support.Person
    phone: Authenticator | None = None


def sso_flow(browser: Browser, rp: support.RelyingParty) -> None:
    """With the SSO cookie: authorize → code → token (support.sign_in skips the form)."""
    verifier, challenge = support.pkce()
    code = support.sign_in(browser.client, rp, browser.user, challenge)["code"]
    _token(browser, rp, code, verifier)


def password_flow(browser: Browser, rp: support.RelyingParty) -> None:
    browser.client.cookies.clear()  # a fresh sign-in
    sso_flow(browser, rp)


def push_flow(browser: Browser, rp: support.RelyingParty) -> None:
    assert browser.phone is not None
    browser.client.cookies.clear()
    verifier, challenge = support.pkce()
    login_url, page = push_support.push_page(browser.client, rp, browser.user, challenge)
    browser.phone.pending(wait=10)
    browser.phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
    query = push_support.finish_push(browser.client, login_url, page, rp.redirect_uri)
    _token(browser, rp, query["code"], verifier)


def _token(browser: Browser, rp: support.RelyingParty, code: str, verifier: str) -> None:
    response = support.exchange(browser.client, rp, code, verifier)
    assert response.status_code == 200, response.text


FLOWS: dict[str, Callable[[Browser, support.RelyingParty], None]] = {
    "sso": sso_flow,
    "password": password_flow,
    "push": push_flow,
}


@dataclass(frozen=True)
class Result:
    kind: str
    flows: int
    seconds: float
    cpu_ms: float  # the server's processes, per flow
    loop_ms: float  # its event loop's thread, per flow
    latencies_ms: list[float]
    errors: list[str]


def people(kinds: list[str], count: int) -> tuple[support.RelyingParty, dict[str, list[Any]]]:
    """The client and `count` users per kind, made in the database before the server starts (a
    SQLite server need not see rows another process adds while it runs); push users approved."""
    from idp.services import build_services
    from idp.settings import load_settings

    services = build_services(load_settings())  # migrates a fresh database
    rp = support.create_client(services, grant_types=("authorization_code", "refresh_token"))
    users = {kind: [support.create_user(services) for _ in range(count)] for kind in kinds}
    for user in users.get("push", []):
        support.approve_registration(services, user.user_id)
    services.close()
    return rp, users


def browsers(base: str, kind: str, users: list[support.Person], folder: Path) -> list[Browser]:
    """A browser per user: signed in (sso) or with an activated phone (push)."""
    ready = [
        Browser(httpx.Client(base_url=base, follow_redirects=False, timeout=30), u) for u in users
    ]
    for number, browser in enumerate(ready):
        if kind == "push":
            home = folder / f"phone-{number}"
            browser.phone = push_support.activate(browser.client, browser.user, home)
    return ready


def run(
    kind: str,
    base: str,
    rp: support.RelyingParty,
    users: list[support.Person],
    flows: int,
    server_pid: int,
    folder: Path,
) -> Result:
    ready = browsers(base, kind, users, folder)
    concurrency = len(ready)
    if kind == "sso":
        for browser in ready:
            sso_flow(browser, rp)  # the SSO session the timed flows reuse
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    share = [flows // concurrency + (n < flows % concurrency) for n in range(concurrency)]

    def drive(browser: Browser, count: int) -> None:
        for _ in range(count):
            began = time.perf_counter()
            try:
                FLOWS[kind](browser, rp)
            except Exception as error:  # counted and reported; the others go on
                with lock:
                    errors.append(f"{type(error).__name__}: {error}"[:200])
                continue
            with lock:
                latencies.append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=drive, args=pair) for pair in zip(ready, share, strict=True)]
    cpu_before, started = Cpu.of(server_pid), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, cpu_after = time.perf_counter() - started, Cpu.of(server_pid)
    for browser in ready:
        browser.client.close()
    done = max(1, len(latencies))
    return Result(
        kind,
        len(latencies),
        seconds,
        (cpu_after.total - cpu_before.total) * 1000 / done,
        (cpu_after.loops - cpu_before.loops) * 1000 / done,
        latencies,
        errors,
    )


def environment(backend: Backend, folder: Path) -> str:
    """The server's settings, in os.environ (the users and the client are made with them)."""
    base = f"http://127.0.0.1:{PORT}"
    os.environ |= {
        "IDP_SERVER__ISSUER": base,
        "IDP_SERVER__PORT": str(PORT),
        "IDP_SERVER__VAR_DIR": str(folder),
        "IDP_DATABASE__URL": backend.database_url,
        "IDP_STORE__URL": backend.store_url,
        "IDP_STORE__KEY_PREFIX": backend.store_prefix(),
        "IDP_SECURITY__MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "IDP_SECURITY__IP_ATTEMPTS": "1000000",
        "IDP_JOBS__ENABLED": "false",
    }
    return base


def serve(server_cpu: int | None) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "idp"), "serve", "--workers", "1"]
    if server_cpu is not None:
        command = ["taskset", "-c", str(server_cpu), *command]
    return start(command, dict(os.environ), PORT, wait=300)  # slow to import on a busy machine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["embedded", "production"], default="embedded")
    parser.add_argument("--flows", type=int, default=200, help="flows of each kind")
    parser.add_argument("--concurrency", type=int, default=8, help="browsers at once")
    parser.add_argument("--kinds", nargs="+", choices=list(FLOWS), default=list(FLOWS))
    parser.add_argument("--server-cpu", type=int, default=None, help="pin the server (taskset)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="idp-flows-"))
    servers = create_production(folder) if args.backend == "production" else None
    if isinstance(servers, str):
        print(f"PostgreSQL + Redis: {servers}", file=sys.stderr)
        return 2
    backend = production(servers) if servers else embedded(folder)
    server = None
    try:
        base = environment(backend, folder)
        rp, users = people(args.kinds, args.concurrency)
        server = serve(args.server_cpu)
        results = [
            run(kind, base, rp, users[kind], args.flows, server.pid, folder) for kind in args.kinds
        ]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if servers:
            drop_production(servers)
        shutil.rmtree(folder, ignore_errors=True)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(
        f"\n{backend.name}, 1 worker, {args.concurrency} concurrent browsers; load average {load}"
    )
    print(
        f"{'flow':<10} {'flows':>6} {'flows/s':>8} {'cpu ms':>8} {'loop ms':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    for result in results:
        ms = result.latencies_ms or [0.0]
        print(
            f"{result.kind:<10} {result.flows:>6} {result.flows / result.seconds:>8.1f} "
            f"{result.cpu_ms:>8.2f} {result.loop_ms:>8.2f} {percentile(ms, 0.5):>8.1f} "
            f"{percentile(ms, 0.99):>8.1f} {len(result.errors):>7}"
        )
        for error in sorted(set(result.errors))[:3]:
            print(f"    {error}")
    return 0 if not any(result.errors for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
