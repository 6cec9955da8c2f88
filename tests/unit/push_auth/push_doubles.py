"""push_auth wired to doubles: the memory store, in-memory devices and vault, recorded events,
a frozen clock that tests move, an enrolment gate they open and close, and a phone that signs
its requests by hand (the memory store and both clocks run on the same frozen time)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from idp.storage.expiring import MemoryStore
from push_auth import protocol
from push_auth.ca import CertificateAuthority
from push_auth.errors import PushError, RelayedError, forbidden
from push_auth.models import Challenge, ChallengeMode, Device, DeviceStatus
from push_auth.service import PushAuth, PushConfig

AUDIENCE = "https://idp.test/push/v1"
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


class FrozenClock:
    """Time stands still until the test moves it: `now()` for the lifecycle, `time()` for the
    wire protocol and the store."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


class MemoryDevices:
    """Device records in a dict, with the host's rule of one current device per user."""

    def __init__(self) -> None:
        self.rows: dict[str, Device] = {}

    def get(self, device_id: str) -> Device | None:
        row = self.rows.get(device_id)
        return replace(row) if row else None

    def active_for(self, user_id: str) -> Device | None:
        current = (DeviceStatus.ACTIVE, DeviceStatus.SUSPENDED)
        found = [d for d in self.rows.values() if d.user_id == user_id and d.status in current]
        return replace(found[0]) if found else None

    def add(self, device: Device) -> None:
        if self.active_for(device.user_id) is not None:
            raise forbidden("device_exists", "an active device exists")
        self.rows[device.device_id] = replace(device)

    def update(self, device: Device) -> None:
        assert device.device_id in self.rows
        self.rows[device.device_id] = replace(device)

    def expiring_between(self, start: datetime, end: datetime) -> list[Device]:
        return [replace(d) for d in self.rows.values() if start <= d.not_after < end]


class MemoryVault:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}  # in the order saved

    def load(self, name: str) -> bytes | None:
        return self.blobs.get(name)

    def save_if_absent(self, name: str, value: bytes) -> bytes:
        return self.blobs.setdefault(name, value)

    def names(self, base: str) -> list[str]:
        return [name for name in self.blobs if name == base or name.startswith(base + ":")]

    def delete(self, name: str) -> None:
        self.blobs.pop(name, None)


class PlainSealer:
    """No encryption: the CA keys never leave the test."""

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        return plaintext

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        return blob


@dataclass(frozen=True)
class Event:
    action: str
    subject: str
    outcome: str
    detail: dict[str, Any]


class RecordedEvents:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, action: str, *, subject: str, outcome: str = "success", **detail: Any) -> None:
        self.events.append(Event(action, subject, outcome, detail))

    def actions(self) -> list[str]:
        return [e.action for e in self.events]


class GateEnrolment:
    """The host's enrolment gate: open unless a test closes it; remembers who enrolled."""

    def __init__(self) -> None:
        self.open = True
        self.enrolled_users: list[str] = []

    def check(self, user_id: str) -> None:
        if not self.open:
            raise RelayedError("enrolment_not_allowed", "ยังเปิดใช้งานไม่ได้", "not allowed now", 403)

    def enrolled(self, user_id: str) -> None:
        self.enrolled_users.append(user_id)


class RecordedWakeup:
    """Remembers which devices were woken (the long-poll's side is the device API's)."""

    def __init__(self) -> None:
        self.woken: list[str] = []
        self.draining = False

    def drain(self) -> None:
        self.draining = True

    def notify(self, device_id: str) -> None:
        self.woken.append(device_id)

    @asynccontextmanager
    async def listen(self, device_id: str) -> AsyncIterator[asyncio.Event]:
        yield asyncio.Event()

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""


class SilentNotifier:
    def wake(self, device: Device, challenge: Challenge) -> None:
        """No push service in a unit test."""

    def close(self) -> None:
        """Nothing to stop."""


