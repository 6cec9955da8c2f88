"""Uploaded PDFs (officer, admin): a signed service-request form kept by its SHA-256, and any
kept PDF downloaded as an attachment that the browser never runs as a page."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import Officer
from idp.admin_api.endpoint import NO_STORE, endpoint, json_response
from idp.core import Core
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.kept_files import MAX_PDF_BYTES, TOO_LARGE, check_and_keep, kept_pdf, uploads_folder

NO_FILE = Message("no such file on record")


@endpoint("registrations", write=True)
async def upload(request: Request, c: Core, officer: Officer) -> Response:
    """A PDF body of at most 10 MB, checked like the assignment order; its SHA-256 back."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PDF_BYTES:
        raise UserFacingError(TOO_LARGE, "form_pdf")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_PDF_BYTES:
            raise UserFacingError(TOO_LARGE, "form_pdf")
    stored = await run_in_threadpool(
        check_and_keep, bytes(body), uploads_folder(c.services.settings)
    )
    return json_response({"sha256": stored.sha256, "size": stored.size}, 201)


@endpoint("registrations", write=False)
async def uploaded(request: Request, c: Core, officer: Officer) -> Response:
    """A kept PDF by its SHA-256 (a service request's signed form)."""
    return await pdf_download(c, str(request.path_params["sha256"]))


async def pdf_download(c: Core, digest: str) -> Response:
    """The kept PDF as a download (a sandbox, never rendered as a page); 404 when none."""
    path = kept_pdf(uploads_folder(c.services.settings), digest)
    if path is None:
        raise NotFound(NO_FILE, "id")
    return Response(
        await run_in_threadpool(path.read_bytes),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="assignment-order-{digest[:12]}.pdf"',
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "X-Content-Type-Options": "nosniff",
            **NO_STORE,
        },
    )
