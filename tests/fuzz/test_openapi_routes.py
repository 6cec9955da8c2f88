"""The OpenAPI documents cannot drift from the routers: every route the admin and device
routers mount (each method, HEAD aside) is in its document, and every documented operation is
mounted; every path parameter is declared; every operation loads (its references resolve) and
documents the refusals every request can get."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Route

from idp.admin_api.routes import admin_routes
from push_auth.api import device_api
from push_auth.webapp.api import web_device_api
from tests.fuzz import harness

PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def _mounted(routes: list[Any]) -> set[tuple[str, str]]:
    return {
        (method, PARAMETER.sub(r"{\1}", route.path))
        for route in routes
        if isinstance(route, Route)
        for method in (route.methods or set()) - {"HEAD"}
    }


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


class _Push:
    """device_api() and web_device_api() only close over push_auth's service; the routes are
    all this test reads."""


DOCUMENTS = [
    pytest.param(harness.ADMIN_DOC, lambda: admin_routes(), id="admin"),
    pytest.param(
        harness.DEVICE_DOC,
        lambda: device_api(_Push()) + web_device_api(_Push()),  # type: ignore[arg-type]
        id="device",
    ),
]


@pytest.mark.parametrize(("path", "routes"), DOCUMENTS)
def test_every_mounted_route_is_documented_and_nothing_else(path: Any, routes: Any) -> None:
    document = harness.read(path)
    mounted, documented = _mounted(routes()), _documented(document)
    assert mounted - documented == set(), "mounted but not documented"
    assert documented - mounted == set(), "documented but not mounted"


@pytest.mark.parametrize(("path", "routes"), DOCUMENTS)
def test_every_path_parameter_is_declared(path: Any, routes: Any) -> None:
    document = harness.read(path)
    for template, item in document["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(PARAMETER.findall(template)), (method, template)


@pytest.mark.parametrize(("path", "routes"), DOCUMENTS)
def test_every_operation_loads_and_documents_the_common_refusals(path: Any, routes: Any) -> None:
    document = harness.read(path)
    for operation in harness.operations(document):
        statuses = set(operation.definition.raw["responses"])
        assert "400" in statuses, harness.label(operation)  # a control character in the URL
        if operation.path != "/openapi.json":
            assert "503" in statuses, harness.label(operation)  # a dependency down
