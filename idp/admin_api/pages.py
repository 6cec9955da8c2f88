"""Keyset pagination: `?limit=…&after=<cursor>`; the cursor is the last row's sort key, so a
page costs the same at the start and in the middle of a million rows."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

Row = TypeVar("Row")

MAX_LIMIT = 200


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


def window(params: Mapping[str, str]) -> tuple[int, list[Any] | None]:
    """The page size and the cursor that a list request asks for."""
    return limit_of(params.get("limit")), decode(params.get("after"))


def page(
    rows: list[Row], limit: int, key: Callable[[Row], Any], describe: Callable[[Row], Any]
) -> dict[str, Any]:
    """One page from rows fetched with `limit + 1`: its items and the next page's cursor."""
    more, rows = len(rows) > limit, rows[:limit]
    return {
        "items": [describe(row) for row in rows],
        "next": encode([key(rows[-1])]) if more and rows else None,
    }
