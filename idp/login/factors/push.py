"""Push approval on the Soft Token phone (manual chapter 3), in its two modes.

- Picture sequence: the computer shows 4 of 32 pictures and the user taps them in order on the
  phone, so the approval is bound to this sign-in (NIST SP 800-63B-4 §3.1.3).
- Compare: the manual's same-picture-and-approve; a tap the user may give to a request they did
  not start, so it never yields the push level.

The device may report how the user unlocked the key (`pin`, `face`, `fpt`; `user` for the web
authenticator, whose assertion the server checked for user verification): those `amr` values
come with each approval (idp.login.assurance.amr).
"""

from __future__ import annotations

from idp.domain.lifecycle import Account
from idp.login.factors import Factor, Kind

SOFTWARE_KEY = frozenset({"swk"})


def _held(account: Account) -> bool:
    return account.has_device


PUSH_SEQUENCE = Factor(
    "push_sequence", Kind.POSSESSION, SOFTWARE_KEY, True, _held, "Approve on the Soft Token app"
)
PUSH_COMPARE = Factor(
    "push_compare", Kind.POSSESSION, SOFTWARE_KEY, False, _held, "Approve on the Soft Token app"
)
# as the phone reports them; "user" is the web authenticator's (WebAuthn's presence and
# verification flags, checked by the server: which method the phone used is not told)
DEVICE_METHODS = {"pin": "pin", "face": "face", "fpt": "fpt", "user": "user"}
BIOMETRIC = frozenset({"face", "fpt"})  # these also prove the user ("user", RFC 8176)


def for_mode(mode: str) -> Factor:
    """The push factor that the deployment's `push.mode` gives."""
    return PUSH_SEQUENCE if mode == "sequence" else PUSH_COMPARE


def reported_amr(methods: list[str] | tuple[str, ...]) -> set[str]:
    """The `amr` values of how the phone's key was unlocked."""
    found = {DEVICE_METHODS[m] for m in methods if m in DEVICE_METHODS}
    if found & BIOMETRIC:
        found.add("user")
    return found
