"""Authentication context classes (acr) and the methods (amr, RFC 8176) behind them."""

from __future__ import annotations

ACR_PASSWORD = "urn:th:go:cgd:idp:aal1-pwd"
ACR_PUSH = "urn:th:go:cgd:idp:aal2-push"

# Lowest first: a session at a level satisfies every level before it.
LEVELS = (ACR_PASSWORD, ACR_PUSH)
SUPPORTED = (ACR_PASSWORD, ACR_PUSH)


def satisfies(achieved: str, wanted: str) -> bool:
    if wanted not in LEVELS or achieved not in LEVELS:
        return False
    return LEVELS.index(achieved) >= LEVELS.index(wanted)
