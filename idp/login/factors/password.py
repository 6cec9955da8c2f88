"""The password (manual chapter 3): a memorised secret, the first factor of every sign-in."""

from __future__ import annotations

from idp.domain.lifecycle import Ability, Account
from idp.login.factors import Factor, Kind


def _held(account: Account) -> bool:
    return account.may(Ability.SIGN_IN)


PASSWORD = Factor("password", Kind.KNOWLEDGE, frozenset({"pwd"}), False, _held, "Password")
