"""push_auth wired into idp: SQL devices, vault and Web Push subscriptions, the audit log, the
expiring store, wake-ups and the notifier."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from idp.domain import audit
from idp.domain.lifecycle import NOT_ALLOWED, Ability
from idp.services import Services
from idp.settings import Settings, is_localhost
from idp.storage.models import DeviceRecord, PushSubscription, VaultEntry
from idp.storage.redis_connect import RedisTarget
from push_auth.ca import CertificateAuthority
from push_auth.errors import PushError, RelayedError, forbidden
from push_auth.models import Challenge, ChallengeMode, Device, DeviceStatus
from push_auth.notifier import LoggingNotifier, Notifier
from push_auth.service import PushAuth, PushConfig
from push_auth.wakeup import LocalWakeup, RedisWakeup
from push_auth.webpush import Subscription, VapidKeys, WebPushNotifier, WebPushPolicy

FIELDS = [f.name for f in dataclasses.fields(Device)]
CURRENT = (DeviceStatus.ACTIVE, DeviceStatus.SUSPENDED)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo:
        return value
    return value.replace(tzinfo=UTC)


def _to_device(row: DeviceRecord) -> Device:
    values = {name: getattr(row, name) for name in FIELDS}
    for name in ("not_before", "not_after", "created_at", "revoked_at", "next_not_after"):
        values[name] = _aware(values[name])
    return Device(**values)


class SqlDevices:
    def __init__(self, services: Services) -> None:
        self._db = services.db

    def get(self, device_id: str) -> Device | None:
        with self._db.read() as session:
            row = session.get(DeviceRecord, device_id)
            return _to_device(row) if row else None

    def active_for(self, user_id: str) -> Device | None:
        query = select(DeviceRecord).where(
            DeviceRecord.user_id == user_id, DeviceRecord.status.in_(CURRENT)
        )
        with self._db.read() as session:
            row = session.scalars(query).first()
            return _to_device(row) if row else None

    def add(self, device: Device) -> None:
        try:
            with self._db.session() as session:
                session.add(DeviceRecord(**dataclasses.asdict(device)))
        except IntegrityError as exc:  # the database's one-current-device rule held
            raise forbidden("device_exists", "an active device exists") from exc

    def update(self, device: Device) -> None:
        with self._db.session() as session:
            row = session.get(DeviceRecord, device.device_id)
            assert row is not None
            for name, value in dataclasses.asdict(device).items():
                setattr(row, name, value)

    def expiring_between(self, start: datetime, end: datetime) -> list[Device]:
        query = select(DeviceRecord).where(
            DeviceRecord.status.in_(CURRENT),
            DeviceRecord.not_after >= start,
            DeviceRecord.not_after < end,
        )
        with self._db.read() as session:
            return [_to_device(row) for row in session.scalars(query)]


class SqlVault:
    def __init__(self, services: Services) -> None:
        self._db = services.db

    def load(self, name: str) -> bytes | None:
        with self._db.read() as session:
            row = session.get(VaultEntry, name)
            return bytes(row.value) if row else None

    def save_if_absent(self, name: str, value: bytes) -> bytes:
        """First writer wins, even across processes; everyone gets the winner's value."""
        try:
            with self._db.session() as session:
                session.add(VaultEntry(name=name, value=value, created_at=datetime.now(UTC)))
        except IntegrityError:
            pass
        stored = self.load(name)
        assert stored is not None
        return stored

    def names(self, base: str) -> list[str]:
        """`base` and every `base:…` entry, oldest first (push_auth.ca's generations)."""
        query = (
            select(VaultEntry.name)
            .where(or_(VaultEntry.name == base, VaultEntry.name.startswith(base + ":")))
            .order_by(VaultEntry.created_at, VaultEntry.name)
        )
        with self._db.read() as session:
            return list(session.scalars(query))

    def delete(self, name: str) -> None:
        with self._db.session() as session:
            session.execute(delete(VaultEntry).where(VaultEntry.name == name))


class SqlSubscriptions:
    def __init__(self, services: Services) -> None:
        self._db = services.db

    def save(self, subscription: Subscription) -> None:
        """Stores it, or replaces the keys of the same endpoint (a browser subscribing again)."""
        with self._db.session() as session:
            session.execute(
                delete(PushSubscription).where(PushSubscription.endpoint == subscription.endpoint)
            )
            session.add(PushSubscription(**dataclasses.asdict(subscription)))

    def for_device(self, device_id: str) -> list[Subscription]:
        query = select(PushSubscription).where(PushSubscription.device_id == device_id)
        with self._db.read() as session:
            return [
                Subscription(
                    device_id=row.device_id,
                    user_id=row.user_id,
                    endpoint=row.endpoint,
                    p256dh=row.p256dh,
                    auth=row.auth,
                    created_at=_aware(row.created_at) or row.created_at,
                )
                for row in session.scalars(query)
            ]

    def drop(self, endpoint: str) -> None:
        with self._db.session() as session:
            session.execute(delete(PushSubscription).where(PushSubscription.endpoint == endpoint))


