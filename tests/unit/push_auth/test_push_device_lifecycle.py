"""A device's life on the lifecycle clock: activated for two years, renewed with a new key (the
old one void at the new one's first use), expired (no approvals, renewal still open), suspended
by "not me" and lifted by an officer, revoked at once."""

from __future__ import annotations

from datetime import timedelta

from push_doubles import START, Phone, World, refusal

from push_auth.activation import ActivationStatus
from push_auth.models import Challenge, ChallengeStatus, DeviceStatus

RENEW = "/push/v1/renew"


def _start(world: World, user_id: str = "alice") -> Challenge:
    return world.push.challenges.start(user_id, {})


def test_a_device_from_activation_to_revocation(world: World) -> None:
    phone = world.phone("alice")
    assert world.device(phone).not_after == START + timedelta(days=730)
    world.clock.advance(days=700)  # the renewal warning's window
    phone.key = phone.renew()
    phone.authenticate("GET", "/push/v1/device")  # the new key's first use
    renewed = world.device(phone)
    assert renewed.not_before == START + timedelta(days=700)
    assert renewed.not_after == START + timedelta(days=1430)
    world.clock.advance(days=731)
    assert refusal(phone.authenticate, "GET", "/push/v1/device").code == "certificate_expired"
    world.push.revocation.revoke("alice", "lost phone", actor="officer-1")
    assert world.device(phone).status is DeviceStatus.REVOKED
    assert refusal(phone.authenticate, "GET", "/push/v1/device").code == "device_revoked"
    assert world.phone("alice").device_id != phone.device_id  # a new activation is allowed


def test_the_old_key_works_until_the_new_key_is_used(world: World, phone: Phone) -> None:
    old_key, old_serial = phone.key, world.device(phone).serial
    new_key = phone.renew()
    assert world.device(phone).next_serial is not None
    phone.authenticate("GET", "/push/v1/device")  # still the old key
    phone.key = new_key
    phone.authenticate("GET", "/push/v1/device")
    device = world.device(phone)
    assert device.next_serial is None
    assert device.serial != old_serial
    renewed = world.events.events[-1]
    assert renewed.action == "device.certificate_renewed"
    assert renewed.detail["revoked_serial"] == old_serial
    phone.key = old_key
    assert refusal(phone.authenticate, "GET", "/push/v1/device").status == 401


def test_an_expired_certificate_cannot_approve_but_can_renew(world: World, phone: Phone) -> None:
    world.clock.advance(days=730, seconds=-30)
    challenge = _start(world)
    world.clock.advance(seconds=30)
    assert refusal(phone.approve, challenge).code == "certificate_expired"
    assert refusal(_start, world).code == "certificate_expired"
    phone.authenticate("GET", "/push/v1/device", allow_expired=True)
    phone.key = phone.renew()
    phone.authenticate("GET", "/push/v1/device")
    assert phone.approve(_start(world)).status is (ChallengeStatus.APPROVED)


def test_an_issued_renewal_counts_before_the_new_key_is_used(world: World, phone: Phone) -> None:
    world.clock.advance(days=700)
    new_key = phone.renew()
    world.clock.advance(days=31)  # the old certificate has ended, the renewal has not
    challenge = _start(world)
    phone.key = new_key  # the approval is the new key's first use: it becomes the certificate
    assert phone.approve(challenge).status is ChallengeStatus.APPROVED


def test_revocation_takes_effect_for_a_delivered_challenge(world: World, phone: Phone) -> None:
    challenge = _start(world)
    assert world.push.challenges.pending_token(world.device(phone)) is not None
    revoked = world.push.revocation.revoke("alice", "x" * 300, actor="alice")
    assert revoked is not None
    assert (revoked.revoked_at, len(revoked.revoke_reason or "")) == (START, 200)
    assert refusal(phone.answer, challenge, "deny").code == "device_revoked"
    assert world.push.activation.status("alice") is ActivationStatus.NONE
    assert world.events.events[-1].detail["actor"] == "alice"


def test_revoking_without_a_device_does_nothing(world: World) -> None:
    assert world.push.revocation.revoke("nobody", "lost", actor="officer-1") is None
    assert world.events.events == []


def test_an_officer_lifts_a_not_me_suspension(world: World, phone: Phone) -> None:
    phone.answer(_start(world), "not_me")
    lifted = world.push.revocation.lift_suspension("alice", "officer-1", "called: it was her")
    assert lifted.status is DeviceStatus.ACTIVE
    assert world.events.events[-1].detail["note"] == "called: it was her"
    assert phone.approve(_start(world)).status is (  # no backoff left
        ChallengeStatus.APPROVED
    )


def test_only_a_suspended_device_can_be_lifted(world: World, phone: Phone) -> None:
    refused = refusal(world.push.revocation.lift_suspension, "alice", "officer-1", "note")
    assert refused.code == "not_suspended"


def test_a_suspended_device_can_be_revoked(world: World, phone: Phone) -> None:
    phone.answer(_start(world), "not_me")
    assert world.push.revocation.revoke("alice", "not me", actor="officer-1") is not None
    assert world.devices.active_for("alice") is None
