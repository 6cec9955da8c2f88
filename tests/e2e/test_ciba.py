"""CIBA on both backends: a relying party names a user, the phone (the device API spoken by
hand, as tests.e2e.test_device_api does) approves or denies, and the relying party polls the
token endpoint or is pinged. Every error code CIBA Core names for the two endpoints."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from idp.domain.acr import ACR_PASSWORD, ACR_PUSH
from idp.domain.client_protocol import CIBA_GRANT, ProtocolOptions
from idp.oidc.ciba import _ref
from tests import support
from tests.e2e.test_device_api import Phone
from tests.live import free_port, serve

CIBA = {"grant_type": CIBA_GRANT}
GRANTS = ("authorization_code", "refresh_token", CIBA_GRANT)


def _services(app_client: TestClient) -> Any:
    return app_client.app.state.ctx.services  # type: ignore[attr-defined]


def _push(app_client: TestClient) -> Any:
    return app_client.app.state.ctx.push  # type: ignore[attr-defined]


@pytest.fixture
def phone(app_client: TestClient, user: support.Person) -> Phone:
    support.approve_registration(_services(app_client), user.user_id)
    device = Phone(app_client)
    assert device.activate(_push(app_client).start_activation(user.user_id).code).status_code == 201
    return device


def _client(app_client: TestClient, mode: str = "poll", **options: Any) -> support.RelyingParty:
    protocol = ProtocolOptions(backchannel_token_delivery_mode=mode, **options)
    return support.create_client(_services(app_client), grant_types=GRANTS, protocol=protocol)


def _ask(app_client: TestClient, rp: support.RelyingParty, **params: str) -> Any:
    params.setdefault("scope", "openid profile")
    return app_client.post("/bc-authorize", data=params, auth=rp.basic)


def _poll(app_client: TestClient, rp: support.RelyingParty, auth_req_id: str) -> Any:
    return app_client.post("/token", data={**CIBA, "auth_req_id": auth_req_id}, auth=rp.basic)


def _time_passes(app_client: TestClient, auth_req_id: str, **fields: int) -> None:
    """The interval (or the whole lifetime) has passed: as the store would see it later."""
    store = _services(app_client).store
    record = store.get(_ref(auth_req_id))
    record.update(next_poll=0, **fields)
    store.put(_ref(auth_req_id), record, 300)


def _claims(app_client: TestClient, id_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    return dict(jwt.decode(id_token, keys).claims)


def _challenge(phone: Phone) -> dict[str, Any]:
    answer = phone.pending()
    assert answer.status_code == 200, answer.text
    payload = answer.json()["challenge"].split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_discovery_names_the_endpoint_and_the_modes(app_client: TestClient) -> None:
    document = app_client.get("/.well-known/openid-configuration").json()
    assert document["backchannel_authentication_endpoint"].endswith("/bc-authorize")
    assert document["backchannel_token_delivery_modes_supported"] == ["poll", "ping"]
    assert CIBA_GRANT in document["grant_types_supported"]


def test_poll_with_a_binding_message_approved_on_the_phone(
    app_client: TestClient, user: support.Person, phone: Phone
) -> None:
    rp = _client(app_client)
    asked = _ask(app_client, rp, login_hint=user.user_id, binding_message="W-4821")
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert set(body) == {"auth_req_id", "expires_in", "interval"}
    assert (body["expires_in"], body["interval"]) == (120, 5)
    assert asked.headers["cache-control"] == "no-store"
    pending = _poll(app_client, rp, body["auth_req_id"])
    assert (pending.status_code, pending.json()["error"]) == (400, "authorization_pending")
    too_soon = _poll(app_client, rp, body["auth_req_id"])
    assert too_soon.json()["error"] == "slow_down"

    challenge = _challenge(phone)  # what the phone shows: the message, no pictures
    assert challenge["mode"] == "binding"
    assert challenge["context"]["binding_message"] == "W-4821"
    assert challenge["picture_count"] == 0
    assert phone.answer(challenge["cid"], pictures=[], amr=["pin"]).json()["status"] == "approved"

    _time_passes(app_client, body["auth_req_id"])
    tokens = _poll(app_client, rp, body["auth_req_id"])
    assert tokens.status_code == 200, tokens.text
    claims = _claims(app_client, tokens.json()["id_token"])
    assert claims["sub"] == user.user_id
    assert claims["acr"] == ACR_PASSWORD  # nothing made the user look at the message
    assert set(claims["amr"]) == {"swk", "pin"}
    assert "refresh_token" in tokens.json()
    userinfo = app_client.get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens.json()["access_token"]}
    )
    assert userinfo.json()["sub"] == user.user_id
    again = _poll(app_client, rp, body["auth_req_id"])  # single use
    assert again.json()["error"] == "invalid_grant"


def test_the_picture_variant_gives_the_push_level(
    app_client: TestClient, user: support.Person, phone: Phone
) -> None:
    rp = _client(app_client)
    asked = _ask(app_client, rp, login_hint=user.user_id, acr_values=ACR_PUSH).json()
    shown = [p["id"] for p in asked["pictures"]]
    assert len(shown) == 4
    assert asked["pictures"][0]["url"].endswith(f"/push/v1/pictures/{shown[0]:02d}.svg")
    assert asked["pictures"][0]["th"]
    challenge = _challenge(phone)
    assert challenge["mode"] == "sequence"
    phone.answer(challenge["cid"], pictures=shown, amr=["fpt"])
    tokens = _poll(app_client, rp, asked["auth_req_id"]).json()
    claims = _claims(app_client, tokens["id_token"])
    assert claims["acr"] == ACR_PUSH
    assert set(claims["amr"]) == {"swk", "fpt", "mfa"}


def test_denied_on_the_phone(app_client: TestClient, user: support.Person, phone: Phone) -> None:
    rp = _client(app_client)
    asked = _ask(app_client, rp, login_hint=user.user_id, binding_message="A1").json()
    challenge = _challenge(phone)
    phone.answer_with_poll_key(challenge["cid"], "deny")
    denied = _poll(app_client, rp, asked["auth_req_id"])
    assert (denied.status_code, denied.json()["error"]) == (400, "access_denied")


def test_an_unknown_user_gets_the_same_answer_then_expires(
    app_client: TestClient, user: support.Person, phone: Phone
) -> None:
    rp = _client(app_client)
    known = _ask(app_client, rp, login_hint=user.user_id, binding_message="A1").json()
    unknown = _ask(app_client, rp, login_hint="T00000000000000", binding_message="A1").json()
    assert set(unknown) == set(known)
    assert unknown["expires_in"] == known["expires_in"]
    assert _poll(app_client, rp, unknown["auth_req_id"]).json()["error"] == (
        "authorization_pending"
    )
    _time_passes(app_client, unknown["auth_req_id"], expires=int(time.time()) - 1)
    assert _poll(app_client, rp, unknown["auth_req_id"]).json()["error"] == "expired_token"
    pictures = _ask(app_client, rp, login_hint="T00000000000001", acr_values=ACR_PUSH).json()
    assert len(pictures["pictures"]) == 4  # an unknown user's pictures too


def test_requests_for_one_user_are_rate_limited_known_or_not(
    app_client: TestClient, user: support.Person
) -> None:
    rp = _client(app_client)
    for hint in (user.user_id, "T00000000000009"):
        answers = [
            _ask(app_client, rp, login_hint=hint, binding_message="A1").status_code
            for _ in range(6)
        ]
        assert answers == [200] * 5 + [429]


def test_an_id_token_hint_names_the_user(
    app_client: TestClient, user: support.Person, phone: Phone
) -> None:
    rp = _client(app_client)
    first = _ask(app_client, rp, login_hint=user.user_id, binding_message="A1").json()
    phone.answer(_challenge(phone)["cid"], pictures=[], amr=["pin"])
    id_token = _poll(app_client, rp, first["auth_req_id"]).json()["id_token"]
    second = _ask(app_client, rp, id_token_hint=id_token, binding_message="B2")
    assert second.status_code == 200
    assert _challenge(phone)["context"]["binding_message"] == "B2"
    forged = _ask(app_client, rp, id_token_hint=id_token[:-4] + "AAAA", binding_message="B2")
    assert forged.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"binding_message": "A1"}, "invalid_request"),  # no hint
        ({"login_hint": "T1", "id_token_hint": "x", "binding_message": "A1"}, "invalid_request"),
        ({"login_hint_token": "x", "binding_message": "A1"}, "invalid_request"),
        ({"login_hint": "T1"}, "invalid_request"),  # no binding message, no pictures
        ({"login_hint": "T1", "binding_message": "x" * 33}, "invalid_binding_message"),
        ({"login_hint": "T1", "binding_message": "a\u200bb"}, "invalid_binding_message"),
        ({"login_hint": "T1", "binding_message": "A1", "scope": "profile"}, "invalid_scope"),
        (
            {"login_hint": "T1", "binding_message": "A1", "requested_expiry": "-5"},
            "invalid_request",
        ),
        ({"login_hint": "T1", "binding_message": "A1", "user_code": "1234"}, "missing_user_code"),
        ({"login_hint": "T1", "binding_message": "A1", "request": "e.y.z"}, "invalid_request"),
        ({"request": "not-a-jwt"}, "invalid_request"),
    ],
)
def test_a_bad_request_is_refused(
    app_client: TestClient, params: dict[str, str], error: str
) -> None:
    refused = _ask(app_client, _client(app_client), **params)
    assert (refused.status_code, refused.json()["error"]) == (400, error), refused.text


def test_clients_must_be_registered_for_ciba_and_authenticate(
    app_client: TestClient, user: support.Person
) -> None:
    plain = support.create_client(_services(app_client))
    refused = _ask(app_client, plain, login_hint=user.user_id, binding_message="A1")
    assert refused.json()["error"] == "unauthorized_client"
    rp = _client(app_client)
    wrong = app_client.post(
        "/bc-authorize",
        data={"scope": "openid", "login_hint": user.user_id, "binding_message": "A1"},
        auth=(rp.client_id, "not-the-secret"),
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    ping = _client(app_client, "ping", backchannel_client_notification_endpoint="https://rp.x/p")
    missing = _ask(app_client, ping, login_hint=user.user_id, binding_message="A1")
    assert missing.json()["error"] == "invalid_request"  # no client_notification_token


def test_an_auth_req_id_belongs_to_its_client(
    app_client: TestClient, user: support.Person, phone: Phone
) -> None:
    rp, other = _client(app_client), _client(app_client)
    asked = _ask(app_client, rp, login_hint=user.user_id, binding_message="A1").json()
    stolen = _poll(app_client, other, asked["auth_req_id"])
    assert stolen.json()["error"] == "invalid_grant"
    missing = app_client.post("/token", data=CIBA, auth=rp.basic)
    assert missing.json()["error"] == "invalid_request"
    assert _poll(app_client, rp, "nonsense").json()["error"] == "invalid_grant"


class PingReceiver:
    def __init__(self) -> None:
        self.pings: list[tuple[str, dict[str, Any]]] = []
        self.arrived = threading.Event()
        self.app = Starlette(routes=[Route("/ping", self._ping, methods=["POST"])])

    async def _ping(self, request: Request) -> Response:
        self.pings.append((request.headers.get("authorization", ""), await request.json()))
        self.arrived.set()
        return Response(status_code=204)


@pytest.fixture
def receiver() -> Iterator[tuple[PingReceiver, str]]:
    site, port = PingReceiver(), free_port()
    with serve(site.app, port) as url:
        yield site, url + "/ping"


def test_ping_tells_the_client_when_the_phone_has_answered(
    app_client: TestClient,
    user: support.Person,
    phone: Phone,
    receiver: tuple[PingReceiver, str],
) -> None:
    site, endpoint = receiver
    rp = _client(app_client, "ping", backchannel_client_notification_endpoint=endpoint)
    asked = _ask(
        app_client,
        rp,
        login_hint=user.user_id,
        binding_message="P-77",
        client_notification_token="rp-secret-token-123",
    ).json()
    phone.answer(_challenge(phone)["cid"], pictures=[], amr=["pin"])
    assert site.arrived.wait(10), "no ping"
    assert site.pings == [("Bearer rp-secret-token-123", {"auth_req_id": asked["auth_req_id"]})]
    tokens = _poll(app_client, rp, asked["auth_req_id"])
    assert tokens.status_code == 200, tokens.text


def test_a_user_the_lifecycle_stops_is_never_asked(
    app_client: TestClient, user: support.Person, phone: Phone
) -> None:
    from idp.storage.models import User

    with _services(app_client).db.session() as session:
        record = session.get(User, user.user_id)
        assert record is not None
        record.disabled = True
    rp = _client(app_client)
    asked = _ask(app_client, rp, login_hint=user.user_id, binding_message="A1")
    assert asked.status_code == 200  # the same answer as for anyone
    assert phone.pending().status_code == 204  # the phone was not asked
    assert _poll(app_client, rp, asked.json()["auth_req_id"]).json()["error"] == (
        "authorization_pending"
    )


def _signed_request(key: ECKey, client_id: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": client_id, "aud": support.ISSUER, "iat": now, "nbf": now, "exp": now + 60}
    body.update(jti=secrets.token_hex(8), scope="openid", **claims)
    return jwt.encode({"alg": "ES256", "kid": key.thumbprint()}, body, key)


def test_a_signed_authentication_request(
    app_client: TestClient, user: support.Person, phone: Phone
) -> None:
    """CIBA Core §7.1.1: a client registered with a signing alg must sign; the signed
    parameters count, the jti works once, and a bad signature is refused."""
    key = ECKey.generate_key("P-256", private=True)
    public = {**key.as_dict(private=False), "kid": key.thumbprint()}
    protocol = ProtocolOptions(
        backchannel_token_delivery_mode="poll",
        backchannel_authentication_request_signing_alg="ES256",
    )
    rp = support.create_client(
        _services(app_client), grant_types=GRANTS, protocol=protocol, jwks={"keys": [public]}
    )
    unsigned = _ask(app_client, rp, login_hint=user.user_id, binding_message="A1")
    assert unsigned.json()["error"] == "invalid_request"
    signed = _signed_request(key, rp.client_id, login_hint=user.user_id, binding_message="S-1")
    asked = app_client.post("/bc-authorize", data={"request": signed}, auth=rp.basic)
    assert asked.status_code == 200, asked.text
    assert _challenge(phone)["context"]["binding_message"] == "S-1"
    replayed = app_client.post("/bc-authorize", data={"request": signed}, auth=rp.basic)
    assert replayed.json()["error"] == "invalid_request"
    stranger = ECKey.generate_key("P-256", private=True)
    forged = _signed_request(stranger, rp.client_id, login_hint=user.user_id, binding_message="X")
    refused = app_client.post("/bc-authorize", data={"request": forged}, auth=rp.basic)
    assert refused.json()["error"] == "invalid_request"
    no_nbf = jwt.encode(
        {"alg": "ES256", "kid": key.thumbprint()},
        {"iss": rp.client_id, "aud": support.ISSUER, "exp": int(time.time()) + 60,
         "jti": "j-1234567890", "scope": "openid", "login_hint": user.user_id,
         "binding_message": "N"},
        key,
    )  # fmt: skip
    missing = app_client.post("/bc-authorize", data={"request": no_nbf}, auth=rp.basic)
    assert missing.json()["error"] == "invalid_request"
