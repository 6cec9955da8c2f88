"""The composition root's product: every long-lived service, built once from the settings."""

from __future__ import annotations

import os
from dataclasses import dataclass

from idp.domain.audit import BufferedAudit
from idp.domain.clock import Clock
from idp.domain.keys import KeyRing, ensure_keys
from idp.domain.secrets import MasterKey
from idp.domain.transitions import Lifecycle
from idp.settings import Settings, is_localhost, resolve_path
from idp.storage.db import Database
from idp.storage.expiring import ExpiringStore, open_store
from idp.storage.redis_connect import RedisTarget


@dataclass
class Services:
    settings: Settings
    db: Database
    store: ExpiringStore
    master: MasterKey
    keys: KeyRing
    audit: BufferedAudit
    clock: Clock
    lifecycle: Lifecycle

    def probe(self) -> None:
        """Raises unless the signing keys, the expiring store and the database all answer."""
        self.keys.snapshot()
        self.store.get("ready-probe")
        self.db.ping()

    def close(self) -> None:
        self.audit.close()
        self.store.close()
        self.db.dispose()


def store_target(settings: Settings) -> str | RedisTarget:
    """What the expiring store is: memory:// (this process), or a Redis (by URL or Sentinel)."""
    if settings.store.kind == "memory":
        return settings.store.url
    return RedisTarget.from_settings(settings.store)


def master_key_ring(settings: Settings, *, development: bool) -> MasterKey:
    """The master key ring of these settings: the current key (made in development when
    missing) and the previous keys; MasterKeyError names the setting, never a key."""
    security = settings.security
    previous_file = security.previous_master_keys_file
    return MasterKey.from_settings(
        security.master_key,
        resolve_path(security.master_key_file),
        development=development,
        previous=security.previous_master_keys,
        previous_file=resolve_path(previous_file) if previous_file else None,
    )


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    if settings.server.issuer.startswith("http://") and is_localhost(settings.server.issuer):
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http only for a localhost issuer
    db = Database(settings.database.url, settings.database.pool_size, settings.database.echo)
    if migrate:
        db.migrate()
    master = master_key_ring(settings, development=settings.server.environment == "development")
    with db.session() as session:
        ensure_keys(session, master)
    store = open_store(store_target(settings), settings.store.key_prefix)
    clock = Clock(movable=settings.development.movable_clock)
    keys = KeyRing(db, master, settings.tokens.key_refresh_seconds)
    return Services(
        settings=settings,
        db=db,
        store=store,
        master=master,
        keys=keys,
        audit=BufferedAudit(db, settings.var_path / "audit-spill.jsonl"),
        clock=clock,
        lifecycle=Lifecycle(clock, settings.push.renewal_warning_days),
    )
