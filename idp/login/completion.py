"""The last check before a sign-in becomes an SSO session, whatever the steps did: the account
may still sign in, a step-up's session still lives for the same user, and whoever holds a
second factor has proved one. A step that forgot to apply cannot hand out a session."""

from __future__ import annotations

from enum import StrEnum

from idp.domain.lifecycle import Ability, Account
from idp.login.assurance import Assurance
from idp.login.sso import SsoSession
from idp.login.transaction import LoginTransaction


class Verdict(StrEnum):
    COMPLETE = "complete"
    START_OVER = "start_over"  # a step-up whose session ended: sign in from the password
    REFUSED = "refused"  # the account may not sign in, or a held factor was not proved


def verdict(
    assurance: Assurance,
    txn: LoginTransaction,
    account: Account,
    session: SsoSession | None,
) -> Verdict:
    if txn.session_sid is not None and (
        session is None or session.sid != txn.session_sid or session.user_id != txn.user_id
    ):
        return Verdict.START_OVER
    if not account.may(Ability.SIGN_IN):
        return Verdict.REFUSED
    held = assurance.holds(account)
    if held and not set(held) & set(txn.factors_done):
        return Verdict.REFUSED
    return Verdict.COMPLETE
