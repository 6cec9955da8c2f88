"""Every value sealed under the master key ring: counted by the key that opens it (`idp
master-key status`, `idp doctor`) and sealed again under the current key (`idp master-key
rotate`, one transaction, idempotent, audited).

The sealed values are the signing keys' private parts (bound to their key ID) and the vault's
entries (bound to their name) except the certificates, which are public and stored as they are.
An entry of unknown kind counts as sealed: a value nothing opens is reported, never skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import audit
from idp.domain.secrets import MasterKey, Seal, SealedValueError
from idp.storage.models import SigningKey, VaultEntry

UNMARKED = "unmarked"  # sealed before the ring: no key ID in the value


def vault_entry_sealed(name: str) -> bool:
    """Whether the vault keeps this entry sealed (every entry but the certificates)."""
    return "cert" not in name


@dataclass(frozen=True)
class _Sealed:
    label: str  # what an operator reads: never the value
    context: bytes
    row: Any
    attr: str

    @property
    def blob(self) -> bytes:
        return bytes(getattr(self.row, self.attr))


def _sealed(session: Session, *, lock: bool) -> Iterator[_Sealed]:
    keys = select(SigningKey).order_by(SigningKey.created_at)
    vault = select(VaultEntry).order_by(VaultEntry.name)
    if lock:
        keys, vault = keys.with_for_update(), vault.with_for_update()
    for key in session.scalars(keys):
        yield _Sealed(
            f"signing key {key.alg} {key.kid} ({key.state})",
            key.kid.encode(),
            key,
            "private_encrypted",
        )
    for entry in session.scalars(vault):
        if vault_entry_sealed(entry.name):
            yield _Sealed(f"vault {entry.name}", entry.name.encode(), entry, "value")


@dataclass
class Census:
    """The sealed values by the key of the ring that opens them."""

    current: str
    previous: list[str]
    total: int = 0
    opened_by: Counter[str] = field(default_factory=Counter)  # key ID -> values it opens
    unmarked: int = 0  # sealed before the ring (no key ID), whichever key opens them
    stale: int = 0  # under a previous key, or unmarked: what rotate seals again
    unopenable: list[str] = field(default_factory=list)  # labels of values no key opens

    def count(self, label: str, seal: Seal | None) -> None:
        self.total += 1
        if seal is None:
            self.unopenable.append(label)
            return
        self.opened_by[seal.key_id] += 1
        self.unmarked += seal.legacy
        self.stale += seal.legacy or seal.key_id != self.current

    @property
    def unused_previous(self) -> list[str]:
        """Previous keys that open nothing any more: they can leave the ring."""
        return [key_id for key_id in self.previous if not self.opened_by[key_id]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "current_key": self.current,
            "previous_keys": self.previous,
            "sealed_values": self.total,
            "to_reseal": self.stale,
            "opened_by": {
                key_id: self.opened_by[key_id] for key_id in [self.current, *self.previous]
            },
            "without_key_id": self.unmarked,
            "unopenable": self.unopenable,
            "previous_keys_unused": self.unused_previous,
        }

    def summary(self) -> str:
        """One line for people (no key material: key IDs are check values)."""
        settled = self.total - self.stale - len(self.unopenable)
        parts = [
            f"{self.total} sealed value(s)",
            f"{settled} under the current key {self.current}",
            f"{self.stale} to re-seal",
        ]
        if self.unmarked:
            parts.append(f"{self.unmarked} without a key ID (sealed before the key ring)")
        for key_id in self.previous:
            parts.append(f"previous key {key_id} opens {self.opened_by[key_id]}")
        if self.unopenable:
            parts.append(f"{len(self.unopenable)} open under no key: {', '.join(self.unopenable)}")
        return "; ".join(parts)


def _open(master: MasterKey, item: _Sealed) -> Seal | None:
    try:
        return master.open(item.blob, item.context)[1]
    except SealedValueError:
        return None


def census(session: Session, master: MasterKey) -> Census:
    """Reads only."""
    counted = Census(master.key_id, master.previous_ids)
    for item in _sealed(session, lock=False):
        counted.count(item.label, _open(master, item))
    return counted


def rotate(session: Session, master: MasterKey, actor: str, *, dry_run: bool = False) -> Census:
    """Seal every value that is under a previous key, or has no key ID, again under the current
    key, in the caller's transaction (the rows locked): all or nothing. A value no key opens
    stops it with SealedValueError before anything changes (audited as a failure). Run again,
    it finds nothing to do. Returns the census from before."""
    items = list(_sealed(session, lock=not dry_run))
    before = Census(master.key_id, master.previous_ids)
    for item in items:
        before.count(item.label, _open(master, item))
    if dry_run:
        return before
    detail: dict[str, Any] = {
        "key_id": master.key_id,
        "previous_keys": master.previous_ids,
        "values": before.total,
    }
    if before.unopenable:
        audit.record(
            session,
            "master_key.rotate",
            actor=actor,
            subject="master_key",
            outcome="failure",
            unopenable=before.unopenable,
            **detail,
        )
        raise SealedValueError(
            f"{len(before.unopenable)} sealed value(s) open under no key of the ring "
            f"({', '.join(before.unopenable)}): nothing was changed; add the key they were "
            "sealed under to security.previous_master_keys"
        )
    for item in items:
        resealed = master.reseal(item.blob, item.context)
        if resealed is not None:
            setattr(item.row, item.attr, resealed)
    audit.record(
        session,
        "master_key.rotate",
        actor=actor,
        subject="master_key",
        resealed=before.stale,
        **detail,
    )
    return before
