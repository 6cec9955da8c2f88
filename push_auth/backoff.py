"""Push fatigue limits: every unanswered, denied or failed challenge doubles the wait before the
next push to that user (10 s, 20 s, … up to 1 h); an approval or an officer's lift clears it."""

from __future__ import annotations

from dataclasses import dataclass

from push_auth.errors import PushError
from push_auth.ports import Ephemeral, RealTime

BACKOFF_START = 10
BACKOFF_MAX = 3600
REMEMBERED = 86_400  # a day without refusals starts the doubling again from 10 s


@dataclass(frozen=True, kw_only=True)
class PushBackoff:
    ephemeral: Ephemeral
    real_time: RealTime

    def check(self, user_id: str) -> None:
        """Refuse (429) a push while this user's wait has not passed."""
        now = int(self.real_time())
        until = int((self.ephemeral.get(_key(user_id)) or {}).get("until", 0))
        if until > now:
            wait = until - now
            raise PushError(
                "push_backoff",
                "please wait {wait} s before another push",
                429,
                wait=wait,
            )

    def increase(self, user_id: str) -> None:
        level = int((self.ephemeral.get(_key(user_id)) or {}).get("level", 0)) + 1
        wait = min(BACKOFF_MAX, BACKOFF_START * 2 ** (level - 1))
        until = int(self.real_time()) + wait
        self.ephemeral.put(_key(user_id), {"level": level, "until": until}, REMEMBERED)

    def clear(self, user_id: str) -> None:
        self.ephemeral.delete(_key(user_id))


def _key(user_id: str) -> str:
    return "push-backoff:" + user_id
