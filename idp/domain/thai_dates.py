"""Dates as Thai readers expect them: Buddhist era, Thai month names, Bangkok time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")
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
BUDDHIST_ERA_OFFSET = 543


def format_datetime(value: datetime, locale: str) -> str:
    """25 พ.ย. 2569 14:30 น. in Thai; 25 Nov 2026 14:30 (UTC+7) in English."""
    local = value.astimezone(BANGKOK)
    if locale == "th":
        month = THAI_MONTHS[local.month - 1]
        return f"{local.day} {month} {local.year + BUDDHIST_ERA_OFFSET} {local:%H:%M} น."
    return f"{local.day} {local:%b %Y %H:%M} (UTC+7)"
