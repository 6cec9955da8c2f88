"""PostgreSQL primary + streaming standby on loopback (issue #15): the IdP's URL names both hosts
with `target_session_attrs=read-write`; the primary is stopped and the standby promoted while
tokens are asked for. Meanwhile only 200 or a clear 503, never a 500; afterwards the same pool
writes to the new primary without a restart, and tokens issued before keep their state (live
stays live, revoked stays revoked)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from idp.app import create_app
from tests import support
from tests.backends import ProductionServers, production, require_production
from tests.faults.test_postgres_crash import _Load
from tests.faults.throwaway import ThrowawayPostgres, throwaway_postgres
from tests.live import free_port, serve

pytestmark = pytest.mark.timeout(120)


def multi_host_url(*servers: ThrowawayPostgres) -> str:
    """The libpq multi-host form, as SQLAlchemy writes it: one `host=` per server, in order."""
    hosts = "&".join(f"host=127.0.0.1:{server.port}" for server in servers)
    return f"postgresql+psycopg://postgres@/postgres?{hosts}&target_session_attrs=read-write"


def _dsn(server: ThrowawayPostgres) -> str:
    return f"postgresql://postgres@127.0.0.1:{server.port}/postgres"


def _caught_up(primary: ThrowawayPostgres, standby: ThrowawayPostgres) -> None:
    with psycopg.connect(_dsn(primary), autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    deadline = time.monotonic() + 15
    with psycopg.connect(_dsn(standby), autocommit=True) as conn:
        while time.monotonic() < deadline:
            done = conn.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0],)
            ).fetchone()
            if done and done[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the standby did not catch up")


def _introspect(http: httpx.Client, rp: support.RelyingParty, token: str) -> bool:
    answer = http.post("/introspect", auth=rp.basic, data={"token": token})
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["active"])


def test_the_standby_is_promoted_and_the_pool_follows(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    servers = require_production(production_servers)
    with throwaway_postgres() as primary:
        standby = ThrowawayPostgres(primary)
        try:
            standby.start()
            backend = dataclasses.replace(
                production(servers),
                database_url=multi_host_url(primary, standby),
                run_prefix=servers.run_prefix + "pg-standby:",
            )
            app = create_app(support.make_settings(backend, tmp_path))
            with serve(app, free_port()) as base, httpx.Client(base_url=base) as http:
                rp = support.create_client(
                    app.state.ctx.services,
                    grant_types=("client_credentials",),
                    redirect_uris=[],
                    scope="gfmis",
                )
                tokens = [
                    http.post(
                        "/token", auth=rp.basic, data={"grant_type": "client_credentials"}
                    ).json()["access_token"]
                    for _ in range(2)
                ]
                live, revoked = tokens
                assert http.post("/revoke", auth=rp.basic, data={"token": revoked}).is_success
                fresh = support.create_client(
                    app.state.ctx.services,
                    grant_types=("client_credentials",),
                    redirect_uris=[],
                    scope="gfmis",
                )
                _caught_up(primary, standby)
                with _Load(base, rp, threads=2) as load:
                    time.sleep(0.5)
                    stopped = time.monotonic()
                    primary.stop()  # neither host takes writes now
                    time.sleep(1.0)
                    between = http.get("/readyz")
                    unknown = http.post(  # a client no process has seen: it needs the database
                        "/token", auth=fresh.basic, data={"grant_type": "client_credentials"}
                    )
                    standby.promote()
                    deadline = time.monotonic() + 15
                    while http.get("/readyz").status_code != 200:
                        assert time.monotonic() < deadline, "never ready on the new primary"
                        time.sleep(0.1)
                    recovered = time.monotonic() - stopped
                    time.sleep(1.0)
                print(f"during the switch: {dict(load.statuses)}, ready again in {recovered:.1f} s")
                assert between.status_code == 503
                assert unknown.status_code == 503
                assert unknown.json()["error"] == "temporarily_unavailable"
                assert unknown.headers["retry-after"]
                assert set(load.statuses) <= {200, 503}, load.statuses  # never a 500
                assert load.unclear == []
                assert load.statuses[200] > 0
                assert recovered < 10
                assert _introspect(http, rp, live)
                assert not _introspect(http, rp, revoked)
                # Written to the promoted standby by the same pool: a new client, a new token.
                after = support.create_client(
                    app.state.ctx.services,
                    grant_types=("client_credentials",),
                    redirect_uris=[],
                    scope="gfmis",
                )
                issued = http.post(
                    "/token", auth=after.basic, data={"grant_type": "client_credentials"}
                )
                assert issued.status_code == 200, issued.text
                assert _introspect(http, after, issued.json()["access_token"])
            with psycopg.connect(_dsn(standby)) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                assert row == (False,)
        finally:
            standby.remove()
