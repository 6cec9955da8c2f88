"""Typed settings: TOML files from conf/, then IDP_… environment variables.

Every key lives in a section (``[server]``, ``[database]``, …). Environment variables name a key
as ``IDP_SECTION__KEY`` (for example ``IDP_DATABASE__URL``). An unknown key or inconsistent values
stop start-up with a message that names the key.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONF_DIR = REPO_ROOT / "conf"
ENV_PREFIX = "IDP_"


def is_localhost(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(Section):
    issuer: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    threads: int = Field(8, ge=1, le=200)
    # Seconds a process takes on SIGTERM to finish its requests and mail sends (idp.shutdown).
    shutdown_timeout: int = Field(20, ge=1, le=600)
    environment: Literal["development", "production"] = "development"
    # Addresses or networks (CIDR) of the reverse proxies whose X-Forwarded-* we believe.
    trusted_proxies: list[str] = []
    var_dir: str = "var"

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            try:  # strict: host bits set (10.0.0.1/8) is a typing mistake, not a network
                ipaddress.ip_network(entry.strip(), strict=True)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or a network (CIDR)") from None
        return entries

    @model_validator(mode="after")
    def _issuer_is_url(self) -> ServerSettings:
        parts = urlsplit(self.issuer)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("server.issuer must be an http(s) URL")
        if parts.query or parts.fragment or self.issuer.endswith("/"):
            raise ValueError("server.issuer must have no query, fragment or trailing slash")
        if parts.scheme == "http" and not is_localhost(self.issuer):
            raise ValueError("server.issuer must use https unless it is a localhost URL")
        return self


class DatabaseSettings(Section):
    url: str = "sqlite:///var/idp.sqlite3"
    echo: bool = False
    pool_size: int = Field(10, ge=1, le=200)


class StoreSettings(Section):
    """The expiring store: `url` (memory:// or redis://…), or Redis through Sentinel: the
    Sentinels' `host:port` addresses and the service (master group) name they watch, with the
    master's password and database number (the URL carries those otherwise)."""

    url: str = "memory://"
    key_prefix: str = "idp:"
    sentinels: list[str] = []
    sentinel_service: str = ""
    sentinel_password: str = ""  # for the Sentinels themselves (requirepass in sentinel.conf)
    password: str = ""  # for the Redis master and replicas found through the Sentinels
    db: int = Field(0, ge=0, le=15)

    @model_validator(mode="after")
    def _sentinel_form(self) -> StoreSettings:
        if not self.sentinels:
            if self.sentinel_service:
                raise ValueError("store.sentinel_service needs store.sentinels (host:port list)")
            return self
        if not self.url.startswith("memory"):
            raise ValueError("store.url and store.sentinels: set one of them, not both")
        if not self.sentinel_service:
            raise ValueError("store.sentinels needs store.sentinel_service (the master's name)")
        for address in self.sentinels:
            sentinel_address(address)
        return self

    @property
    def kind(self) -> Literal["memory", "redis", "sentinel"]:
        """Where expiring state lives: this process, one Redis, or the master Sentinel names."""
        if self.sentinels:
            return "sentinel"
        return "memory" if self.url.startswith("memory") else "redis"

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        return [sentinel_address(address) for address in self.sentinels]


def sentinel_address(address: str) -> tuple[str, int]:
    """`host:port` (an IPv6 host in brackets) as a (host, port) pair, or ValueError."""
    host, _, port = address.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"store.sentinels: {address!r} is not host:port")
    return host, int(port)


class SecuritySettings(Section):
    master_key: str = Field("", repr=False)
    master_key_file: str = "var/master.key"
    # The master key ring's previous keys (idp.domain.secrets): they only open values sealed
    # under them, until `idp master-key rotate` seals those again under master_key. Keys
    # separated by commas or white space; the file (empty: none) has one key a line.
    previous_master_keys: str = Field("", repr=False)
    previous_master_keys_file: str = ""
    lockout_attempts: int = Field(5, ge=1, le=100)
    lockout_seconds: int = Field(300, ge=1)
    ip_attempts: int = Field(50, ge=1)
    ip_window_seconds: int = Field(300, ge=1)


class TokenSettings(Section):
    authorization_code_ttl: int = Field(60, ge=1, le=600)
    access_token_ttl: int = Field(600, ge=30, le=86400)
    id_token_ttl: int = Field(600, ge=30, le=86400)
    refresh_token_ttl: int = Field(2_592_000, ge=60)
    key_refresh_seconds: int = Field(60, ge=1)
    signer_process: bool = True


