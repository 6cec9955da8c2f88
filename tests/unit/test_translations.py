"""Every message the pages show has a Thai and an English text."""

from __future__ import annotations

import re

from idp.domain.clients import SCOPES
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
    dynamic |= {f"claim:{claim}" for claim in CARRIER}  # the consent page's claims parameter
    return found | dynamic | {f"scope:{scope}" for scope in SCOPES}


def test_every_template_message_is_translated() -> None:
    catalogs = Catalogs()
    msgids = _template_msgids()
    assert len(msgids) > 10
    assert catalogs.missing("th", msgids) == set()
    assert catalogs.missing("en", msgids) == set()


def test_placeholders_survive_translation() -> None:
    translate = Catalogs().gettext("th")
    assert translate("{client} asks for:", client="พอร์ทัล") == "พอร์ทัล ขอใช้ข้อมูลต่อไปนี้:"
