"""The admin API: every role boundary, the step-up rule for changes, bad input, audit, CSV,
keyset pages."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from idp.domain import national_id, officers
from idp.domain.acr import ACR_PASSWORD, ACR_PUSH
from idp.oidc.models import OAuthClient, SignedInUser
from idp.storage.models import AuditEvent, Client, Registration, User
from tests import support

API = "/admin/api/v1"


def _token(
    client: TestClient,
    services: support.Services,
    roles: list[str],
    acr: str = ACR_PUSH,
    age: int = 0,
) -> tuple[str, str]:
    """An access token from our own token generator, for a user with these roles."""
    officer = support.create_user(services)
    admin_client = support.create_client(services, scope="openid admin").client_id
    with services.db.session() as session:
        user = session.get(User, officer.user_id)
        assert user is not None
        user.roles = roles
        record = session.get(Client, admin_client)
        assert record is not None
    context = client.app.state.ctx  # type: ignore[attr-defined]
    signed_in = SignedInUser(
        officer.user_id,
        int(time.time()) - age,
        acr,
        ("pwd", "swk", "mfa") if acr == ACR_PUSH else ("pwd",),
    )
    token = context.server.tokens.generate(
        "authorization_code", OAuthClient(record), signed_in, "openid admin"
    )
    return token["access_token"], officer.user_id


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


def test_no_token_is_401(app_client: TestClient) -> None:
    response = app_client.get(API + "/users")
    assert response.status_code == 401
    assert "Bearer" in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("roles", "method", "path", "status"),
    [
        (["officer"], "GET", "/registrations", 200),
        (["officer"], "GET", "/users", 200),
        (["officer"], "GET", "/clients", 403),
        (["officer"], "POST", "/clients", 403),
        (["officer"], "PUT", "/officers/T00000000000000/roles", 403),
        (["auditor"], "GET", "/audit", 200),
        (["auditor"], "GET", "/users", 403),
        (["auditor"], "POST", "/users/T00000000000000/disable", 403),
        ([], "GET", "/audit", 403),
        (["admin"], "GET", "/clients", 200),
    ],
)
def test_role_boundaries(
    app_client: TestClient,
    services: support.Services,
    roles: list[str],
    method: str,
    path: str,
    status: int,
) -> None:
    token, _officer = _token(app_client, services, roles)
    response = app_client.request(method, API + path, headers=_auth(token), json={"role": "x"})
    assert response.status_code == status, response.text


def test_a_stale_or_password_only_sign_in_gets_the_step_up_error(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    for acr, age in ((ACR_PASSWORD, 0), (ACR_PUSH, 16 * 60)):
        token, _officer = _token(app_client, services, ["officer"], acr=acr, age=age)
        response = app_client.post(f"{API}/users/{user.user_id}/disable", headers=_auth(token))
        assert response.status_code == 401
        assert response.json()["error"] == "insufficient_user_authentication"
        assert ACR_PUSH in response.headers["www-authenticate"]
        assert "max_age=900" in response.headers["www-authenticate"]


def test_officer_disables_a_user_and_it_is_audited(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    token, officer = _token(app_client, services, ["officer"])
    response = app_client.post(f"{API}/users/{user.user_id}/disable", headers=_auth(token))
    assert response.status_code == 200
    assert response.json()["disabled"] is True
    with services.db.read() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == officer)))
    assert {"admin_api.post", "user.disable"} <= actions


def test_bad_input_gets_field_errors_and_changes_nothing(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["admin"])
    response = app_client.post(
        API + "/clients",
        headers=_auth(token),
        json={
            "client_id": "bad-rp",
            "name": "Bad",
            "redirect_uris": ["http://rp.example.go.th/cb"],
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "redirect_uri"
    assert body["error_description_th"]
    with services.db.read() as session:
        assert session.get(Client, "bad-rp") is None
    unknown = app_client.post(API + "/users/T99999999999999/disable", headers=_auth(token))
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "user_id"


def test_audit_csv_and_keyset_pages(app_client: TestClient, services: support.Services) -> None:
    token, _officer = _token(app_client, services, ["admin"])
    csv = app_client.get(API + "/audit.csv", headers=_auth(token))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("\ufeffid,at,actor,action")
    for _ in range(3):
        support.create_user(services)
    first = app_client.get(API + "/users", params={"limit": "2"}, headers=_auth(token)).json()
    second = app_client.get(
        API + "/users", params={"limit": "2", "after": first["next"]}, headers=_auth(token)
    ).json()
    ids = [u["user_id"] for u in first["items"]] + [u["user_id"] for u in second["items"]]
    assert len(ids) == 4
    assert ids == sorted(ids)
    assert len(set(ids)) == 4


def test_openapi_document_is_served(app_client: TestClient) -> None:
    spec = app_client.get(API + "/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/audit.csv" in spec["paths"]


def test_search_by_user_id_national_id_email_and_name(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["officer"])
    person = support.create_user(services, name_th="นายค้นหา ทดสอบ", name_en="Mr Search Test")
    # not a citizen of the simulated upstream: other tests register those
    nid = national_id.with_check_digit(
        "3" + "".join(secrets.choice("0123456789") for _ in range(11))
    )
    with services.db.session() as session:
        session.add(
            Registration(
                id=secrets.token_urlsafe(12),
                user_id=person.user_id,
                attempt=1,
                status="activated",
                national_id=nid,
                created_at=datetime.now(UTC),
                updated_at=datetime.now(UTC),
            )
        )
    for text in (
        person.user_id,
        nid,
        national_id.display(nid),
        f"{person.user_id.lower()}@example.go.th",
        "นายค้นหา",
        "Mr Search",
    ):
        found = app_client.get(API + "/users", params={"q": text}, headers=_auth(token)).json()
        assert person.user_id in [u["user_id"] for u in found["items"]], text


def test_openapi_describes_every_route(app_client: TestClient) -> None:
    from idp.admin_api.routes import admin_routes

    spec = app_client.get(API + "/openapi.json").json()["paths"]
    for route in admin_routes():
        if route.path == "/openapi.json":
            continue
        path = route.path.replace(":str", "")
        assert path in spec, path
        for method in route.methods or ():
            if method != "HEAD":
                assert method.lower() in spec[path], (method, path)


def test_the_back_office_keeps_an_admin_and_nobody_demotes_themselves(
    app_client: TestClient, services: support.Services
) -> None:
    """Issue #11, item 12: an admin could revoke their own role, or the last admin's."""
    token, admin_id = _token(app_client, services, ["admin"])
    headers = {"Authorization": f"Bearer {token}"}
    with services.db.session() as session:  # only this one admin in the whole database
        for other in session.scalars(select(User).where(User.user_id != admin_id)):
            other.roles = [r for r in other.roles if r != "admin"]
    own = app_client.request(
        "DELETE", f"{API}/officers/{admin_id}/roles", json={"role": "admin"}, headers=headers
    )
    assert own.status_code == 409
    assert own.json()["error"] == "not_allowed"
    colleague = support.create_user(services)
    granted = app_client.put(
        f"{API}/officers/{colleague.user_id}/roles", json={"role": "admin"}, headers=headers
    )
    assert granted.status_code == 200
    assert (
        app_client.request(
            "DELETE",
            f"{API}/officers/{colleague.user_id}/roles",
            json={"role": "admin"},
            headers=headers,
        ).status_code
        == 200
    )  # another admin remains (the caller)
    with services.db.session() as session:
        record = session.get(User, admin_id)
        assert record is not None
        with pytest.raises(officers.RoleRefused):  # the last admin, even from the CLI
            officers.change_role(session, record, "admin", False, "cli")


