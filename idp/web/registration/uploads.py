"""Uploads of the written assignment order, read from the request: at most 10 MB, counted
while streaming. The body is read chunk by chunk and the request is refused as soon as it passes
the limit, so a larger upload is cut off, never buffered whole. What is kept, and how it is
checked, is idp.domain.kept_files.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request

from idp.domain.errors import UserFacingError
from idp.domain.kept_files import MAX_PDF_BYTES, TOO_LARGE, check_and_keep
from idp.domain.registration import StoredUpload
from idp.web.csrf import BAD_FORM

MULTIPART_OVERHEAD = 64 * 1024


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


async def store_pdf(upload: UploadFile, folder: Path) -> StoredUpload:
    data = await upload.read(MAX_PDF_BYTES + 1)
    return await run_in_threadpool(check_and_keep, data, folder)
