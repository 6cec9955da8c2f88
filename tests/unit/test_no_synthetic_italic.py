"""Sarabun ships no italic face here: no page may ask for italic Thai (a browser would slant it
synthetically), and every text field of a form is as wide as the others (issue #16, details)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    *sorted((ROOT / "idp/web/templates").rglob("*.html")),
    *sorted((ROOT / "admin_ui/templates").rglob("*.html")),
    *sorted((ROOT / "push_auth").rglob("*.html")),
]
ITALIC_TAGS = re.compile(r"<(em|i|cite|dfn|var|address)[\s>]")
STYLESHEET = ROOT / "idp/web/static/style.css"


def test_no_page_uses_an_italic_element_or_style() -> None:
    assert len(PAGES) > 20
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not ITALIC_TAGS.search(text), page
        assert "italic" not in text, page
    css = STYLESHEET.read_text(encoding="utf-8")
    assert "font-style: italic" not in css
    assert re.search(r"(^|[},\s])em, i, [^{]*\{ font-style: normal;", css)


def test_email_and_file_fields_are_as_wide_as_text_fields() -> None:
    css = STYLESHEET.read_text(encoding="utf-8")
    rule = next(line for line in css.splitlines() if "input[type=text]" in line)
    for kind in ("text", "password", "email", "file"):
        assert f"input[type={kind}]" in rule
    assert "width: 100%" in rule
