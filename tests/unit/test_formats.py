"""Dates in the Buddhist era on Thai pages and emails, Gregorian on English ones, in Bangkok
time; numbers and money with thousands separators (softtoken_i18n.formats)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from softtoken_i18n.formats import format_date, format_datetime, format_money, format_number

MOMENT = datetime(2026, 12, 1, 7, 5, tzinfo=UTC)  # 14:05 in Bangkok


def test_thai_dates_are_in_the_buddhist_era_and_bangkok_time() -> None:
    assert format_datetime(MOMENT, "th") == "1 ธ.ค. 2569 14:05 น."
    assert format_date(MOMENT, "th") == "1 ธ.ค. 2569"
    assert format_date(date(2027, 1, 31), "th") == "31 ม.ค. 2570"


def test_english_dates_are_gregorian_in_bangkok_time() -> None:
    assert format_datetime(MOMENT, "en") == "1 Dec 2026 14:05"
    assert format_date(MOMENT, "en") == "1 Dec 2026"


def test_the_day_is_bangkoks_not_utcs() -> None:
    late = datetime(2026, 12, 31, 18, 30, tzinfo=UTC)  # already 1 January 2027 in Bangkok
    assert format_datetime(late, "th") == "1 ม.ค. 2570 01:30 น."
    assert format_datetime(late, "en") == "1 Jan 2027 01:30"
    elsewhere = datetime(2026, 12, 1, 9, 5, tzinfo=timezone(timedelta(hours=2)))
    assert format_datetime(elsewhere, "en") == "1 Dec 2026 14:05"


def test_iso_text_and_naive_values_are_utc() -> None:
    assert format_datetime("2026-12-01T07:05:00+00:00", "th") == "1 ธ.ค. 2569 14:05 น."
    assert format_datetime("2026-12-01T07:05:00", "en") == "1 Dec 2026 14:05"
    assert format_datetime(datetime(2026, 12, 1, 7, 5), "en") == "1 Dec 2026 14:05"


def test_numbers_and_money_take_thousands_separators() -> None:
    assert format_number(1234567) == "1,234,567"
    assert format_number("1234.5", 2) == "1,234.50"
    assert format_money(Decimal("125000"), "th") == "125,000.00 บาท"
    assert format_money("1234.5", "en") == "THB 1,234.50"
    assert format_money(10, "th", "USD") == "10.00 USD"
