"""Rotating the device CA and the challenge-signing key (`idp device-ca …`): what push_auth.ca
does, with the devices that still depend on each generation counted and every change audited.

A device depends on the CA that issued its certificate (or the renewal's, not yet used) and on
the challenge key it pinned at activation. An older CA or challenge key is retired (its sealed
key deleted) only when no current device depends on it any more.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cryptography import x509
from sqlalchemy import select

from idp.domain import audit
from idp.push_wiring import CURRENT, SqlVault
from idp.services import Services
from idp.storage.models import DeviceRecord
from push_auth.ca import CertificateAuthority

AUDITED_AS = {"ca": "device_ca", "challenge-key": "challenge_key"}  # kind -> audit action prefix


class StillInUse(ValueError):
    """Devices still depend on the generation asked to be retired."""


def authority(services: Services) -> CertificateAuthority:
    return CertificateAuthority(SqlVault(services), services.master)


def _dependants(services: Services) -> tuple[Counter[str], Counter[str | None]]:
    """Current devices by the issuer of their certificates, and by the challenge key pinned."""
    issuers: Counter[str] = Counter()
    pinned: Counter[str | None] = Counter()
    query = select(
        DeviceRecord.certificate_pem,
        DeviceRecord.next_certificate_pem,
        DeviceRecord.challenge_key_id,
    ).where(DeviceRecord.status.in_(CURRENT))
    with services.db.read() as session:
        for certificate, renewal, challenge_key in session.execute(query):
            for pem in {pem for pem in (certificate, renewal) if pem}:
                issuer = x509.load_pem_x509_certificate(pem.encode()).issuer
                issuers[issuer.rfc4514_string()] += 1
            pinned[challenge_key] += 1
    return issuers, pinned


def describe(services: Services) -> list[dict[str, Any]]:
    """Every CA and challenge key with the number of current devices depending on it."""
    issuers, pinned = _dependants(services)
    listed = authority(services).describe()
    for entry in listed:
        if entry["kind"] == "ca":
            entry["devices"] = issuers[str(entry["subject"])]
        else:
            entry["devices"] = pinned[entry["generation"]]  # type: ignore[index]
    return listed


def rotate(services: Services, kind: str, actor: str) -> str:
    """A new CA (kind "ca") or challenge key ("challenge-key"); its ID. Audited."""
    ca = authority(services)
    made = ca.rotate_ca().ca_id if kind == "ca" else ca.rotate_challenge_key()
    with services.db.session() as session:
        audit.record(session, f"{AUDITED_AS[kind]}.rotate", actor=actor, subject=kind, id=made)
    return made


def retire(services: Services, ident: str, actor: str) -> str:
    """Retire the older CA or challenge key with this ID; its kind. StillInUse while current
    devices depend on it; ValueError when it is the one in use or unknown."""
    listed = [entry for entry in describe(services) if entry["id"] == ident]
    if not listed:
        raise ValueError(f"no CA or challenge key {ident}")
    entry = listed[0]
    kind = str(entry["kind"])
    if entry["devices"] and entry["state"] not in ("issuing", "current"):
        raise StillInUse(
            f"{entry['devices']} current device(s) still depend on {kind} {ident}: they move "
            "to the new one at their certificate renewal (a CA) or activation (a challenge key)"
        )
    authority(services).retire(kind, ident)
    with services.db.session() as session:
        audit.record(session, f"{AUDITED_AS[kind]}.retire", actor=actor, subject=kind, id=ident)
    return kind
