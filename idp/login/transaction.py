"""A sign-in in progress: the request that started it, the factors proven and the steps done.

Kept in the expiring store between requests (any process may continue it). A transaction of
another shape (written before an upgrade) is treated as expired: the user starts again.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from idp.domain.secrets import random_token
from idp.storage.expiring import ExpiringStore


@dataclass
class LoginTransaction:
    id: str
    params: list[tuple[str, str]]
    client_id: str
    created: int
    user_id: str | None = None
    factors_done: list[str] = field(default_factory=list)  # idp.login.factors names
    reported_amr: list[str] = field(default_factory=list)  # what the phone said it checked
    steps_done: list[str] = field(default_factory=list)  # steps that prove no factor
    authenticated_at: int | None = None
    consented: bool = False
    return_to: str | None = None  # a page of ours (e.g. /activate) instead of an authorization
    # A step-up continues this SSO session (its password is kept): it completes only while
    # that session lives, for its user (idp.login.completion).
    session_sid: str | None = None
    # The highest level the request asks for (idp.login.assurance.wanted): "choose a factor"
    # offers only the factors that reach it (a passkey for the phishing-resistant level).
    wanted_acr: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # what the steps keep between requests

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    def proved(self, factor: str, reported: set[str] | None = None) -> None:
        if factor not in self.factors_done:
            self.factors_done.append(factor)
        self.reported_amr = sorted({*self.reported_amr, *(reported or ())})

    @property
    def fresh(self) -> bool:
        """Signed in within this transaction (not only carried over from a session)."""
        return (self.authenticated_at or 0) >= self.created

    def start_over(self) -> None:
        """Forget who is signing in, what they proved and allowed (after a password change, or
        a step-up whose session ended): a full sign-in from the password."""
        self.user_id, self.factors_done, self.reported_amr = None, [], []
        self.steps_done, self.extra = [], {}
        self.authenticated_at, self.consented, self.session_sid = None, False, None


FIELDS = frozenset(f.name for f in dataclasses.fields(LoginTransaction))


class Transactions:
    def __init__(self, store: ExpiringStore, ttl: int) -> None:
        self._store = store
        self._ttl = ttl

    def start(
        self, params: list[tuple[str, str]], client_id: str, **fields: Any
    ) -> LoginTransaction:
        txn = LoginTransaction(random_token(24), params, client_id, int(time.time()), **fields)
        self.save(txn)
        return txn

    def save(self, txn: LoginTransaction) -> None:
        self._store.put("txn:" + txn.id, asdict(txn), self._ttl)

    def get(self, txn_id: str) -> LoginTransaction | None:
        if len(txn_id) > 64:
            return None
        data = self._store.get("txn:" + txn_id)
        if data is None or set(data) != FIELDS:
            return None
        data["params"] = [tuple(pair) for pair in data["params"]]
        return LoginTransaction(**data)

    def finish(self, txn: LoginTransaction) -> None:
        self._store.delete("txn:" + txn.id)
