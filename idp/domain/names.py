"""Comparing Thai and English personal names from different sources."""

from __future__ import annotations

import unicodedata

HONORIFICS = (
    "นางสาว",
    "น.ส.",
    "นาง",
    "นาย",
    "ด.ช.",
    "ด.ญ.",
    "เด็กชาย",
    "เด็กหญิง",
    "miss",
    "mrs.",
    "mrs",
    "mr.",
    "mr",
    "ms.",
    "ms",
)


def normalise_name(value: str) -> str:
    """NFC, single spaces, no honorific prefix, case-folded (for Latin names). Thai letters are
    never changed otherwise."""
    text = " ".join(unicodedata.normalize("NFC", value).split())
    lowered = text.casefold()
    for prefix in HONORIFICS:
        if lowered.startswith(prefix):
            text = text[len(prefix) :].lstrip()
            break
    return " ".join(text.split()).casefold()
