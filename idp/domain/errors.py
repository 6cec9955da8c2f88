"""Errors shown to people: every message in Thai and in English, never a stack trace."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    th: str
    en: str

    def __str__(self) -> str:
        return f"{self.th} / {self.en}"

    def text(self, locale: str) -> str:
        return self.th if locale == "th" else self.en


class UserFacingError(Exception):
    """Bad input or a refused action; the message is safe to show."""

    def __init__(self, message: Message, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


class NotFound(UserFacingError):
    """The thing asked for does not exist (an HTTP 404 where there is HTTP)."""
