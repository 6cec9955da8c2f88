"""The admin API's OpenAPI document (openapi.json beside this file), served as it is."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

DOCUMENT = Path(__file__).resolve().parent / "openapi.json"


async def openapi(request: Request) -> Response:
    return Response(DOCUMENT.read_bytes(), media_type="application/json")
