"""The back office's own settings: which IdP it signs in with, its client, where it lives.

Mounted inside idp (the default) idp fills these in; deployed alone on another host they come
from ADMIN_UI_… environment variables (for example ADMIN_UI_ISSUER, ADMIN_UI_CLIENT_SECRET).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AdminUISettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADMIN_UI_", extra="forbid", frozen=True)

    issuer: str = "http://127.0.0.1:8000"
    client_id: str = "admin-ui"
    client_secret: str = ""
    # Where browsers reach this app, without a trailing slash (…/admin when mounted in idp).
    public_url: str = "http://127.0.0.1:8000/admin"
    # The IdP's admin API; by default the issuer's /admin/api/v1.
    api_url: str = ""
    # 32 bytes, base64url: encrypts the session cookie. Mounted in idp it is derived from the
    # master key; alone, set it (every process of one deployment needs the same key).
    session_key: str = ""
    session_hours: float = Field(8.0, gt=0, le=24)
    default_locale: Literal["th", "en"] = "th"
    # The level officers sign in at: a push approval, or a passkey (phishing-resistant).
    required_acr: Literal["urn:th:go:cgd:idp:aal2-push", "urn:th:go:cgd:idp:aal2-phr"] = (
        "urn:th:go:cgd:idp:aal2-push"
    )

    @model_validator(mode="after")
    def _urls(self) -> AdminUISettings:
        for name in ("issuer", "public_url"):
            value = getattr(self, name)
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname or value.endswith("/"):
                raise ValueError(f"admin_ui {name} must be an http(s) URL without a trailing /")
        if not self.client_secret:
            raise ValueError("admin_ui client_secret is not set")
        if not self.session_key:
            raise ValueError("admin_ui session_key is not set")
        return self

    @property
    def api(self) -> str:
        return self.api_url or self.issuer + "/admin/api/v1"

    @property
    def redirect_uri(self) -> str:
        return self.public_url + "/callback"

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def cookie_path(self) -> str:
        return urlsplit(self.public_url).path or "/"
