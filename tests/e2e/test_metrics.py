"""Prometheus /metrics (issue #15 item 5): not public, the exposition format parsed, the sign-in
funnel moving as a sign-in with password and push proceeds, no personal data in any label, the
outbox's gauges, and two processes added up in one scrape."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete
from starlette.testclient import TestClient

from idp import metrics
from idp.app import create_app
from idp.storage.models import OutboxMessage
from tests import push_support, support
from tests.backends import Backend, ProductionServers, production, servers_missing
from tests.live import free_port, serve

TOKEN = "metrics-" + "x" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of the exposition (the parser refuses a malformed one)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client: httpx.Client | TestClient) -> tuple[Samples, str]:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text), response.text


def test_no_token_no_metrics(app_client: TestClient) -> None:
    assert app_client.get("/metrics").status_code == 404
    assert app_client.get("/metrics", headers=AUTH).status_code == 404


def test_a_token_is_required(backend: Backend, tmp_path: Path) -> None:
    settings = support.make_settings(backend, tmp_path, metrics={"token": TOKEN})
    with TestClient(create_app(settings), base_url=support.ISSUER) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "idp_" not in refused.text
        samples, _ = scrape(client)
        assert value(samples, "idp_push_long_polls_active") == 0


def test_outbox_gauges(backend: Backend, tmp_path: Path) -> None:
    settings = support.make_settings(backend, tmp_path, metrics={"token": TOKEN})
    with TestClient(create_app(settings), base_url=support.ISSUER) as client:
        services = client.app.state.ctx.services  # type: ignore[attr-defined]
        before = value(scrape(client)[0], "idp_outbox_messages")
        now = datetime.now(UTC)
        with services.db.session() as session:  # waiting, not yet due: the sender leaves it
            row = OutboxMessage(
                kind="test",
                to_address="metrics@example.go.th",
                subject="s",
                body_text="t",
                body_html="h",
                status="pending",
                attempts=0,
                created_at=now - timedelta(minutes=10),
                next_attempt_at=now + timedelta(hours=1),
            )
            session.add(row)
            session.flush()
            row_id = row.id
        try:
            samples, _ = scrape(client)
            assert value(samples, "idp_outbox_messages") == before + 1
            assert value(samples, "idp_outbox_oldest_age_seconds") >= 600
        finally:
            with services.db.session() as session:
                session.execute(delete(OutboxMessage).where(OutboxMessage.id == row_id))


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> Iterator[tuple[str, support.Services]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = support.make_settings(
        backend, tmp_path, issuer=base, metrics={"token": TOKEN}, security={"lockout_attempts": 2}
    )
    app = create_app(settings)
    with serve(app, port):
        yield base, app.state.ctx.services


def test_the_funnel_moves_and_no_label_names_a_person(
    world: tuple[str, support.Services], tmp_path: Path
) -> None:
    base, services = world
    user, rp = support.create_user(services), support.create_client(services)
    support.approve_registration(services, user.user_id)
    victim = support.create_user(services)
    with httpx.Client(base_url=base, follow_redirects=False) as browser:
        phone = push_support.activate(browser, user, tmp_path / "phone")
        browser.cookies.clear()
        before, _ = scrape(browser)

        # a wrong password, then the lockout (two attempts in these settings)
        response = browser.get("/authorize", params=support.authorize_params(rp, support.pkce()[1]))
        login_url = response.headers["location"]
        for _ in range(3):
            page = browser.get(login_url)
            browser.post(
                login_url,
                data={
                    "username": victim.user_id,
                    "password": "wrong password 1",
                    "csrf_token": support.csrf_of(page.text),
                },
            )
        # the password, then the push, approved
        _verifier, challenge = support.pkce()
        login_url, page = push_support.push_page(browser, rp, user, challenge)
        assert phone.approve(push_support.PIN, push_support.shown_pictures(page.text))[
            "status"
        ] == ("approved")
        result = push_support.finish_push(browser, login_url, page, rp.redirect_uri)
        after, text = scrape(browser)

    def moved(step: str, outcome: str) -> float:
        return value(after, "idp_signin_total", step=step, outcome=outcome) - value(
            before, "idp_signin_total", step=step, outcome=outcome
        )

    assert moved("password", "wrong") == 2
    assert moved("password", "locked") == 1
    assert moved("password", "ok") == 1
    assert moved("push", "sent") == 1
    assert moved("push", "approved") == 1
    assert moved("push", "denied") == 0
    login = ("idp_http_request_duration_seconds_count", "/login/{txn}")
    posts = value(after, login[0], route=login[1], method="POST", status="303") - value(
        before, login[0], route=login[1], method="POST", status="303"
    )
    assert posts >= 2  # the password accepted, the push done
    assert (
        value(
            after,
            "idp_http_request_duration_seconds_count",
            **{"route": "/push/v1/challenges/{cid}", "method": "POST", "status": "200"},
        )
        >= 1
    )
    # Labels are templates and outcomes: no user ID, transaction, code or challenge anywhere.
    secrets_seen = [user.user_id, victim.user_id, login_url.rsplit("/", 1)[-1], result["code"]]
    for secret in secrets_seen:
        assert secret not in text
    routes = {dict(labels).get("route") for (_name, labels) in after}
    assert all(r is None or r in {"unmatched", "refused"} or r.startswith("/") for r in routes)


def test_two_processes_add_up(production_servers: ProductionServers | str, tmp_path: Path) -> None:
    """Two uvicorn processes over one PROMETHEUS_MULTIPROC_DIR (as `idp serve --workers 2` sets
    it up): a scrape of either shows both processes' requests."""
    if isinstance(production_servers, str):
        servers_missing(production_servers)
        return
    backend = production(production_servers)
    settings = support.make_settings(backend, tmp_path)
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    (multiproc / "counter_999999.db").write_bytes(b"stale")  # an earlier run's, removed
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    saved = dict(os.environ)
    try:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
        assert metrics.prepare_multiprocess(2) == str(multiproc)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert not list(multiproc.iterdir())
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "IDP_DATABASE__URL": backend.database_url,
        "IDP_STORE__URL": backend.store_url,
        "IDP_STORE__KEY_PREFIX": settings.store.key_prefix,
        "IDP_SECURITY__MASTER_KEY": support.MASTER_KEY,
        "IDP_SERVER__VAR_DIR": str(tmp_path),
        "IDP_METRICS__TOKEN": TOKEN,
        "IDP_JOBS__ENABLED": "false",
    }
    port_a, port_b = free_port(), free_port()
    with _uvicorn(port_a, env), _uvicorn(port_b, env):
        for port, times in ((port_a, 3), (port_b, 5)):
            for _ in range(times):
                assert httpx.get(f"http://127.0.0.1:{port}/jwks").status_code == 200
        samples, _ = scrape(httpx.Client(base_url=f"http://127.0.0.1:{port_a}"))
    jwks = value(
        samples,
        "idp_http_request_duration_seconds_count",
        route="/jwks",
        method="GET",
        status="200",
    )
    assert jwks == 8
    assert len({p.name.rsplit("_", 1)[-1] for p in multiproc.glob("histogram_*.db")}) == 2


class _uvicorn:
    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port, self.env = port, {**env, "IDP_SERVER__ISSUER": f"http://127.0.0.1:{port}"}

    def __enter__(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "idp.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=self.env,
            cwd=Path(__file__).resolve().parents[2],
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
