"""Settings: files, environment, and refusals that name the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from idp.settings import DEFAULT_CONF_DIR, Settings, SettingsError, load_settings


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf.toml"
    path.write_text(text)
    return path


def test_defaults_load() -> None:
    settings = load_settings()
    assert settings.server.issuer == "http://127.0.0.1:8000"
    assert settings.store.url == "memory://"


def test_unknown_key_in_a_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"database\.urll"):
        load_settings([_write(tmp_path, '[database]\nurll = "x"\n')])


def test_unknown_section_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="databse"):
        load_settings([_write(tmp_path, '[databse]\nurl = "x"\n')])


def test_unknown_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_SERVER__ISSUR", "https://x")
    with pytest.raises(SettingsError, match="IDP_SERVER__ISSUR"):
        load_settings()


def test_environment_overrides_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_SERVER__PORT", "9100")
    assert load_settings().server.port == 9100


def test_development_features_refuse_a_production_issuer(tmp_path: Path) -> None:
    text = '[server]\nissuer = "https://idp.example.go.th"\n[development]\nseed_demo = true\n'
    with pytest.raises(SettingsError, match="seed_demo"):
        load_settings([_write(tmp_path, text)])


def test_a_movable_clock_refuses_a_production_issuer(tmp_path: Path) -> None:
    text = '[server]\nissuer = "https://idp.example.go.th"\n[development]\nmovable_clock = true\n'
    with pytest.raises(SettingsError, match="movable_clock"):
        load_settings([_write(tmp_path, text)])


def test_certificate_lifetime_is_at_least_one_day(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="certificate_days"):
        load_settings([_write(tmp_path, "[push]\ncertificate_days = 0\n")])
    assert (
        load_settings([_write(tmp_path, "[push]\ncertificate_days = 1\n")]).push.certificate_days
        == 1
    )


def test_plain_http_issuer_must_be_localhost(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"server\.issuer"):
        load_settings([_write(tmp_path, '[server]\nissuer = "http://idp.example.go.th"\n')])


def test_memory_store_refuses_several_workers(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="workers"):
        load_settings([_write(tmp_path, "[server]\nworkers = 2\n")])


def test_production_requires_a_master_key(tmp_path: Path) -> None:
    text = '[server]\nissuer = "https://idp.example.go.th"\nenvironment = "production"\n'
    with pytest.raises(SettingsError, match="master_key"):
        load_settings([_write(tmp_path, text)])


def test_example_documents_every_key() -> None:
    example = tomllib.loads((DEFAULT_CONF_DIR / "example.toml").read_text())
    for section, field in Settings.model_fields.items():
        assert field.annotation is not None
        keys = set(field.annotation.model_fields)  # type: ignore[union-attr]
        assert set(example.get(section, {})) == keys, section
    assert set(example) == set(Settings.model_fields)
    load_settings([DEFAULT_CONF_DIR / "example.toml"])
