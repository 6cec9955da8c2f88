"""schemathesis over both OpenAPI documents, on both backends: every generated request (valid
for the document, and invalid) gets an answer the document describes — a documented status,
its content type, headers and body schema — and never a 5xx.

The admin API is called with an admin officer's token after a push sign-in, so requests reach
the handlers; half the time a path names a real record. The device API runs twice: as
generated (bodies that are JWS in shape only: refused as the document says), and with the
fuzzer's claims (`x-jws-claims`) signed by an activated device, some of them with a real
activation code, challenge, pictures or CSR, so the handlers' own checks are reached.

Fixed seed; EXAMPLES bounds the run (about 1,800 requests per backend, under 2 minutes for
both on 2 cores).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import strategies as st
from schemathesis import GenerationMode

from push_auth.authenticator.client import _csr, _public_pem
from tests import support
from tests.fuzz import harness
from tests.fuzz.conftest import ADMIN_API, DEVICE_API, World, sign

EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 15}
RAW_EXAMPLES = 10
MODES = list(EXAMPLES)


def _signed_document() -> dict[str, Any]:
    """The device document with each JWS body replaced by its claims, for the fuzzer to write;
    the test signs them as a device would."""
    document = copy.deepcopy(harness.read(harness.DEVICE_DOC))
    for item in document["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/jose" in content:
                claims = content.pop("application/jose")["x-jws-claims"]
                content["application/json"] = {"schema": claims}
    return document


ADMIN = harness.operations(harness.read(harness.ADMIN_DOC))
DEVICE_RAW = harness.operations(harness.read(harness.DEVICE_DOC))
SIGNED_PATHS = {  # the operations whose body is a JWS (the web authenticator's others are JSON)
    path
    for path, item in harness.read(harness.DEVICE_DOC)["paths"].items()
    for operation in item.values()
    if "application/jose" in operation.get("requestBody", {}).get("content", {})
}
DEVICE_SIGNED = harness.operations(_signed_document())


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("operation", "mode"), harness.runs(ADMIN, MODES))
def test_admin_api_answers_as_documented(
    world: World, operation: Any, mode: GenerationMode
) -> None:
    harness.fuzz(
        world.client, ADMIN_API, operation, mode, EXAMPLES[mode], _admin(world), world.tally
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("operation", DEVICE_RAW, ids=harness.label)
def test_device_api_refuses_unsigned_requests_as_documented(world: World, operation: Any) -> None:
    harness.fuzz(
        world.client,
        DEVICE_API,
        operation,
        GenerationMode.POSITIVE,
        RAW_EXAMPLES,
        _no_long_poll,
        world.tally,
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("operation", "mode"), harness.runs(DEVICE_SIGNED, MODES))
def test_device_api_answers_signed_requests_as_documented(
    world: World, operation: Any, mode: GenerationMode
) -> None:
    harness.fuzz(
        world.client, DEVICE_API, operation, mode, EXAMPLES[mode], _device(world), world.tally
    )


# -- the admin API: a token, and sometimes a real record ---------------------------------------
def _admin(world: World) -> harness.Prepare:
    def prepare(case: Any, data: st.DataObject) -> None:
        case.headers = {**(case.headers or {}), "Authorization": "Bearer " + world.token}
        for name in case.path_parameters or {}:
            known = _known(world, case.path, name)
            if len(known) > 0 and data.draw(st.booleans(), label="a real " + name):
                case.path_parameters[name] = data.draw(st.sampled_from(known))
        body = case.body
        form = case.path == "/service-requests" and isinstance(body, dict) and "user_id" in body
        if form and data.draw(st.booleans(), label="a real user"):
            body["user_id"] = data.draw(st.sampled_from(world.users))

    return prepare


def _known(world: World, path: str, name: str) -> list[str]:
    if name == "user_id":
        return world.users
    if name == "sha256":
        return world.uploads
    if name == "id":
        for prefix, known in (
            ("/registrations/", world.registrations),
            ("/service-requests/", world.service_requests),
            ("/clients/", world.clients),
        ):
            if path.startswith(prefix):
                return known
    return []


# -- the device API: signed by the device, sometimes with real codes, challenges and CSRs ------
def _no_long_poll(case: Any, data: st.DataObject) -> None:
    """The long-poll's length is not fuzzed: every poll returns at once."""
    if case.path == "/challenge":
        case.query = {**(case.query or {}), "wait": 0}


def _device(world: World) -> harness.Prepare:
    device = world.phone

    def prepare(case: Any, data: st.DataObject) -> None:
        _no_long_poll(case, data)
        if case.path == "/challenges/{cid}":
            _real_challenge(world, case, data)
        path = DEVICE_API + harness.path_of(case)
        if case.method.upper() == "GET":
            if case.path in ("/challenge", "/device"):
                token = device.sign("GET", path, {})
                case.headers = {**(case.headers or {}), "Authorization": "SoftToken " + token}
            return
        if case.path not in SIGNED_PATHS:
            return
        claims = dict(case.body) if isinstance(case.body, dict) else {}
        key, kid = device.key, device.device_id
        if case.path == "/activate":
            key, kid = ec.generate_private_key(ec.SECP256R1()), ""
            _real_activation(world, claims, key, data)
        if case.path == "/renew" and data.draw(st.booleans(), label="a real CSR"):
            claims["csr"] = _csr(ec.generate_private_key(ec.SECP256R1()))
        case.body = sign(key, "POST", path, claims, kid)
        case.media_type = "application/jose"

    return prepare


def _real_activation(
    world: World, claims: dict[str, Any], key: ec.EllipticCurvePrivateKey, data: st.DataObject
) -> None:
    """The CSR of the signing key (else the signature cannot verify), sometimes a real code."""
    if data.draw(st.booleans(), label="the signing key's CSR"):
        claims["csr"] = _csr(key)
        claims.setdefault("poll_key", _public_pem(key))
    if data.draw(st.integers(0, 3), label="a real code") == 0:
        services = world.context.services
        user_id = support.create_user(services).user_id
        support.approve_registration(services, user_id)
        claims["code"] = world.context.push.start_activation(user_id).code


def _real_challenge(world: World, case: Any, data: st.DataObject) -> None:
    """A live challenge for the device, named in the path and the claims, sometimes answered
    with the right pictures."""
    if not data.draw(st.booleans(), label="a live challenge"):
        return
    push, user_id = world.context.push, world.phone.user_id
    device = push.devices.active_for(user_id)
    if device is not None and device.status == "suspended":  # after a fuzzed "not me"
        push.lift_suspension(user_id, "fuzz", "the fuzzer's own not-me")
    push.ephemeral.delete("push-backoff:" + user_id)
    challenge = push.start_challenge(user_id, {"client_name": "fuzz"})
    case.path_parameters["cid"] = challenge.challenge_id
    if isinstance(case.body, dict):
        case.body["cid"] = challenge.challenge_id
        if data.draw(st.booleans(), label="the right pictures"):
            case.body["pictures"] = challenge.pictures
