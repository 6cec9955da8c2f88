"""Every word of the back office in Thai and English: the Babel catalogs under
admin_ui/translations, read with the same loader as the idp's (softtoken_i18n).

The msgids are keys (`nav.users`, `status.pending`) and the en catalog holds the English: the
same English word often needs two Thai ones here ("Officer": เจ้าหน้าที่ / เจ้าหน้าที่ผู้ดำเนินการ),
many keys are built from codes (`status.` + a registration's status), and the templates stay as
they are. A missing key shows the key itself; tests keep templates, code and both catalogs in step.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from softtoken_i18n.catalogs import Catalogs, Translator

CATALOG_DIR = Path(__file__).resolve().parent / "translations"


@cache
def catalogs() -> Catalogs:
    return Catalogs(CATALOG_DIR)


def translator(locale: str) -> Translator:
    return catalogs().gettext(locale)


def pairs() -> dict[str, tuple[str, str]]:
    """key → (Thai, English): every text of both catalogs (the tests' view of them)."""
    th, en = catalogs().translations("th"), catalogs().translations("en")
    return {key: (th.get(key, ""), en.get(key, "")) for key in th.keys() | en.keys()}
