"""The formats as Jinja2 filters in the page's `locale`: `{{ x.at | when }}` (date and time),
`{{ x.created_at | day }}`, `{{ amount | money }}`, `{{ count | number }}`; an empty value
shows "–". The idp's pages and the back office register the same filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from softtoken_i18n.formats import format_date, format_datetime, format_money, format_number

EMPTY = "–"


def _locale(context: Context) -> str:
    return str(context.get("locale") or "th")


@pass_context
def when(context: Context, value: Any, seconds: bool = False) -> str:
    return format_datetime(value, _locale(context), seconds) if value else EMPTY


@pass_context
def day(context: Context, value: Any) -> str:
    return format_date(value, _locale(context)) if value else EMPTY


@pass_context
def money(context: Context, value: Any, currency: str = "THB") -> str:
    return EMPTY if value in (None, "") else format_money(value, _locale(context), currency)


def number(value: Any, decimals: int | None = None) -> str:
    return EMPTY if value in (None, "") else format_number(value, decimals)


FILTERS: dict[str, Callable[..., str]] = {
    "when": when,
    "day": day,
    "money": money,
    "number": number,
}
