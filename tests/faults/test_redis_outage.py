"""Redis down under a running IdP (issue #11, item 4): a clear 503 with Retry-After (JSON for the
APIs, a Thai/English page for people), readiness red; everything back once Redis returns."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from tests import support
from tests.backends import ProductionServers, require_production
from tests.e2e.test_introspection import _tokens
from tests.faults.throwaway import backend_on, throwaway_redis

pytestmark = pytest.mark.timeout(120)


def test_a_redis_outage_is_a_clear_503_and_passes(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    production_servers = require_production(production_servers)
    with throwaway_redis(tmp_path) as own_redis:
        backend = backend_on(production_servers, own_redis, "outage:")
        settings = support.make_settings(backend, tmp_path, store={"url": own_redis.url})
        app = create_app(settings)
        with TestClient(app, base_url=support.ISSUER, follow_redirects=False) as client:
            services = app.state.ctx.services
            user, rp = support.create_user(services), support.create_client(services)
            tokens = _tokens(client, rp, user)
            client.cookies.clear()

            own_redis.kill()
            down = TestClient(app, base_url=support.ISSUER, raise_server_exceptions=False)
            api = down.post("/introspect", auth=rp.basic, data={"token": tokens["access_token"]})
            assert api.status_code == 503
            assert api.headers["retry-after"]
            assert api.json()["error"] == "temporarily_unavailable"
            assert api.json()["request_id"] == api.headers["x-request-id"]  # in the log too
            page = down.get("/authorize", params=support.authorize_params(rp, support.pkce()[1]))
            assert page.status_code == 503
            assert "ไม่พร้อมให้บริการชั่วคราว" in page.text
            assert page.headers["x-request-id"] in page.text
            assert page.headers["retry-after"]
            assert page.headers["x-frame-options"] == "DENY"
            assert down.get("/readyz").status_code == 503

            own_redis.start()
            again = client.post(
                "/introspect", auth=rp.basic, data={"token": tokens["access_token"]}
            )
            assert again.status_code == 200
            assert again.json()["active"] is True
            assert client.get("/readyz").status_code == 200


def test_refresh_reuse_during_a_redis_outage_revokes_the_family(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    production_servers = require_production(production_servers)
    with throwaway_redis(tmp_path) as own_redis:
        backend = backend_on(production_servers, own_redis, "reuse:")
        app = create_app(support.make_settings(backend, tmp_path))
        with TestClient(app, base_url=support.ISSUER, follow_redirects=False) as client:
            services = app.state.ctx.services
            user, rp = support.create_user(services), support.create_client(services)
            tokens = _tokens(client, rp, user)
            refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}

            own_redis.kill()
            down = TestClient(app, base_url=support.ISSUER, raise_server_exceptions=False)
            first = down.post("/token", auth=rp.basic, data=refresh)
            assert first.status_code == 200, first.text  # rotation needs only the database
            rotated = first.json()["refresh_token"]
            reuse = down.post("/token", auth=rp.basic, data=refresh)
            assert reuse.status_code == 400  # reuse detected: the family goes, no 500
            assert reuse.json()["error"] == "invalid_grant"

            own_redis.start()
            dead = client.post(
                "/token",
                auth=rp.basic,
                data={"grant_type": "refresh_token", "refresh_token": rotated},
            )
            assert dead.status_code == 400  # the family stayed revoked
            for token in (tokens["access_token"], first.json()["access_token"]):
                body = client.post("/introspect", auth=rp.basic, data={"token": token}).json()
                assert body["active"] is False