class AuthorizationDetailsSettings(Section):
    """RFC 9396 (idp.oidc.rar): a folder of `<type>.schema.json` JSON Schemas that replace the
    built-in ones (idp/oidc/authorization_details/); empty: the built-in schemas."""

    schema_dir: str = ""


class DPoPSettings(Section):
    """RFC 9449 proofs (idp.oidc.dpop). `require_nonce`: "fapi2" demands a server nonce from
    clients with the FAPI 2.0 profile only, "always" from every client, "never" from none (a
    proof that carries a nonce is still checked)."""

    require_nonce: Literal["fapi2", "always", "never"] = "fapi2"
    proof_max_age: int = Field(60, ge=10, le=300)  # seconds a proof's iat may lie behind
    nonce_lifetime: int = Field(300, ge=30, le=3600)  # a nonce is accepted for 1-2 of these


class SessionSettings(Section):
    absolute_ttl: int = Field(28_800, ge=60)
    idle_ttl: int = Field(1_800, ge=60)
    login_transaction_ttl: int = Field(900, ge=60)


class I18nSettings(Section):
    default_locale: Literal["th", "en"] = "th"


class PushSettings(Section):
    mode: Literal["sequence", "compare"] = "sequence"
    renewal_warning_days: int = Field(30, ge=1, le=90)
    # How long a device certificate lasts (the manual: two years); renewal issues a new one.
    certificate_days: int = Field(730, ge=1, le=3650)
    # Web Push (RFC 8030) to the web authenticator's subscriptions; a device without one gets
    # nothing, so a development setup without the web app sends nothing.
    webpush: bool = True
    # VAPID `sub` (RFC 8292): a mailto: or https: URI the push services can reach us at; empty
    # means the issuer's URL (https) or mailto:webpush@localhost (a localhost issuer).
    webpush_contact: str = Field("", pattern=r"^$|^(mailto:\S+@\S+|https://\S+)$")
    webpush_per_user_per_minute: int = Field(6, ge=1, le=60)


class MailSettings(Section):
    transport: Literal["smtp", "dev"] = "smtp"
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: str = ""
    from_address: str = "Soft Token <no-reply@localhost>"
    max_attempts: int = Field(12, ge=1, le=100)
    retry_base_seconds: int = Field(10, ge=1, le=3600)
    poll_seconds: float = Field(2.0, gt=0, le=60)
    timeout_seconds: float = Field(15.0, gt=0, le=120)


def _default_claim_map() -> dict[str, str]:
    return {
        "national_id": "pid",
        "name_th": "name",
        "name_en": "name_en",
        "birthdate": "birthdate",
        "address": "address",
        "assurance_level": "ial",
    }


class UpstreamSettings(Section):
    """The upstream identity provider that proofs identities (registration step 2)."""

    simulated: bool = False
    issuer: str = ""
    client_id: str = "gfmis-softtoken"
    client_secret: str = ""
    auth_method: Literal["client_secret_basic", "private_key_jwt"] = "client_secret_basic"
    scopes: str = "openid pid profile address ial"
    claims: dict[str, str] = Field(default_factory=_default_claim_map)
    trust_framework: str = "th_dopa_ial"
    assurance_levels: dict[str, str] = Field(default_factory=dict)
    http_timeout_seconds: float = Field(10.0, gt=0, le=60)


class TokenLoginSettings(Section):
    """ "Login by Token" (manual chapter 0): a legacy token-key certificate, verified by a
    reverse proxy in server.trusted_proxies that forwards it in these headers."""

    enabled: bool = False
    cert_header: str = "X-SSL-Client-Cert"
    verify_header: str = "X-SSL-Client-Verify"


class JobsSettings(Section):
    enabled: bool = True
    interval_seconds: int = Field(3600, ge=60)


class MetricsSettings(Section):
    """Prometheus /metrics (idp.web.metrics): answered only with `Authorization: Bearer <token>`;
    without a token it is not there (404). Give it from the environment: IDP_METRICS__TOKEN."""

    token: str = ""


class RegistrationSettings(Section):
    # Four eyes: an officer's approval at step 4 waits for a second, different officer.
    four_eyes: bool = False


class AdminUIMountSettings(Section):
    """The back office (admin_ui) mounted at /admin of this IdP, its client provisioned here.
    Turn it off to deploy admin_ui alone on another host (see admin_ui/settings.py)."""

    enabled: bool = True
    client_id: str = "admin-ui"
    session_hours: float = Field(8.0, gt=0, le=24)
    # The level officers sign in at (idp.domain.acr): a push approval, or a passkey
    # (phishing-resistant); the admin API's changes require it too.
    required_acr: Literal["urn:th:go:cgd:idp:aal2-push", "urn:th:go:cgd:idp:aal2-phr"] = (
        "urn:th:go:cgd:idp:aal2-push"
    )


