"""The Web Push notifier: a challenge announced to every subscription of the device.

`wake` runs in the caller's thread (a worker thread of the host: the challenge was just made) and
only decides: which subscriptions, whether the user's rate allows, and what to say — the
challenge ID and its context, never the pictures. Sending runs on the notifier's own daemon
threads: each message is encrypted for its subscription (RFC 8291, aes128gcm), signed for its
push service (VAPID, RFC 8292) and POSTed to the endpoint (RFC 8030) with a TTL no longer than
the challenge lives. 404 and 410 drop the subscription; 429, 5xx and network errors are retried
with doubling delays (a `Retry-After` is honoured up to the cap), then given up; the long-poll
still delivers the challenge.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import http_ece  # type: ignore[import-untyped]
import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from push_auth.models import Challenge, Device
from push_auth.ports import Ephemeral, RealTime
from push_auth.webpush.subscriptions import Subscription, Subscriptions
from push_auth.webpush.vapid import VapidKeys

log = logging.getLogger(__name__)

MAX_PLAINTEXT = 3000  # a push message carries at most 4096 octets once encrypted


class Delivery(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"  # 404/410: the subscription was dropped
    REFUSED = "refused"  # another 4xx: a fault of ours, not retried
    GAVE_UP = "gave_up"  # 429, 5xx or no answer, every attempt


@dataclass(frozen=True)
class WebPushPolicy:
    attempts: int = 4
    first_delay: float = 0.5  # then doubled: 0.5, 1, 2 s
    max_delay: float = 8.0  # and a push service's Retry-After is capped here
    timeout: float = 10.0
    per_user_per_minute: int = 6
    workers: int = 4
    urgency: str = "high"  # RFC 8030 §5.3: a sign-in waits
    topic: str = "signin"  # §5.4: a newer challenge replaces one not yet delivered


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def payload_of(challenge: Challenge) -> bytes:
    """What the phone is told: which challenge, and its context (never the pictures)."""
    body = {"challenge_id": challenge.challenge_id, "context": challenge.context}
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    if len(data) > MAX_PLAINTEXT:
        data = json.dumps({"challenge_id": challenge.challenge_id}).encode()
    return data


def encrypt(payload: bytes, subscription: Subscription) -> bytes:
    """RFC 8291: a fresh ECDH key and salt per message, aes128gcm with the key ID = our key."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    encrypted: bytes = http_ece.encrypt(
        payload,
        salt=os.urandom(16),
        private_key=ephemeral,
        dh=_b64decode(subscription.p256dh),
        auth_secret=_b64decode(subscription.auth),
        version="aes128gcm",
    )
    return encrypted


class WebPushNotifier:
    def __init__(
        self,
        *,
        subscriptions: Subscriptions,
        vapid: VapidKeys,
        ephemeral: Ephemeral,
        real_time: RealTime,
        policy: WebPushPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._subscriptions = subscriptions
        self.vapid = vapid
        self._ephemeral = ephemeral
        self._real_time = real_time
        self.policy = policy or WebPushPolicy()
        self._sleep = sleep
        self._http = httpx.Client(timeout=self.policy.timeout)
        self._queue: queue.Queue[tuple[Subscription, bytes, int] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # -- deciding (the caller's thread) -------------------------------------------------------
    def wake(self, device: Device, challenge: Challenge) -> None:
        subscriptions = self._subscriptions.for_device(device.device_id)
        if not subscriptions or not self._within_rate(device.user_id):
            return
        payload = payload_of(challenge)
        ttl = max(0, challenge.expires - int(self._real_time()))
        self._start_workers()
        for subscription in subscriptions:
            self._queue.put((subscription, payload, ttl))

    def _within_rate(self, user_id: str) -> bool:
        minute = int(self._real_time()) // 60
        count = self._ephemeral.increment(f"webpush-rate:{user_id}:{minute}", 60)
        if count > self.policy.per_user_per_minute:
            log.warning("web push rate limit reached for user %s", user_id)
            return False
        return True

    # -- sending (the notifier's threads) -----------------------------------------------------
    def send(self, subscription: Subscription, payload: bytes, ttl: int) -> Delivery:
        """One message to one subscription, retried as the policy says; its outcome."""
        body = encrypt(payload, subscription)
        headers = {
            "Authorization": self.vapid.authorization(subscription.endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(ttl),
            "Urgency": self.policy.urgency,
            "Topic": self.policy.topic,
        }
        delay = self.policy.first_delay
        for attempt in range(1, self.policy.attempts + 1):
            outcome, wait = self._attempt(subscription, body, headers)
            if outcome is not None:
                return outcome
            if attempt < self.policy.attempts:
                self._sleep(min(wait if wait is not None else delay, self.policy.max_delay))
                delay *= 2
        log.warning("web push to device %s given up", subscription.device_id)
        return Delivery.GAVE_UP

    def _attempt(
        self, subscription: Subscription, body: bytes, headers: dict[str, str]
    ) -> tuple[Delivery | None, float | None]:
        """An outcome, or None and how long the push service asked us to wait (if it did)."""
        try:
            response = self._http.post(subscription.endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.info("web push to device %s: %s", subscription.device_id, exc)
            return None, None
        status = response.status_code
        if 200 <= status < 300:
            return Delivery.DELIVERED, None
        if status in (404, 410):
            self._subscriptions.drop(subscription.endpoint)
            log.info("web push subscription of device %s gone (%d)", subscription.device_id, status)
            return Delivery.GONE, None
        if status == 429 or status >= 500:
            return None, _retry_after(response)
        log.error("web push to device %s refused: %d", subscription.device_id, status)
        return Delivery.REFUSED, None

    def _start_workers(self) -> None:
        with self._lock:
            while len(self._threads) < self.policy.workers:
                thread = threading.Thread(target=self._work, name="webpush", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self.send(*item)
            except Exception:
                log.exception("web push failed")
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def drain(self) -> None:
        """Waits until every message handed over so far has been sent or given up."""
        self._queue.join()

    def close(self) -> None:
        with self._lock:
            for _ in self._threads:
                self._queue.put(None)
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(self.policy.timeout)
        self._http.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None
