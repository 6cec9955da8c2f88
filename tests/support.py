"""Helpers shared by the tests: settings per backend, users, clients, the browser sign-in."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from pypdf import PdfWriter

from idp.domain import clients
from idp.domain.national_id import with_check_digit
from idp.domain.passwords import hash_password
from idp.services import Services
from idp.settings import Settings, is_localhost, load_settings
from idp.storage.models import Registration, User
from tests.backends import Backend

ISSUER = "http://localhost"
MASTER_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
REDIRECT = "http://localhost:9999/callback"


def make_settings(backend: Backend, tmp: Path, issuer: str = ISSUER, **sections: Any) -> Settings:
    overrides: dict[str, Any] = {
        "server": {"issuer": issuer, "var_dir": str(tmp)},
        "database": {"url": backend.database_url},
        "store": {"url": backend.store_url, "key_prefix": backend.store_prefix()},
        "security": {"master_key": MASTER_KEY},
        "jobs": {"enabled": False},  # tests run jobs explicitly
        "development": {"movable_clock": is_localhost(issuer)},  # tests move time, never sleep
    }
    for name, values in sections.items():
        overrides[name] = {**overrides.get(name, {}), **values}
    return load_settings(files=[], **overrides)


def cli_environment(settings: Settings) -> dict[str, str]:
    """The IDP_… variables that give the `idp` command line these settings' storage and key."""
    return {
        "IDP_DATABASE__URL": settings.database.url,
        "IDP_STORE__URL": settings.store.url,
        "IDP_STORE__KEY_PREFIX": settings.store.key_prefix,
        "IDP_SECURITY__MASTER_KEY": settings.security.master_key,
        "IDP_SERVER__VAR_DIR": settings.server.var_dir,
    }


@dataclass(frozen=True)
class Person:
    user_id: str
    password: str


@dataclass(frozen=True)
class RelyingParty:
    client_id: str
    secret: str | None
    redirect_uri: str = REDIRECT

    @property
    def basic(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client_id, self.secret)


def new_user_id() -> str:
    return "T" + "".join(secrets.choice("0123456789") for _ in range(14))


def create_user(services: Services, **fields: Any) -> Person:
    user_id = fields.pop("user_id", new_user_id())
    password = fields.pop("password", "correct horse " + secrets.token_hex(4))
    now = datetime.now(UTC)
    values = {
        "name_th": "นางสาวทดสอบ ระบบ",
        "name_en": "Ms Test System",
        "email": f"{user_id.lower()}@example.go.th",
        "mobile": "0812345678",
        "unit_code": "0500500000",
        "unit_name": "กองคลัง",
        "division": "กองคลัง",
        "department": "กรมตัวอย่าง",
        "ministry": "กระทรวงการคลัง",
        **fields,
    }
    with services.db.session() as session:
        session.add(
            User(
                user_id=user_id,
                password_hash=hash_password(password),
                roles=[],
                created_at=now,
                updated_at=now,
                **values,
            )
        )
    return Person(user_id, password)


def approve_registration(services: Services, user_id: str, email: str | None = None) -> str:
    """Registration steps 1-4 done and approved (for tests about what comes after: activation,
    push); the journeys in tests/journeys/ walk the steps themselves. Returns the national ID."""
    pid = with_check_digit("3" + "".join(secrets.choice("0123456789") for _ in range(11)))
    now = datetime.now(UTC)
    with services.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.add(
            Registration(
                id=secrets.token_hex(16),
                user_id=user_id,
                attempt=1,
                status="approved",
                national_id=pid,
                consent_at=now,
                proofing_status="completed",
                proofing={"names_match": True},
                email=email or user.email,
                email_verified_at=now,
                decided_by="test",
                decided_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    return pid


def create_client(services: Services, **spec: Any) -> RelyingParty:
    client_id = spec.pop("client_id", "rp-" + secrets.token_hex(6))
    spec.setdefault("redirect_uris", [REDIRECT])
    spec.setdefault("name", "Test RP")
    spec.setdefault("first_party", True)
    with services.db.session() as session:
        _client, secret = clients.create(
            session, clients.ClientSpec(client_id=client_id, **spec), "test"
        )
    return RelyingParty(
        client_id, secret, spec["redirect_uris"][0] if spec["redirect_uris"] else ""
    )


def pdf_bytes() -> bytes:
    """A real one-page PDF (blank A4), as an officer would upload."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize_params(rp: RelyingParty, challenge: str | None, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile email gfmis offline_access",
        "state": secrets.token_hex(8),
        "nonce": secrets.token_hex(8),
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return params


def submit_login(
    client: httpx.Client, login_url: str, user_id: str, password: str
) -> httpx.Response:
    page = client.get(login_url)
    assert page.status_code == 200, page.text
    return client.post(
        login_url,
        data={
            "username": user_id,
            "password": password,
            "csrf_token": csrf_of(page.text),
        },
    )


def follow_to_client(client: httpx.Client, response: httpx.Response, redirect_uri: str) -> str:
    """Follow the IdP's redirects until one leaves for the client; return that location."""
    for _ in range(10):
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        location = response.headers["location"]
        if location.startswith(redirect_uri):
            return location
        response = client.get(location)
    raise AssertionError("too many redirects")


def sign_in(
    client: httpx.Client, rp: RelyingParty, user: Person, challenge: str | None, **extra: str
) -> dict[str, str]:
    """The whole browser part: authorize → sign-in form → back at the client; its query."""
    response = client.get("/authorize", params=authorize_params(rp, challenge, **extra))
    if response.headers.get("location", "").startswith("/login/"):
        response = submit_login(client, response.headers["location"], user.user_id, user.password)
    return query_of(follow_to_client(client, response, rp.redirect_uri))


def exchange(
    client: httpx.Client, rp: RelyingParty, code: str, verifier: str | None
) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    if rp.secret is None:
        data["client_id"] = rp.client_id
        return client.post("/token", data=data)
    return client.post("/token", data=data, auth=rp.basic)
