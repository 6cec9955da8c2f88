"""Thai first, English second: message catalogs (Babel .po files) and the request's locale."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from starlette.requests import Request

CATALOG_DIR = Path(__file__).resolve().parent.parent / "translations"
LOCALES = ("th", "en")
COOKIE = "lang"


class Catalogs:
    """msgid (English) → translated text, per locale, loaded once from the .po files."""

    def __init__(self, directory: Path = CATALOG_DIR) -> None:
        self._messages: dict[str, dict[str, str]] = {}
        for locale in LOCALES:
            path = directory / locale / "LC_MESSAGES" / "messages.po"
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            self._messages[locale] = {
                str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy
            }

    def gettext(self, locale: str) -> Translator:
        return Translator(self._messages.get(locale, {}))

    def missing(self, locale: str, msgids: set[str]) -> set[str]:
        return msgids - set(self._messages.get(locale, {}))


class Translator:
    def __init__(self, messages: dict[str, str]) -> None:
        self._messages = messages

    def __call__(self, msgid: str, **values: object) -> str:
        text = self._messages.get(msgid, msgid)
        return text.format(**values) if values else text


def request_locale(request: Request, default: str) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LOCALES:
            return candidate
    return default
