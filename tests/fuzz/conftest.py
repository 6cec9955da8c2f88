"""One app per backend for the whole fuzz module (the operations share it, as a deployment's
callers do), an admin officer's token, and real records for the fuzzer to reach: users in
several lifecycle states, a registration waiting for approval, a service request, a relying
party, a stored PDF, an activated device."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.testclient import TestClient

from idp.domain.acr import ACR_PUSH
from idp.oidc.models import OAuthClient, SignedInUser
from idp.storage.models import Client, Registration, User
from push_auth import protocol
from push_auth.authenticator.client import _csr, _public_pem
from tests import support
from tests.backends import Backend, ProductionServers, production, servers_missing
from tests.fuzz.harness import Tally

ADMIN_API = "/admin/api/v1"
DEVICE_API = "/push/v1"


@dataclass
class Device:
    """An activated device, speaking the protocol by hand (the fuzzer chooses the claims)."""

    user_id: str
    device_id: str
    key: ec.EllipticCurvePrivateKey

    def sign(self, method: str, path: str, claims: dict[str, Any], kid: str | None = None) -> str:
        return sign(self.key, method, path, claims, self.device_id if kid is None else kid)


def sign(
    key: ec.EllipticCurvePrivateKey, method: str, path: str, claims: dict[str, Any], kid: str
) -> str:
    standard = {
        "aud": support.ISSUER + DEVICE_API,
        "iat": int(time.time()),
        "jti": secrets.token_urlsafe(18),
        "htm": method,
        "htu": path,
    }
    return protocol.sign(key, {**claims, **standard}, protocol.REQUEST_TYP, kid=kid)


@dataclass
class World:
    client: TestClient
    backend: str
    officer: str
    token: str
    users: list[str]
    registrations: list[str]
    service_requests: list[str]
    clients: list[str]
    uploads: list[str]
    device: Device  # the admin API's to revoke, lift, reset
    phone: Device  # the device API's own
    tally: Tally = field(default_factory=Tally)

    @property
    def context(self) -> Any:
        return self.client.app.state.ctx  # type: ignore[attr-defined]

    def new_user(self, **fields: Any) -> str:
        return support.create_user(self.context.services, **fields).user_id


@pytest.fixture(scope="module", params=["embedded", "production"])
def world(
    request: pytest.FixtureRequest,
    embedded_backend: Backend,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    from idp.app import create_app

    backend = embedded_backend
    if request.param == "production":
        servers = request.getfixturevalue("production_servers")
        if not isinstance(servers, ProductionServers):
            servers_missing(servers)
        backend = production(servers)
    settings = support.make_settings(backend, tmp_path_factory.mktemp("fuzz"))
    with TestClient(
        create_app(settings), base_url=support.ISSUER, follow_redirects=False
    ) as client:
        world = _populate(client, request.param)
        yield world
        print(f"\nfuzz [{request.param}]: {world.tally.total()} requests")


def _populate(client: TestClient, backend: str) -> World:
    context = client.app.state.ctx  # type: ignore[attr-defined]
    services = context.services
    officer = support.create_user(services).user_id
    plain = support.create_user(services).user_id
    waiting = support.create_user(services).user_id
    support.approve_registration(services, waiting)
    with services.db.session() as session:
        user = session.get(User, officer)
        assert user is not None
        user.roles = ["admin", "officer", "auditor"]
        registration = session.query(Registration).filter_by(user_id=waiting).one()
        registration.status = "waiting_approval"
        registration_id = registration.id
    device = _activated_device(client)
    victim = support.create_client(services).client_id
    token = admin_token(client, officer)
    auth = {"Authorization": "Bearer " + token}
    upload = client.post(
        ADMIN_API + "/uploads",
        content=support.pdf_bytes(),
        headers={**auth, "content-type": "application/pdf"},
    )
    assert upload.status_code == 201, upload.text
    form = {
        "user_id": device.user_id,
        "unit_code": "0500500000",
        "unit_name": "กองคลัง",
        "requester_name": "นายทดสอบ ระบบ",
        "registered_email": f"{device.user_id.lower()}@example.go.th",
        "mobile": "0812345678",
        "division": "กองคลัง",
        "department": "กรมตัวอย่าง",
        "ministry": "กระทรวงการคลัง",
        "reasons": ["change_phone"],
    }
    recorded = client.post(ADMIN_API + "/service-requests", json=form, headers=auth)
    assert recorded.status_code == 201, recorded.text
    return World(
        client=client,
        backend=backend,
        officer=officer,
        token=token,
        users=[plain, waiting, device.user_id],
        registrations=[registration_id],
        service_requests=[recorded.json()["id"]],
        clients=[victim],
        uploads=[upload.json()["sha256"]],
        device=device,
        phone=_activated_device(client),
    )


def _activated_device(client: TestClient) -> Device:
    context = client.app.state.ctx  # type: ignore[attr-defined]
    user_id = support.create_user(context.services).user_id
    support.approve_registration(context.services, user_id)
    key = ec.generate_private_key(ec.SECP256R1())
    code = context.push.start_activation(user_id).code
    path = DEVICE_API + "/activate"
    claims = {"code": code, "csr": _csr(key), "poll_key": _public_pem(key)}
    response = client.post(
        path,
        content=sign(key, "POST", path, claims, ""),
        headers={"content-type": "application/jose"},
    )
    assert response.status_code == 201, response.text
    return Device(user_id, response.json()["device_id"], key)


def admin_token(client: TestClient, officer: str) -> str:
    """An access token with the admin scope after a push sign-in (so changes are allowed)."""
    context = client.app.state.ctx  # type: ignore[attr-defined]
    services = context.services
    admin_client = support.create_client(services, scope="openid admin").client_id
    with services.db.read() as session:
        record = session.get(Client, admin_client)
        assert record is not None
        session.expunge(record)
    signed_in = SignedInUser(officer, int(time.time()), ACR_PUSH, ("pwd", "swk", "mfa"))
    token = context.server.tokens.generate(
        "authorization_code", OAuthClient(record), signed_in, "openid admin"
    )
    return str(token["access_token"])
