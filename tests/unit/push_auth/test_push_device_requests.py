"""Device requests: signed by a key the server knows, fresh (iat ±60 s), used once, bound to
the method and path; the polling key only where the operation allows it."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from push_doubles import AUDIENCE, Phone, World, refusal

from push_auth import protocol
from push_auth.models import Device

PATH = "/push/v1/device"


def _authenticate(world: World, token: str, method: str = "GET", path: str = PATH) -> Device:
    return world.push.device_auth.authenticate(token, method, path, poll_key_allowed=True)[0]


def test_a_signed_fresh_request_names_its_device_and_key(world: World, phone: Phone) -> None:
    device, claims = world.push.device_auth.authenticate(phone.token("GET", PATH), "GET", PATH)
    assert (device.device_id, claims["_key"]) == (phone.device_id, "device")
    _, claims = world.push.device_auth.authenticate(
        phone.token("GET", PATH, poll=True), "GET", PATH, poll_key_allowed=True
    )
    assert claims["_key"] == "poll"


def test_a_request_is_used_once(world: World, phone: Phone) -> None:
    token = phone.token("GET", PATH)
    _authenticate(world, token)
    assert "jti" in refusal(_authenticate, world, token).en


def test_a_request_older_than_a_minute_is_refused(world: World, phone: Phone) -> None:
    token = phone.token("GET", PATH)
    world.clock.advance(seconds=61)
    assert refusal(_authenticate, world, token).status == 401


def test_a_request_is_bound_to_its_method_and_path(world: World, phone: Phone) -> None:
    assert refusal(_authenticate, world, phone.token("GET", PATH), "POST").status == 401
    assert (
        refusal(_authenticate, world, phone.token("GET", PATH), "GET", "/push/v1/x").status == 401
    )


def test_the_polling_key_only_where_allowed(world: World, phone: Phone) -> None:
    token = phone.token("POST", "/push/v1/renew", poll=True)
    refused = refusal(world.push.device_auth.authenticate, token, "POST", "/push/v1/renew")
    assert refused.en == "this request needs the device key"


def test_an_unknown_device_or_a_strangers_key_is_refused(world: World, phone: Phone) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    claims = {"aud": AUDIENCE, "iat": int(world.clock.time()), "htm": "GET", "htu": PATH}
    forged = protocol.sign(
        stranger, {**claims, "jti": "j" * 20}, protocol.REQUEST_TYP, kid=phone.device_id
    )
    unknown = protocol.sign(
        stranger, {**claims, "jti": "k" * 20}, protocol.REQUEST_TYP, kid="nobody"
    )
    assert refusal(_authenticate, world, forged).status == 401
    assert refusal(_authenticate, world, unknown).en == "unknown device"


def test_an_iat_that_is_not_a_time_is_refused(world: World, phone: Phone) -> None:
    """NaN is never "more than 60 s away": such a request would never go stale."""
    for iat in (float("nan"), float("inf"), True, "0"):
        refused = refusal(_authenticate, world, phone.token("GET", PATH, iat=iat))
        assert refused.status == 401