class DevelopmentSettings(Section):
    seed_demo: bool = False
    # The lifecycle clock can be moved forward from /dev/clock (localhost issuer only).
    movable_clock: bool = False
    demo_portal_url: str = "http://127.0.0.1:8001"


class Settings(BaseSettings):
    """All settings of one IdP deployment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    tokens: TokenSettings = Field(default_factory=TokenSettings)
    dpop: DPoPSettings = Field(default_factory=DPoPSettings)
    authorization_details: AuthorizationDetailsSettings = Field(
        default_factory=AuthorizationDetailsSettings
    )
    session: SessionSettings = Field(default_factory=SessionSettings)
    i18n: I18nSettings = Field(default_factory=I18nSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    upstream: UpstreamSettings = Field(default_factory=UpstreamSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)
    token_login: TokenLoginSettings = Field(default_factory=TokenLoginSettings)
    registration: RegistrationSettings = Field(default_factory=RegistrationSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    admin_ui: AdminUIMountSettings = Field(default_factory=AdminUIMountSettings)
    development: DevelopmentSettings = Field(default_factory=DevelopmentSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.development.seed_demo and not is_localhost(self.server.issuer):
            raise ValueError(
                "development.seed_demo is a development feature and server.issuer is not a "
                "localhost URL"
            )
        production = self.server.environment == "production"
        if production and not is_localhost(self.server.issuer) and not self.security.master_key:
            raise ValueError("security.master_key must be set in production")
        if self.token_login.enabled and not self.server.trusted_proxies:
            raise ValueError("token_login.enabled needs server.trusted_proxies (the TLS proxy)")
        if self.upstream.simulated and not is_localhost(self.server.issuer):
            raise ValueError(
                "upstream.simulated is a development feature and server.issuer is not a "
                "localhost URL"
            )
        if self.development.movable_clock and not is_localhost(self.server.issuer):
            raise ValueError(
                "development.movable_clock is a development feature and server.issuer is not a "
                "localhost URL"
            )
        if self.mail.transport == "dev" and not is_localhost(self.server.issuer):
            raise ValueError(
                "mail.transport = dev (the development mailbox) and server.issuer is not a "
                "localhost URL"
            )
        if self.store.kind == "memory" and self.server.workers > 1:
            raise ValueError("store.url memory:// keeps state in one process; server.workers > 1")
        if self.store.url.split(":", 1)[0] not in ("memory", "redis", "rediss"):
            raise ValueError("store.url must be memory:// or a redis:// URL")
        return self

    @property
    def is_https(self) -> bool:
        return self.server.issuer.startswith("https://")

    @property
    def upstream_issuer(self) -> str:
        """The simulated upstream lives under this server; a real one is configured."""
        if self.upstream.simulated:
            return self.server.issuer + "/dev/upstream"
        return self.upstream.issuer.rstrip("/")

    @property
    def var_path(self) -> Path:
        return resolve_path(self.server.var_dir)


class SettingsError(Exception):
    """Raised with a message naming the offending key."""


def resolve_path(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else REPO_ROOT / candidate


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_files(env: Mapping[str, str] | None = None) -> list[Path]:
    """conf/default.toml (IDP_CONF_DIR names another folder), then the file named by IDP_CONFIG."""
    env = os.environ if env is None else env
    files = [Path(env.get("IDP_CONF_DIR") or DEFAULT_CONF_DIR) / "default.toml"]
    if extra := env.get("IDP_CONFIG"):
        files.append(Path(extra))
    return files


def _unknown_env_keys(env: Mapping[str, str]) -> list[str]:
    known_sections = Settings.model_fields
    unknown = []
    for name in env:
        if not name.startswith(ENV_PREFIX) or name in ("IDP_CONFIG", "IDP_CONF_DIR"):
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        field = known_sections.get(section)
        annotation = field.annotation if field else None
        known = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if not (known and key in annotation.model_fields):  # type: ignore[union-attr]
            unknown.append(name)
    return unknown


def load_settings(files: list[Path] | None = None, **overrides: Any) -> Settings:
    """Read the TOML files in order, then the environment; raise SettingsError naming the key."""
    data: dict[str, Any] = {}
    for path in files if files is not None else config_files():
        try:
            data = _deep_merge(data, tomllib.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise SettingsError(f"configuration file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: {exc}") from exc
    data = _deep_merge(data, overrides)
    if unknown := _unknown_env_keys(os.environ):
        raise SettingsError(f"unknown setting in the environment: {', '.join(sorted(unknown))}")
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "settings"
        lines.append(f"{key}: {error['msg']}")
    return "invalid settings: " + "; ".join(lines)
