"""The lifecycle model alone: what each state allows, and that no handler reads its flags."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from idp.domain.lifecycle import (
    DEVICE_STATES,
    Ability,
    Credential,
    DeviceView,
    OfficerAction,
    State,
    _abilities,
    _device_state,
    _officer_actions,
)

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = [
    *sorted((ROOT / "idp" / "web").rglob("*.py")),
    *sorted((ROOT / "idp" / "admin_api").glob("*.py")),
    *sorted((ROOT / "idp" / "oidc").glob("*.py")),
    ROOT / "idp" / "cli.py",
]
FLAG = re.compile(
    r"\.(must_change_password|single_use_password|assignment_order_on_file|disabled)\b"
)


def test_no_handler_reads_or_writes_a_lifecycle_flag() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in HANDLERS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FLAG.search(line)
    ]
    assert found == [], "ask idp.domain.lifecycle instead:\n" + "\n".join(found)


@pytest.mark.parametrize("state", list(State))
def test_a_phone_pairs_only_after_approval(state: State) -> None:
    for credential in Credential:
        allowed = _abilities(state, credential, must_change=False)
        assert (Ability.ACTIVATE in allowed) == (state is State.APPROVED)


@pytest.mark.parametrize("state", list(State))
def test_push_needs_a_usable_phone(state: State) -> None:
    allowed = _abilities(state, Credential.CHOSEN, must_change=False)
    usable = state in (State.DEVICE_ACTIVE, State.WARNED, State.RENEWING)
    assert (Ability.PUSH in allowed) == usable


def test_a_disabled_account_may_do_nothing() -> None:
    assert _abilities(State.DISABLED, Credential.CHOSEN, must_change=True) == frozenset()
    assert _officer_actions(State.DISABLED, "activated") == frozenset()
    with_phone = _officer_actions(State.DISABLED, "activated", has_device=True)
    assert with_phone == frozenset({OfficerAction.REVOKE_DEVICE})  # a lost phone still goes


def test_a_spent_one_time_password_only_leads_to_the_change() -> None:
    allowed = _abilities(State.PROVISIONED, Credential.INITIAL_SPENT, must_change=True)
    assert Ability.SIGN_IN not in allowed
    assert Ability.CHANGE_PASSWORD in allowed
    chosen = _abilities(State.PROVISIONED, Credential.CHOSEN, must_change=False)
    assert Ability.SIGN_IN in chosen
    assert Ability.CHANGE_PASSWORD not in chosen


def test_renewal_is_offered_when_warned_and_forced_when_expired() -> None:
    assert Ability.RENEW in _abilities(State.WARNED, Credential.CHOSEN, False)
    expired = _abilities(State.EXPIRED, Credential.CHOSEN, False)
    assert Ability.RENEW in expired
    assert Ability.PUSH not in expired
    assert Ability.RENEW not in _abilities(State.DEVICE_ACTIVE, Credential.CHOSEN, False)


def test_officers_lift_only_a_suspension_and_revoke_only_a_device() -> None:
    for state in State:
        actions = _officer_actions(state, None)
        assert (OfficerAction.LIFT_SUSPENSION in actions) == (state is State.SUSPENDED)
        assert (OfficerAction.REVOKE_DEVICE in actions) == (state in DEVICE_STATES)
    assert OfficerAction.MARK_ASSIGNMENT_ORDER not in _officer_actions(State.APPROVED, "approved")


def test_a_renewal_never_used_does_not_hide_an_ended_certificate() -> None:
    now = datetime.now(UTC)
    renewing = DeviceView("d", "active", now + timedelta(days=700), renewing=True)
    assert _device_state(renewing, now, timedelta(days=30)) is State.RENEWING
    both_ended = DeviceView("d", "active", now - timedelta(seconds=1), renewing=True)
    assert _device_state(both_ended, now, timedelta(days=30)) is State.EXPIRED
