"""What a user has allowed a relying party to receive (the consent page's answer, kept).

A consent is a set of scopes and of single claims (`claim:<name>`, for claims a relying party
asked through the OIDC `claims` parameter without their scope). A claim is covered by its
own entry or by the scope that carries it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from idp.storage.db import Database
from idp.storage.models import Consent

CLAIM = "claim:"


def has_consent(
    db: Database,
    user_id: str,
    client_id: str,
    scope: str,
    claims: Mapping[str, str] | None = None,
) -> bool:
    """Every scope asked has been allowed before, and every claim asked beyond the scopes
    (`claims`: each with the scope that carries it) either by itself or with its scope."""
    with db.read() as session:
        consent = session.get(Consent, (user_id, client_id))
    granted = set(consent.scope.split()) if consent else set()
    covered = all(
        carrier in granted or CLAIM + name in granted for name, carrier in (claims or {}).items()
    )
    return set(scope.split()) <= granted and covered


def remember_consent(
    db: Database, user_id: str, client_id: str, scope: str, claims: Mapping[str, str] | None = None
) -> None:
    """The user allowed these scopes and claims: add them to what this client was allowed
    before (a claim whose scope is allowed needs no entry of its own)."""
    with db.session() as session:
        existing = session.get(Consent, (user_id, client_id))
        scopes = set(scope.split()) | (set(existing.scope.split()) if existing else set())
        alone = [name for name, carrier in (claims or {}).items() if carrier not in scopes]
        scopes |= {CLAIM + name for name in alone}
        if existing:
            existing.scope = " ".join(sorted(scopes))
            existing.granted_at = datetime.now(UTC)
        else:
            session.add(
                Consent(
                    user_id=user_id,
                    client_id=client_id,
                    scope=" ".join(sorted(scopes)),
                    granted_at=datetime.now(UTC),
                )
            )