@dataclass
class World:
    """One push_auth and its doubles."""

    clock: FrozenClock = field(default_factory=FrozenClock)
    devices: MemoryDevices = field(default_factory=MemoryDevices)
    events: RecordedEvents = field(default_factory=RecordedEvents)
    enrolment: GateEnrolment = field(default_factory=GateEnrolment)
    wakeup: RecordedWakeup = field(default_factory=RecordedWakeup)
    mode: ChallengeMode = ChallengeMode.SEQUENCE
    store: MemoryStore = field(init=False)
    push: PushAuth = field(init=False)

    def __post_init__(self) -> None:
        self.store = MemoryStore(clock=self.clock.time)
        self.push = PushAuth(
            devices=self.devices,
            ephemeral=self.store,
            ca=CertificateAuthority(MemoryVault(), PlainSealer()),
            events=self.events,
            wakeup=self.wakeup,
            notifier=SilentNotifier(),
            config=PushConfig(audience=AUDIENCE, mode=self.mode),
            clock=self.clock,
            real_time=self.clock.time,
            enrolment=self.enrolment,
        )

    def phone(self, user_id: str = "alice") -> Phone:
        """A phone activated for `user_id` with a fresh code."""
        phone = Phone(self)
        phone.activate(self.push.activation.start(user_id).code)
        return phone

    def device(self, phone: Phone) -> Device:
        device = self.devices.get(phone.device_id)
        assert device is not None
        return device


def refusal(call: Callable[..., object], *args: Any, **kwargs: Any) -> PushError:
    """The PushError that `call` raises (failing the test when it raises none)."""
    with pytest.raises(PushError) as refused:
        call(*args, **kwargs)
    return refused.value


def csr(key: ec.EllipticCurvePrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "unit-test phone")])
    request = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class Phone:
    """A device speaking the protocol: a PIN-protected key, a polling key, signed requests."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.poll = ec.generate_private_key(ec.SECP256R1())
        self.device_id = ""

    def token(self, method: str, path: str, *, poll: bool = False, **claims: Any) -> str:
        body = {
            "aud": AUDIENCE,
            "iat": int(self.world.clock.time()),
            "jti": secrets.token_urlsafe(18),
            "htm": method,
            "htu": path,
            **claims,
        }
        key, kid = (self.poll, self.device_id + "#poll") if poll else (self.key, self.device_id)
        return protocol.sign(key, body, protocol.REQUEST_TYP, kid=kid)

    def activate(self, code: str, **claims: Any) -> dict[str, Any]:
        claims = {"code": code, "csr": csr(self.key), "poll_key": public_pem(self.poll), **claims}
        result = self.world.push.activation.activate(
            self.token("POST", "/push/v1/activate", **claims), "/push/v1/activate"
        )
        self.device_id = str(result["device_id"])
        return result

    def authenticate(
        self, method: str, path: str, *, poll: bool = False, allow_expired: bool = False
    ) -> Device:
        token = self.token(method, path, poll=poll)
        return self.world.push.device_auth.authenticate(
            token, method, path, allow_expired=allow_expired, poll_key_allowed=True
        )[0]

    def answer(
        self, challenge: Challenge, action: str, *, poll: bool | None = None, **claims: Any
    ) -> Challenge:
        """Answer as the app does: approvals with the PIN key, the rest with the polling key."""
        path = f"/push/v1/challenges/{challenge.challenge_id}"
        poll = action != "approve" if poll is None else poll
        token = self.token(
            "POST", path, poll=poll, cid=challenge.challenge_id, action=action, **claims
        )
        device, verified = self.world.push.device_auth.authenticate(
            token, "POST", path, allow_expired=True, poll_key_allowed=True
        )
        return self.world.push.challenges.answer(device, challenge.challenge_id, verified)

    def approve(self, challenge: Challenge, **claims: Any) -> Challenge:
        return self.answer(challenge, "approve", pictures=challenge.pictures, amr=["pin"], **claims)

    def renew(self) -> ec.EllipticCurvePrivateKey:
        """Ask for a certificate for a new key (signed by the current one); return the new key."""
        new_key = ec.generate_private_key(ec.SECP256R1())
        token = self.token("POST", "/push/v1/renew", csr=csr(new_key))
        device, claims = self.world.push.device_auth.authenticate(
            token, "POST", "/push/v1/renew", allow_expired=True
        )
        self.world.push.renewal.renew(device, claims)
        return new_key
