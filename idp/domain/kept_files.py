"""Uploaded PDFs kept by their SHA-256 (assignment orders, signed service-request forms): a file
no record names is removed, at once when the request that stored it was refused (issue #11,
item 10), and by a scheduled job for what a crash or an abandoned upload left."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.settings import Settings
from idp.storage.models import Registration, ServiceRequest

ORPHAN_AGE = 86_400  # an officer's upload waits this long for the request that names it


def folder_of(settings: Settings) -> Path:
    return settings.var_path / "uploads"


def referenced(session: Session, digests: set[str]) -> set[str]:
    """Which of these digests a registration or a service request names."""
    if not digests:
        return set()
    named = set(
        session.scalars(
            select(Registration.upload_sha256).where(Registration.upload_sha256.in_(digests))
        )
    )
    named |= set(
        session.scalars(
            select(ServiceRequest.form_pdf_sha256).where(
                ServiceRequest.form_pdf_sha256.in_(digests)
            )
        )
    )
    return {d for d in named if d}


def discard(session: Session, folder: Path, digest: str) -> bool:
    """Remove the kept file unless a record names it; True when it was removed."""
    if digest in referenced(session, {digest}):
        return False
    (folder / f"{digest}.pdf").unlink(missing_ok=True)
    return True


def forget_orphans(session: Session, folder: Path, age: int = ORPHAN_AGE) -> int:
    """Remove kept files older than `age` seconds that no record names."""
    if not folder.is_dir():
        return 0
    cutoff = time.time() - age
    old = {p.stem: p for p in folder.glob("*.pdf") if p.stat().st_mtime < cutoff}
    orphans = set(old) - referenced(session, set(old))
    for digest in orphans:
        old[digest].unlink(missing_ok=True)
    return len(orphans)
