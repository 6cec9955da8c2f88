"""Uploaded PDFs kept by their SHA-256 (assignment orders, signed service-request forms).

A file must be at most 10 MB, start with %PDF- and parse with pypdf; it is kept under
var/uploads/ and never served back as active content. A file no record names is removed, at once
when the request that stored it was refused (issue #11, item 10), and by a scheduled job for
what a crash or an abandoned upload left."""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain.errors import Message, UserFacingError
from idp.domain.registration import StoredUpload
from idp.settings import Settings
from idp.storage.models import Registration, ServiceRequest

MAX_PDF_BYTES = 10 * 1024 * 1024
DIGEST = re.compile(r"[0-9a-f]{64}")
TOO_LARGE = Message("the file is larger than 10 MB")
NOT_PDF = Message("the file must be a PDF")
EMPTY = Message("the file is empty")

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


def uploads_folder(settings: Settings) -> Path:
    return folder_of(settings)


def kept_pdf(folder: Path, digest: object) -> Path | None:
    """The kept PDF a SHA-256 digest names, or None (no such file, or not a digest at all)."""
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        return None
    path = folder / f"{digest}.pdf"
    return path if path.is_file() else None


def check_and_keep(data: bytes, folder: Path) -> StoredUpload:
    """Refuse anything but a real PDF of at most 10 MB; keep it by its SHA-256."""
    if len(data) > MAX_PDF_BYTES:
        raise UserFacingError(TOO_LARGE, "assignment_order")
    if not data:
        raise UserFacingError(EMPTY, "assignment_order")
    if not data.startswith(b"%PDF-") or not _parses(data):
        raise UserFacingError(NOT_PDF, "assignment_order")
    digest = hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = folder / f"{digest}.pdf"
    if target.exists():
        os.utime(target)  # fresh again: the orphan job must not take it from its new record
    else:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    return StoredUpload(digest, len(data))


def _parses(data: bytes) -> bool:
    try:
        return len(PdfReader(io.BytesIO(data)).pages) >= 1
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        return False
