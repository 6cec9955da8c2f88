"""One request ID per request (idp.web.edge): in the X-Request-ID header, the access-log line
and the 500 page or JSON, so a user's quoted reference finds the log; never one a client
chose, a trusted proxy's well-formed one kept."""

from __future__ import annotations

import json
import logging
import re

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from idp.web.edge import Edge
from tests import support


async def _boom(request: Request) -> Response:
    raise RuntimeError("a bug")


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "idp.access"]


def test_every_answer_names_its_request(
    app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="idp.access")
    first = app_client.get("/healthz", headers={"X-Request-ID": "chosen-by-the-client"})
    second = app_client.get("/healthz")
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(re.fullmatch(r"[0-9a-f]{16}", value) for value in ids)
    assert ids[0] != ids[1]  # one per request, and not the client's
    assert [line["request_id"] for line in _access_lines(caplog)][-2:] == ids


def test_a_500_carries_the_id_of_its_log_lines(
    app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    routes = app_client.app.router.routes  # type: ignore[attr-defined]
    routes.insert(0, Route("/boom", _boom))
    routes.insert(0, Route("/introspect/boom", _boom, methods=["POST"]))
    client = TestClient(app_client.app, base_url=support.ISSUER, raise_server_exceptions=False)

    page = client.get("/boom")
    assert page.status_code == 500
    request_id = page.headers["x-request-id"]
    assert request_id in page.text
    assert "ระบบขัดข้อง" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert _access_lines(caplog)[-1]["request_id"] == request_id
    assert _access_lines(caplog)[-1]["status"] == 500
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert request_id in errors[-1].getMessage()

    api = client.post("/introspect/boom")
    assert api.status_code == 500
    assert api.json()["error"] == "server_error"
    assert api.json()["request_id"] == api.headers["x-request-id"] != request_id
    assert _access_lines(caplog)[-1]["request_id"] == api.headers["x-request-id"]


async def _echo(request: Request) -> Response:
    return PlainTextResponse(request.scope["state"]["request_id"])


@pytest.mark.parametrize(
    ("trusted", "sent", "kept"),
    [
        (["192.0.2.7"], "0123456789abcdef0123456789abcdef", True),  # nginx's $request_id
        (["192.0.2.0/24"], "0123456789abcdef0123456789abcdef", True),  # a proxies' network
        (["192.0.2.7"], "bad id\twith spaces", False),
        (["192.0.2.7"], "x" * 65, False),
        ([], "0123456789abcdef0123456789abcdef", False),  # not from a trusted proxy
        (["192.0.2.8"], "0123456789abcdef0123456789abcdef", False),
    ],
)
def test_only_a_trusted_proxy_may_give_the_id(trusted: list[str], sent: str, kept: bool) -> None:
    app = Edge(Starlette(routes=[Route("/", _echo)]), trusted_proxies=trusted, https=False)
    client = TestClient(app, client=("192.0.2.7", 50000))  # the proxy's address
    answer = client.get("/", headers={"X-Request-ID": sent})
    assert answer.text == answer.headers["x-request-id"]
    assert (answer.text == sent) is kept
    assert re.fullmatch(r"[0-9A-Za-z-]{8,64}", answer.text)
