"""Redis killed and restarted empty under a running IdP (issue #11, item 1): revoked tokens
stay revoked, live ones keep working, on a Redis of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from tests import support
from tests.backends import ProductionServers, require_production
from tests.e2e.test_introspection import _tokens
from tests.faults.throwaway import backend_on, throwaway_redis


def test_revocations_survive_a_redis_restart(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    production_servers = require_production(production_servers)
    with throwaway_redis(tmp_path) as own_redis:
        backend = backend_on(production_servers, own_redis, "fault:")
        settings = support.make_settings(backend, tmp_path)
        with TestClient(
            create_app(settings), base_url=support.ISSUER, follow_redirects=False
        ) as client:
            services = client.app.state.ctx.services  # type: ignore[attr-defined]
            user, rp = support.create_user(services), support.create_client(services)
            revoked = _tokens(client, rp, user)
            client.cookies.clear()
            live = _tokens(client, rp, user)
            assert (
                client.post(
                    "/revoke", auth=rp.basic, data={"token": revoked["access_token"]}
                ).status_code
                == 200
            )

            own_redis.kill()
            own_redis.start()  # empty

            answers = []
            for _ in range(3):  # the first request after the restart included
                answer = client.post(
                    "/introspect", auth=rp.basic, data={"token": live["access_token"]}
                )
                answers.append(answer.status_code)
            assert answers == [200, 200, 200]
            body = client.post(
                "/introspect", auth=rp.basic, data={"token": revoked["access_token"]}
            ).json()
            assert body["active"] is False
            assert (
                client.post(
                    "/introspect", auth=rp.basic, data={"token": live["access_token"]}
                ).json()["active"]
                is True
            )


pytestmark = pytest.mark.timeout(120)
