"""The device API refuses what it must: replays, wrong keys, altered bytes, stale or foreign
challenges, double answers, revoked or expired certificates, bad activation, bad bodies."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.testclient import TestClient

from idp.storage.models import DeviceRecord
from push_auth import protocol
from push_auth.authenticator.client import _csr, _public_pem
from tests import support

API = "/push/v1"


class Phone:
    """A minimal device speaking the protocol by hand, to send what a good app never would."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.poll = ec.generate_private_key(ec.SECP256R1())
        self.device_id = ""

    def token(
        self, method: str, path: str, key: Any = None, kid: str | None = None, **claims: Any
    ) -> str:
        body = {
            "aud": support.ISSUER + API,
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(18),
            "htm": method,
            "htu": API + path,
            **claims,
        }
        return protocol.sign(
            key or self.key, body, protocol.REQUEST_TYP, kid=self.device_id if kid is None else kid
        )

    def post(self, path: str, token: str) -> Any:
        return self.client.post(
            API + path, content=token, headers={"content-type": "application/jose"}
        )

    def activate(self, code: str, csr_key: Any = None) -> Any:
        token = self.token(
            "POST",
            "/activate",
            kid="",
            code=code,
            csr=_csr(csr_key or self.key),
            poll_key=_public_pem(self.poll),
        )
        response = self.post("/activate", token)
        if response.status_code == 201:
            self.device_id = response.json()["device_id"]
        return response

    def pending(self) -> Any:
        token = self.token("GET", "/challenge", key=self.poll, kid=self.device_id + "#poll")
        return self.client.get(
            API + "/challenge",
            params={"wait": "0"},
            headers={"Authorization": "SoftToken " + token},
        )

    def answer_with_poll_key(self, cid: str, action: str, **claims: Any) -> Any:
        path = f"/challenges/{cid}"
        return self.post(
            path,
            self.token(
                "POST",
                path,
                key=self.poll,
                kid=self.device_id + "#poll",
                cid=cid,
                action=action,
                **claims,
            ),
        )

    def answer(self, cid: str, action: str = "approve", **claims: Any) -> Any:
        path = f"/challenges/{cid}"
        return self.post(path, self.token("POST", path, cid=cid, action=action, **claims))


@pytest.fixture
def phone(app_client: TestClient, user: support.Person) -> Phone:
    context = app_client.app.state.ctx  # type: ignore[attr-defined]
    support.approve_registration(context.services, user.user_id)
    device = Phone(app_client)
    assert device.activate(context.push.start_activation(user.user_id).code).status_code == 201
    return device


def _challenge(app_client: TestClient, user: support.Person) -> Any:
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    return push.start_challenge(user.user_id, {"client_name": "test"})


def test_activation_code_is_single_use(app_client: TestClient, user: support.Person) -> None:
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    support.approve_registration(app_client.app.state.ctx.services, user.user_id)  # type: ignore[attr-defined]
    code = push.start_activation(user.user_id).code
    assert Phone(app_client).activate(code).status_code == 201
    second = Phone(app_client).activate(code)
    assert second.status_code == 403
    assert second.json()["error"] in ("invalid_activation_code", "device_exists")


def test_wrong_or_reissued_activation_code_is_refused(
    app_client: TestClient, user: support.Person
) -> None:
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    support.approve_registration(app_client.app.state.ctx.services, user.user_id)  # type: ignore[attr-defined]
    first = push.start_activation(user.user_id).code
    push.start_activation(user.user_id)  # a new code voids the old one
    assert Phone(app_client).activate(first).json()["error"] == "invalid_activation_code"
    assert Phone(app_client).activate("guess-" + first).json()["error"] == (
        "invalid_activation_code"
    )


def test_csr_must_be_signed_by_the_requesting_key(
    app_client: TestClient, user: support.Person
) -> None:
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    support.approve_registration(app_client.app.state.ctx.services, user.user_id)  # type: ignore[attr-defined]
    code = push.start_activation(user.user_id).code
    device = Phone(app_client)
    other = ec.generate_private_key(ec.SECP256R1())
    response = device.activate(code, csr_key=other)  # JWS by device.key, CSR for another key
    assert response.status_code == 401
    assert push.current_activation(user.user_id) is not None  # the code was not spent


