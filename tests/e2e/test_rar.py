"""Rich Authorization Requests (RFC 9396) on both backends, over real HTTP: a `gfmis_payment`
asked by a relying party is shown on the phone and on the consent page in Thai, approved with
the push, and granted in the token response, the access token, introspection and refreshes;
each kind of bad request is refused with `invalid_authorization_details`."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from joserfc import jws, jwt
from joserfc.jwk import ECKey, KeySet

from idp.app import create_app
from idp.domain.acr import ACR_PUSH
from idp.domain.client_protocol import CIBA_GRANT, ProtocolOptions
from push_auth.authenticator.client import Authenticator
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve

PAYMENT = {
    "type": "gfmis_payment",
    "amount": "125000.00",
    "currency": "THB",
    "payee_name": "บริษัท ก่อสร้างดี จำกัด",
    "payee_account": "xxx-x-x1234-x",
    "purpose": "ค่าก่อสร้างอาคารเรียน งวดที่ 2",
    "document_number": "3100-2569-0042",
}
PAYMENTS = ProtocolOptions(authorization_details_types=("gfmis_payment",))


@dataclass
class World:
    services: support.Services
    user: support.Person
    rp: support.RelyingParty
    browser: httpx.Client
    phone: Authenticator
    ca_pem: str

    def services_ca(self) -> str:
        return self.ca_pem


def verify_receipt(receipt: dict[str, Any], details: list[Any], ca_pem: str) -> dict[str, Any]:
    """As docs/approval-receipts.md does it: only a JOSE library (joserfc) and the CA's
    certificate; returns what the device signed, and the user the certificate names."""
    assert receipt["format"] == "jws"
    device_der, ca_der = (base64.b64decode(c) for c in receipt["x5c"])
    device = x509.load_der_x509_certificate(device_der)
    anchor = x509.load_pem_x509_certificate(ca_pem.encode())
    assert x509.load_der_x509_certificate(ca_der) == anchor
    device.verify_directly_issued_by(anchor)  # the CA issued this device's certificate
    key = ECKey.import_key(
        device.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    signed = jws.deserialize_compact(receipt["jws"], key, algorithms=["ES256"])
    claims = json.loads(signed.payload)
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert claims["action"] == "approve"
    assert claims["details_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    name = device.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    return {**claims, "sub": name}


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> Iterator[World]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    services = app.state.ctx.services
    user = support.create_user(services)
    rp = support.create_client(
        services, first_party=True, grant_types=("authorization_code", "refresh_token", CIBA_GRANT),
        protocol=ProtocolOptions(
            authorization_details_types=("gfmis_payment",), backchannel_token_delivery_mode="poll"
        ),
    )  # fmt: skip
    support.approve_registration(services, user.user_id)
    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        phone = push_support.activate(browser, user, tmp_path / "phone")
        browser.cookies.clear()
        yield World(services, user, rp, browser, phone, app.state.ctx.push.ca.certificate_pem)


def _claims_of(browser: httpx.Client, token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(browser.get("/jwks").json())
    return dict(jwt.decode(token, keys).claims)


def test_a_payment_is_shown_on_the_phone_and_the_consent_page_and_granted(world: World) -> None:
    verifier, challenge = support.pkce()
    details = json.dumps([PAYMENT], ensure_ascii=False)
    login_url, page = push_support.push_page(
        world.browser, world.rp, world.user, challenge, authorization_details=details
    )
    pending = world.phone.pending(wait=5)  # the phone shows what is approved
    assert pending is not None
    lines = {d["label"]: d["value"] for d in pending["context"]["details"]}
    assert lines["จำนวนเงิน"] == "125,000.00 บาท"
    assert lines["ผู้รับเงิน"] == "บริษัท ก่อสร้างดี จำกัด"
    assert lines["เลขที่เอกสาร"] == "3100-2569-0042"
    world.phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
    response = world.browser.post(
        login_url, data={"action": "check", "csrf_token": support.csrf_of(page.text)}
    )
    consent = world.browser.get(response.headers["location"])
    for _ in range(3):
        if consent.status_code == 200:
            break
        consent = world.browser.get(consent.headers["location"])
    assert "รายการที่ขออนุมัติ" in consent.text  # even a first-party client asks
    assert "125,000.00 บาท" in consent.text
    action = consent.text.split('<form method="post" action="')[1].split('"')[0]
    allowed = world.browser.post(
        action, data={"decision": "allow", "csrf_token": support.csrf_of(consent.text)}
    )
    callback = support.follow_to_client(world.browser, allowed, world.rp.redirect_uri)
    tokens = support.exchange(
        world.browser, world.rp, support.query_of(callback)["code"], verifier
    ).json()
    assert tokens["authorization_details"] == [PAYMENT]
    approval = verify_receipt(tokens["approval_receipt"], [PAYMENT], world.services_ca())
    assert approval["sub"] == world.user.user_id
    access = _claims_of(world.browser, tokens["access_token"])
    assert access["authorization_details"] == [PAYMENT]
    assert access["acr"] == ACR_PUSH
    introspected = world.browser.post(
        "/introspect", data={"token": tokens["access_token"]}, auth=world.rp.basic
    ).json()
    assert introspected["authorization_details"] == [PAYMENT]
    refreshed = world.browser.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=world.rp.basic,
    ).json()
    assert refreshed["authorization_details"] == [PAYMENT]


@pytest.mark.parametrize(
    "details",
    [
        "not json",
        json.dumps({"type": "gfmis_payment"}),  # not an array
        json.dumps([{"type": "payment_initiation", "amount": "1.00"}]),  # unknown type
        json.dumps([{**PAYMENT, "amount": "12,500"}]),  # the schema refuses it
        json.dumps([{**PAYMENT, "payee_account": "1234567890"}]),  # not masked
        json.dumps([{**PAYMENT, "extra": "x"}]),
        json.dumps([{k: v for k, v in PAYMENT.items() if k != "purpose"}]),
    ],
)
def test_bad_authorization_details_are_refused(world: World, details: str) -> None:
    params = support.authorize_params(world.rp, support.pkce()[1], authorization_details=details)
    response = world.browser.get("/authorize", params=params)
    assert response.status_code in (302, 303)
    answer = support.query_of(response.headers["location"])
    assert answer["error"] == "invalid_authorization_details"
    assert answer["state"] == params["state"]


def test_a_client_may_ask_only_for_its_types(world: World) -> None:
    plain = support.create_client(world.services)
    params = support.authorize_params(
        plain, support.pkce()[1], authorization_details=json.dumps([PAYMENT])
    )
    response = world.browser.get("/authorize", params=params)
    assert support.query_of(response.headers["location"])["error"] == (
        "invalid_authorization_details"
    )


def test_ciba_carries_a_payment_to_the_phone_and_the_tokens(world: World) -> None:
    asked = world.browser.post(
        "/bc-authorize",
        data={
            "scope": "openid",
            "login_hint": world.user.user_id,
            "binding_message": "PAY-42",
            "authorization_details": json.dumps([PAYMENT]),
        },
        auth=world.rp.basic,
    )
    assert asked.status_code == 200, asked.text
    pending = world.phone.pending(wait=5)
    assert pending is not None
    assert {d["label"] for d in pending["context"]["details_en"]} >= {"Amount", "Payee"}
    world.phone.approve(push_support.PIN, None)
    tokens = world.browser.post(
        "/token",
        data={"grant_type": CIBA_GRANT, "auth_req_id": asked.json()["auth_req_id"]},
        auth=world.rp.basic,
    ).json()
    assert tokens["authorization_details"] == [PAYMENT]
    ca = world.services_ca()
    approval = verify_receipt(tokens["approval_receipt"], tokens["authorization_details"], ca)
    assert approval["sub"] == world.user.user_id  # the device certificate's subject
    refused = world.browser.post(
        "/bc-authorize",
        data={
            "scope": "openid",
            "login_hint": world.user.user_id,
            "binding_message": "PAY-43",
            "authorization_details": json.dumps([{**PAYMENT, "currency": "USD"}]),
        },
        auth=world.rp.basic,
    )
    assert (refused.status_code, refused.json()["error"]) == (
        400,
        "invalid_authorization_details",
    )


def test_par_checks_authorization_details_when_they_are_pushed(world: World) -> None:
    params = support.authorize_params(
        world.rp, support.pkce()[1], authorization_details=json.dumps([{**PAYMENT, "x": 1}])
    )
    refused = world.browser.post("/par", data=params, auth=world.rp.basic)
    assert (refused.status_code, refused.json()["error"]) == (
        400,
        "invalid_authorization_details",
    )
    good = {**params, "authorization_details": json.dumps([PAYMENT])}
    assert world.browser.post("/par", data=good, auth=world.rp.basic).status_code == 201
