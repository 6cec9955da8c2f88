"""Dates, numbers and money as Thai readers expect them, and as English ones do.

Thai: the Buddhist era and Thai month abbreviations, "1 ธ.ค. 2569 14:05 น."; English: the
Gregorian calendar, "1 Dec 2026 14:05". Both in the deployment's time zone, Asia/Bangkok
(UTC+7 all year: Thailand keeps no daylight saving time, so a fixed offset needs no tzdata).
Numbers take thousands separators; money is "1,234.50 บาท" in Thai (as Thai government
documents write it) and "THB 1,234.50" in English.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

TIME_ZONE = timezone(timedelta(hours=7), "Asia/Bangkok")
THAI_MONTHS = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
ENGLISH_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
BUDDHIST_ERA_OFFSET = 543


def local(value: datetime | str, tz: timezone = TIME_ZONE) -> datetime:
    """An aware datetime (or its ISO 8601 text; a naive one is UTC) in the time zone."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz)


def format_date(value: date | datetime | str, locale: str) -> str:
    """1 ธ.ค. 2569 in Thai; 1 Dec 2026 in English (a datetime: its day in the time zone)."""
    day = local(value).date() if isinstance(value, datetime | str) else value
    if locale == "th":
        return f"{day.day} {THAI_MONTHS[day.month - 1]} {day.year + BUDDHIST_ERA_OFFSET}"
    return f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year}"


def format_datetime(value: datetime | str, locale: str, seconds: bool = False) -> str:
    """1 ธ.ค. 2569 14:05 น. in Thai; 1 Dec 2026 14:05 in English; in the time zone
    (`seconds`: 14:05:09, for the audit log)."""
    moment = local(value)
    clock = f"{moment:%H:%M:%S}" if seconds else f"{moment:%H:%M}"
    return f"{format_date(moment, locale)} {clock}" + (" น." if locale == "th" else "")


def format_number(value: int | float | Decimal | str, decimals: int | None = None) -> str:
    """1,234 or 1,234.50: thousands separated by commas (Thai and English alike)."""
    number = Decimal(str(value))
    if decimals is None:
        return f"{number:,}"
    return f"{number:,.{decimals}f}"


def format_money(amount: int | float | Decimal | str, locale: str, currency: str = "THB") -> str:
    """1,234.50 บาท in Thai, THB 1,234.50 in English; another currency keeps its code."""
    figure = format_number(amount, 2)
    if locale == "th":
        return f"{figure} {'บาท' if currency == 'THB' else currency}"
    return f"{currency} {figure}"
