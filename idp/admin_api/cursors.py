"""Lists in the URL: `?limit=…&after=<cursor>`, the cursor being the last item's key, opaque
to the caller (the domain pages by the key: idp.domain.back_office.listing)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from idp.admin_api.endpoint import json_response
from idp.domain.back_office.listing import Page
from idp.domain.errors import Message, UserFacingError

Key = TypeVar("Key")

MAX_LIMIT = 200
BAD_CURSOR = Message("after is not a cursor of this list")


def limit_of(raw: str | None, default: int = 50) -> int:
    try:
        return max(1, min(MAX_LIMIT, int(raw or default)))
    except ValueError:
        return default


def encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def window(params: Mapping[str, str], key: Callable[[Any], Key]) -> tuple[int, Key | None]:
    """The page size and the key to start after (`key` makes it the list's kind of key)."""
    after = decode(params.get("after"))
    try:
        return limit_of(params.get("limit")), key(after[0]) if after else None
    except (TypeError, ValueError) as exc:
        raise UserFacingError(BAD_CURSOR, "after") from exc


def page_json(page: Page) -> dict[str, Any]:
    """The page's items and the next page's cursor (null on the last page)."""
    after = page.next_after
    return {"items": page.items, "next": None if after is None else encode([after])}


async def listed(
    request: Request,
    search: Callable[..., Page],
    *criteria: object,
    key: Callable[[Any], Any] = str,
) -> JSONResponse:
    """One page of a list: `search(*criteria, limit, after)` run in a thread, the window read
    from the query string (`key` makes the cursor the list's kind of key)."""
    limit, after = window(request.query_params, key)
    return json_response(page_json(await run_in_threadpool(search, *criteria, limit, after)))