def test_an_admin_cannot_disable_their_own_account(
    app_client: TestClient, services: support.Services
) -> None:
    token, admin_id = _token(app_client, services, ["admin"])
    refused = app_client.post(
        f"{API}/users/{admin_id}/disable", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 409
    with services.db.read() as session:
        record = session.get(User, admin_id)
        assert record is not None
        assert record.disabled is False


def test_a_clients_protocol_options_are_registered_shown_and_changed(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["admin"])
    created = app_client.post(
        API + "/clients",
        headers=_auth(token),
        json={
            "client_id": "ciba-rp",
            "name": "Disbursements",
            "redirect_uris": ["https://rp.example.go.th/cb"],
            "grant_types": ["authorization_code", "urn:openid:params:grant-type:ciba"],
            "backchannel_token_delivery_mode": "ping",
            "backchannel_client_notification_endpoint": "https://rp.example.go.th/ping",
            "authorization_details_types": ["gfmis_payment"],
            "require_pushed_authorization_requests": True,
        },
    )
    assert created.status_code == 201, created.text
    listed = app_client.get(API + "/clients", headers=_auth(token)).json()["items"]
    shown = next(c for c in listed if c["client_id"] == "ciba-rp")
    assert shown["backchannel_token_delivery_mode"] == "ping"
    assert shown["authorization_details_types"] == ["gfmis_payment"]
    assert shown["require_pushed_authorization_requests"] is True
    assert shown["dpop_bound_access_tokens"] is False
    changed = app_client.patch(
        API + "/clients/ciba-rp", headers=_auth(token), json={"dpop_bound_access_tokens": True}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["dpop_bound_access_tokens"] is True
    assert changed.json()["require_pushed_authorization_requests"] is True  # kept
    refused = app_client.patch(
        API + "/clients/ciba-rp",
        headers=_auth(token),
        json={"backchannel_client_notification_endpoint": None, "profile": "fapi2"},
    )
    assert refused.status_code == 400  # fapi2 needs private_key_jwt
    assert refused.json()["error_description_th"]
