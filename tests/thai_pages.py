"""A Thai page shows no English text of our catalogs (issue #16): the English of every msgid
whose Thai differs is looked for in what the page shows, outside elements marked `lang="en"`
(the language switch) and after the Thai texts themselves are taken out (several keep an English
word in brackets, "รหัสผ่าน (Password)"). A one-word English text counts only when it is all of
an element's text (`<td>success</td>`), not a word in someone's data ("… reference app")."""

from __future__ import annotations

import html
import re
import string
from functools import cache
from html.parser import HTMLParser

from admin_ui.texts import catalogs as back_office_catalogs
from idp.domain.errors import catalogs as idp_catalogs
from softtoken_i18n.catalogs import Catalogs

HIDDEN = {"script", "style", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


class _Shown(HTMLParser):
    """The text a reader meets, outside lang="en" elements, scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # True: inside English or hidden
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang")
        hidden = self._hidden() or tag in HIDDEN or (lang is not None and lang != "th")
        if not hidden:
            self.parts += [str(values[a]) for a in SHOWN_ATTRIBUTES if values.get(a)]
        if tag not in VOID:
            self.stack.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden():
            self.parts.append(data)


def _pattern(text: str) -> re.Pattern[str]:
    """The text with its {placeholders} matching anything, as whole words."""
    pieces = [
        re.escape(literal) + (".+?" if name else "")
        for literal, name, _, _ in string.Formatter().parse(text)
    ]
    return re.compile(r"(?<![\w-])" + "".join(pieces) + r"(?![\w-])")


@cache
def _longest_piece(text: str) -> str:
    """The longest literal piece between a text's {placeholders}."""
    return max((literal for literal, _, _, _ in string.Formatter().parse(text)), key=len)


@cache
def _english() -> tuple[dict[str, re.Pattern[str]], set[str]]:
    """(texts of several words → their pattern, one-word texts)."""
    phrases: dict[str, re.Pattern[str]] = {}
    words: set[str] = set()
    for catalogs in _all():
        th, en = catalogs.translations("th"), catalogs.translations("en")
        for msgid, english in en.items():
            if th.get(msgid, english) == english or len(re.sub(r"\W", "", english)) < 4:
                continue
            if " " in english.strip():
                phrases[english] = _pattern(english)
            else:
                words.add(english.strip())
    return phrases, words


@cache
def _thai() -> tuple[str, ...]:
    texts = {t for c in _all() for t in c.translations("th").values() if "{" not in t}
    return tuple(sorted(texts, key=len, reverse=True))


def _all() -> tuple[Catalogs, ...]:
    return (idp_catalogs(), back_office_catalogs())


def english_on(page: str) -> list[str]:
    """The English texts of our catalogs a Thai page shows (empty: none)."""
    parser = _Shown()
    parser.feed(page)
    shown = html.unescape(" ".join(parser.parts))
    shown = re.sub(r"\s+", " ", shown)
    for thai in _thai():
        shown = shown.replace(thai, " ")
    phrases, words = _english()
    found = {
        english
        for english, pattern in phrases.items()
        if _longest_piece(english) in shown and pattern.search(shown)  # the regex only if likely
    }
    return sorted(found | (words & {part.strip() for part in parser.parts}))


def assert_thai(page: str, where: str = "") -> None:
    assert '<html lang="th"' in page, where
    left = english_on(page)
    assert not left, f"English on the Thai page {where}: {left}"
