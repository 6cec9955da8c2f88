"""What "this application requires Soft Token" offers a signed-in user who holds none: the
next step of the lifecycle (issue #16), never /register for an approved user."""

from __future__ import annotations

import pytest

from idp.domain import lifecycle
from idp.domain.lifecycle import Account, Credential, State
from idp.web.signin.next_step import link, next_step


def _account(state: State) -> Account:
    return Account(
        user_id="T05005000000299",
        state=state,
        credential=Credential.CHOSEN,
        must_change_password=False,
        registration_status=None,
        device=None,
        abilities=lifecycle._abilities(state, Credential.CHOSEN, False),
        officer_actions=frozenset(),
    )


@pytest.mark.parametrize(
    ("state", "step", "page"),
    [
        (State.PROVISIONED, "register", "/register?next=t"),
        (State.REGISTERING, "continue", "/register?next=t"),
        (State.PROOFED, "continue", "/register?next=t"),
        (State.AWAITING_APPROVAL, "waiting", "/register?next=t"),
        (State.APPROVED, "activate", "/activate?next=t"),
        (State.REJECTED, "again", "/register?next=t"),
        (State.CANCELLED, "again", "/register?next=t"),
        (State.DEVICE_REVOKED, "again", "/register?next=t"),
        (State.HOLDER_CHANGED, "again", "/register?next=t"),
        (State.SUSPENDED, "suspended", "/account"),
        (State.DISABLED, "account", "/account"),
    ],
)
def test_next_step_follows_the_lifecycle(state: State, step: str, page: str) -> None:
    assert next_step(_account(state)) == step
    assert link(step, "t") == page


def test_without_a_session_registering_is_offered() -> None:
    assert next_step(None) == "register"
