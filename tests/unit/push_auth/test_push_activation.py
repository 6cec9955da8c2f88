"""Activation: a one-time code for 10 minutes that a phone uses once, only while the host's
enrolment gate is open (when the code is given and again when it is used)."""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from push_doubles import AUDIENCE, START, Phone, World, csr, refusal

from push_auth.activation import ActivationStatus
from push_auth.models import DeviceStatus


def test_a_code_pairs_one_phone_once(world: World) -> None:
    code = world.push.activation.start("alice").code
    Phone(world).activate(code)
    assert refusal(Phone(world).activate, code).code == "invalid_activation_code"


def test_a_code_is_144_bits_and_shown_as_a_qr_text(world: World) -> None:
    activation = world.push.activation.start("alice")
    assert len(activation.code) == 24  # 18 random bytes, base64url
    assert (
        activation.qr_text
        == f"{AUDIENCE.removesuffix('/push/v1')}/app/activate?code={activation.code}"
    )
    assert activation.expires_at == int(START.timestamp()) + 600


def test_a_code_lasts_ten_minutes(world: World) -> None:
    code = world.push.activation.start("alice").code
    world.clock.advance(seconds=599)
    assert world.push.activation.current("alice") is not None
    world.clock.advance(seconds=2)
    assert world.push.activation.current("alice") is None
    assert world.push.activation.status("alice") is ActivationStatus.EXPIRED
    assert refusal(Phone(world).activate, code).code == "invalid_activation_code"


def test_a_new_code_voids_the_one_before(world: World) -> None:
    first = world.push.activation.start("alice").code
    second = world.push.activation.start("alice").code
    assert refusal(Phone(world).activate, first).code == "invalid_activation_code"
    Phone(world).activate(second)


def test_the_desktop_page_sees_the_same_code_until_the_phone_uses_it(world: World) -> None:
    assert world.push.activation.status("alice") is ActivationStatus.NONE
    activation = world.push.activation.start("alice")
    assert world.push.activation.current("alice") == activation
    assert world.push.activation.status("alice") is ActivationStatus.PENDING
    Phone(world).activate(activation.code)
    assert world.push.activation.current("alice") is None
    assert world.push.activation.status("alice") is ActivationStatus.ACTIVATED


def test_no_code_while_the_host_refuses_enrolment(world: World) -> None:
    world.enrolment.open = False
    assert refusal(world.push.activation.start, "alice").code == "enrolment_not_allowed"
    assert world.push.activation.status("alice") is ActivationStatus.NONE


def test_the_host_is_asked_again_when_the_phone_uses_the_code(world: World) -> None:
    code = world.push.activation.start("alice").code
    world.enrolment.open = False  # e.g. the registration was withdrawn in between
    assert refusal(Phone(world).activate, code).code == "enrolment_not_allowed"
    assert world.devices.rows == {}
    assert world.enrolment.enrolled_users == []


def test_the_phone_becomes_the_users_device(world: World) -> None:
    phone = Phone(world)
    meta = {"platform": "android", "model": "x" * 300, "biometrics": True, "push_token": "t"}
    result = phone.activate(world.push.activation.start("alice").code, device=meta)
    device = world.device(phone)
    assert (device.user_id, device.status) == ("alice", DeviceStatus.ACTIVE)
    assert (device.platform, len(device.model), device.biometrics) == ("android", 100, True)
    assert device.created_at == device.not_before == START
    assert device.not_after == START + timedelta(days=730)
    assert result["not_after"] == int(device.not_after.timestamp())
    assert result["api"] == AUDIENCE
    assert "BEGIN CERTIFICATE" in result["ca_certificate"]
    assert "PUBLIC KEY" in result["challenge_public_key"]
    assert world.enrolment.enrolled_users == ["alice"]
    assert world.events.actions() == ["device.activation_started", "device.activate"]


def test_the_hosts_bookkeeping_failing_does_not_undo_the_activation(world: World) -> None:
    def broken(user_id: str) -> None:
        raise RuntimeError("the host's database hiccuped")

    world.enrolment.enrolled = broken  # type: ignore[method-assign]
    phone = Phone(world)
    phone.activate(world.push.activation.start("alice").code)
    assert world.device(phone).status is DeviceStatus.ACTIVE


def test_the_phone_must_send_its_polling_key(world: World) -> None:
    code = world.push.activation.start("alice").code
    assert refusal(Phone(world).activate, code, poll_key="nothing").code == "invalid_request"


def test_the_csr_must_be_for_the_key_that_signs_the_request(world: World) -> None:
    code = world.push.activation.start("alice").code
    phone = Phone(world)
    other = ec.generate_private_key(ec.SECP256R1())
    refused = refusal(phone.activate, code, csr=csr(other))
    assert refused.status == 401
    Phone(world).activate(code)  # the code was not spent
