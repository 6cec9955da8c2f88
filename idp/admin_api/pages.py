"""Keyset pagination: `?limit=…&after=<cursor>`; the cursor is the last row's sort key, so a
page costs the same at the start and in the middle of a million rows."""

from __future__ import annotations

import base64
import json
from typing import Any

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
