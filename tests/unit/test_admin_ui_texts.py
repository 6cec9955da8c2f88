"""Every word the back office shows exists in Thai and in English."""

from __future__ import annotations

import re
from pathlib import Path

from admin_ui.screens.clients import LIFETIMES, SCOPES
from admin_ui.screens.officers import ROLES
from admin_ui.screens.registrations import STATUSES
from admin_ui.screens.service_requests import HOLDER, REASON_GROUPS
from admin_ui.texts import pairs, translator
from push_auth.models import DeviceStatus

ROOT = Path(__file__).resolve().parents[2] / "admin_ui"
LITERAL = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z_.]+)["']\s*\)""")
TEXTS = pairs()  # key → (Thai, English), from the catalogs


def test_every_literal_key_in_templates_and_code_is_translated() -> None:
    used: set[str] = set()
    for path in [*ROOT.glob("templates/*.html"), *ROOT.rglob("*.py")]:
        used |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'"((?:flash|error)\.[a-z_]+[a-z])"', text))
    assert used, "the pattern found nothing"
    assert sorted(used - set(TEXTS) - {"error.html"}) == []  # a template's name


def test_every_dynamic_key_is_translated() -> None:
    reasons = [r for _, group in REASON_GROUPS for r in group]
    dynamic = [
        *(f"status.{s}" for s in STATUSES),
        *(f"reason.{r}" for r in reasons),
        *(g for g, _ in REASON_GROUPS),
        *(f"holder.{h}" for h in HOLDER),
        *(f"role.{r}" for r in ROLES),
        *(f"action.{a}" for a in ("reset_device", "change_holder", "change_email", "none")),
        *(f"sr.status.{s}" for s in ("received", "done", "rejected")),
        *(f"proofing.{p}" for p in ("none", "completed", "id_mismatch")),
        *(f"flash.user_{a}" for a in ("disable", "enable", "reset_password", "sign_out")),
        *(f"dashboard.{k}" for k in ("registrations_per_day", "sign_ins_per_day")),
        *(f"clients.{name}" for name in LIFETIMES),
        *(f"keys.state.{state}" for state in ("next", "active", "retired")),
        *(f"device.{status}" for status in DeviceStatus),
        *(f"outcome.{o}" for o in ("success", "failure", "alert", "locked", "declined")),
        *(f"result.{a}" for a in ("reset_device", "change_holder", "change_email", "none")),
    ]
    assert sorted(k for k in dynamic if k not in TEXTS) == []
    assert SCOPES


def test_both_languages_are_filled_in() -> None:
    for key, (th, en) in TEXTS.items():
        assert th.strip(), key
        assert en.strip(), key
    assert translator("th")("nav.users") == "ผู้ใช้งาน"
    assert translator("en")("nav.users") == "Users"
    assert translator("en")("no.such.key") == "no.such.key"
