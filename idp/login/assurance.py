"""Assurance as a policy of factors: the one place that knows what each `acr` needs.

- `achieved(factors)`: the highest level the proven factors reach.
- `amr(factors, reported)`: the RFC 8176 methods behind them.
- `missing(proven, requirement, holds, now)`: what a sign-in still has to prove for one
  request: nothing; only a second factor (step-up, the password kept); everything (a full
  sign-in); or refused (no factor the user holds reaches what the request makes essential).

The levels, lowest first (a level satisfies every level before it):
- `ACR_PASSWORD`: a knowledge factor (the password).
- `ACR_PUSH`: the password and a possession factor bound to this sign-in (the picture
  sequence), NIST SP 800-63B AAL2.
- `ACR_PHISHING_RESISTANT`: the password and a phishing-resistant possession factor (a
  passkey: its signature covers this site's origin), NIST SP 800-63B-4 AAL2 with
  verifier impersonation resistance.

A requirement gathers what asks for a level: `acr_values` (voluntary: met if the user holds the
factors, otherwise the sign-in goes on at a lower level), an essential `acr` claim and a
client's minimum (both refuse when not met), `max_age`, `prompt=login`, and the back office's
15-minute step-up. Who holds a second factor must use it at every sign-in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from idp.domain.acr import ACR_PASSWORD, ACR_PHISHING_RESISTANT, ACR_PUSH
from idp.domain.lifecycle import Account
from idp.login.factors import Factor, Kind
from idp.login.factors.password import PASSWORD


@dataclass(frozen=True)
class Level:
    acr: str
    reached_by: Callable[[Sequence[Factor]], bool]


def _knows(factors: Sequence[Factor]) -> bool:
    return any(f.kind is Kind.KNOWLEDGE for f in factors)


def _knows_and_bound_possession(factors: Sequence[Factor]) -> bool:
    return _knows(factors) and any(
        f.kind is Kind.POSSESSION and f.bound_to_sign_in for f in factors
    )


def _knows_and_phishing_resistant(factors: Sequence[Factor]) -> bool:
    return _knows(factors) and any(
        f.kind is Kind.POSSESSION and f.phishing_resistant for f in factors
    )


LEVELS = (
    Level(ACR_PASSWORD, _knows),
    Level(ACR_PUSH, _knows_and_bound_possession),
    Level(ACR_PHISHING_RESISTANT, _knows_and_phishing_resistant),
)
SUPPORTED = tuple(level.acr for level in LEVELS)


def rank(acr: str) -> int:
    """The level's place, lowest 0; -1 for a value we do not know (it satisfies nothing)."""
    return SUPPORTED.index(acr) if acr in SUPPORTED else -1


def satisfies(achieved: str, wanted: str) -> bool:
    return rank(wanted) >= 0 and rank(achieved) >= rank(wanted)


@dataclass(frozen=True)
class Requirement:
    """What one request asks of the sign-in behind it."""

    asked: tuple[str, ...] = ()  # acr_values: voluntary
    essential: tuple[str, ...] = ()  # an essential acr claim: one of them, or refuse
    minimum: str | None = None  # the client's (or the back office's) floor: refuse below
    max_age: int | None = None  # seconds since the sign-in
    fresh: bool = False  # prompt=login: sign in again, whatever the session


@dataclass(frozen=True)
class Proven:
    """What a session has proved, and when."""

    acr: str
    factors: tuple[str, ...]
    auth_time: int


@dataclass(frozen=True)
class Missing:
    """What is still to prove. `needs` lists, in order, groups of alternatives (the user
    chooses one factor of a group); `keep` the session's proofs that still count."""

    needs: tuple[tuple[str, ...], ...] = ()
    keep: tuple[str, ...] = ()
    refused: bool = False

    @property
    def satisfied(self) -> bool:
        return not self.needs and not self.refused


SATISFIED = Missing()
REFUSED = Missing(refused=True)


