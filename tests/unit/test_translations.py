"""Every message the pages and the code show has a Thai and an English text."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from idp.domain.clients import SCOPES
from idp.domain.errors import CATALOG_DIR
from idp.domain.self_service import SHOWN_EVENTS
from idp.oidc.claims import CARRIER
from idp.web.i18n import Catalogs
from idp.web.registration.proofing import PROOFING_REASONS
from idp.web.render import TEMPLATES
from idp.web.signin.push import ENDED

MSGID = re.compile(r"""_\(\s*"([^"]+)"\s*[,)]""")


def _template_msgids() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        found.update(MSGID.findall(path.read_text(encoding="utf-8")))
    dynamic = {f"push:{status}" for status in ENDED} | {f"step:{n}" for n in range(1, 6)}
    dynamic |= {f"state:{s}" for s in ("done", "current", "waiting", "locked", "rejected")}
    dynamic |= {f"proofing:{reason}" for reason in PROOFING_REASONS}
    dynamic |= {f"event:{action}" for action in SHOWN_EVENTS}
    dynamic |= {f"device:{status}" for status in ("active", "suspended", "revoked")}
    dynamic |= {f"outcome:{o}" for o in ("success", "failure", "alert", "locked", "declined")}
    dynamic |= {f"claim:{claim}" for claim in CARRIER}  # the consent page's claims parameter
    return found | dynamic | {f"scope:{scope}" for scope in SCOPES}


def test_every_template_message_is_translated() -> None:
    catalogs = Catalogs()
    msgids = _template_msgids()
    assert len(msgids) > 10
    assert catalogs.missing("th", msgids) == set()
    assert catalogs.missing("en", msgids) == set()


def _code_msgids(package: Path) -> set[str]:
    """The msgid of every `Message("…")` in the code; a msgid must be a literal so it is checked."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        if "migrations" in path.parts or path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Message":
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: not a literal"
                given = {k.arg for k in node.keywords}
                assert _placeholders(str(first.value)) == given, f"{path}:{node.lineno}: values"
                found.add(str(first.value))
    return found


def test_every_code_message_is_translated() -> None:
    catalogs = Catalogs()
    msgids = _code_msgids(CATALOG_DIR.parent)
    assert len(msgids) > 150
    assert catalogs.missing("th", msgids) == set()
    assert catalogs.missing("en", msgids) == set()


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_translations_use_only_their_msgids_placeholders() -> None:
    catalogs = Catalogs()
    for locale in ("th", "en"):
        for msgid, text in catalogs.translations(locale).items():
            assert _placeholders(text) <= _placeholders(msgid), (locale, msgid)


def test_placeholders_survive_translation() -> None:
    translate = Catalogs().gettext("th")
    assert translate("{client} asks for:", client="พอร์ทัล") == "พอร์ทัล ขอใช้ข้อมูลต่อไปนี้:"
