"""Relying parties in the back office (admin): listed, registered (the secret shown once),
edited by the rules of registration, their secret rotated, removed with their grants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.domain import clients
from idp.domain.clients import ClientSpec, Lifetimes
from idp.storage.db import Database


@dataclass(frozen=True)
class Clients:
    db: Database
    ceiling: Lifetimes  # the deployment's token lifetimes, which a client may only shorten

    # -- queries ---------------------------------------------------------------------------
    def describe_all(self) -> list[dict[str, Any]]:
        with self.db.read() as session:
            return [clients.describe(x) for x in clients.list_all(session)]

    # -- commands --------------------------------------------------------------------------
    def create(self, spec: ClientSpec, officer: str) -> dict[str, Any]:
        with self.db.session() as session:
            client, secret = clients.create(session, spec, officer, self.ceiling)
            return {**clients.describe(client), "client_secret": secret}

    def update(self, client_id: str, changes: dict[str, Any], officer: str) -> dict[str, Any]:
        with self.db.session() as session:
            return clients.describe(
                clients.update(session, client_id, changes, officer, self.ceiling)
            )

    def rotate_secret(self, client_id: str, officer: str) -> dict[str, Any]:
        with self.db.session() as session:
            secret = clients.rotate_secret(session, client_id, officer)
        return {"client_id": client_id, "client_secret": secret}

    def delete(self, client_id: str, officer: str) -> None:
        with self.db.session() as session:
            clients.delete(session, client_id, officer)
