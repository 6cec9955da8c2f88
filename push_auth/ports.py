"""What push_auth needs from its host, declared here and supplied by idp's composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from push_auth.models import Device


class Clock(Protocol):
    """The host's lifecycle clock: certificate validity and expiry are read from it (a test or
    a development deployment may move it)."""

    def now(self) -> datetime: ...


RealTime = Callable[[], float]
"""Seconds since the epoch on real time (`time.time`), never moved with the lifecycle clock. It
times the wire protocol (a device request's `iat`, a challenge's 120 s: the phone checks them
against its own clock) and what lives beside them in the expiring store, whose time to live is
real time too (an activation code's 10 minutes, the push backoff)."""


class Enrolment(Protocol):
    """The host's answer to "may this user enrol a device now?" (its account lifecycle):
    `check` returns nothing when allowed and raises a PushError saying why not otherwise;
    `enrolled` tells the host that the device is now recorded."""

    def check(self, user_id: str) -> None: ...
    def enrolled(self, user_id: str) -> None: ...


class Ephemeral(Protocol):
    """Expiring records (the host's expiring store satisfies it)."""

    def put(self, key: str, value: dict[str, Any], ttl: int) -> None: ...
    def add(self, key: str, value: dict[str, Any], ttl: int) -> bool: ...
    def get(self, key: str) -> dict[str, Any] | None: ...
    def consume(self, key: str) -> dict[str, Any] | None: ...
    def delete(self, key: str) -> None: ...
    def increment(self, key: str, ttl: int) -> int: ...


class Devices(Protocol):
    """Durable device records."""

    def get(self, device_id: str) -> Device | None: ...
    def active_for(self, user_id: str) -> Device | None: ...
    def add(self, device: Device) -> None: ...
    def update(self, device: Device) -> None: ...
    def expiring_between(self, start: datetime, end: datetime) -> list[Device]: ...


class Sealer(Protocol):
    """Encryption at rest for the CA's private keys (the host's master key)."""

    def encrypt(self, plaintext: bytes, context: bytes) -> bytes: ...
    def decrypt(self, blob: bytes, context: bytes) -> bytes: ...


class KeyVault(Protocol):
    """Durable named blobs: the sealed CA and challenge-signing keys and the CA certificates
    (push_auth.ca names each generation `base` or `base:ID`)."""

    def load(self, name: str) -> bytes | None: ...
    def save_if_absent(self, name: str, value: bytes) -> bytes: ...
    def names(self, base: str) -> list[str]:
        """`base` and every `base:…` entry, oldest first."""
        ...

    def delete(self, name: str) -> None: ...


class Events(Protocol):
    """Security events for the host's audit log."""

    def record(
        self, action: str, *, subject: str, outcome: str = "success", **detail: Any
    ) -> None: ...


class Wakeup(Protocol):
    """Tells waiting long-polls that a device has a new challenge (across processes); once
    `drain()` is called (the process is shutting down) `draining` is true and every waiter is
    woken, so long-polls answer at once instead of holding the shutdown."""

    draining: bool

    def drain(self) -> None: ...
    def notify(self, device_id: str) -> None: ...
    def listen(self, device_id: str) -> AbstractAsyncContextManager[asyncio.Event]: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
