"""Device CA and challenge-key rotation against each backend (`idp device-ca …`): a phone
activated before keeps working (its challenges signed by the key it pinned, its receipts
chained to the CA that issued it); a phone activated after gets the new CA and key; an older
one is retired only once no device depends on it; each step audited; `idp doctor` shows it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from starlette.testclient import TestClient

from idp.app import create_app
from idp.cli import main
from idp.settings import Settings
from idp.storage.models import AuditEvent
from push_auth import protocol
from tests import support
from tests.backends import Backend, own_database
from tests.e2e.test_device_api import Phone

DIGEST = "ab" * 32


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Iterator[Settings]:
    """A database of this test's own: retiring a CA must not depend on other tests' phones."""
    with own_database(backend, tmp_path) as fresh:
        yield support.make_settings(fresh, tmp_path)


@pytest.fixture
def idp(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in support.cli_environment(settings).items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args))

    return run


def _listed(idp: Any) -> dict[tuple[str, str], dict[str, Any]]:
    result = idp("device-ca", "list", "--json")
    assert result.exit_code == 0, result.output
    return {(e["kind"], e["state"]): e for e in json.loads(result.output)}


def _activate(client: TestClient) -> tuple[Phone, dict[str, Any]]:
    context = client.app.state.ctx  # type: ignore[attr-defined]
    user = support.create_user(context.services)
    support.approve_registration(context.services, user.user_id)
    phone = Phone(client)
    response = phone.activate(context.push.start_activation(user.user_id).code)
    assert response.status_code == 201, response.text
    phone.user_id = user.user_id  # type: ignore[attr-defined]
    return phone, response.json()


def _approve(client: TestClient, phone: Phone, pinned: str) -> list[x509.Certificate]:
    """A challenge the phone checks against the key it pinned, approved; the receipt's chain."""
    push = client.app.state.ctx.push  # type: ignore[attr-defined]
    challenge = push.start_challenge(phone.user_id, {"details_sha256": DIGEST})  # type: ignore[attr-defined]
    token = phone.pending().json()["challenge"]
    assert protocol.verify(token, pinned, protocol.CHALLENGE_TYP)["cid"] == challenge.challenge_id
    answer = phone.answer(
        challenge.challenge_id, pictures=challenge.pictures, amr=["pin"], details_sha256=DIGEST
    )
    assert answer.json() == {"status": "approved"}
    receipt = push.challenge(challenge.challenge_id).receipt
    return [x509.load_der_x509_certificate(base64.b64decode(c)) for c in receipt["x5c"]]


def test_devices_keep_working_across_a_rotation(settings: Settings, idp: Any) -> None:
    with TestClient(create_app(settings), base_url=support.ISSUER) as client:
        before, first = _activate(client)
        assert idp("device-ca", "rotate").exit_code == 0
        made = idp("device-ca", "rotate", "--challenge-key")
        assert made.exit_code == 0, made.output
        client.app.state.ctx.push.ca.reload()  # type: ignore[attr-defined]  # else within a minute

        device, ca = _approve(client, before, first["challenge_public_key"])
        assert ca.public_bytes(serialization.Encoding.PEM).decode() == first["ca_certificate"]
        device.verify_directly_issued_by(ca)  # the old phone's receipt: the old CA

        after, second = _activate(client)
        assert second["ca_certificate"] != first["ca_certificate"]
        assert second["challenge_public_key"] != first["challenge_public_key"]
        device, ca = _approve(client, after, second["challenge_public_key"])
        assert ca.public_bytes(serialization.Encoding.PEM).decode() == second["ca_certificate"]
        device.verify_directly_issued_by(ca)

    listed = _listed(idp)
    old_ca, new_ca = listed["ca", "trusted"], listed["ca", "issuing"]
    old_key, new_key = listed["challenge-key", "pinned"], listed["challenge-key", "current"]
    assert [e["devices"] for e in (old_ca, new_ca, old_key, new_key)] == [1, 1, 1, 1]

    refused = idp("device-ca", "retire", old_ca["id"])
    assert refused.exit_code == 1
    assert "1 current device(s) still depend on ca" in refused.output
    assert idp("device-ca", "retire", new_ca["id"]).exit_code == 1  # the one in use
    revoked = idp("devices", "revoke", before.user_id, "--reason", "CA retired")  # type: ignore[attr-defined]
    assert revoked.exit_code == 0, revoked.output
    for ident in (old_ca["id"], old_key["id"]):
        retired = idp("device-ca", "retire", ident)
        assert retired.exit_code == 0, retired.output
    listed = _listed(idp)
    assert listed["ca", "retired"]["id"] == old_ca["id"]
    assert ("challenge-key", "pinned") not in listed

    doctor = idp("doctor")
    (line,) = [line for line in doctor.output.splitlines() if line[6:].startswith("ca ")]
    assert line.startswith("OK")
    assert f"the issuing CA {new_ca['id']}; 1 older CA(s), 0 of them still trusted" in line
    assert "1 challenge key(s)" in line
    assert idp("master-key", "status").exit_code == 0  # the new keys are sealed too

    services = client.app.state.ctx.services  # type: ignore[attr-defined]
    with services.db.read() as session:
        actions = [
            (row.action, row.detail["id"])
            for row in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
            if row.action.startswith(("device_ca.", "challenge_key."))
        ]
    assert actions == [
        ("device_ca.rotate", new_ca["id"]),
        ("challenge_key.rotate", new_key["id"]),
        ("device_ca.retire", old_ca["id"]),
        ("challenge_key.retire", old_key["id"]),
    ]
