"""A sign-in in progress: the authorization request that started it and the steps done so far."""

from __future__ import annotations

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
    amr: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    authenticated_at: int | None = None
    consented: bool = False
    return_to: str | None = None  # a page of ours (e.g. /activate) instead of an authorization
    extra: dict[str, Any] = field(default_factory=dict)  # what the steps keep between requests

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)


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
        if data is None:
            return None
        data["params"] = [tuple(pair) for pair in data["params"]]
        return LoginTransaction(**data)

    def finish(self, txn: LoginTransaction) -> None:
        self._store.delete("txn:" + txn.id)
