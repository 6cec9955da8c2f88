"""Dates as Thai readers expect them: Buddhist era, Thai month names, Bangkok time — the shared
formatter (softtoken_i18n.formats, also the back office's) under the names the idp uses."""

from __future__ import annotations

from softtoken_i18n.formats import BUDDHIST_ERA_OFFSET, THAI_MONTHS, format_date, format_datetime
from softtoken_i18n.formats import TIME_ZONE as BANGKOK

__all__ = ["BANGKOK", "BUDDHIST_ERA_OFFSET", "THAI_MONTHS", "format_date", "format_datetime"]
