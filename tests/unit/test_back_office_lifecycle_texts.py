"""The back office keeps step with the account lifecycle and the user import: a text for every
lifecycle state, a form for every officer action, a rule for every CSV column."""

from __future__ import annotations

from pathlib import Path

from admin_ui.screens.users import IMPORT_COLUMNS
from admin_ui.texts import pairs
from idp.domain.lifecycle import OfficerAction, State
from idp.domain.users import COLUMNS, REQUIRED_COLUMNS

TEMPLATES = Path(__file__).resolve().parents[2] / "admin_ui" / "templates"
TEXTS = pairs()  # key → (Thai, English), from the catalogs


def test_every_lifecycle_state_has_a_text() -> None:
    assert sorted(s.value for s in State if f"lifecycle.{s.value}" not in TEXTS) == []


def test_the_user_page_offers_each_officer_action_only_when_the_lifecycle_allows_it() -> None:
    page = (TEMPLATES / "user.html").read_text(encoding="utf-8")
    for action in OfficerAction:
        assert f'{{% if "{action.value}" in actions %}}' in page, action
    assert 'device.status == "active"' not in page  # no decision of its own


def test_the_import_page_lists_every_column_with_its_rule() -> None:
    assert tuple(name for name, _ in IMPORT_COLUMNS) == COLUMNS
    assert {name for name, required in IMPORT_COLUMNS if required} == set(REQUIRED_COLUMNS)
    assert sorted(n for n, _ in IMPORT_COLUMNS if f"import.rule.{n}" not in TEXTS) == []
    rules = TEXTS["import.rule.assignment_order_on_file"]
    assert "ใช่" in rules[0]
    assert "yes" in rules[1]
