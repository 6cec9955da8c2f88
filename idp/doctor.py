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
from dataclasses import dataclass
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

    def add(self, status: Status, check: str, th: str, en: str, fix: str = "") -> None:
        self.findings.append(
            Finding(status, check, self._scrub(th), self._scrub(en), self._scrub(fix))
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
                    "ตรวจไม่สำเร็จ",
                    "the check itself failed: " + self._error(exc),
                    "ดูข้อความข้างต้น / see the message",
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
                    f"ไม่พบไฟล์ฐานข้อมูล {shown}",
                    f"no database file at {shown}",
                    "สร้างด้วย / create it: idp migrate",
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
                f"เชื่อมต่อฐานข้อมูลไม่ได้ ({shown})",
                f"cannot connect to the database {shown}: {self._error(exc)}",
                "ตรวจ database.url และว่าเซิร์ฟเวอร์ทำงานอยู่ / check database.url and that the "
                "server runs and accepts this host",
            )
            return
        elapsed = time.monotonic() - started
        self._engine = engine
        if elapsed > DB_CONNECT_SECONDS:
            self.add(
                "WARN",
                "database",
                f"ฐานข้อมูลตอบช้า ({elapsed:.1f} วินาที)",
                f"the database took {elapsed:.1f} s to connect (more than 1 s)",
                "ตรวจเครือข่ายและภาระของเซิร์ฟเวอร์ / check the network and the server's load",
            )
            return
        self.add(
            "OK",
            "database",
            f"ฐานข้อมูลตอบใน {elapsed * 1000:.0f} ms",
            f"the database {shown} answered in {elapsed * 1000:.0f} ms",
        )

    def migrations(self) -> None:
        if self._engine is None:
            self.add("SKIP", "migrations", "ข้าม: ไม่มีฐานข้อมูล", "skipped: no database")
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
                "ฐานข้อมูลเป็นรุ่นล่าสุด",
                f"the database is at the head revision ({', '.join(sorted(heads))})",
            )
            return
        known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
        if current - known:
            self.add(
                "FAIL",
                "migrations",
                "ฐานข้อมูลใหม่กว่าโปรแกรมรุ่นนี้",
                f"the database is at {', '.join(sorted(current))}, unknown to this version "
                f"(head: {', '.join(sorted(heads))})",
                "ติดตั้งโปรแกรมรุ่นที่ตรงกับฐานข้อมูล / deploy the version that migrated it",
            )
            return
        self.add(
            "FAIL",
            "migrations",
            "ฐานข้อมูลยังไม่เป็นรุ่นล่าสุด",
            f"the database is at {', '.join(sorted(current)) or 'no revision'}, behind the head "
            f"({', '.join(sorted(heads))})",
            "ปรับรุ่นฐานข้อมูล / migrate it: idp migrate",
        )

    def clock(self) -> None:
        if self._engine is None:
            self.add("SKIP", "clock", "ข้าม: ไม่มีฐานข้อมูล", "skipped: no database")
            return
        if self._engine.dialect.name == "sqlite":
            self.add("OK", "clock", "SQLite ใช้นาฬิกาของเครื่องนี้", "SQLite uses this host's clock")
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
                f"นาฬิกาของเครื่องนี้ต่างจากฐานข้อมูล {skew:.1f} วินาที",
                f"this host's clock and the database's are {skew:.1f} s apart (limit 5 s)",
                "ตั้งเวลาด้วย NTP ทั้งสองเครื่อง / synchronise both clocks with NTP "
                "(chrony, systemd-timesyncd)",
            )
            return
        self.add(
            "OK",
            "clock",
            f"นาฬิกาตรงกับฐานข้อมูล (ต่างกัน {skew:.2f} วินาที)",
            f"the clock agrees with the database's ({skew:.2f} s apart)",
        )

    def store(self) -> None:
        store = self.settings.store
        if store.kind == "memory":
            self.add(
                "OK",
                "redis",
                "ใช้หน่วยความจำของกระบวนการ (ไม่มี Redis)",
                "the expiring store is this process's memory (no Redis; one process only)",
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
                    f"เชื่อมต่อ Redis ไม่ได้ ({shown})",
                    f"Redis at {shown} does not answer: {self._error(exc)}",
                    "ตรวจ store.url และว่า Redis ทำงานอยู่ / check store.url and that Redis runs",
                )
                return
            self.add("OK", "redis", "Redis ตอบ", f"Redis at {shown} answered PING")
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
                "ไม่มี Sentinel ใดตอบ",
                f"no Sentinel answers ({', '.join(silent)})",
                "ตรวจ store.sentinels และว่า redis-sentinel ทำงานอยู่ / check store.sentinels "
                "and that the Sentinels run",
            )
            return
        if silent:
            self.add(
                "WARN",
                "sentinel",
                f"Sentinel บางตัวไม่ตอบ: {', '.join(silent)}",
                f"{len(answered)} of {len(answered) + len(silent)} Sentinels answer; silent: "
                f"{', '.join(silent)}",
                "เริ่ม Sentinel ที่หยุดอยู่ (ต้องมีเสียงข้างมากจึงสลับ master ได้) / restart the "
                "silent Sentinels: a failover needs a majority",
            )
        else:
            self.add("OK", "sentinel", "Sentinel ทุกตัวตอบ", f"all {len(answered)} Sentinels answer")
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
                f"master ของ {store.sentinel_service} ไม่ตอบ",
                f"the master of {store.sentinel_service!r} does not answer: {self._error(exc)}",
                "ตรวจ store.sentinel_service, store.password และสถานะของ Sentinel / check "
                "store.sentinel_service, store.password and `SENTINEL masters`",
            )
            return
        self.add(
            "OK",
            "redis",
            f"master ของ {store.sentinel_service} ตอบ",
            f"the master of {store.sentinel_service!r} ({host}:{port}) answered PING",
        )

    def master_key(self) -> None:
        security = self.settings.security
        file = resolve_path(security.master_key_file)
        if not security.master_key and not file.exists():
            development = self.settings.server.environment == "development"
            self.add(
                "WARN" if development else "FAIL",
                "master key",
                "ไม่มีกุญแจหลัก",
                f"no master key: security.master_key is not set and {file} does not exist",
                "ตั้ง IDP_SECURITY__MASTER_KEY จากที่เก็บความลับ (การพัฒนา: สร้างเองเมื่อเริ่ม) / "
                "set IDP_SECURITY__MASTER_KEY from the secret store (development: made at start)",
            )
            return
        try:
            self._master = master_key_ring(self.settings, development=False)
        except (MasterKeyError, OSError) as exc:
            self.add(
                "FAIL",
                "master key",
                "กุญแจหลักใช้ไม่ได้",
                "the master key is unusable: " + self._error(exc),
                "ตั้ง security.master_key เป็น 32 ไบต์ base64url / set it to 32 bytes, base64url",
            )
            return
        where = "security.master_key" if security.master_key else str(file)
        previous = self._master.previous_ids
        self.add(
            "OK",
            "master key",
            f"มีกุญแจหลัก (กุญแจเดิม {len(previous)} ดอก)",
            f"a master key is set ({where}, key ID {self._master.key_id}; previous keys: "
            f"{', '.join(previous) or 'none'}; not shown)",
        )

    def sealed(self) -> None:
        """What the master key ring opens: every value under the current key, or the fix."""
        if not self._migrated or self._master is None:
            self.add(
                "SKIP",
                "sealed",
                "ข้าม: ฐานข้อมูลหรือกุญแจหลักยังไม่พร้อม",
                "skipped: the database or the master key is not ready",
            )
            return
        for session in self._session():
            counted = sealed.census(session, self._master)
        if counted.unopenable:
            self.add(
                "FAIL",
                "sealed",
                f"ค่าที่เข้ารหัสไว้ {len(counted.unopenable)} รายการเปิดด้วยกุญแจหลักใดไม่ได้",
                counted.summary(),
                "ใส่กุญแจหลักที่ใช้เข้ารหัสค่าเหล่านั้นใน security.previous_master_keys / give the "
                "master key they were sealed under in security.previous_master_keys",
            )
        elif counted.stale:
            self.add(
                "WARN",
                "sealed",
                f"ค่าที่เข้ารหัสไว้ {counted.stale} รายการยังอยู่ใต้กุญแจหลักเดิม",
                counted.summary(),
                "เข้ารหัสใหม่ด้วยกุญแจหลักปัจจุบัน / seal them again under the current key: "
                "idp master-key rotate",
            )
        elif counted.unused_previous:
            self.add(
                "WARN",
                "sealed",
                "กุญแจหลักเดิมไม่ได้ใช้เปิดค่าใดแล้ว ควรถอดออก",
                f"{counted.summary()}; previous key(s) {', '.join(counted.unused_previous)} "
                "open nothing",
                "ถอดกุญแจหลักเดิมออกจาก security.previous_master_keys (เก็บสำเนาออฟไลน์ไว้กับข้อมูลสำรอง) / "
                "remove them from security.previous_master_keys (keep an offline copy with the "
                "backups they open)",
            )
        else:
            self.add(
                "OK",
                "sealed",
                "ค่าที่เข้ารหัสไว้ทั้งหมดอยู่ใต้กุญแจหลักปัจจุบัน",
                f"all {counted.total} sealed value(s) are under the current master key "
                f"{counted.current}",
            )

    def _session(self) -> Iterator[Session]:
        assert self._engine is not None
        with Session(self._engine) as session:
            yield session

    def keys(self) -> None:
        if not self._migrated:
            self.add("SKIP", "keys", "ข้าม: ฐานข้อมูลยังไม่พร้อม", "skipped: the database is not ready")
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
                "กุญแจลงนามไม่ครบหรือเปิดไม่ได้",
                "; ".join(problems),
                "สร้างกุญแจที่ขาดด้วย idp migrate; ถ้ากุญแจหลักผิด ใช้กุญแจหลักเดิม / create "
                "missing keys: idp migrate; if the master key is wrong, restore the right one",
            )
        elif notes:
            self.add(
                "WARN",
                "keys",
                "กุญแจลงนามเก่า ควรหมุนเวียน",
                "; ".join(notes),
                "หมุนเวียนกุญแจ / rotate: idp keys rotate",
            )
        else:
            self.add(
                "OK",
                "keys",
                "มีกุญแจที่ใช้ลงนามและกุญแจถัดไปครบ",
                f"active and next keys for {', '.join(ALGORITHMS)}; {len(leaving)} retired "
                "key(s) leave the JWKS within a day",
            )

    def ca(self) -> None:
        if not self._migrated:
            self.add("SKIP", "ca", "ข้าม: ฐานข้อมูลยังไม่พร้อม", "skipped: the database is not ready")
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
                "ยังไม่มี CA (จะสร้างเมื่อเปิดใช้ Soft Token เครื่องแรก)",
                "no device CA yet: it is made when the first Soft Token activates",
            )
            return
        if not issuing:
            self.add(
                "FAIL",
                "ca",
                "ไม่มี CA ที่มีกุญแจสำหรับออกใบรับรอง",
                "no device CA has its key: none can issue certificates",
                "สร้าง CA ใหม่ / make a new one: idp device-ca rotate",
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
                    "กุญแจหลักเปิดกุญแจของ CA ไม่ได้",
                    "the master key does not open the CA's key",
                    "ใช้กุญแจหลักเดิมของระบบนี้ / restore this deployment's master key",
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
                "ใบรับรองของ CA หมดอายุแล้ว",
                f"the CA certificate expired on {ends:%Y-%m-%d} ({generations})",
                "สร้าง CA ใหม่ / make a new CA: idp device-ca rotate",
            )
        elif left < CA_EXPIRY_WARN:
            self.add(
                "WARN",
                "ca",
                f"ใบรับรองของ CA จะหมดอายุใน {left.days} วัน",
                f"the CA certificate expires on {ends:%Y-%m-%d} ({left.days} days; {generations})",
                "สร้าง CA ใหม่ก่อนหมดอายุ (อุปกรณ์ย้ายไป CA ใหม่เมื่อต่ออายุใบรับรอง) / make a new CA "
                "before then (devices move to it at their renewal): idp device-ca rotate",
            )
        else:
            self.add(
                "OK",
                "ca",
                f"CA ใช้ได้ถึง {ends:%Y-%m-%d}",
                f"the CA loads; its certificate is valid until {ends:%Y-%m-%d} ({generations})",
            )

    def smtp(self) -> None:
        mail = self.settings.mail
        if mail.transport == "dev":
            self.add(
                "SKIP",
                "smtp",
                "ข้าม: ใช้กล่องจดหมายสำหรับพัฒนา",
                "skipped: mail.transport = dev (the development mailbox)",
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
                f"เชื่อมต่อ SMTP ที่ {where} ไม่ได้",
                f"the SMTP server {where} does not answer: {self._error(exc)}",
                "ตรวจ mail.host, mail.port และ mail.security / check mail.host, mail.port and "
                "mail.security (587 starttls, 465 tls)",
            )
            return
        if code != 250:
            self.add(
                "FAIL",
                "smtp",
                f"SMTP ที่ {where} ปฏิเสธ EHLO",
                f"the SMTP server {where} refused EHLO ({code})",
                "ตรวจการตั้งค่าเซิร์ฟเวอร์ SMTP / check the SMTP server",
            )
        elif mail.security == "starttls" and not starttls:
            self.add(
                "FAIL",
                "smtp",
                f"SMTP ที่ {where} ไม่รองรับ STARTTLS",
                f"the SMTP server {where} does not offer STARTTLS",
                "เปิด STARTTLS ที่เซิร์ฟเวอร์ หรือตั้ง mail.security / enable STARTTLS there, or "
                "set mail.security",
            )
        else:
            self.add(
                "OK",
                "smtp",
                f"SMTP ที่ {where} ตอบ EHLO",
                f"the SMTP server {where} answered EHLO (no mail sent)",
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
            Finding(
                "FAIL",
                "settings",
                "การตั้งค่าไม่ถูกต้อง",
                str(exc),
                "แก้ค่าที่ระบุใน conf/ หรือตัวแปร IDP_… / correct the named key",
            )
        ]
    doctor = Doctor(settings)
    doctor.add("OK", "settings", "อ่านการตั้งค่าได้", "the settings load")
    return doctor.run()


def render(findings: list[Finding]) -> str:
    lines = []
    for finding in findings:
        lines.append(f"{finding.status:<4}  {finding.check:<10}  {finding.th} / {finding.en}")
        if finding.fix and finding.status in ("WARN", "FAIL"):
            lines.append(f"{'':<4}  {'':<10}  วิธีแก้ / fix: {finding.fix}")
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> str:
    data: list[dict[str, Any]] = [finding.__dict__ for finding in findings]
    return json.dumps(data, ensure_ascii=False, indent=2)
