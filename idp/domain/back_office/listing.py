"""Records as the back office returns them: keyset pages of plain dicts (rows ordered by a
unique key and fetched after the last key seen, so a page costs the same at the start and in
the middle of a million rows), times in ISO 8601."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from idp.storage.db import Database

Row = TypeVar("Row")


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_after: Any = None  # the last item's key when another page follows, else None


def keyset(
    db: Database,
    query: Select[Row],
    key: InstrumentedAttribute[Any],
    after: object | None,
    limit: int,
    describe: Callable[[Row], dict[str, Any]],
    *,
    newest_first: bool = False,
) -> Page:
    """One page of the query in the order of `key` (descending when `newest_first`): at most
    `limit` items after the key `after`, and where the next page starts."""
    if after is not None:
        query = query.where(key < after if newest_first else key > after)
    query = query.order_by(key.desc() if newest_first else key).limit(limit + 1)
    with db.read() as session:
        rows = list(session.scalars(query))
        more, rows = len(rows) > limit, rows[:limit]
        last = getattr(rows[-1], key.key) if more and rows else None
        return Page([describe(row) for row in rows], last)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
