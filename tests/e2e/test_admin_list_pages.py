"""The admin API's lists a page at a time: the audit log newest first across pages, and a
cursor that is not one of the list's keys refused as bad input on `after`."""

from __future__ import annotations

import base64
import json

from starlette.testclient import TestClient

from tests import support
from tests.e2e.test_admin_api import API, _auth, _token


def _cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps([key]).encode()).decode().rstrip("=")


def test_the_audit_log_pages_newest_first(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["auditor"])
    for _ in range(3):  # each call is audited: enough events for two pages
        app_client.get(API + "/me", headers=_auth(token))
    first = app_client.get(API + "/audit", params={"limit": "2"}, headers=_auth(token)).json()
    second = app_client.get(
        API + "/audit", params={"limit": "2", "after": first["next"]}, headers=_auth(token)
    ).json()
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert len(ids) == 4
    assert ids == sorted(ids, reverse=True)


def test_a_cursor_of_another_kind_is_bad_input(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["auditor"])
    for key in ("not-an-id", None, [1]):
        response = app_client.get(
            API + "/audit", params={"after": _cursor(key)}, headers=_auth(token)
        )
        assert response.status_code == 400, key
        assert response.json()["field"] == "after"
