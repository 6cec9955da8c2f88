"""Errors shown to people: every message in Thai and in English, never a stack trace.

A `Message` names a text of the idp catalogs (idp/translations: the msgid is the English text)
and the values of its `{placeholders}`; it is rendered in a locale only when shown.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from softtoken_i18n.catalogs import Catalogs

CATALOG_DIR = Path(__file__).resolve().parent.parent / "translations"


@cache
def catalogs() -> Catalogs:
    """The idp catalogs, read once."""
    return Catalogs(CATALOG_DIR)


class Message:
    """A msgid of the idp catalogs and its values: `Message("{name} must be a string", name=n)`."""

    __slots__ = ("msgid", "values")

    def __init__(self, msgid: str, /, **values: object) -> None:
        self.msgid = msgid
        self.values = values

    def __repr__(self) -> str:
        return f"Message({self.msgid!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Message) and other.msgid == self.msgid and other.values == self.values
        )

    def __hash__(self) -> int:
        return hash(self.msgid)

    def __str__(self) -> str:
        return f"{self.th} / {self.en}"

    def text(self, locale: str) -> str:
        return catalogs().text(locale, self.msgid, **self.values)

    @property
    def th(self) -> str:
        return self.text("th")

    @property
    def en(self) -> str:
        return self.text("en")


class Relayed(Message):
    """Both texts as another component's API gave them (push_auth's errors carry their Thai and
    English): shown as given, not looked up in the idp catalogs."""

    __slots__ = ("given",)

    def __init__(self, th: str, en: str) -> None:
        super().__init__(en)
        self.given = {"th": th, "en": en}

    def text(self, locale: str) -> str:
        return self.given["th" if locale == "th" else "en"]


class UserFacingError(Exception):
    """Bad input or a refused action; the message is safe to show."""

    def __init__(self, message: Message, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotFound(UserFacingError):
    """The thing asked for does not exist (an HTTP 404 where there is HTTP)."""
