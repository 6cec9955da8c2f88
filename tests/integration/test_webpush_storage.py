"""Web Push on each storage backend: subscriptions in SQL (a gone one dropped), the VAPID key
sealed in the vault, the same after a restart and for two processes racing to make it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete

from idp.push_wiring import SqlDevices, SqlSubscriptions, SqlVault, build_notifier
from idp.services import Services, build_services
from idp.settings import Settings
from idp.storage.models import VaultEntry
from push_auth.models import Device, DeviceStatus
from push_auth.webpush import Subscription, WebPushNotifier
from push_auth.webpush.vapid import VAULT_NAME
from tests import support
from tests.backends import Backend
from tests.live import free_port, serve
from tests.webpush_service import LoopbackPushService

pytestmark = pytest.mark.backend
NOW = datetime.now(UTC)
KEY_OF = (
    "from idp.settings import load_settings; from idp.services import build_services;"
    "from idp.push_wiring import build_notifier;"
    "print(build_notifier(build_services(load_settings(), migrate=False)).vapid"
    ".application_server_key())"
)


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return support.make_settings(backend, tmp_path)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    made = build_services(settings)
    yield made
    made.close()


def _device(services: Services) -> Device:
    user = support.create_user(services)
    device = Device(
        device_id="d" + user.user_id, user_id=user.user_id, status=DeviceStatus.ACTIVE,
        public_key_pem="", certificate_pem="", serial=user.user_id, not_before=NOW,
        not_after=NOW, platform="web", model="", name="", app_version="", biometrics=True,
        push_token=None, created_at=NOW,
    )  # fmt: skip
    SqlDevices(services).add(device)
    return device


def _notifier(services: Services) -> WebPushNotifier:
    notifier = build_notifier(services)
    assert isinstance(notifier, WebPushNotifier)
    return notifier


def test_a_gone_subscription_is_dropped_from_the_database(services: Services) -> None:
    device, subscriptions = _device(services), SqlSubscriptions(services)
    service, notifier = LoopbackPushService(), _notifier(services)
    with serve(service.app, free_port()) as url:
        service.origin = url
        kept, gone = service.subscribe(), service.subscribe()
        for browser in (kept, gone):
            subscriptions.save(Subscription(device.device_id, device.user_id, browser.endpoint,
                                            browser.p256dh, browser.auth_b64, NOW))  # fmt: skip
        service.script(gone, 410)
        for subscription in subscriptions.for_device(device.device_id):
            notifier.send(subscription, b"{}", 60)
        notifier.close()
    assert [s.endpoint for s in subscriptions.for_device(device.device_id)] == [kept.endpoint]


def test_subscribing_again_replaces_the_keys_of_the_endpoint(services: Services) -> None:
    device, subscriptions = _device(services), SqlSubscriptions(services)
    first = Subscription(
        device.device_id, device.user_id, "https://push.example/s/1", "a", "b", NOW
    )
    subscriptions.save(first)
    subscriptions.save(replace(first, p256dh="c", auth="d"))
    [stored] = subscriptions.for_device(device.device_id)
    assert (stored.p256dh, stored.auth, stored.created_at) == ("c", "d", NOW)


def test_the_vapid_key_is_sealed_and_survives_a_restart(settings: Settings) -> None:
    first = build_services(settings)
    key = _notifier(first).vapid.application_server_key()
    sealed = SqlVault(first).load(VAULT_NAME)
    first.close()
    assert sealed is not None
    assert b"PRIVATE KEY" not in sealed  # encrypted under the master key
    again = build_services(settings, migrate=False)
    assert _notifier(again).vapid.application_server_key() == key
    again.close()


def test_two_processes_racing_get_the_same_vapid_key(
    services: Services, settings: Settings
) -> None:
    with services.db.session() as session:  # a fresh race, even on a shared database
        session.execute(delete(VaultEntry).where(VaultEntry.name == VAULT_NAME))
    env = {
        **os.environ,
        "IDP_CONF_DIR": str(Path(__file__).parents[2] / "conf"),
        "IDP_SERVER__ISSUER": settings.server.issuer,
        "IDP_SERVER__VAR_DIR": settings.server.var_dir,
        "IDP_DATABASE__URL": settings.database.url,
        "IDP_SECURITY__MASTER_KEY": settings.security.master_key,
    }
    runs = [
        subprocess.Popen([sys.executable, "-c", KEY_OF], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    keys = {run.communicate(timeout=30)[0].strip() for run in runs}
    assert keys == {_notifier(services).vapid.application_server_key()}
