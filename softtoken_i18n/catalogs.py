"""Message catalogs: one Babel .po file per locale under `<directory>/<locale>/LC_MESSAGES/`.

The msgid is the English text (Babel's convention) or, where one English word needs two Thai
ones, a key such as `device:suspended` whose English is in the en catalog. A text missing from a
catalog shows its msgid; a test keeps every msgid used in code and templates in both catalogs.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = ("th", "en")


class Catalogs:
    """msgid → translated text, per locale, loaded once from the .po files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
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

    def text(self, locale: str, msgid: str, **values: object) -> str:
        return self.gettext(locale)(msgid, **values)

    def missing(self, locale: str, msgids: set[str]) -> set[str]:
        return msgids - set(self._messages.get(locale, {}))

    def translations(self, locale: str) -> dict[str, str]:
        """Every msgid → text of a locale (for the tests that look for untranslated pages)."""
        return dict(self._messages.get(locale, {}))


class Translator:
    """`_("msgid", name=value)`: the text in one locale, `{name}` placeholders filled."""

    def __init__(self, messages: dict[str, str]) -> None:
        self._messages = messages

    def __call__(self, msgid: str, **values: object) -> str:
        text = self._messages.get(msgid, msgid)
        return text.format(**values) if values else text
