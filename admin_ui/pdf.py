"""Showing an uploaded PDF inside a back-office page: fetched through the API, served inline
to our own frame only, with nothing else allowed to run."""

from __future__ import annotations

from starlette.responses import Response

from admin_ui.desk import Desk


async def pdf_inline(desk: Desk, api_path: str) -> Response:
    found = await desk.call("GET", api_path)
    return desk.finish(
        Response(
            found.content,
            media_type="application/pdf",
            headers={
                "Content-Disposition": "inline",
                "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
                "X-Frame-Options": "SAMEORIGIN",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )
    )
