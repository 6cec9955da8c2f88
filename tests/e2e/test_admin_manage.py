"""The admin API's management calls: edit, rotate and delete relying parties; a user's whole
record; forced password reset; CSV import with a preview; the assignment order download; the
dashboard's numbers."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from idp.domain.acr import ACR_PASSWORD, ACR_PUSH
from idp.domain.passwords import verify_password
from idp.storage.models import AuditEvent, Client, OutboxMessage, Registration, User
from tests import support
from tests.backends import Backend
from tests.e2e.test_admin_api import API, _auth, _token
from tests.integration.test_user_import import HEADER, _row

PDF = support.pdf_bytes()


def _registration(services: support.Services, user_id: str, upload: bytes | None) -> str:
    now = datetime.now(UTC)
    digest = hashlib.sha256(upload).hexdigest() if upload else None
    if upload:
        folder = services.settings.var_path / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{digest}.pdf").write_bytes(upload)
    registration_id = secrets.token_urlsafe(16)
    with services.db.session() as session:
        session.add(
            Registration(
                id=registration_id,
                user_id=user_id,
                attempt=1,
                status="waiting_approval",
                upload_sha256=digest,
                upload_size=len(upload) if upload else None,
                created_at=now,
                updated_at=now,
            )
        )
    return registration_id


def _secret_works(app_client: TestClient, client_id: str, secret: str) -> bool:
    response = app_client.post(
        "/token", auth=(client_id, secret), data={"grant_type": "client_credentials"}
    )
    return response.status_code == 200


def test_edit_rotate_and_delete_a_relying_party(
    app_client: TestClient, services: support.Services
) -> None:
    token, _admin = _token(app_client, services, ["admin"])
    rp = support.create_client(services, grant_types=("client_credentials",), redirect_uris=[])
    assert rp.secret
    assert _secret_works(app_client, rp.client_id, rp.secret)

    edited = app_client.patch(
        f"{API}/clients/{rp.client_id}",
        headers=_auth(token),
        json={"name": "กรมบัญชีกลาง portal", "redirect_uris": ["https://rp.example.go.th/cb"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["name"] == "กรมบัญชีกลาง portal"

    for bad, field in (
        ({"redirect_uris": ["http://rp.example.go.th/cb"]}, "redirect_uri"),
        ({"token_endpoint_auth_method": "none"}, "token_endpoint_auth_method"),
        ({"name": 7}, "name"),
    ):
        refused = app_client.patch(f"{API}/clients/{rp.client_id}", headers=_auth(token), json=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["field"] == field
        assert refused.json()["error_description_th"]
    for junk in ("not json", "[1, 2]"):
        broken = app_client.patch(
            f"{API}/clients/{rp.client_id}",
            headers={**_auth(token), "Content-Type": "application/json"},
            content=junk,
        )
        assert broken.status_code == 400
        assert broken.json()["field"] == "body"
    with services.db.read() as session:
        stored = session.get(Client, rp.client_id)
        assert stored is not None
        assert stored.redirect_uris == ["https://rp.example.go.th/cb"]
        assert stored.token_endpoint_auth_method != "none"

    rotated = app_client.post(f"{API}/clients/{rp.client_id}/rotate-secret", headers=_auth(token))
    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert not _secret_works(app_client, rp.client_id, rp.secret)
    assert _secret_works(app_client, rp.client_id, new_secret)

    deleted = app_client.delete(f"{API}/clients/{rp.client_id}", headers=_auth(token))
    assert deleted.status_code == 204
    assert not _secret_works(app_client, rp.client_id, new_secret)
    again = app_client.delete(f"{API}/clients/{rp.client_id}", headers=_auth(token))
    assert again.status_code == 404
    assert again.json()["error"] == "not_found"
    with services.db.read() as session:
        actions = set(
            session.scalars(select(AuditEvent.action).where(AuditEvent.subject == rp.client_id))
        )
    assert {"client.update", "client.rotate_secret", "client.delete"} <= actions


def test_officer_cannot_touch_relying_parties(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["officer"])
    rp = support.create_client(services)
    for method, path in (
        ("PATCH", f"/clients/{rp.client_id}"),
        ("POST", f"/clients/{rp.client_id}/rotate-secret"),
        ("DELETE", f"/clients/{rp.client_id}"),
    ):
        response = app_client.request(method, API + path, headers=_auth(token), json={})
        assert response.status_code == 403, path


def test_user_detail_has_registrations_applications_and_trail(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["officer"])
    person = support.create_user(services)
    registration_id = _registration(services, person.user_id, None)
    app_client.post(f"{API}/users/{person.user_id}/disable", headers=_auth(token))

    response = app_client.get(f"{API}/users/{person.user_id}", headers=_auth(token))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["user_id"] == person.user_id
    assert body["user"]["disabled"] is True
    assert "password_hash" not in body["user"]
    assert [r["id"] for r in body["registrations"]] == [registration_id]
    assert body["device"] is None
    assert body["applications"] == []
    assert "user.disable" in [e["action"] for e in body["audit"]]

    missing = app_client.get(f"{API}/users/T99999999999999", headers=_auth(token))
    assert missing.status_code == 404
    unknown = app_client.post(f"{API}/users/{person.user_id}/explode", headers=_auth(token))
    assert unknown.status_code == 404


def test_forced_password_reset_emails_a_password_the_officer_never_sees(
    app_client: TestClient, services: support.Services
) -> None:
    token, officer = _token(app_client, services, ["officer"])
    person = support.create_user(services)
    response = app_client.post(f"{API}/users/{person.user_id}/reset-password", headers=_auth(token))
    assert response.status_code == 200
    assert response.json() == {"user_id": person.user_id, "emailed": True}
    with services.db.read() as session:
        user = session.get(User, person.user_id)
        assert user is not None
        assert user.password_hash
        assert user.must_change_password
        assert not verify_password(user.password_hash, person.password)
        kinds = list(
            session.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.to_address == user.email)
            )
        )
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "password.reset", AuditEvent.subject == person.user_id
            )
        ).one()
    assert kinds == ["password_new"]
    assert event.actor == officer

    auditor, _ = _token(app_client, services, ["auditor"])
    refused = app_client.post(
        f"{API}/users/{person.user_id}/reset-password", headers=_auth(auditor)
    )
    assert refused.status_code == 403
    password_only, _ = _token(app_client, services, ["officer"], acr=ACR_PASSWORD)
    step_up = app_client.post(
        f"{API}/users/{person.user_id}/reset-password", headers=_auth(password_only)
    )
    assert step_up.status_code == 401
    assert "insufficient_user_authentication" in step_up.headers["www-authenticate"]


def test_import_previews_then_imports_all_or_nothing(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["officer"])
    ids = [support.new_user_id(), support.new_user_id()]
    good = "\n".join([HEADER, _row(ids[0]), _row(ids[1])])
    headers = {**_auth(token), "Content-Type": "text/csv"}

    preview = app_client.post(f"{API}/users/import?preview=1", headers=headers, content=good)
    assert preview.status_code == 200
    assert preview.json() == {"imported": [], "would_import": 2, "errors": []}
    with services.db.read() as session:
        assert session.scalars(select(User).where(User.user_id.in_(ids))).first() is None

    bad = "\n".join([HEADER, _row(ids[0]), _row(support.new_user_id(), mobile="1")])
    refused = app_client.post(f"{API}/users/import", headers=headers, content=bad)
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(3, "mobile")]
    assert errors[0]["th"]
    assert errors[0]["en"]
    with services.db.read() as session:
        assert session.get(User, ids[0]) is None

    done = app_client.post(f"{API}/users/import", headers=headers, content=good)
    assert done.status_code == 200
    assert done.json() == {"imported": ids, "errors": []}
    with services.db.read() as session:
        assert len(list(session.scalars(select(User).where(User.user_id.in_(ids))))) == 2


def test_assignment_order_downloads_as_an_inert_attachment(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["officer"])
    person = support.create_user(services)
    with_file = _registration(services, person.user_id, PDF)
    without = _registration(services, support.create_user(services).user_id, None)

    response = app_client.get(
        f"{API}/registrations/{with_file}/assignment-order", headers=_auth(token)
    )
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    missing = app_client.get(
        f"{API}/registrations/{without}/assignment-order", headers=_auth(token)
    )
    assert missing.status_code == 404
    unknown = app_client.post(f"{API}/registrations/{with_file}/shrug", headers=_auth(token))
    assert unknown.status_code == 404


def test_dashboard_counts_pending_work_and_days(
    app_client: TestClient, services: support.Services
) -> None:
    token, _officer = _token(app_client, services, ["auditor"])
    before = app_client.get(API + "/dashboard", headers=_auth(token)).json()
    _registration(services, support.create_user(services).user_id, None)
    after = app_client.get(API + "/dashboard", headers=_auth(token))
    assert after.status_code == 200
    body = after.json()
    assert body["pending_registrations"] == before["pending_registrations"] + 1
    assert sum(body["registrations_per_day"].values()) >= 1
    assert set(body) == {
        "pending_registrations",
        "pending_service_requests",
        "registrations_per_day",
        "sign_ins_per_day",
        "certificates_expiring_30_days",
    }


def test_me_officers_and_a_registration_beside_its_proofing(
    app_client: TestClient, services: support.Services
) -> None:
    token, admin = _token(app_client, services, ["admin"])
    me = app_client.get(API + "/me", headers=_auth(token)).json()
    assert me["user_id"] == admin
    assert me["roles"] == ["admin"]
    assert me["changes_allowed_until"] > datetime.now(UTC).timestamp()
    officers = app_client.get(API + "/officers?limit=200", headers=_auth(token)).json()
    listed = [o["user_id"] for o in officers["items"]]
    assert admin in listed
    assert all(o["roles"] for o in officers["items"])

    person = support.create_user(services, name_th="นางสาวทดสอบ ระบบ")
    registration_id = _registration(services, person.user_id, None)
    with services.db.session() as session:
        found = session.get(Registration, registration_id)
        assert found is not None
        found.national_id = "1101700203451"
        found.proofing = {
            "issuer": "https://upstream.example",
            "claims": {"national_id": "1101700203451", "name_th": "นางสาวทดสอบ ระบบงาน"},
        }
    detail = app_client.get(f"{API}/registrations/{registration_id}", headers=_auth(token))
    assert detail.status_code == 200
    compared = {row["field"]: row["same"] for row in detail.json()["comparison"]}
    assert compared == {"national_id": True, "name_th": False, "name_en": True}
    found_by_id = app_client.get(
        API + "/registrations", params={"q": "1-1017-00203-45-1"}, headers=_auth(token)
    ).json()
    assert [r["id"] for r in found_by_id["items"]] == [registration_id]


def test_create_client_takes_every_setting(
    app_client: TestClient, services: support.Services
) -> None:
    token, _admin = _token(app_client, services, ["admin"])
    client_id = "rp-" + secrets.token_hex(4)
    created = app_client.post(
        API + "/clients",
        headers=_auth(token),
        json={
            "client_id": client_id,
            "name": "Budget portal",
            "redirect_uris": ["https://budget.example.go.th/cb"],
            "post_logout_redirect_uris": ["https://budget.example.go.th/"],
            "backchannel_logout_uri": "https://budget.example.go.th/bcl",
            "allowed_claims": ["verified_claims"],
            "id_token_signed_response_alg": "ES256",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["client_secret"]
    assert body["allowed_claims"] == ["verified_claims"]
    assert body["backchannel_logout_uri"] == "https://budget.example.go.th/bcl"
    assert body["id_token_signed_response_alg"] == "ES256"
    too_long = app_client.patch(
        f"{API}/clients/{client_id}",
        headers=_auth(token),
        json={"min_acr": ACR_PUSH, "access_token_ttl": 10**6},
    )
    assert too_long.status_code == 400
    assert too_long.json()["field"] == "access_token_ttl"
    stricter = app_client.patch(
        f"{API}/clients/{client_id}",
        headers=_auth(token),
        json={"min_acr": ACR_PUSH, "access_token_ttl": 120},
    )
    assert stricter.json()["min_acr"] == ACR_PUSH
    assert stricter.json()["access_token_ttl"] == 120
    bad = app_client.post(
        API + "/clients",
        headers=_auth(token),
        json={"client_id": "x-" + client_id, "name": "x", "redirect_uris": "https://a/cb"},
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "redirect_uris"


def test_four_eyes_an_approval_waits_for_a_second_officer(backend: Backend, tmp_path: Path) -> None:
    from idp.app import create_app

    settings = support.make_settings(backend, tmp_path, registration={"four_eyes": True})
    with TestClient(create_app(settings), base_url=support.ISSUER) as client:
        services = client.app.state.ctx.services  # type: ignore[attr-defined]
        first, first_id = _token(client, services, ["officer"])
        second, _second_id = _token(client, services, ["officer"])
        person = support.create_user(services)
        email = f"{person.user_id.lower()}@example.go.th"
        registration_id = _registration(services, person.user_id, None)
        approve = f"{API}/registrations/{registration_id}/approve"

        once = client.post(approve, headers=_auth(first), json={})
        assert once.status_code == 200
        assert once.json()["status"] == "waiting_approval"
        assert once.json()["first_approval_by"] == first_id
        again = client.post(approve, headers=_auth(first), json={})
        assert again.status_code == 400
        assert again.json()["field"] == "officer"
        with services.db.read() as session:
            mails = session.scalars(
                select(OutboxMessage).where(OutboxMessage.to_address == email)
            ).all()
        assert mails == []  # nobody is told anything yet

        confirmed = client.post(approve, headers=_auth(second), json={})
        assert confirmed.json()["status"] == "approved"
        with services.db.read() as session:
            kinds = list(
                session.scalars(select(OutboxMessage.kind).where(OutboxMessage.to_address == email))
            )
            actions = list(
                session.scalars(
                    select(AuditEvent.action).where(AuditEvent.subject == person.user_id)
                )
            )
        assert kinds == ["registration_approved"]
        assert "registration.approve_first" in actions
        assert "registration.approve" in actions


def test_admins_list_and_rotate_the_signing_keys(
    app_client: TestClient, services: support.Services
) -> None:
    officer, _ = _token(app_client, services, ["officer"])
    assert app_client.get(API + "/keys", headers=_auth(officer)).status_code == 403
    token, _admin = _token(app_client, services, ["admin"])
    before = app_client.get(API + "/keys", headers=_auth(token)).json()["items"]
    upcoming = {k["kid"] for k in before if k["state"] == "next"}
    assert upcoming
    assert all("private" not in str(k).lower() for k in before)
    rotated = app_client.post(API + "/keys/rotate", headers=_auth(token))
    assert rotated.status_code == 200
    assert set(rotated.json()["activated"]) == upcoming
    after = {
        k["kid"]: k["state"]
        for k in app_client.get(API + "/keys", headers=_auth(token)).json()["items"]
    }
    assert {after[kid] for kid in upcoming} == {"active"}
    published = {k["kid"] for k in app_client.get("/jwks").json()["keys"]}
    assert upcoming <= published


def test_an_officer_revokes_a_lost_device(
    app_client: TestClient, services: support.Services
) -> None:
    from tests.e2e.test_device_api import Phone

    token, officer = _token(app_client, services, ["officer"])
    person = support.create_user(services)
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    support.approve_registration(services, person.user_id)
    Phone(app_client).activate(push.start_activation(person.user_id).code)
    url = f"{API}/users/{person.user_id}/device/revoke"
    assert app_client.post(url, headers=_auth(token), json={}).json()["field"] == "reason"
    revoked = app_client.post(url, headers=_auth(token), json={"reason": "ทำหาย"})
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert push.devices.active_for(person.user_id) is None
    assert app_client.post(url, headers=_auth(token), json={"reason": "again"}).status_code == 404
    with services.db.read() as session:
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "device.revoke", AuditEvent.subject == person.user_id
            )
        ).one()
    assert event.actor == officer


def test_an_officer_signs_a_user_out_everywhere(
    app_client: TestClient, services: support.Services
) -> None:
    rp = support.create_client(services)
    person = support.create_user(services)
    verifier, challenge = support.pkce()
    code = support.sign_in(app_client, rp, person, challenge)["code"]
    tokens = support.exchange(app_client, rp, code, verifier).json()
    app_client.cookies.clear()
    token, _officer = _token(app_client, services, ["officer"])
    ended = app_client.post(f"{API}/users/{person.user_id}/sessions/end", headers=_auth(token))
    assert ended.status_code == 200
    refreshed = app_client.post(
        "/token",
        auth=rp.basic,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refreshed.status_code == 400
    introspected = app_client.post(
        "/introspect", auth=rp.basic, data={"token": tokens["access_token"]}
    ).json()
    assert introspected["active"] is False
