"""The store's Sentinel form: Sentinel addresses and a service name instead of a URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.services import store_target
from idp.settings import SettingsError, load_settings
from idp.storage.redis_connect import RedisTarget

SENTINELS = '["127.0.0.1:26379", "[::1]:26380", "sentinel-3.internal:26381"]'


def _load(tmp_path: Path, store: str, server: str = "") -> object:
    path = tmp_path / "conf.toml"
    path.write_text(f"[server]\n{server}\n[store]\n{store}\n")
    return load_settings([path])


def test_the_sentinel_form_names_the_service_and_addresses(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        f'sentinels = {SENTINELS}\nsentinel_service = "mymaster"\npassword = "pw"\ndb = 2',
        "workers = 4",  # several processes share the Redis Sentinel names
    )
    store = settings.store  # type: ignore[attr-defined]
    assert store.kind == "sentinel"
    assert store.sentinel_addresses() == [
        ("127.0.0.1", 26379),
        ("::1", 26380),
        ("sentinel-3.internal", 26381),
    ]
    target = store_target(settings)  # type: ignore[arg-type]
    assert isinstance(target, RedisTarget)
    assert (target.service, target.password, target.db) == ("mymaster", "pw", 2)


def test_a_plain_url_stays_a_url(tmp_path: Path) -> None:
    settings = _load(tmp_path, 'url = "redis://127.0.0.1:6379/0"')
    assert settings.store.kind == "redis"  # type: ignore[attr-defined]
    assert store_target(settings) == RedisTarget(url="redis://127.0.0.1:6379/0")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("store", "named"),
    [
        (f"sentinels = {SENTINELS}", "store.sentinel_service"),
        ('sentinel_service = "mymaster"', "store.sentinels"),
        (
            f'url = "redis://127.0.0.1:6379/0"\nsentinels = {SENTINELS}\n'
            'sentinel_service = "mymaster"',
            "not both",
        ),
        ('sentinels = ["127.0.0.1"]\nsentinel_service = "mymaster"', "not host:port"),
        ('sentinels = ["127.0.0.1:0"]\nsentinel_service = "mymaster"', "not host:port"),
        ('sentinels = [":26379"]\nsentinel_service = "mymaster"', "not host:port"),
        (f'sentinels = {SENTINELS}\nsentinel_service = "m"\ndb = 16', "store.db"),
    ],
)
def test_an_inconsistent_sentinel_form_is_refused_by_name(
    tmp_path: Path, store: str, named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        _load(tmp_path, store)


def test_the_environment_sets_the_sentinels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_STORE__SENTINELS", '["10.0.0.1:26379","10.0.0.2:26379"]')
    monkeypatch.setenv("IDP_STORE__SENTINEL_SERVICE", "idp")
    settings = load_settings()
    assert settings.store.kind == "sentinel"
    assert settings.store.sentinel_addresses() == [("10.0.0.1", 26379), ("10.0.0.2", 26379)]
