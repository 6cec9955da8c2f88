"""Fixtures: the two storage backends, an app per test, a live server, test users and clients."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from idp.settings import Settings, load_settings
from tests import server_discovery, support
from tests.backends import (
    Backend,
    ProductionServers,
    create_production,
    drop_production,
    embedded,
    production,
    servers_missing,
)

for name in [n for n in os.environ if n.startswith("IDP_")]:
    del os.environ[name]  # tests build their settings explicitly


@pytest.fixture(scope="session")
def production_servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ProductionServers | str]:
    servers = create_production(tmp_path_factory.mktemp("pg"))
    yield servers
    if isinstance(servers, ProductionServers):
        drop_production(servers)


@pytest.fixture(scope="session")
def embedded_backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    return embedded(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(params=["embedded", "production"])
def backend(request: pytest.FixtureRequest, embedded_backend: Backend) -> Backend:
    if request.param == "embedded":
        return embedded_backend
    servers = request.getfixturevalue("production_servers")
    if isinstance(servers, str):
        servers_missing(servers)
    return production(servers)


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return support.make_settings(backend, tmp_path)


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    from idp.app import create_app

    with TestClient(
        create_app(settings), base_url=support.ISSUER, follow_redirects=False
    ) as client:
        yield client


@pytest.fixture
def services(app_client: TestClient) -> support.Services:
    return app_client.app.state.ctx.services  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def user(services: support.Services) -> support.Person:
    return support.create_user(services)


@pytest.fixture
def rp(services: support.Services) -> support.RelyingParty:
    return support.create_client(services)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "server: starts a live uvicorn server")
    # PostgreSQL and Redis on their default loopback ports are used when no variable names them
    found = server_discovery.discover(os.environ)
    config.pluginmanager.register(
        server_discovery.BackendReport(found, os.environ), "softtoken-backends"
    )


__all__ = ["load_settings"]