def test_replayed_request_is_refused(
    phone: Phone, app_client: TestClient, user: support.Person
) -> None:
    token = phone.token("GET", "/challenge", key=phone.poll, kid=phone.device_id + "#poll")
    headers = {"Authorization": "SoftToken " + token}
    assert app_client.get(API + "/challenge?wait=0", headers=headers).status_code == 204
    replay = app_client.get(API + "/challenge?wait=0", headers=headers)
    assert replay.status_code == 401
    assert "jti" in replay.json()["error_description"]


def test_request_signed_by_another_key_is_refused(phone: Phone, app_client: TestClient) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = phone.token("GET", "/device", key=stranger)
    response = app_client.get(API + "/device", headers={"Authorization": "SoftToken " + token})
    assert response.status_code == 401


def test_signature_over_altered_bytes_is_refused(
    phone: Phone, app_client: TestClient, user: support.Person
) -> None:
    challenge = _challenge(app_client, user)
    token = phone.token(
        "POST", f"/challenges/{challenge.challenge_id}", cid=challenge.challenge_id, action="deny"
    )
    header, payload, signature = token.split(".")
    altered = protocol.sign(
        ec.generate_private_key(ec.SECP256R1()), {"x": 1}, protocol.REQUEST_TYP
    ).split(".")[1]
    response = phone.post(
        f"/challenges/{challenge.challenge_id}", ".".join([header, altered, signature])
    )
    assert response.status_code == 401
    del payload


def test_second_answer_loses(phone: Phone, app_client: TestClient, user: support.Person) -> None:
    challenge = _challenge(app_client, user)
    first = phone.answer(challenge.challenge_id, pictures=challenge.pictures, amr=["pin"])
    second = phone.answer(challenge.challenge_id, pictures=challenge.pictures, amr=["pin"])
    assert first.json() == {"status": "approved"}
    assert second.status_code == 409


def test_expired_challenge_cannot_be_answered(
    phone: Phone, app_client: TestClient, user: support.Person
) -> None:
    challenge = _challenge(app_client, user)
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    record = push.ephemeral.get("chal:" + challenge.challenge_id)
    record["expires"] = int(time.time()) - 1
    push.ephemeral.put("chal:" + challenge.challenge_id, record, 60)
    response = phone.answer(challenge.challenge_id, pictures=challenge.pictures)
    assert response.status_code == 409
    assert push.challenge(challenge.challenge_id).status == "expired"


def test_device_cannot_answer_another_users_challenge(
    phone: Phone, app_client: TestClient, services: support.Services
) -> None:
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    victim = support.create_user(services)
    victim_phone = Phone(app_client)
    support.approve_registration(services, victim.user_id)
    victim_phone.activate(push.start_activation(victim.user_id).code)
    challenge = _challenge(app_client, victim)
    response = phone.answer(challenge.challenge_id, pictures=challenge.pictures)
    assert response.status_code == 403
    assert push.challenge(challenge.challenge_id).status == "pending"  # not burnt


def test_approval_needs_the_pin_key_not_the_poll_key(
    phone: Phone, app_client: TestClient, user: support.Person
) -> None:
    challenge = _challenge(app_client, user)
    response = phone.answer_with_poll_key(
        challenge.challenge_id, "approve", pictures=challenge.pictures
    )
    assert response.json()["error"] == "pin_required"


def test_revocation_takes_effect_for_a_delivered_challenge(
    phone: Phone, app_client: TestClient, user: support.Person
) -> None:
    challenge = _challenge(app_client, user)
    assert phone.pending().status_code == 200  # delivered
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    push.revoke(user.user_id, "lost phone", actor="test")
    response = phone.answer(challenge.challenge_id, pictures=challenge.pictures)
    assert response.status_code == 403
    assert response.json()["error"] == "device_revoked"


