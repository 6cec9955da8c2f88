"""Every message the pages and the code show has a Thai and an English text."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from jinja2 import Environment
from jinja2.ext import extract_from_ast

from idp.domain.clients import SCOPES
from idp.domain.errors import CATALOG_DIR
from idp.domain.self_service import SHOWN_EVENTS
from idp.mail.messages import SUBJECTS
from idp.mail.messages import TEMPLATES as MAIL_TEMPLATES
from idp.oidc.claims import CARRIER
from idp.web.i18n import Catalogs
from idp.web.registration.proofing import PROOFING_REASONS
from idp.web.render import TEMPLATES
from idp.web.signin.push import ENDED
from push_auth.errors import CATALOG_DIR as PUSH_CATALOG_DIR
from push_auth.errors import catalogs as push_catalogs
from push_auth.webapp.ceremony import REASONS as WEBAUTHN_REASONS
from softtoken_i18n.catalogs import Catalogs as BaseCatalogs

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


def _mail_msgids() -> set[str]:
    """The msgids of the email templates (`_`, and `th`/`en` in base.html) and subjects."""
    found = set(SUBJECTS.values())
    for path in MAIL_TEMPLATES.iterdir():
        tree = Environment(autoescape=True).parse(path.read_text(encoding="utf-8"))
        for _, _, message in extract_from_ast(tree, gettext_functions=("_", "th", "en")):
            msgid = message[0] if isinstance(message, tuple) else message
            assert isinstance(msgid, str), f"{path.name}: a msgid must be a literal"
            found.add(msgid)
    return found


def _assert_translated(catalogs: BaseCatalogs, msgids: set[str], at_least: int) -> None:
    assert len(msgids) > at_least
    assert catalogs.missing("th", msgids) == set()
    assert catalogs.missing("en", msgids) == set()


def test_every_email_message_is_translated() -> None:
    _assert_translated(Catalogs(), _mail_msgids(), 50)


def _code_msgids(package: Path) -> set[str]:
    """The msgid of every `Message("…")` in the code; a msgid must be a literal so it is checked."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        if "migrations" in path.parts or path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Message":
                found.add(_literal(path, node, node.args[0] if node.args else None))
    return found


def _literal(path: Path, call: ast.Call, msgid: ast.expr | None) -> str:
    """The msgid a call passes, which must be a literal whose placeholders the call fills."""
    assert isinstance(msgid, ast.Constant), f"{path}:{call.lineno}: not a literal"
    given = {k.arg for k in call.keywords}
    assert _placeholders(str(msgid.value)) == given, f"{path}:{call.lineno}: values"
    return str(msgid.value)


def test_every_code_message_is_translated() -> None:
    catalogs = Catalogs()
    msgids = _code_msgids(CATALOG_DIR.parent)
    assert len(msgids) > 150
    assert catalogs.missing("th", msgids) == set()
    assert catalogs.missing("en", msgids) == set()


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_translations_use_only_their_msgids_placeholders() -> None:
    _check_placeholders(Catalogs())


def _check_placeholders(catalogs: BaseCatalogs) -> None:
    for locale in ("th", "en"):
        for msgid, text in catalogs.translations(locale).items():
            assert _placeholders(text) <= _placeholders(msgid), (locale, msgid)


def test_placeholders_survive_translation() -> None:
    translate = Catalogs().gettext("th")
    assert translate("{client} asks for:", client="พอร์ทัล") == "พอร์ทัล ขอใช้ข้อมูลต่อไปนี้:"


IDP_DIR = CATALOG_DIR.parent
PUSH_REFUSALS = {
    "PushError": 1,
    "bad_request": 1,
    "forbidden": 1,
    "unauthorized": 0,
    "AuthenticatorError": 0,  # the `softtoken` CLI's refusals
    "both": 0,  # and its other "Thai / English" texts
}


def _push_auth_msgids() -> set[str]:
    """The msgid of every refusal push_auth (or the idp, through push_auth.errors) raises: a
    literal, or one of the WebAuthn REASONS."""
    found = {msgid for _, _, msgid in WEBAUTHN_REASONS}
    users = [p for p in IDP_DIR.rglob("*.py") if "from push_auth.errors" in p.read_text("utf-8")]
    for path in [*PUSH_CATALOG_DIR.parent.rglob("*.py"), *users]:
        for node in ast.walk(ast.parse(path.read_bytes())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = PUSH_REFUSALS.get(node.func.id, -1)
            if position < 0 or len(node.args) <= position:
                continue
            msgid = node.args[position]
            if isinstance(msgid, ast.Name) and msgid.id == "msgid":
                continue  # the helpers passing theirs on, the REASONS loop
            found.add(_literal(path, node, msgid))
    return found


def test_every_push_auth_message_is_translated() -> None:
    catalogs = push_catalogs()
    _assert_translated(catalogs, _push_auth_msgids(), 40)
    _check_placeholders(catalogs)
