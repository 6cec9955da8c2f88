"""Web Push to a loopback push service (tests/webpush_service.py) that checks VAPID and decrypts:
what a challenge's message says, retries, dropped subscriptions, the per-user rate limit, and
that the service's checks refuse a bad VAPID token (so the passing tests mean something)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from idp.storage.expiring import open_store
from push_auth.models import Challenge, ChallengeMode, Device, DeviceStatus
from push_auth.webpush import Delivery, Subscription, VapidKeys, WebPushNotifier, WebPushPolicy
from tests.live import free_port, serve
from tests.unit.push_auth.push_doubles import MemoryVault
from tests.webpush_service import BrowserSubscription, LoopbackPushService, b64url

CONTACT = "mailto:softtoken-ops@example.go.th"
NOW = datetime.now(UTC)
DEVICE = Device(
    device_id="dev-1", user_id="T1", status=DeviceStatus.ACTIVE, public_key_pem="",
    certificate_pem="", serial="1", not_before=NOW, not_after=NOW, platform="web", model="",
    name="", app_version="", biometrics=True, push_token=None, created_at=NOW,
)  # fmt: skip
CONTEXT = {"client": "Demo portal", "ip": "203.0.113.7", "browser": "Firefox", "time": 1}


class XorSealer:
    def encrypt(self, plaintext: bytes, context: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in plaintext)

    def decrypt(self, blob: bytes, context: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in blob)


class MemorySubscriptions:
    def __init__(self) -> None:
        self.rows: dict[str, Subscription] = {}

    def save(self, subscription: Subscription) -> None:
        self.rows[subscription.endpoint] = subscription

    def for_device(self, device_id: str) -> list[Subscription]:
        return [s for s in self.rows.values() if s.device_id == device_id]

    def drop(self, endpoint: str) -> None:
        self.rows.pop(endpoint, None)


def challenge(expires_in: int = 120) -> Challenge:
    now = int(time.time())
    return Challenge(
        challenge_id="cid-" + b64url(now.to_bytes(8, "big")),
        user_id=DEVICE.user_id,
        device_id=DEVICE.device_id,
        mode=ChallengeMode.SEQUENCE,
        pictures=[3, 17, 8, 25],
        created=now,
        expires=now + expires_in,
        context=CONTEXT,
    )


@pytest.fixture
def service() -> Iterator[LoopbackPushService]:
    push_service = LoopbackPushService()
    with serve(push_service.app, free_port()) as url:
        push_service.origin = url
        yield push_service


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def notifier(sleeps: list[float]) -> Iterator[WebPushNotifier]:
    started = time.time()
    made = WebPushNotifier(
        subscriptions=MemorySubscriptions(),
        vapid=VapidKeys(MemoryVault(), XorSealer(), CONTACT, time.time),
        ephemeral=open_store("memory://", "t:"),
        real_time=lambda: started,  # one rate-limit minute for the whole test
        policy=WebPushPolicy(per_user_per_minute=3, timeout=2),
        sleep=sleeps.append,
    )
    yield made
    made.close()


def subscribe(service: LoopbackPushService, notifier: WebPushNotifier) -> BrowserSubscription:
    browser = service.subscribe(notifier.vapid.application_server_key())
    notifier._subscriptions.save(
        Subscription(DEVICE.device_id, DEVICE.user_id, browser.endpoint, browser.p256dh,
                     browser.auth_b64, NOW)
    )  # fmt: skip
    return browser


def stored(notifier: WebPushNotifier) -> list[Subscription]:
    return notifier._subscriptions.for_device(DEVICE.device_id)


def test_a_challenge_arrives_decrypted_to_its_id_and_context_without_pictures(
    service: LoopbackPushService, notifier: WebPushNotifier
) -> None:
    subscribe(service, notifier)
    sent = challenge()
    notifier.wake(DEVICE, sent)
    notifier.drain()
    [message] = service.wait(1)
    assert message.json() == {"challenge_id": sent.challenge_id, "context": CONTEXT}
    assert b"pictures" not in message.plaintext
    # as long as the challenge lives, by the notifier's clock (frozen at the fixture's start,
    # which may be a second before the challenge was made)
    assert int(message.headers["ttl"]) == sent.expires - int(notifier._real_time())
    assert 0 < int(message.headers["ttl"]) <= 121
    assert message.headers["urgency"] == "high"
    assert message.claims["aud"] == service.origin
    assert message.claims["sub"] == CONTACT
    assert message.claims["exp"] <= time.time() + 24 * 3600


def test_every_subscription_of_the_device_gets_the_message(
    service: LoopbackPushService, notifier: WebPushNotifier
) -> None:
    subscribe(service, notifier)
    subscribe(service, notifier)
    notifier.wake(DEVICE, challenge())
    notifier.drain()
    assert len({m.sid for m in service.wait(2)}) == 2


def test_a_device_without_subscription_gets_nothing(
    service: LoopbackPushService, notifier: WebPushNotifier
) -> None:
    notifier.wake(DEVICE, challenge())
    notifier.drain()
    assert service.received == []
    assert notifier.vapid._key is None  # no key is even made for it


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_calls_gone_is_dropped(
    service: LoopbackPushService, notifier: WebPushNotifier, status: int
) -> None:
    browser = subscribe(service, notifier)
    service.script(browser, status)
    assert notifier.send(stored(notifier)[0], b"{}", 60) is Delivery.GONE
    assert stored(notifier) == []
    assert service.attempts[browser.sid] == 1


def test_429_and_5xx_are_retried_with_doubling_delays_then_given_up(
    service: LoopbackPushService, notifier: WebPushNotifier, sleeps: list[float]
) -> None:
    browser = subscribe(service, notifier)
    service.script(browser, 429, 500, 503, 502)
    assert notifier.send(stored(notifier)[0], b"{}", 60) is Delivery.GAVE_UP
    assert service.attempts[browser.sid] == 4
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(stored(notifier)) == 1  # kept: the push service may come back


def test_a_retry_that_succeeds_delivers(
    service: LoopbackPushService, notifier: WebPushNotifier, sleeps: list[float]
) -> None:
    browser = subscribe(service, notifier)
    service.script(browser, 500, 429)
    assert notifier.send(stored(notifier)[0], b'{"x":1}', 60) is Delivery.DELIVERED
    assert service.attempts[browser.sid] == 3
    assert service.wait(1)[0].json() == {"x": 1}


def test_no_answer_is_retried_then_given_up(notifier: WebPushNotifier, sleeps: list[float]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/push/nobody"
    browser = LoopbackPushService().subscribe()
    subscription = Subscription("dev-1", "T1", closed, browser.p256dh, browser.auth_b64, NOW)
    assert notifier.send(subscription, b"{}", 60) is Delivery.GAVE_UP
    assert len(sleeps) == 3


def test_a_user_gets_at_most_the_rate_per_minute(
    service: LoopbackPushService, notifier: WebPushNotifier
) -> None:
    subscribe(service, notifier)
    for _ in range(5):
        notifier.wake(DEVICE, challenge())
    notifier.drain()
    assert len(service.wait(3)) == 3
    time.sleep(0.1)
    assert len(service.received) == 3
    notifier.wake(replace(DEVICE, user_id="T2"), challenge())  # another user is not limited
    notifier.drain()
    assert len(service.wait(4)) == 4


# -- the push service's checks are real ------------------------------------------------------
def test_an_expired_vapid_token_is_refused(
    service: LoopbackPushService, notifier: WebPushNotifier
) -> None:
    browser = subscribe(service, notifier)
    vault = MemoryVault()
    vault.blobs = notifier.vapid._vault.blobs  # type: ignore[attr-defined]
    stale = VapidKeys(vault, XorSealer(), CONTACT, lambda: time.time() - 13 * 3600)
    late = WebPushNotifier(
        subscriptions=notifier._subscriptions, vapid=stale, ephemeral=open_store("memory://", "u:"),
        real_time=time.time, sleep=lambda _: None,
    )  # fmt: skip
    assert late.send(stored(notifier)[0], b"{}", 60) is Delivery.REFUSED
    assert service.refused == [(401, "exp")]
    assert service.attempts[browser.sid] == 1
    late.close()


def _post(browser: BrowserSubscription, token: str, key: str) -> httpx.Response:
    headers = {"Authorization": f"vapid t={token}, k={key}", "TTL": "60",
               "Content-Encoding": "aes128gcm"}  # fmt: skip
    return httpx.post(browser.endpoint, content=b"x" * 100, headers=headers)


def _token(key: ECKey, **claims: object) -> str:
    return jwt.encode({"alg": "ES256", "typ": "JWT"}, claims, key)


def _point(key: ECKey) -> str:
    def part(name: str) -> bytes:
        value = str(key.as_dict()[name])
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))

    return b64url(b"\x04" + part("x") + part("y"))


def test_the_service_refuses_bad_vapid_tokens(service: LoopbackPushService) -> None:
    key, other = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    browser = service.subscribe()
    now = int(time.time())
    good = {"aud": service.origin, "exp": now + 600, "sub": CONTACT}
    cases = {
        "signature": (_token(other, **good), _point(key)),
        "aud": (_token(key, **{**good, "aud": "https://push.example"}), _point(key)),
        "exp": (_token(key, **{**good, "exp": now - 1}), _point(key)),
        "too far": (_token(key, **{**good, "exp": now + 25 * 3600}), _point(key)),
        "sub": (_token(key, **{**good, "sub": "nobody"}), _point(key)),
    }
    for name, (token, k) in cases.items():
        assert _post(browser, token, k).status_code == 401, name
    assert [reason.split(":")[0] for _, reason in service.refused] == [
        "signature", "aud", "exp", "exp", "sub"
    ]  # fmt: skip
    pinned = service.subscribe(application_server_key=_point(other))
    assert _post(pinned, _token(key, **good), _point(key)).status_code == 403
    assert _post(browser, _token(key, **good), _point(key)).status_code == 400  # not encrypted
