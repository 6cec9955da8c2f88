"""PostgreSQL drops every connection under a running IdP, as a restart or a failover does
(issue #11, item 4): the first request after is answered as usual, not with an error."""

from __future__ import annotations

from pathlib import Path

import psycopg
from starlette.testclient import TestClient

from idp.app import create_app
from tests import support
from tests.backends import ProductionServers, production, require_production


def test_the_first_request_after_postgresql_dropped_its_connections_works(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    production_servers = require_production(production_servers)
    settings = support.make_settings(production(production_servers), tmp_path)
    app = create_app(settings)
    with TestClient(app, base_url=support.ISSUER, raise_server_exceptions=False) as client:
        services = app.state.ctx.services
        rp = support.create_client(
            services, grant_types=("client_credentials",), redirect_uris=[], scope="gfmis"
        )
        web = support.create_client(services)
        token = {"grant_type": "client_credentials"}
        assert client.post("/token", auth=rp.basic, data=token).status_code == 200
        assert client.get("/readyz").status_code == 200  # both pools hold connections now
        with psycopg.connect(production_servers.admin_url, autocommit=True) as admin:
            dropped = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (production_servers.database,),
            ).fetchone()
        assert dropped is not None
        assert dropped[0] > 0
        assert client.get("/readyz").status_code == 200
        assert client.post("/token", auth=rp.basic, data=token).status_code == 200
        page = client.get("/authorize", params={"client_id": web.client_id, "response_type": "x"})
        assert page.status_code < 500
