"""Master key rotation against each backend: `idp master-key status|rotate` re-seals every
sealed value (signing keys, the device CA, the challenge and VAPID keys) under the new key in
one audited transaction, values sealed before the key ring included; `idp doctor` reports."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from idp.cli import main
from idp.domain.secrets import key_id_of
from idp.push_wiring import build_push, vapid_keys
from idp.services import Services, build_services
from idp.settings import Settings
from idp.storage.models import AuditEvent, SigningKey, VaultEntry
from tests import support
from tests.backends import Backend, own_database

OLD = base64.urlsafe_b64decode(support.MASTER_KEY)  # what the settings fixture uses
NEW, STRANGER = os.urandom(32), os.urandom(32)


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Iterator[Settings]:
    """A database of this test's own: the run's shared one stays sealed under support's key."""
    with own_database(backend, tmp_path) as fresh:
        yield support.make_settings(fresh, tmp_path)


@pytest.fixture
def deployed(settings: Settings) -> Settings:
    """A deployment under the old key, with every kind of sealed value; the CA key as it was
    sealed before the key ring (no key ID)."""
    services = build_services(settings)
    try:
        push = build_push(services)
        assert push.ca.certificate_pem
        assert push.ca.challenge_public_pem()
        assert vapid_keys(services).application_server_key()
        with services.db.session() as session:
            entry = session.get(VaultEntry, "ca-key")
            assert entry is not None
            plain = services.master.decrypt(entry.value, b"ca-key")
            nonce = os.urandom(12)
            entry.value = nonce + AESGCM(OLD).encrypt(nonce, plain, b"ca-key")
    finally:
        services.close()
    return settings


@pytest.fixture
def idp(deployed: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in support.cli_environment(deployed).items():
        monkeypatch.setenv(name, value)  # the keys: each run's own

    def run(*args: str, current: bytes = NEW, previous: tuple[bytes, ...] = (OLD,)) -> Result:
        monkeypatch.setenv("IDP_SECURITY__MASTER_KEY", _b64(current))
        monkeypatch.setenv("IDP_SECURITY__PREVIOUS_MASTER_KEYS", ",".join(map(_b64, previous)))
        return CliRunner().invoke(main, list(args))

    return run


def _json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert isinstance(data, dict)
    return data


def _rows(settings: Settings) -> dict[str, bytes]:
    services = build_services(settings, migrate=False)
    try:
        with services.db.read() as session:
            keys = {k.kid: bytes(k.private_encrypted) for k in session.scalars(select(SigningKey))}
            vault = {v.name: bytes(v.value) for v in session.scalars(select(VaultEntry))}
            return keys | vault
    finally:
        services.close()


def _audit(settings: Settings) -> list[AuditEvent]:
    services = build_services(settings, migrate=False)
    try:
        with services.db.read() as session:
            query = select(AuditEvent).where(AuditEvent.action == "master_key.rotate")
            return list(session.scalars(query.order_by(AuditEvent.id)))
    finally:
        services.close()


def _under_new_key_only(settings: Settings) -> Services:
    ring = settings.model_copy(
        update={"security": settings.security.model_copy(update={"master_key": _b64(NEW)})}
    )
    return build_services(ring, migrate=False)


def test_rotate_reseals_everything_once_and_audits_it(deployed: Settings, idp: Any) -> None:
    status = _json(idp("master-key", "status", "--json"))
    total = status["sealed_values"]
    assert total == 4 + 3  # RS256 and ES256 active and next; the CA, challenge and VAPID keys
    assert status["current_key"] == key_id_of(NEW)
    assert status["to_reseal"] == total
    assert status["opened_by"] == {key_id_of(NEW): 0, key_id_of(OLD): total}
    assert status["without_key_id"] == 1  # the CA key, sealed before the ring

    before = _rows(deployed)
    dry = _json(idp("master-key", "rotate", "--dry-run", "--json"))
    assert dry["to_reseal"] == total
    assert dry["dry_run"] is True
    assert _rows(deployed) == before
    assert not _audit(deployed)

    text = idp("master-key", "rotate")
    assert text.exit_code == 0, text.output
    assert f"re-sealed {total};" in text.output
    after = _rows(deployed)
    assert after.keys() == before.keys()
    sealed = [name for name in after if name != "ca-cert"]
    assert all(after[name] != before[name] for name in sealed)
    assert after["ca-cert"] == before["ca-cert"]

    again = _json(idp("master-key", "rotate", "--json"))  # idempotent
    assert again["to_reseal"] == 0
    assert again["opened_by"][key_id_of(NEW)] == total
    assert _rows(deployed) == after

    rows = _audit(deployed)
    assert [(r.outcome, r.detail["resealed"]) for r in rows] == [("success", total), ("success", 0)]
    assert rows[0].actor == "cli"
    assert rows[0].detail["key_id"] == key_id_of(NEW)
    written = json.dumps([r.detail for r in rows])
    for key in (OLD, NEW):  # key IDs only, never key material
        assert _b64(key).rstrip("=") not in written

    services = _under_new_key_only(deployed)  # the old key can leave the ring now
    try:
        assert services.keys.snapshot().signing.keys() == {"RS256", "ES256"}
        push = build_push(services)
        assert push.ca.challenge_public_pem()
        assert vapid_keys(services).application_server_key()
        assert push.ca.certificate_pem
    finally:
        services.close()


def test_a_value_under_no_key_of_the_ring_stops_rotate(deployed: Settings, idp: Any) -> None:
    before = _rows(deployed)
    status = idp("master-key", "status", "--json", current=STRANGER, previous=(NEW,))
    assert status.exit_code == 1
    assert len(json.loads(status.output)["unopenable"]) == 7
    refused = idp("master-key", "rotate", current=STRANGER, previous=(NEW,))
    assert refused.exit_code == 1
    assert "open under no key of the ring" in refused.output
    assert "nothing was changed" in refused.output
    assert _rows(deployed) == before
    rows = _audit(deployed)
    assert [r.outcome for r in rows] == ["failure"]
    assert "vault ca-key" in rows[0].detail["unopenable"]


def test_doctor_reports_the_ring(deployed: Settings, idp: Any) -> None:
    def sealed_line(result: Result) -> str:
        return next(line for line in result.output.splitlines() if line[6:].startswith("sealed"))

    assert sealed_line(idp("doctor", previous=())).startswith("FAIL")
    stale = idp("doctor")
    line = sealed_line(stale)
    assert line.startswith("WARN")
    assert "7 to re-seal" in line
    assert "idp master-key rotate" in stale.output
    for key in (OLD, NEW):
        assert _b64(key).rstrip("=") not in stale.output
    assert idp("master-key", "rotate").exit_code == 0
    unused = sealed_line(idp("doctor"))
    assert unused.startswith("WARN")
    assert f"{key_id_of(OLD)} open nothing" in unused
    assert sealed_line(idp("doctor", previous=())).startswith("OK")
