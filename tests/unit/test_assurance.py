"""The assurance policy (idp.login.assurance): which factors reach which `acr`, the `amr` behind
them, and what a session still lacks for a request — every combination the README documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idp.domain import acr
from idp.domain.acr import ACR_PASSWORD, ACR_PUSH
from idp.domain.lifecycle import Ability, Account, Credential, DeviceView, State
from idp.login.assurance import (
    REFUSED,
    SATISFIED,
    SUPPORTED,
    Assurance,
    Missing,
    Proven,
    Requirement,
)
from idp.login.completion import Verdict, verdict
from idp.login.factors.password import PASSWORD
from idp.login.factors.push import PUSH_COMPARE, PUSH_SEQUENCE, for_mode, reported_amr
from idp.login.sso import SsoSession
from idp.login.transaction import LoginTransaction
from idp.web.i18n import Catalogs

SEQUENCE = Assurance([PASSWORD, PUSH_SEQUENCE])
COMPARE = Assurance([PASSWORD, PUSH_COMPARE])
NOW = 1_000_000
PHONE = ("push_sequence",)
FULL_WITH_PHONE = Missing((("password",), PHONE))
FULL = Missing((("password",),))
STEP_UP = Missing((PHONE,), keep=("password",))


@pytest.mark.parametrize(
    ("policy", "factors", "acr"),
    [
        (SEQUENCE, [], None),
        (SEQUENCE, ["password"], ACR_PASSWORD),
        (SEQUENCE, ["password", "push_sequence"], ACR_PUSH),
        (SEQUENCE, ["push_sequence"], None),  # a phone alone is no sign-in
        (COMPARE, ["password", "push_compare"], ACR_PASSWORD),  # never the push level
        (SEQUENCE, ["password", "unknown"], ACR_PASSWORD),
    ],
)
def test_achieved(policy: Assurance, factors: list[str], acr: str | None) -> None:
    assert policy.achieved(factors) == acr


@pytest.mark.parametrize(
    ("factors", "reported", "amr"),
    [
        (["password"], [], ["pwd"]),
        (["password", "push_sequence"], [], ["mfa", "pwd", "swk"]),
        (["password", "push_sequence"], ["pin"], ["mfa", "pin", "pwd", "swk"]),
        (["password", "push_sequence"], ["face"], ["face", "mfa", "pwd", "swk", "user"]),
        (["password", "push_compare"], ["fpt"], ["fpt", "mfa", "pwd", "swk", "user"]),
    ],
)
def test_amr(factors: list[str], reported: list[str], amr: list[str]) -> None:
    policy = Assurance([PASSWORD, PUSH_SEQUENCE, PUSH_COMPARE])
    assert policy.amr(factors, reported_amr(reported)) == amr


def test_the_phone_reports_only_what_rfc_8176_names() -> None:
    assert reported_amr(["pin", "retina", "face"]) == {"pin", "face", "user"}


def test_the_mode_chooses_the_push_factor() -> None:
    assert for_mode("sequence") is PUSH_SEQUENCE
    assert for_mode("compare") is PUSH_COMPARE


def _session(acr: str = ACR_PASSWORD, age: int = 60) -> Proven:
    return Proven(acr, ("password",) if acr == ACR_PASSWORD else ("password", "push"), NOW - age)


@pytest.mark.parametrize(
    ("proven", "requirement", "held", "missing"),
    [
        # no session: a full sign-in, with the phone when there is one
        (None, Requirement(), (), FULL),
        (None, Requirement(), PHONE, FULL_WITH_PHONE),
        # a session is enough as it is
        (_session(), Requirement(), (), SATISFIED),
        (_session(ACR_PUSH), Requirement(), PHONE, SATISFIED),
        # prompt=login: everything again
        (_session(ACR_PUSH), Requirement(fresh=True), PHONE, FULL_WITH_PHONE),
        (_session(), Requirement(fresh=True), (), FULL),
        # max_age: only the phone again when there is one, the password otherwise
        (_session(ACR_PUSH, age=600), Requirement(max_age=300), PHONE, STEP_UP),
        (_session(age=600), Requirement(max_age=300), (), FULL),
        (_session(ACR_PUSH, age=200), Requirement(max_age=300), PHONE, SATISFIED),
        (_session(ACR_PUSH, age=300), Requirement(max_age=300), PHONE, SATISFIED),
        (_session(ACR_PUSH, age=300), Requirement(max_age=0), PHONE, STEP_UP),
        # acr_values: voluntary, a step-up when the user holds the phone
        (_session(), Requirement(asked=(ACR_PUSH,)), PHONE, STEP_UP),
        (_session(), Requirement(asked=(ACR_PUSH,)), (), SATISFIED),
        (_session(ACR_PUSH), Requirement(asked=(ACR_PUSH,)), PHONE, SATISFIED),
        (_session(), Requirement(asked=(ACR_PASSWORD,)), PHONE, SATISFIED),
        (_session(), Requirement(asked=("urn:unknown",)), PHONE, SATISFIED),
        # an essential acr claim: a step-up if possible, refused if not
        (_session(), Requirement(essential=(ACR_PUSH,)), PHONE, STEP_UP),
        (_session(), Requirement(essential=(ACR_PUSH,)), (), REFUSED),
        (_session(), Requirement(essential=(ACR_PASSWORD, ACR_PUSH)), (), SATISFIED),
        (_session(ACR_PUSH), Requirement(essential=(ACR_PUSH,)), PHONE, SATISFIED),
        (_session(ACR_PUSH), Requirement(essential=("urn:unknown",)), PHONE, REFUSED),
        # the client's minimum: the same
        (_session(), Requirement(minimum=ACR_PUSH), PHONE, STEP_UP),
        (_session(), Requirement(minimum=ACR_PUSH), (), REFUSED),
        (_session(), Requirement(minimum=ACR_PASSWORD), (), SATISFIED),
        (_session(ACR_PUSH), Requirement(minimum=ACR_PUSH), PHONE, SATISFIED),
    ],
)
def test_missing(
    proven: Proven | None, requirement: Requirement, held: tuple[str, ...], missing: Missing
) -> None:
    assert SEQUENCE.missing(proven, requirement, held, NOW) == missing


def test_a_sign_in_just_finished_is_only_checked_for_refusal() -> None:
    """Back from the sign-in this request started: prompt=login and max_age are met."""
    just = Proven(ACR_PASSWORD, ("password",), NOW - 5)
    aged = Requirement(fresh=True, max_age=0, asked=(ACR_PUSH,))
    assert SEQUENCE.missing(just, aged, PHONE, NOW, just_signed_in=True) == SATISFIED
    floor = Requirement(minimum=ACR_PUSH)
    assert SEQUENCE.missing(just, floor, (), NOW, just_signed_in=True) == REFUSED


def test_compare_mode_never_steps_up_for_a_level_it_cannot_reach() -> None:
    held = ("push_compare",)
    session = _session()
    assert COMPARE.missing(session, Requirement(asked=(ACR_PUSH,)), held, NOW) == SATISFIED
    assert COMPARE.missing(session, Requirement(minimum=ACR_PUSH), held, NOW) == REFUSED


def test_who_holds_a_phone_signs_in_with_it() -> None:
    assert SEQUENCE.missing(None, Requirement(), PHONE, NOW).needs[-1] == PHONE


@pytest.mark.parametrize(
    ("acr", "age", "fresh_enough"),
    [
        (ACR_PUSH, 60, True),
        (ACR_PUSH, 900, True),
        (ACR_PUSH, 901, False),
        (ACR_PASSWORD, 60, False),
        ("", 60, False),
    ],
)
def test_the_back_office_step_up(acr: str, age: int, fresh_enough: bool) -> None:
    requirement = Requirement(minimum=ACR_PUSH, max_age=900)
    assert SEQUENCE.fresh_enough(acr, NOW - age, requirement, NOW) is fresh_enough


def test_the_policy_knows_every_level_a_client_may_ask_for() -> None:
    assert SUPPORTED == acr.SUPPORTED


def test_every_factor_has_a_thai_name_for_the_choice_page() -> None:
    labels = {f.label for f in (PASSWORD, PUSH_SEQUENCE, PUSH_COMPARE)}
    assert Catalogs().missing("th", labels) == set()


BOTH = ["password", "push_sequence"]


def _account(abilities: set[Ability], device: bool = False) -> Account:
    view = DeviceView("d1", "active", datetime(2030, 1, 1, tzinfo=UTC), False) if device else None
    return Account(
        "T05005000000201",
        State.DEVICE_ACTIVE if device else State.PROVISIONED,
        Credential.CHOSEN,
        False,
        None,
        view,
        frozenset(abilities),
        frozenset(),
    )


def _sso(sid: str = "s1", user: str = "T05005000000201") -> SsoSession:
    return SsoSession(sid, user, NOW, ACR_PUSH, ["pwd"], float(NOW), ("password",))


@pytest.mark.parametrize(
    ("session_sid", "session", "abilities", "device", "factors", "expected"),
    [
        (None, None, {Ability.SIGN_IN}, False, ["password"], Verdict.COMPLETE),
        (None, None, {Ability.SIGN_IN}, True, BOTH, Verdict.COMPLETE),
        # whoever holds the phone proves it, whatever the steps did
        (None, None, {Ability.SIGN_IN}, True, ["password"], Verdict.REFUSED),
        # disabled (or otherwise barred) since the password was checked
        (None, None, set(), False, ["password"], Verdict.REFUSED),
        # a step-up completes only while its session lives, for its user
        ("s1", _sso(), {Ability.SIGN_IN}, True, BOTH, Verdict.COMPLETE),
        ("s1", None, {Ability.SIGN_IN}, True, BOTH, Verdict.START_OVER),
        (
            "s1",
            _sso("s2"),
            {Ability.SIGN_IN},
            True,
            ["password", "push_sequence"],
            Verdict.START_OVER,
        ),
        (
            "s1",
            _sso(user="T1"),
            {Ability.SIGN_IN},
            True,
            ["password", "push_sequence"],
            Verdict.START_OVER,
        ),
    ],
)
def test_the_last_check_before_a_session(
    session_sid: str | None,
    session: SsoSession | None,
    abilities: set[Ability],
    device: bool,
    factors: list[str],
    expected: Verdict,
) -> None:
    txn = LoginTransaction("t", [], "rp", NOW, user_id="T05005000000201", session_sid=session_sid)
    txn.factors_done = factors
    assert verdict(SEQUENCE, txn, _account(abilities, device), session) is expected


def test_a_step_up_keeps_the_sessions_password_only() -> None:
    pushed = Proven(ACR_PUSH, ("password", "push_sequence"), NOW - 600)
    assert SEQUENCE.missing(pushed, Requirement(max_age=60), PHONE, NOW).keep == ("password",)
    old = Proven(ACR_PUSH, (), NOW - 600)  # a session from before factors were recorded
    assert SEQUENCE.missing(old, Requirement(max_age=60), PHONE, NOW).keep == ("password",)


def test_starting_over_forgets_the_completion_and_the_consent() -> None:
    txn = LoginTransaction("t", [], "rp", NOW, user_id="u", session_sid="s", consented=True)
    txn.authenticated_at = NOW
    txn.start_over()
    assert (txn.user_id, txn.authenticated_at, txn.consented, txn.session_sid) == (
        None,
        None,
        False,
        None,
    )
    assert not txn.fresh
