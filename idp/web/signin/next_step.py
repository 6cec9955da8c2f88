"""The next step toward Soft Token for a signed-in user who holds none (issue #16): what the
"this application requires Soft Token" page offers, asked of the lifecycle (its state and
abilities), never of the records' flags."""

from __future__ import annotations

from idp.domain.lifecycle import Ability, Account, State

AGAIN = frozenset({State.REJECTED, State.CANCELLED, State.DEVICE_REVOKED, State.HOLDER_CHANGED})
UNDER_WAY = frozenset({State.REGISTERING, State.PROOFED})
PAGES = {"activate": "/activate", "suspended": "/account", "account": "/account"}


def next_step(account: Account | None) -> str:
    """One of activate, waiting, continue, again, register, suspended, account."""
    if account is None:  # no session to ask about: registering is where everyone starts
        return "register"
    if account.may(Ability.ACTIVATE):
        return "activate"
    if account.state is State.SUSPENDED:
        return "suspended"
    if account.may(Ability.REGISTER):
        if account.state is State.AWAITING_APPROVAL:
            return "waiting"
        if account.state in UNDER_WAY:
            return "continue"
        return "again" if account.state in AGAIN else "register"
    return "account"


def link(step: str, token: str) -> str:
    """The page of that step; the detours carry the parked request (GET /continue after)."""
    page = PAGES.get(step, "/register")
    return page if page == "/account" else f"{page}?next={token}"
