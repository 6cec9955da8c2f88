"""The `softtoken_expires_at` claim (scope `gfmis`): when the user's current Soft Token
device certificate ends, in the ID token (asked with `claims`) and at userinfo; absent with no
current device, a revoked or expired one, or for a client not allowed the claim."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from idp.storage.models import DeviceRecord
from tests import support
from tests.support import Person, RelyingParty, exchange, pkce, sign_in

CLAIM = "softtoken_expires_at"
ASKED = json.dumps({"id_token": {CLAIM: None}})
TEXT_FIELDS = (
    "public_key_pem",
    "certificate_pem",
    "serial",
    "platform",
    "model",
    "name",
    "app_version",
)


def _code(client: TestClient, rp: RelyingParty, user: Person) -> tuple[str, str]:
    verifier, challenge = pkce()
    return sign_in(client, rp, user, challenge, scope="openid gfmis", claims=ASKED)[
        "code"
    ], verifier


def _claims(client: TestClient, rp: RelyingParty, code: tuple[str, str]) -> tuple[Any, Any]:
    """The ID token's claims and the userinfo answer for one code."""
    tokens = exchange(client, rp, *code).json()
    keys = KeySet.import_key_set(client.get("/jwks").json())
    return jwt.decode(tokens["id_token"], keys).claims, _userinfo(client, tokens["access_token"])


def _userinfo(client: TestClient, access_token: str) -> Any:
    return client.get("/userinfo", headers={"Authorization": "Bearer " + access_token}).json()


def _add_device(services: support.Services, user_id: str, not_after: datetime) -> str:
    device_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with services.db.session() as session:
        session.add(
            DeviceRecord(
                device_id=device_id,
                user_id=user_id,
                status="active",
                not_before=now,
                not_after=not_after,
                biometrics=False,
                created_at=now,
                **dict.fromkeys(TEXT_FIELDS, "-"),  # not read by the claim
            )
        )
    return device_id


def _change(services: support.Services, device_id: str, **fields: Any) -> None:
    with services.db.session() as session:
        device = session.get(DeviceRecord, device_id)
        assert device is not None
        for name, value in fields.items():
            setattr(device, name, value)


def test_the_current_certificate_expiry_is_released_as_the_gfmis_claims_are(
    app_client: TestClient, services: support.Services, rp: RelyingParty, user: Person
) -> None:
    narrowed = support.create_client(services, allowed_claims=("gfmis_user_id",))
    no_gfmis = support.create_client(services, scope="openid profile")
    codes = [_code(app_client, client, user) for client in (rp, narrowed, no_gfmis)]
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(days=730)
    device_id = _add_device(services, user.user_id, ends)

    id_claims, info = _claims(app_client, rp, codes[0])
    assert id_claims[CLAIM] == info[CLAIM] == int(ends.timestamp())
    assert "ministry" not in id_claims  # the ID token: only what `claims` asked
    for client, code in ((narrowed, codes[1]), (no_gfmis, codes[2])):
        id_claims, info = _claims(app_client, client, code)
        assert CLAIM not in id_claims
        assert CLAIM not in info
    assert info["sub"] == user.user_id

    tokens = exchange(app_client, rp, *_code(app_client, rp, user)).json()
    renewed = ends + timedelta(days=730)
    _change(services, device_id, next_certificate_pem="-", next_not_after=renewed)
    assert _userinfo(app_client, tokens["access_token"])[CLAIM] == int(renewed.timestamp())
    expired = datetime.now(UTC) - timedelta(seconds=1)
    _change(services, device_id, next_certificate_pem=None, not_after=expired)
    assert CLAIM not in _userinfo(app_client, tokens["access_token"])
    _change(services, device_id, status="revoked", not_after=ends)
    assert CLAIM not in _userinfo(app_client, tokens["access_token"])


def test_no_claim_without_a_device(app_client: TestClient, rp: RelyingParty, user: Person) -> None:
    id_claims, info = _claims(app_client, rp, _code(app_client, rp, user))
    assert CLAIM not in id_claims
    assert CLAIM not in info
    assert info["gfmis_user_id"] == user.user_id
