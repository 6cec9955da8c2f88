"""`idp doctor`: what is wrong with this deployment, in Thai and English, with the fix.

Each check reads; none writes (no migration, no key, no master key file, no mail sent). A check
that needs what an earlier one found broken is skipped. Nothing secret is printed: URLs lose
their passwords, and every message is scrubbed of the configured secrets.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.sentinel
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from idp.domain import sealed
from idp.domain.errors import Message
from idp.domain.keys import ALGORITHMS
from idp.domain.secrets import MasterKey, MasterKeyError, split_keys
from idp.services import master_key_ring
from idp.settings import Settings, SettingsError, load_settings, resolve_path
from idp.storage.db import MIGRATIONS, sqlite_url_for
from idp.storage.models import SigningKey, VaultEntry
from push_auth.ca import CA_CERT, CA_KEY, CHALLENGE_KEY, generation_of, key_id, vault_name

Status = Literal["OK", "WARN", "FAIL", "SKIP"]
CLOCK_SKEW_LIMIT = 5.0  # seconds between this host's clock and the database's
DB_CONNECT_SECONDS = 1.0
SMTP_SECONDS = 5.0
REDIS_SECONDS = 2.0
KEY_AGE_WARN = timedelta(days=365)  # an active signing key older than this: rotate
CA_EXPIRY_WARN = timedelta(days=180)


@dataclass(frozen=True)
class Finding:
    status: Status
    check: str
    th: str
    en: str
    fix: str = ""  # for a problem: what to do (Thai / English)


def finding(status: Status, check: str, said: Message, fix: Message | None = None) -> Finding:
    """A finding in Thai and English (the idp catalogs); `fix` is shown "Thai / English"."""
    return Finding(status, check, said.th, said.en, f"{fix.th} / {fix.en}" if fix else "")


def mask_url(url: str) -> str:
    """The URL without its password (user:***@host)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Doctor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.findings: list[Finding] = []
        self._engine: Engine | None = None
        self._migrated = False
        self._master: MasterKey | None = None

    # -- recording ---------------------------------------------------------------------------

    def _secrets(self) -> list[str]:
        s = self.settings
        found = [
            s.security.master_key,
            *split_keys(s.security.previous_master_keys),
            s.store.password,
            s.store.sentinel_password,
            s.mail.password,
            s.upstream.client_secret,
            s.metrics.token,
            _url_password(s.database.url),
            _url_password(s.store.url),
        ]
        return [secret for secret in found if secret and len(secret) >= 3]

    def _scrub(self, message: str) -> str:
        for secret in self._secrets():
            message = message.replace(secret, "***")
        return message

    def add(self, status: Status, check: str, said: Message, fix: Message | None = None) -> None:
        found = finding(status, check, said, fix)
        scrub = self._scrub
        self.findings.append(
            replace(found, th=scrub(found.th), en=scrub(found.en), fix=scrub(found.fix))
        )

    def _error(self, exc: BaseException) -> str:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return self._scrub(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)

    # -- the checks --------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        for check in (
            self.database,
            self.migrations,
            self.clock,
            self.store,
            self.master_key,
            self.sealed,
            self.keys,
            self.ca,
            self.smtp,
        ):
            try:
                check()
            except Exception as exc:  # a check's own failure is a finding, never a traceback
                self.add(
                    "FAIL",
                    check.__name__,
                    Message("the check itself failed: {error}", error=self._error(exc)),
                    Message("see the message"),
                )
        if self._engine is not None:
            self._engine.dispose()
        return self.findings

    def database(self) -> None:
        url = sqlite_url_for(self.settings.database.url)
        shown = mask_url(self.settings.database.url)
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path != ":memory:" and not Path(path).exists():
                self.add(
                    "FAIL",
                    "database",
                    Message("no database file at {shown}", shown=shown),
                    Message("create it: idp migrate"),
                )
                return
            engine = create_engine(url, poolclass=NullPool)
        else:
            engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 2})
        started = time.monotonic()
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            engine.dispose()
            self.add(
                "FAIL",
                "database",
                Message(
                    "cannot connect to the database {shown}: {error}",
                    error=self._error(exc),
                    shown=shown,
                ),
                Message("check database.url and that the server runs and accepts this host"),
            )
            return
        elapsed = time.monotonic() - started
        self._engine = engine
        if elapsed > DB_CONNECT_SECONDS:
            self.add(
                "WARN",
                "database",
                Message(
                    "the database took {elapsed:.1f} s to connect (more than 1 s)", elapsed=elapsed
                ),
                Message("check the network and the server's load"),
            )
            return
        self.add(
            "OK",
            "database",
            Message("the database {shown} answered in {ms:.0f} ms", ms=elapsed * 1000, shown=shown),
        )

    def migrations(self) -> None:
        if self._engine is None:
            self.add("SKIP", "migrations", Message("skipped: no database"))
            return
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        heads = set(ScriptDirectory.from_config(config).get_heads())
        with self._engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        if current == heads:
            self._migrated = True
            self.add(
                "OK",
                "migrations",
                Message(
                    "the database is at the head revision ({heads})", heads=", ".join(sorted(heads))
                ),
            )
            return
        known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
        if current - known:
            self.add(
                "FAIL",
                "migrations",
                Message(
                    "the database is at {current}, unknown to this version (head: {heads})",
                    current=", ".join(sorted(current)),
                    heads=", ".join(sorted(heads)),
                ),
                Message("deploy the version that migrated it"),
            )
            return
        self.add(
            "FAIL",
            "migrations",
            Message(
                "the database is at {current}, behind the head ({heads})",
                current=", ".join(sorted(current)) or "no revision",
                heads=", ".join(sorted(heads)),
            ),
            Message("migrate it: idp migrate"),
        )

    def clock(self) -> None:
        if self._engine is None:
            self.add("SKIP", "clock", Message("skipped: no database"))
            return
        if self._engine.dialect.name == "sqlite":
            self.add("OK", "clock", Message("SQLite uses this host's clock"))
            return
        with self._engine.connect() as connection:
            before = datetime.now(UTC)
            theirs = connection.execute(text("SELECT CURRENT_TIMESTAMP")).scalar_one()
            after = datetime.now(UTC)
        ours = before + (after - before) / 2
        skew = abs((theirs - ours).total_seconds())
        if skew > CLOCK_SKEW_LIMIT:
            self.add(
                "FAIL",
                "clock",
                Message(
                    "this host's clock and the database's are {skew:.1f} s apart (limit 5 s)",
                    skew=skew,
                ),
                Message("synchronise both clocks with NTP (chrony, systemd-timesyncd)"),
            )
            return
        self.add(
            "OK",
            "clock",
            Message("the clock agrees with the database's ({skew:.2f} s apart)", skew=skew),
        )

    def store(self) -> None:
        store = self.settings.store
        if store.kind == "memory":
            self.add(
                "OK",
                "redis",
                Message("the expiring store is this process's memory (no Redis; one process only)"),
            )
            return
        if store.kind == "redis":
            shown = mask_url(store.url)
            try:
                client = redis.Redis.from_url(
                    store.url,
                    socket_connect_timeout=REDIS_SECONDS,
                    socket_timeout=REDIS_SECONDS,
                )
                with client:
                    client.ping()
            except Exception as exc:
                self.add(
                    "FAIL",
                    "redis",
                    Message(
                        "Redis at {shown} does not answer: {error}",
                        error=self._error(exc),
                        shown=shown,
                    ),
                    Message("check store.url and that Redis runs"),
                )
                return
            self.add("OK", "redis", Message("Redis at {shown} answered PING", shown=shown))
            return
        self._sentinels()

    def _sentinels(self) -> None:
        store = self.settings.store
        answered, silent = [], []
        for host, port in store.sentinel_addresses():
            try:
                client = redis.Redis(
                    host=host,
                    port=port,
                    password=store.sentinel_password or None,
                    socket_connect_timeout=REDIS_SECONDS,
                    socket_timeout=REDIS_SECONDS,
                )
                with client:
                    client.ping()
                answered.append(f"{host}:{port}")
            except Exception:
                silent.append(f"{host}:{port}")
        if not answered:
            self.add(
                "FAIL",
                "sentinel",
                Message("no Sentinel answers ({silent})", silent=", ".join(silent)),
                Message("check store.sentinels and that the Sentinels run"),
            )
            return
        if silent:
            self.add(
                "WARN",
                "sentinel",
                Message(
                    "{answered} of {total} Sentinels answer; silent: {silent}",
                    answered=len(answered),
                    silent=", ".join(silent),
                    total=len(answered) + len(silent),
                ),
                Message("restart the silent Sentinels: a failover needs a majority"),
            )
        else:
            self.add(
                "OK", "sentinel", Message("all {answered} Sentinels answer", answered=len(answered))
            )
        sentinel = redis.sentinel.Sentinel(
            store.sentinel_addresses(),
            sentinel_kwargs={
                "password": store.sentinel_password or None,
                "socket_timeout": REDIS_SECONDS,
                "socket_connect_timeout": REDIS_SECONDS,
            },
            socket_timeout=REDIS_SECONDS,
            socket_connect_timeout=REDIS_SECONDS,
        )
        try:
            master = sentinel.master_for(
                store.sentinel_service, password=store.password or None, db=store.db
            )
            with master:
                master.ping()
            host, port = sentinel.discover_master(store.sentinel_service)
        except Exception as exc:
            self.add(
                "FAIL",
                "redis",
                Message(
                    "the master of {service} does not answer: {error}",
                    error=self._error(exc),
                    service=repr(store.sentinel_service),
                ),
                Message("check store.sentinel_service, store.password and `SENTINEL masters`"),
            )
            return
        self.add(
            "OK",
            "redis",
            Message(
                "the master of {service} ({host}:{port}) answered PING",
                host=host,
                port=port,
                service=repr(store.sentinel_service),
            ),
        )

    def master_key(self) -> None:
        security = self.settings.security
        file = resolve_path(security.master_key_file)
        if not security.master_key and not file.exists():
            development = self.settings.server.environment == "development"
            self.add(
                "WARN" if development else "FAIL",
                "master key",
                Message(
                    "no master key: security.master_key is not set and {file} does not exist",
                    file=file,
                ),
                Message(
                    "set IDP_SECURITY__MASTER_KEY from the secret store"
                    " (development: made at start)"
                ),
            )
            return
        try:
            self._master = master_key_ring(self.settings, development=False)
        except (MasterKeyError, OSError) as exc:
            self.add(
                "FAIL",
                "master key",
                Message("the master key is unusable: {error}", error=self._error(exc)),
                Message("set it to 32 bytes, base64url"),
            )
            return
        where = "security.master_key" if security.master_key else str(file)
        previous = self._master.previous_ids
        self.add(
            "OK",
            "master key",
            Message(
                "a master key is set ({where}, key ID {key_id};"
                " {count} previous key(s): {previous}; not shown)",
                count=len(previous),
                key_id=self._master.key_id,
                previous=", ".join(previous) or "none",
                where=where,
            ),
        )

    def sealed(self) -> None:
        """What the master key ring opens: every value under the current key, or the fix."""
        if not self._migrated or self._master is None:
            self.add(
                "SKIP",
                "sealed",
                Message("skipped: the database or the master key is not ready"),
            )
            return
        for session in self._session():
            counted = sealed.census(session, self._master)
        if counted.unopenable:
            self.add(
                "FAIL",
                "sealed",
                Message(
                    "{count} sealed value(s) no master key opens: {summary}",
                    count=len(counted.unopenable),
                    summary=counted.summary(),
                ),
                Message(
                    "give the master key they were sealed under in security.previous_master_keys"
                ),
            )
        elif counted.stale:
            self.add(
                "WARN",
                "sealed",
                Message(
                    "{count} sealed value(s) still under a previous master key: {summary}",
                    count=counted.stale,
                    summary=counted.summary(),
                ),
                Message("seal them again under the current key: idp master-key rotate"),
            )
        elif counted.unused_previous:
            self.add(
                "WARN",
                "sealed",
                Message(
                    "{summary}; previous key(s) {unused} open nothing",
                    summary=counted.summary(),
                    unused=", ".join(counted.unused_previous),
                ),
                Message(
                    "remove them from security.previous_master_keys"
                    " (keep an offline copy with the backups they open)"
                ),
            )
        else:
            self.add(
                "OK",
                "sealed",
                Message(
                    "all {total} sealed value(s) are under the current master key {current}",
                    current=counted.current,
                    total=counted.total,
                ),
            )

    def _session(self) -> Iterator[Session]:
        assert self._engine is not None
        with Session(self._engine) as session:
            yield session

    def keys(self) -> None:
        if not self._migrated:
            self.add("SKIP", "keys", Message("skipped: the database is not ready"))
            return
        now = datetime.now(UTC)
        for session in self._session():
            rows = list(session.scalars(select(SigningKey)))
        problems: list[str] = []
        notes: list[str] = []
        for alg in ALGORITHMS:
            active = [r for r in rows if r.alg == alg and r.state == "active"]
            upcoming = [r for r in rows if r.alg == alg and r.state == "next"]
            if not active:
                problems.append(f"no active {alg} key")
            if not upcoming:
                problems.append(f"no next {alg} key")
            for row in active:
                age = now - _aware(row.created_at)
                if age > KEY_AGE_WARN:
                    notes.append(f"the active {alg} key is {age.days} days old")
                if self._master is not None:
                    try:
                        self._master.decrypt(row.private_encrypted, row.kid.encode())
                    except Exception:
                        problems.append(f"the master key does not open the active {alg} key")
        leaving = [
            r
            for r in rows
            if r.state == "retired"
            and r.publish_until is not None
            and now <= _aware(r.publish_until) <= now + timedelta(days=1)
        ]
        if problems:
            self.add(
                "FAIL",
                "keys",
                Message("{problems}", problems="; ".join(problems)),
                Message(
                    "create missing keys: idp migrate;"
                    " if the master key is wrong, restore the right one"
                ),
            )
        elif notes:
            self.add(
                "WARN",
                "keys",
                Message("{notes}", notes="; ".join(notes)),
                Message("rotate: idp keys rotate"),
            )
        else:
            self.add(
                "OK",
                "keys",
                Message(
                    "active and next keys for {algorithms};"
                    " {leaving} retired key(s) leave the JWKS within a day",
                    algorithms=", ".join(ALGORITHMS),
                    leaving=len(leaving),
                ),
            )

    def ca(self) -> None:
        if not self._migrated:
            self.add("SKIP", "ca", Message("skipped: the database is not ready"))
            return
        for session in self._session():
            query = select(VaultEntry).order_by(VaultEntry.created_at, VaultEntry.name)
            entries = {entry.name: entry for entry in session.scalars(query)}
        certs = [name for name in entries if name.split(":")[0] == CA_CERT]
        issuing = [name for name in certs if vault_name(CA_KEY, generation_of(name)) in entries]
        if not certs:
            self.add(
                "OK",
                "ca",
                Message("no device CA yet: it is made when the first Soft Token activates"),
            )
            return
        if not issuing:
            self.add(
                "FAIL",
                "ca",
                Message("no device CA has its key: none can issue certificates"),
                Message("make a new one: idp device-ca rotate"),
            )
            return
        cert_name = issuing[-1]
        key_name = vault_name(CA_KEY, generation_of(cert_name))
        cert = x509.load_pem_x509_certificate(entries[cert_name].value)
        if self._master is not None:
            try:
                self._master.decrypt(entries[key_name].value, key_name.encode())
            except Exception:
                self.add(
                    "FAIL",
                    "ca",
                    Message("the master key does not open the CA's key"),
                    Message("restore this deployment's master key"),
                )
                return
        challenge = [name for name in entries if name.split(":")[0] == CHALLENGE_KEY]
        public = cert.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        generations = (
            f"the issuing CA {key_id(public)}; {len(certs) - 1} older CA(s), "
            f"{len(issuing) - 1} of them still trusted; {len(challenge)} challenge key(s) "
            "(idp device-ca list)"
        )
        now = datetime.now(UTC)
        ends = cert.not_valid_after_utc
        left = ends - now
        if left <= timedelta(0):
            self.add(
                "FAIL",
                "ca",
                Message(
                    "the CA certificate expired on {ends:%Y-%m-%d} ({generations})",
                    ends=ends,
                    generations=generations,
                ),
                Message("make a new CA: idp device-ca rotate"),
            )
        elif left < CA_EXPIRY_WARN:
            self.add(
                "WARN",
                "ca",
                Message(
                    "the CA certificate expires on {ends:%Y-%m-%d} ({days} days; {generations})",
                    days=left.days,
                    ends=ends,
                    generations=generations,
                ),
                Message(
                    "make a new CA before then (devices move to it at their renewal):"
                    " idp device-ca rotate"
                ),
            )
        else:
            self.add(
                "OK",
                "ca",
                Message(
                    "the CA loads; its certificate is valid until {ends:%Y-%m-%d} ({generations})",
                    ends=ends,
                    generations=generations,
                ),
            )

    def smtp(self) -> None:
        mail = self.settings.mail
        if mail.transport == "dev":
            self.add(
                "SKIP",
                "smtp",
                Message("skipped: mail.transport = dev (the development mailbox)"),
            )
            return
        where = f"{mail.host}:{mail.port}"
        try:
            if mail.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    mail.host, mail.port, timeout=SMTP_SECONDS, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(mail.host, mail.port, timeout=SMTP_SECONDS)
            with smtp:
                code, _ = smtp.ehlo()
                starttls = smtp.has_extn("starttls")
        except Exception as exc:
            self.add(
                "FAIL",
                "smtp",
                Message(
                    "the SMTP server {where} does not answer: {error}",
                    error=self._error(exc),
                    where=where,
                ),
                Message("check mail.host, mail.port and mail.security (587 starttls, 465 tls)"),
            )
            return
        if code != 250:
            self.add(
                "FAIL",
                "smtp",
                Message("the SMTP server {where} refused EHLO ({code})", code=code, where=where),
                Message("check the SMTP server"),
            )
        elif mail.security == "starttls" and not starttls:
            self.add(
                "FAIL",
                "smtp",
                Message("the SMTP server {where} does not offer STARTTLS", where=where),
                Message("enable STARTTLS there, or set mail.security"),
            )
        else:
            self.add(
                "OK",
                "smtp",
                Message("the SMTP server {where} answered EHLO (no mail sent)", where=where),
            )


def _url_password(url: str) -> str:
    try:
        return str(make_url(url).password or "") if "://" in url else ""
    except Exception:
        return ""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def diagnose(load: Callable[[], Settings] = load_settings) -> list[Finding]:
    """Every check's finding; a settings error is the only finding then."""
    try:
        settings = load()
    except SettingsError as exc:
        return [
            finding(
                "FAIL",
                "settings",
                Message("the settings are invalid: {error}", error=str(exc)),
                Message("correct the named key"),
            )
        ]
    doctor = Doctor(settings)
    doctor.add("OK", "settings", Message("the settings load"))
    return doctor.run()


def render(findings: list[Finding]) -> str:
    label = Message("fix")
    lines = []
    for found in findings:
        lines.append(f"{found.status:<4}  {found.check:<10}  {found.th} / {found.en}")
        if found.fix and found.status in ("WARN", "FAIL"):
            lines.append(f"{'':<4}  {'':<10}  {label.th} / {label.en}: {found.fix}")
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> str:
    data: list[dict[str, Any]] = [finding.__dict__ for finding in findings]
    return json.dumps(data, ensure_ascii=False, indent=2)