def test_expired_certificate_cannot_approve_but_can_renew(
    phone: Phone, app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    challenge = _challenge(app_client, user)
    with services.db.session() as session:
        record = session.get(DeviceRecord, phone.device_id)
        assert record is not None
        record.not_after = datetime.now(UTC) - timedelta(minutes=1)
    response = phone.answer(challenge.challenge_id, pictures=challenge.pictures)
    assert response.status_code == 403
    assert response.json()["error"] == "certificate_expired"
    new_key = ec.generate_private_key(ec.SECP256R1())
    renewed = phone.post("/renew", phone.token("POST", "/renew", csr=_csr(new_key)))
    assert renewed.status_code == 200, renewed.text
    phone.key = new_key  # the new key's first use voids the old certificate
    status = app_client.get(
        API + "/device", headers={"Authorization": "SoftToken " + phone.token("GET", "/device")}
    )
    assert status.json()["expired"] is False
    old = phone.token("GET", "/device", key=ec.generate_private_key(ec.SECP256R1()))
    assert (
        app_client.get(API + "/device", headers={"Authorization": "SoftToken " + old}).status_code
        == 401
    )


def test_not_me_suspends_pushes(phone: Phone, app_client: TestClient, user: support.Person) -> None:
    challenge = _challenge(app_client, user)
    response = phone.answer_with_poll_key(challenge.challenge_id, "not_me")
    assert response.json() == {"status": "not_me"}
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    from push_auth.errors import PushError

    with pytest.raises(PushError) as refused:
        push.start_challenge(user.user_id, {})
    assert refused.value.code in ("device_suspended", "push_backoff")


def test_bad_bodies_get_clear_4xx(phone: Phone, app_client: TestClient) -> None:
    cases = [
        (b"", 400),
        (b"{not json", 401),
        (b"x" * 20_000, 413),
        ("ไทย".encode(), 400),
        (b"a.b.c", 401),
    ]
    for body, status in cases:
        response = app_client.post(
            API + "/activate", content=body, headers={"content-type": "application/jose"}
        )
        assert response.status_code == status, (body[:10], response.status_code)
        assert "error" in response.json()
    assert app_client.get(API + "/challenge").status_code == 401


def test_pictures_and_openapi_are_served(app_client: TestClient, tmp_path: Path) -> None:
    names = app_client.get(API + "/pictures").json()
    assert len(names) == 32
    assert names[0]["th"]
    assert names[0]["en"]
    svg = app_client.get(API + "/pictures/31.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert app_client.get(API + "/pictures/32.svg").status_code == 404
    spec = app_client.get(API + "/openapi.json").json()
    assert "/challenge" in spec["paths"]


def test_expired_activation_code_is_refused(app_client: TestClient, user: support.Person) -> None:
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    code = "expired-" + secrets.token_urlsafe(18)
    push.ephemeral.put(
        "act:" + hashlib.sha256(code.encode()).hexdigest(), {"user_id": user.user_id}, 1
    )
    time.sleep(1.2)
    assert Phone(app_client).activate(code).json()["error"] == "invalid_activation_code"


def test_compare_mode_shows_the_picture_and_never_gives_the_push_acr(
    backend: support.Backend, tmp_path: Path
) -> None:
    from idp.app import create_app

    settings = support.make_settings(backend, tmp_path, push={"mode": "compare"})
    with TestClient(
        create_app(settings), base_url=support.ISSUER, follow_redirects=False
    ) as client:
        context = client.app.state.ctx  # type: ignore[attr-defined]
        user = support.create_user(context.services)
        support.approve_registration(context.services, user.user_id)
        device = Phone(client)
        device.activate(context.push.start_activation(user.user_id).code)
        challenge = context.push.start_challenge(user.user_id, {})
        token = device.pending().json()["challenge"]
        claims = protocol.peek(token)[1]
        assert claims["mode"] == "compare"
        assert claims["pictures"] == challenge.pictures
        assert len(challenge.pictures) == 1
        assert device.answer(challenge.challenge_id).json() == {"status": "approved"}