@dataclass
class Assurance:
    """The factors this deployment offers (password first), and the policy over them."""

    factors: list[Factor] = field(default_factory=lambda: [PASSWORD])

    def __post_init__(self) -> None:
        self._by_name = {f.name: f for f in self.factors}

    def add(self, factor: Factor) -> None:
        """Offer one more factor (a module of idp.login.factors, with its sign-in step)."""
        self.factors.append(factor)
        self._by_name[factor.name] = factor

    def factor(self, name: str) -> Factor:
        return self._by_name[name]

    def _known(self, names: Iterable[str]) -> list[Factor]:
        return [self._by_name[n] for n in names if n in self._by_name]

    def achieved(self, names: Iterable[str]) -> str | None:
        """The highest level these factors reach, or None (nothing proven)."""
        factors = self._known(names)
        reached = [level.acr for level in LEVELS if level.reached_by(factors)]
        return reached[-1] if reached else None

    def amr(self, names: Iterable[str], reported: Iterable[str] = ()) -> list[str]:
        """RFC 8176 methods: each factor's, what the device reported, `mfa` for two kinds."""
        factors = self._known(names)
        methods = {m for f in factors for m in f.amr} | set(reported)
        if len({f.kind for f in factors}) >= 2:
            methods.add("mfa")
        return sorted(methods)

    def holds(self, account: Account) -> tuple[str, ...]:
        """The second factors this account can use now, in the deployment's order."""
        return tuple(f.name for f in self.factors if f.second and f.held(account))

    def reachable(self, held: tuple[str, ...]) -> str | None:
        """The highest level a sign-in with the password and these second factors reaches."""
        best = None
        for name in held or (None,):
            factors = [PASSWORD.name, name] if name else [PASSWORD.name]
            reached = self.achieved(factors)
            if reached is not None and (best is None or rank(reached) > rank(best)):
                best = reached
        return best

    def missing(
        self,
        proven: Proven | None,
        requirement: Requirement,
        held: tuple[str, ...],
        now: int,
        *,
        just_signed_in: bool = False,
    ) -> Missing:
        """What the sign-in behind `proven` lacks for `requirement`, for a user holding the
        second factors `held`. A sign-in finished for this very request (`just_signed_in`) is
        fresh: only what would refuse it is checked."""
        able = self.able(held, self.wanted(requirement))
        full = Missing(((PASSWORD.name,), able) if held else ((PASSWORD.name,),))
        if proven is None:
            return full
        if not just_signed_in:
            if requirement.fresh:
                return full
            step_up = Missing((able,), keep=self._kept(proven)) if held else full
            if requirement.max_age is not None and now - proven.auth_time > requirement.max_age:
                return step_up
            target = self._target(requirement, held)
            if target is not None and not satisfies(proven.acr, target):
                return step_up
        if requirement.minimum is not None and not satisfies(proven.acr, requirement.minimum):
            return REFUSED
        essential = requirement.essential
        if essential and not any(satisfies(proven.acr, v) for v in essential):
            return REFUSED
        return SATISFIED

    def wanted(self, requirement: Requirement) -> str | None:
        """The highest known level the request asks for, voluntarily or not (None: none)."""
        asked = [*requirement.asked, *requirement.essential]
        if requirement.minimum is not None:
            asked.append(requirement.minimum)
        known = [v for v in asked if rank(v) >= 0]
        return max(known, key=rank) if known else None

    def able(self, held: tuple[str, ...], wanted: str | None) -> tuple[str, ...]:
        """Of the second factors held, those that reach `wanted` (what the "choose a factor"
        step offers); all of them when none does, or nothing in particular is wanted (the
        sign-in then goes on, and a level the request makes essential is refused after)."""
        if wanted is None:
            return held
        reaching = tuple(name for name in held if satisfies(self.reachable((name,)) or "", wanted))
        return reaching or held

    def _kept(self, proven: Proven) -> tuple[str, ...]:
        """What a step-up keeps of the session: its knowledge factors (the password); a session
        from before factors were recorded proved the password."""
        known = self._known(proven.factors)
        return tuple(f.name for f in known if f.kind is Kind.KNOWLEDGE) or (PASSWORD.name,)

    def _target(self, requirement: Requirement, held: tuple[str, ...]) -> str | None:
        """The highest level asked for (voluntarily or not) that the user's factors reach."""
        reachable = self.reachable(held)
        wanted = [*requirement.asked, *requirement.essential]
        if requirement.minimum is not None:
            wanted.append(requirement.minimum)
        candidates = [v for v in wanted if rank(v) >= 0 and reachable and satisfies(reachable, v)]
        return max(candidates, key=rank) if candidates else None

    def fresh_enough(self, acr: str, auth_time: int, requirement: Requirement, now: int) -> bool:
        """A token's sign-in meets the requirement as it stands (no sign-in can happen here:
        the back office's step-up for changes)."""
        return self.missing(Proven(acr, (), auth_time), requirement, (), now).satisfied
