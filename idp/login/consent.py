"""What a user has allowed a relying party to receive (the consent page's answer, kept)."""

from __future__ import annotations

from datetime import UTC, datetime

from idp.storage.db import Database
from idp.storage.models import Consent


def has_consent(db: Database, user_id: str, client_id: str, scope: str) -> bool:
    """Every scope asked has been allowed before."""
    with db.read() as session:
        consent = session.get(Consent, (user_id, client_id))
    granted = set(consent.scope.split()) if consent else set()
    return set(scope.split()) <= granted


def remember_consent(db: Database, user_id: str, client_id: str, scope: str) -> None:
    """The user allowed these scopes: add them to what this client was allowed before."""
    with db.session() as session:
        existing = session.get(Consent, (user_id, client_id))
        scopes = set(scope.split()) | (set(existing.scope.split()) if existing else set())
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
