"""The web authenticator's device API (/push/v1/webauthn) refuses what it must, on both
backends: a software authenticator (tests.passkey_support) stands in for the phone's platform
authenticator, and a P-256 key for the page's WebCrypto polling key.

Approvals: an assertion for another challenge, a replayed one, another device's credential,
no user verification, another origin or RP ID, tampered authenticator data — each refused with
its own reason in Thai and English, audited, and leaving the challenge open. Activation: the
lifecycle's gates and the code's single use as for the softtoken app; a failed ceremony keeps
the code. Renewal, cancellation and notifications, each signed as they must be."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from starlette.testclient import TestClient

from idp.domain.lifecycle import latest_registration
from idp.storage.models import AuditEvent
from push_auth import protocol
from push_auth.models import Challenge
from tests import support
from tests.passkey_support import SoftPasskey, b64url

API = "/push/v1"
WEB = API + "/webauthn"


class WebPhone:
    """The web app's requests, made by hand: a software platform authenticator and a polling
    key, speaking JSON and the device API's JWS as static/app/app.js does."""

    def __init__(self, client: TestClient, origin: str = support.ISSUER) -> None:
        self.client = client
        self.authenticator = SoftPasskey(origin, "localhost")
        self.poll = ec.generate_private_key(ec.SECP256R1())
        self.device_id = ""

    def poll_pem(self) -> str:
        return (
            self.poll.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def activate(self, code: str, **knobs: Any) -> Any:
        options = self.client.post(WEB + "/activation-options", json={"code": code})
        if options.status_code != 200:
            return options
        credential = self.authenticator.create(json.dumps(options.json()["publicKey"]), **knobs)
        answer = self.client.post(
            WEB + "/activate",
            json={
                "code": code,
                "credential": json.loads(credential),
                "poll_key": self.poll_pem(),
                "device": {"model": "test phone", "name": "Web"},
            },
        )
        if answer.status_code == 201:
            self.device_id = answer.json()["device_id"]
        return answer

    def signed(self, method: str, path: str, **claims: Any) -> str:
        body = {
            "aud": support.ISSUER + API,
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(18),
            "htm": method,
            "htu": API + path,
            **claims,
        }
        return protocol.sign(self.poll, body, protocol.REQUEST_TYP, kid=self.device_id + "#poll")

    def post_signed(self, path: str, **claims: Any) -> Any:
        return self.client.post(
            API + path,
            content=self.signed("POST", path, **claims),
            headers={"content-type": "application/jose"},
        )

    def assertion(self, challenge: bytes, **knobs: Any) -> dict[str, Any]:
        return dict(json.loads(self.authenticator.get(b64url(challenge), **knobs)))

    def approve(self, cid: str, pictures: list[int], **knobs: Any) -> Any:
        digest = knobs.pop("details_sha256", "")
        signed = approval_challenge(cid, knobs.pop("signed_pictures", pictures), digest)
        credential = knobs.pop("credential", None) or self.assertion(signed, **knobs)
        return self.client.post(
            f"{WEB}/challenges/{cid}",
            json={"device_id": self.device_id, "pictures": pictures, "credential": credential},
        )


def approval_challenge(cid: str, pictures: list[int], details_sha256: str = "") -> bytes:
    """As the page computes it (app.js), independently of push_auth.webapp.ceremony."""
    text = "softtoken-approve-v1\0" + cid + "\0" + ",".join(str(p) for p in pictures)
    if details_sha256:
        text += "\0" + details_sha256
    return hashlib.sha256(text.encode()).digest()


def _push(app_client: TestClient) -> Any:
    return app_client.app.state.ctx.push  # type: ignore[attr-defined]


@pytest.fixture
def phone(app_client: TestClient, user: support.Person) -> WebPhone:
    support.approve_registration(app_client.app.state.ctx.services, user.user_id)  # type: ignore[attr-defined]
    device = WebPhone(app_client)
    answer = device.activate(_push(app_client).start_activation(user.user_id).code)
    assert answer.status_code == 201, answer.text
    return device


def _challenge(app_client: TestClient, user: support.Person) -> Challenge:
    challenge: Challenge = _push(app_client).start_challenge(user.user_id, {"client_name": "t"})
    return challenge


def _refusals(services: support.Services, user_id: str) -> list[dict[str, Any]]:
    query = select(AuditEvent).where(
        AuditEvent.action == "device.webauthn_refused", AuditEvent.subject == user_id
    )
    with services.db.read() as session:
        return [dict(row.detail) for row in session.scalars(query)]


# -- activation ------------------------------------------------------------------------------
def test_the_credential_becomes_the_users_device(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    device = _push(app_client).devices.active_for(user.user_id)
    assert device.device_id == phone.device_id
    assert device.platform == "web"
    assert device.credential_id == phone.authenticator.credential_id
    assert "BEGIN CERTIFICATE" in device.certificate_pem  # a certificate for the credential's key
    assert (device.not_after - device.not_before).days == 730


def test_the_code_works_once_and_a_failed_ceremony_keeps_it(
    app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    support.approve_registration(services, user.user_id)
    code = _push(app_client).start_activation(user.user_id).code
    refused = WebPhone(app_client).activate(code, uv=False)  # no user verification
    assert refused.status_code == 400
    assert refused.json()["error"] == "user_not_verified"
    assert refused.json()["error_description_th"]
    assert [r["purpose"] for r in _refusals(services, user.user_id)] == ["activate"]
    assert WebPhone(app_client).activate(code).status_code == 201  # the code was kept
    again = WebPhone(app_client).activate(code)
    assert again.status_code == 403
    assert again.json()["error"] == "invalid_activation_code"


def test_activation_asks_the_lifecycle_when_the_code_is_used(
    app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    support.approve_registration(services, user.user_id)
    code = _push(app_client).start_activation(user.user_id).code
    with services.db.session() as session:  # an officer withdraws the approval meanwhile
        registration = latest_registration(session, user.user_id)
        assert registration is not None
        registration.status = "rejected"
    refused = WebPhone(app_client).activate(code)
    assert refused.status_code == 403
    assert refused.json()["error"] == "enrolment_not_allowed"
    assert _push(app_client).devices.active_for(user.user_id) is None


def test_a_registration_from_another_site_is_refused(
    app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    support.approve_registration(services, user.user_id)
    code = _push(app_client).start_activation(user.user_id).code
    refused = WebPhone(app_client).activate(code, origin="https://evil.example")
    assert refused.json()["error"] == "origin_mismatch"


# -- approval --------------------------------------------------------------------------------
def test_an_approval_with_the_pictures_and_user_verification(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    challenge = _challenge(app_client, user)
    answer = phone.approve(challenge.challenge_id, challenge.pictures)
    assert answer.json() == {"status": "approved"}
    assert _push(app_client).challenge(challenge.challenge_id).amr == ["user"]


def test_the_wrong_pictures_fail_the_challenge(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    challenge = _challenge(app_client, user)
    wrong = [(p + 1) % 32 for p in challenge.pictures]
    assert phone.approve(challenge.challenge_id, wrong).json() == {"status": "failed"}


@pytest.mark.parametrize(
    ("knobs", "reason"),
    [
        ({"uv": False}, "user_not_verified"),
        ({"origin": "https://evil.example"}, "origin_mismatch"),
        ({"rp_id": "evil.example"}, "rp_id_mismatch"),
        ({"tamper": True}, "signature_invalid"),
        ({"signed_pictures": [0, 0, 0, 0]}, "challenge_mismatch"),  # signed other pictures
    ],
)
def test_a_wrong_assertion_is_refused_audited_and_leaves_the_challenge_open(
    phone: WebPhone,
    app_client: TestClient,
    user: support.Person,
    services: support.Services,
    knobs: dict[str, Any],
    reason: str,
) -> None:
    challenge = _challenge(app_client, user)
    refused = phone.approve(challenge.challenge_id, challenge.pictures, **knobs)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == reason
    assert refused.json()["error_description_th"]
    assert [(r["purpose"], r["reason"]) for r in _refusals(services, user.user_id)] == [
        ("approve", reason)
    ]
    assert _push(app_client).challenge(challenge.challenge_id).status == "pending"
    assert phone.approve(challenge.challenge_id, challenge.pictures).json() == {
        "status": "approved"
    }


def test_an_assertion_for_another_challenge_is_refused(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    first = _challenge(app_client, user)
    signed_for_first = phone.assertion(approval_challenge(first.challenge_id, first.pictures))
    second = _challenge(app_client, user)  # replaces the first
    refused = phone.approve(second.challenge_id, first.pictures, credential=signed_for_first)
    assert refused.json()["error"] == "challenge_mismatch"


def test_a_replayed_assertion_is_refused(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    challenge = _challenge(app_client, user)
    credential = phone.assertion(approval_challenge(challenge.challenge_id, challenge.pictures))
    first = phone.approve(challenge.challenge_id, challenge.pictures, credential=credential)
    replay = phone.approve(challenge.challenge_id, challenge.pictures, credential=credential)
    assert first.json() == {"status": "approved"}
    assert replay.status_code == 400
    assert replay.json()["error"] == "sign_count_regression"


def test_a_credential_of_another_user_is_refused(
    phone: WebPhone, app_client: TestClient, user: support.Person, services: support.Services
) -> None:
    other = support.create_user(services)
    support.approve_registration(services, other.user_id)
    theirs = WebPhone(app_client)
    code = _push(app_client).start_activation(other.user_id).code
    assert theirs.activate(code).status_code == 201
    challenge = _challenge(app_client, user)
    signed = theirs.assertion(approval_challenge(challenge.challenge_id, challenge.pictures))
    refused = phone.approve(challenge.challenge_id, challenge.pictures, credential=signed)
    assert refused.status_code == 403
    assert refused.json()["error"] == "unknown_credential"
    assert _refusals(services, user.user_id)[0]["reason"] == "unknown_credential"
    # and their device cannot answer this user's challenge with its own credential
    stolen = theirs.approve(challenge.challenge_id, challenge.pictures)
    assert stolen.json()["error"] == "not_your_challenge"


def test_deny_and_not_me_use_the_polling_key(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    challenge = _challenge(app_client, user)
    path = f"/challenges/{challenge.challenge_id}"
    denied = phone.post_signed(path, cid=challenge.challenge_id, action="deny")
    assert denied.json() == {"status": "denied"}
    _push(app_client).challenges.backoff.clear(user.user_id)
    challenge = _challenge(app_client, user)
    path = f"/challenges/{challenge.challenge_id}"
    reported = phone.post_signed(path, cid=challenge.challenge_id, action="not_me")
    assert reported.json() == {"status": "not_me"}
    assert _push(app_client).devices.active_for(user.user_id).status == "suspended"


def test_the_polling_key_cannot_approve(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    challenge = _challenge(app_client, user)
    path = f"/challenges/{challenge.challenge_id}"
    claims = {"cid": challenge.challenge_id, "action": "approve", "pictures": challenge.pictures}
    refused = phone.post_signed(path, **claims, amr=["user"])
    assert refused.status_code == 403
    assert refused.json()["error"] == "pin_required"


# -- renewal, cancellation, notifications ----------------------------------------------------
def test_renewal_replaces_the_credential(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    before = _push(app_client).devices.active_for(user.user_id)
    ceremony = phone.post_signed("/webauthn/ceremony", purpose="renew").json()
    old = phone.assertion(bytes(_unb64(ceremony["challenge"])))
    renewed = SoftPasskey(support.ISSUER, "localhost")
    new = json.loads(renewed.create(json.dumps(ceremony["publicKey"])))
    answer = app_client.post(
        WEB + "/renew",
        json={"device_id": phone.device_id, "credential": old, "new_credential": new},
    )
    assert answer.status_code == 200, answer.text
    after = _push(app_client).devices.active_for(user.user_id)
    assert after.credential_id == renewed.credential_id != before.credential_id
    assert after.serial != before.serial
    challenge = _challenge(app_client, user)  # the old credential approves no more
    assert phone.approve(challenge.challenge_id, challenge.pictures).status_code == 403
    phone.authenticator = renewed
    assert phone.approve(challenge.challenge_id, challenge.pictures).json() == {
        "status": "approved"
    }


def test_a_ceremony_challenge_works_once(phone: WebPhone, app_client: TestClient) -> None:
    ceremony = phone.post_signed("/webauthn/ceremony", purpose="cancel").json()
    challenge = bytes(_unb64(ceremony["challenge"]))
    body = {"device_id": phone.device_id, "reason": "new_phone"}
    no_reason = {**body, "reason": "because", "credential": phone.assertion(challenge)}
    assert app_client.post("/app/cancel", json=no_reason).status_code == 400  # nothing spent
    unverified = {**body, "credential": phone.assertion(challenge, uv=False)}
    assert app_client.post("/app/cancel", json=unverified).json()["error"] == "user_not_verified"
    again = {**body, "credential": phone.assertion(challenge)}
    spent = app_client.post("/app/cancel", json=again)
    assert spent.status_code == 409
    assert spent.json()["error"] == "ceremony_expired"


def test_cancelling_revokes_the_device_and_drops_its_subscriptions(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    subscription = {
        "endpoint": "https://push.example/send/" + secrets.token_urlsafe(8),
        "keys": {"p256dh": b64url(b"\x04" + bytes(64)), "auth": b64url(bytes(16))},
    }
    saved = phone.post_signed("/webauthn/subscription", subscription=subscription)
    assert saved.status_code == 204
    push = _push(app_client)
    assert [s.endpoint for s in push.subscriptions.for_device(phone.device_id)] == [
        subscription["endpoint"]
    ]
    ceremony = phone.post_signed("/webauthn/ceremony", purpose="cancel").json()
    wrong = phone.assertion(bytes(_unb64(ceremony["challenge"])), uv=False)
    body = {"device_id": phone.device_id, "reason": "new_phone"}
    assert app_client.post("/app/cancel", json={**body, "credential": wrong}).status_code == 400
    assert push.devices.active_for(user.user_id) is not None  # nothing changed
    ceremony = phone.post_signed("/webauthn/ceremony", purpose="cancel").json()
    right = phone.assertion(bytes(_unb64(ceremony["challenge"])))
    answer = app_client.post("/app/cancel", json={**body, "credential": right})
    assert answer.json() == {"status": "cancelled"}
    assert push.devices.active_for(user.user_id) is None
    assert push.subscriptions.for_device(phone.device_id) == []
    assert push.devices.get(phone.device_id).credential_public_key is None


def test_a_bad_subscription_is_refused(phone: WebPhone) -> None:
    bad = {"endpoint": "ftp://x", "keys": {"p256dh": "!", "auth": ""}}
    refused = phone.post_signed("/webauthn/subscription", subscription=bad)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_subscription"


def test_the_softtoken_app_cannot_claim_what_only_webauthn_proves(
    app_client: TestClient, user: support.Person
) -> None:
    from tests.e2e.test_device_api import Phone  # the softtoken app's protocol by hand

    support.approve_registration(app_client.app.state.ctx.services, user.user_id)  # type: ignore[attr-defined]
    app = Phone(app_client)
    assert app.activate(_push(app_client).start_activation(user.user_id).code).status_code == 201
    challenge = _challenge(app_client, user)
    app.answer(challenge.challenge_id, pictures=challenge.pictures, amr=["pin", "user"])
    assert _push(app_client).challenge(challenge.challenge_id).amr == ["pin"]


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_an_approval_of_authorization_details_leaves_a_receipt_anyone_can_check(
    phone: WebPhone, app_client: TestClient, user: support.Person
) -> None:
    details = [{"type": "gfmis_payment", "amount": "990.00", "payee_name": "ร้านค้า"}]
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    context = {"authorization_details": details, "details_sha256": digest}
    challenge = _push(app_client).start_challenge(user.user_id, context)
    unsigned = phone.approve(challenge.challenge_id, challenge.pictures)  # without the digest
    assert unsigned.status_code == 400
    approved = phone.approve(challenge.challenge_id, challenge.pictures, details_sha256=digest)
    assert approved.json() == {"status": "approved"}
    receipt = _push(app_client).challenge(challenge.challenge_id).receipt
    assert receipt["format"] == "webauthn"
    assert receipt["details_sha256"] == digest
    # the check: the certificate (issued for the credential's key) verifies the assertion,
    # whose challenge is the hash of the challenge ID, the pictures and the digest
    certificate = x509.load_der_x509_certificate(base64.b64decode(receipt["x5c"][0]))
    client_data = _unb64(receipt["client_data_json"])
    expected = approval_challenge(receipt["challenge_id"], receipt["pictures"], digest)
    assert json.loads(client_data)["challenge"] == b64url(expected)
    signed = _unb64(receipt["authenticator_data"]) + hashlib.sha256(client_data).digest()
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(_unb64(receipt["signature"]), signed, ec.ECDSA(hashes.SHA256()))
