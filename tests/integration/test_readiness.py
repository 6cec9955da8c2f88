"""PostgreSQL gone under a running IdP (issue #11, item 4): `/readyz` red within a second,
pages and APIs a clear 503 with Retry-After, green again once the database answers."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import psycopg
from starlette.testclient import TestClient

from idp.app import create_app
from tests import support
from tests.backends import ProductionServers, production, require_production


def test_readyz_goes_red_without_the_database_and_green_after(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    production_servers = require_production(production_servers)
    name = production_servers.database + "_ready"
    admin = production_servers.admin_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        backend = production(production_servers)
        base = backend.database_url.rsplit("/", 1)[0]
        own = dataclasses.replace(backend, database_url=f"{base}/{name}")
        settings = support.make_settings(own, tmp_path)
        with TestClient(create_app(settings), base_url=support.ISSUER) as client:
            assert client.get("/readyz").status_code == 200
            with psycopg.connect(admin, autocommit=True) as conn:  # the database is gone
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            started = time.monotonic()
            red = client.get("/readyz")
            assert red.status_code == 503
            assert red.headers["retry-after"]
            assert time.monotonic() - started < 2.5
            down = TestClient(client.app, base_url=support.ISSUER, raise_server_exceptions=False)
            page = down.get("/authorize", params={"client_id": "rp", "response_type": "code"})
            assert page.status_code == 503  # a clear "try again", not a 500
            assert "ไม่พร้อมให้บริการชั่วคราว" in page.text
            assert page.headers["retry-after"]
            api = down.post("/token", data={"grant_type": "client_credentials"}, auth=("rp", "s"))
            assert api.status_code == 503
            assert api.json()["error"] == "temporarily_unavailable"
            with psycopg.connect(admin, autocommit=True) as conn:  # and back
                conn.execute(f'CREATE DATABASE "{name}"')
            assert client.get("/readyz").status_code == 200
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