def webpush_contact(settings: Settings) -> str:
    """VAPID's `sub`: the configured contact, else the issuer (https) or a localhost mailbox."""
    if settings.push.webpush_contact:
        return settings.push.webpush_contact
    issuer = settings.server.issuer
    return "mailto:webpush@localhost" if is_localhost(issuer) else issuer


def build_notifier(
    services: Services,
    subscriptions: SqlSubscriptions | None = None,
    vapid: VapidKeys | None = None,
) -> Notifier:
    """Web Push (push.webpush, on by default: only devices with a subscription get anything),
    else the logging notifier."""
    settings = services.settings
    if not settings.push.webpush:
        return LoggingNotifier()
    return WebPushNotifier(
        subscriptions=subscriptions or SqlSubscriptions(services),
        vapid=vapid or vapid_keys(services),
        ephemeral=services.store,
        real_time=time.time,
        policy=WebPushPolicy(per_user_per_minute=settings.push.webpush_per_user_per_minute),
    )


def vapid_keys(services: Services) -> VapidKeys:
    """The VAPID key pair, made on first start and kept sealed in the vault."""
    contact = webpush_contact(services.settings)
    return VapidKeys(SqlVault(services), services.master, contact, time.time)


class AuditEvents:
    def __init__(self, services: Services) -> None:
        self._db = services.db

    def record(self, action: str, *, subject: str, outcome: str = "success", **detail: Any) -> None:
        actor = str(detail.pop("actor", "device"))
        with self._db.session() as session:
            audit.record(session, action, actor=actor, subject=subject, outcome=outcome, **detail)


class LifecycleEnrolment:
    """push_auth's enrolment gate answered by the account lifecycle: a phone is paired only
    for an approved registration with no current device (never by password alone)."""

    def __init__(self, services: Services) -> None:
        self._db = services.db
        self._lifecycle = services.lifecycle

    def check(self, user_id: str) -> None:
        with self._db.read() as session:
            account = self._lifecycle.user(session, user_id)[1]
        if not account.may(Ability.ACTIVATE):
            message = NOT_ALLOWED[Ability.ACTIVATE]
            raise RelayedError("enrolment_not_allowed", message.th, message.en, 403)

    def enrolled(self, user_id: str) -> None:
        with self._db.session() as session:
            self._lifecycle.device_enrolled(session, user_id)


def build_push(services: Services) -> PushAuth:
    settings = services.settings
    if settings.store.kind == "memory":
        wakeup: LocalWakeup = LocalWakeup()
    else:  # the store's Redis, by URL or through Sentinel (resubscribed after a failover)
        target = RedisTarget.from_settings(settings.store)
        wakeup = RedisWakeup(
            settings.store.key_prefix + "push-wakeup", target.client(), target.async_client
        )
    subscriptions, vapid = SqlSubscriptions(services), vapid_keys(services)
    return PushAuth(
        devices=SqlDevices(services),
        ephemeral=services.store,
        ca=CertificateAuthority(SqlVault(services), services.master),
        events=AuditEvents(services),
        wakeup=wakeup,
        notifier=build_notifier(services, subscriptions, vapid),
        config=PushConfig(
            audience=settings.server.issuer + "/push/v1",
            mode=ChallengeMode(settings.push.mode),
            certificate_days=settings.push.certificate_days,
        ),
        clock=services.clock,
        real_time=time.time,
        enrolment=LifecycleEnrolment(services),
        subscriptions=subscriptions,
        push_key=vapid.application_server_key if settings.push.webpush else None,
    )


class PushApprovals:
    """CIBA's way to the phone (idp.oidc.ciba.Approvals): a challenge in the binding-message
    or the picture mode; a user push cannot reach (no usable phone, pushes backed off) is
    nobody to ask, answered like an unknown user."""

    def __init__(self, push: PushAuth) -> None:
        self._push = push

    def start(self, user_id: str, context: dict[str, Any], pictures: bool) -> Challenge | None:
        mode = ChallengeMode.SEQUENCE if pictures else ChallengeMode.BINDING
        try:
            return self._push.start_challenge(user_id, context, mode)
        except PushError:
            return None

    def outcome(self, challenge_id: str) -> tuple[str, list[str], dict[str, Any] | None] | None:
        challenge = self._push.challenge(challenge_id)
        if challenge is None:
            return None
        return str(challenge.status), list(challenge.amr), challenge.receipt
