"""The token signing keys in the back office (admin): their public facts, and a rotation (next
keys become active, active ones retire and stay published until their last token expires)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.domain import keys
from idp.domain.keys import KeyRing
from idp.domain.secrets import MasterKey
from idp.storage.db import Database


@dataclass(frozen=True)
class SigningKeys:
    db: Database
    master: MasterKey
    ring: KeyRing  # this process's keys, reloaded at once (others within their refresh)
    longest_token_ttl: int  # seconds a retired key stays published, less a minute

    def describe_all(self) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return keys.describe_all(session)

    def rotate(self, officer: str) -> list[str]:
        """The kids made active."""
        with self.db.session() as session:
            activated = keys.rotate(session, self.master, self.longest_token_ttl, officer)
        self.ring.reload()
        return activated
