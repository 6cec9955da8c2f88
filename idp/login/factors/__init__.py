"""What a sign-in factor is: its kind, the `amr` values it adds (RFC 8176), whether it proves
that the person approving is at this sign-in, and who holds it.

One module per factor in this package; idp.login.assurance turns the factors proven into an
`acr` and says which are still missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from idp.domain.lifecycle import Account


class Kind(StrEnum):
    """NIST SP 800-63B authentication factors."""

    KNOWLEDGE = "knowledge"  # something you know
    POSSESSION = "possession"  # something you have
    INHERENCE = "inherence"  # something you are


@dataclass(frozen=True)
class Factor:
    name: str
    kind: Kind
    amr: frozenset[str]
    # The approval is tied to this sign-in: the person approving sees what only this browser
    # shows (the picture sequence), so a phishing page cannot pass on an approval it caused.
    bound_to_sign_in: bool
    held: Callable[[Account], bool]  # this account can use the factor now
    label: str  # what the "choose a factor" page calls it (an English msgid, translated)
    # Verifier impersonation resistance (NIST SP 800-63B-4 §3.2.5): the proof names the
    # site it was made for (a passkey's signature covers the origin), so it cannot be relayed.
    phishing_resistant: bool = False

    @property
    def second(self) -> bool:
        """A factor besides the password (what a step-up asks for)."""
        return self.kind is not Kind.KNOWLEDGE
