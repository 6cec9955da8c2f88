"""Uploads of the written assignment order: PDF only, at most 10 MB, counted while streaming.

The body is read chunk by chunk and the request is refused as soon as it passes the limit, so a
larger upload is cut off, never buffered whole. The file must start with %PDF- and parse with
pypdf. It is stored under var/uploads/ by its SHA-256 and never served back as active content.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import AsyncGenerator
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request

from idp.domain import kept_files
from idp.domain.errors import Message, UserFacingError
from idp.domain.registration import StoredUpload
from idp.settings import Settings

MAX_PDF_BYTES = 10 * 1024 * 1024
DIGEST = re.compile(r"[0-9a-f]{64}")
MULTIPART_OVERHEAD = 64 * 1024

TOO_LARGE = Message("ไฟล์มีขนาดเกิน 10 MB", "the file is larger than 10 MB")
NOT_PDF = Message("ไฟล์ต้องเป็น PDF เท่านั้น", "the file must be a PDF")
EMPTY = Message("ไฟล์ว่างเปล่า", "the file is empty")
BAD_FORM = Message("ข้อมูลที่ส่งมาไม่ถูกต้อง", "the form could not be read")


class TooLarge(UserFacingError):
    pass


async def read_multipart(
    request: Request, limit: int = MAX_PDF_BYTES + MULTIPART_OVERHEAD
) -> FormData:
    """The form, refusing (TooLarge) as soon as more than `limit` bytes have arrived."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(TOO_LARGE, "assignment_order")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise TooLarge(TOO_LARGE, "assignment_order")
        chunks.append(chunk)

    async def replay() -> AsyncGenerator[bytes, None]:
        yield b"".join(chunks)

    try:
        return await MultiPartParser(request.headers, replay(), max_files=1, max_fields=20).parse()
    except Exception as exc:  # a malformed body is bad input, never a 500
        raise UserFacingError(BAD_FORM) from exc


def uploads_folder(settings: Settings) -> Path:
    return kept_files.folder_of(settings)


def kept_pdf(folder: Path, digest: object) -> Path | None:
    """The kept PDF a SHA-256 digest names, or None (no such file, or not a digest at all)."""
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        return None
    path = folder / f"{digest}.pdf"
    return path if path.is_file() else None


async def store_pdf(upload: UploadFile, folder: Path) -> StoredUpload:
    data = await upload.read(MAX_PDF_BYTES + 1)
    return await run_in_threadpool(check_and_keep, data, folder)


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
