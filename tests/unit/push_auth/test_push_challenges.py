"""The push challenge rules: the picture sequence (or the compared picture), 120 s on real time,
one answer, one pending challenge per user, "not me", and the backoff that limits push fatigue."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from push_doubles import Phone, World, refusal

from push_auth import protocol
from push_auth.models import Challenge, ChallengeMode, ChallengeStatus, DeviceStatus


def _start(world: World, user_id: str = "alice") -> Challenge:
    return world.push.challenges.start(user_id, {"client": "app", "ip": "203.0.113.9"})


def test_the_pictures_in_order_approve(world: World, phone: Phone) -> None:
    challenge = _start(world)
    assert len(challenge.pictures) == 4
    answered = phone.approve(challenge)
    assert answered.status is ChallengeStatus.APPROVED
    assert answered.amr == ["pin"]
    assert world.push.challenges.get(challenge.challenge_id) == answered
    assert world.events.actions()[-1] == "push.approve"


def test_only_what_a_device_can_report_becomes_amr(world: World, phone: Phone) -> None:
    challenge = _start(world)
    answered = phone.answer(
        challenge, "approve", pictures=challenge.pictures, amr=["face", "pin", "hwk", "pwd"]
    )
    assert answered.amr == ["face", "pin"]


@pytest.mark.parametrize(
    "wrong",
    [
        lambda p: [(x + 1) % 32 for x in p],
        lambda p: p[:3],
        lambda p: [*p, 0],
        lambda p: [str(x) for x in p],
        lambda p: None,
    ],
    ids=["other pictures", "too few", "too many", "not numbers", "none"],
)
def test_wrong_pictures_fail_and_back_off(
    world: World, phone: Phone, wrong: Callable[[list[int]], object]
) -> None:
    challenge = _start(world)
    answered = phone.answer(challenge, "approve", pictures=wrong(challenge.pictures))
    assert answered.status is ChallengeStatus.FAILED
    assert world.events.actions()[-1] == "push.wrong_pictures"
    assert refusal(_start, world).code == "push_backoff"


def test_compare_mode_shows_one_picture_to_the_phone_and_asks_no_sequence() -> None:
    world = World(mode=ChallengeMode.COMPARE)
    phone = world.phone("alice")
    challenge = _start(world)
    token = world.push.challenges.pending_token(world.device(phone))
    assert token is not None
    claims = protocol.verify(
        token, world.push.challenges.ca.challenge_public_pem(), protocol.CHALLENGE_TYP
    )
    assert claims["mode"] == "compare"
    assert claims["pictures"] == challenge.pictures
    assert len(challenge.pictures) == 1
    assert phone.answer(challenge, "approve").status is ChallengeStatus.APPROVED


def test_the_phone_is_woken_and_fetches_the_challenge_signed(world: World, phone: Phone) -> None:
    challenge = _start(world)
    assert world.wakeup.woken == [phone.device_id]
    token = world.push.challenges.pending_token(world.device(phone))
    assert token is not None
    claims = protocol.verify(
        token, world.push.challenges.ca.challenge_public_pem(), protocol.CHALLENGE_TYP
    )
    assert claims["cid"] == challenge.challenge_id
    assert claims["aud"] == phone.device_id
    assert claims["exp"] - claims["iat"] == 120
    assert claims["picture_count"] == 4
    assert "pictures" not in claims  # the phone never shows the sequence
    phone.approve(challenge)
    assert world.push.challenges.pending_token(world.device(phone)) is None


def test_a_challenge_can_be_answered_until_its_120_seconds_are_up(
    world: World, phone: Phone
) -> None:
    challenge = _start(world)
    world.clock.advance(seconds=119)
    assert phone.approve(challenge).status is ChallengeStatus.APPROVED


def test_an_unanswered_challenge_expires_and_backs_off(world: World, phone: Phone) -> None:
    challenge = _start(world)
    world.clock.advance(seconds=120)
    seen = world.push.challenges.get(challenge.challenge_id)
    assert seen is not None
    assert seen.status is ChallengeStatus.EXPIRED
    assert world.events.events[-1].detail["reason"] == "expired"
    refused = refusal(phone.approve, challenge)
    assert (refused.code, refused.status) == ("challenge_expired", 409)
    assert refusal(_start, world).code == "push_backoff"


def test_a_challenge_is_answered_once(world: World, phone: Phone) -> None:
    challenge = _start(world)
    phone.approve(challenge)
    for answer in ("approve", "deny", "not_me"):
        again = refusal(phone.answer, challenge, answer)
        assert (again.code, again.status) == ("challenge_closed", 409)
    assert world.device(phone).status is DeviceStatus.ACTIVE  # the late "not me" changed nothing


def test_a_new_challenge_replaces_the_pending_one(world: World, phone: Phone) -> None:
    first = _start(world)
    second = _start(world)
    replaced = world.push.challenges.get(first.challenge_id)
    assert replaced is not None
    assert replaced.status is ChallengeStatus.EXPIRED
    assert world.events.events[-2].detail["reason"] == "superseded"
    assert refusal(phone.approve, first).code == "challenge_closed"
    assert phone.approve(second).status is ChallengeStatus.APPROVED


def test_deny_is_recorded_and_backs_off(world: World, phone: Phone) -> None:
    challenge = _start(world)
    assert phone.answer(challenge, "deny").status is ChallengeStatus.DENIED
    assert world.events.events[-1].action == "push.deny"
    assert world.events.events[-1].outcome == "failure"
    assert refusal(_start, world).status == 429


def test_the_backoff_doubles_from_10_seconds_up_to_an_hour(world: World, phone: Phone) -> None:
    waits = [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
    for wait in waits:
        phone.answer(_start(world), "deny")
        refused = refusal(_start, world)
        assert refused.en == f"please wait {wait} s before another push"
        world.clock.advance(seconds=wait - 1)
        assert refusal(_start, world).en == "please wait 1 s before another push"
        world.clock.advance(seconds=1)


def test_an_approval_clears_the_backoff(world: World, phone: Phone) -> None:
    phone.answer(_start(world), "deny")
    world.clock.advance(seconds=10)
    phone.approve(_start(world))
    phone.answer(_start(world), "deny")  # started at once: no wait left over
    assert refusal(_start, world).en == "please wait 10 s before another push"


def test_not_me_suspends_the_device_and_raises_an_alert(world: World, phone: Phone) -> None:
    challenge = _start(world)
    assert phone.answer(challenge, "not_me").status is ChallengeStatus.NOT_ME
    assert world.device(phone).status is DeviceStatus.SUSPENDED
    alert = world.events.events[-1]
    assert (alert.action, alert.outcome) == ("push.not_me", "alert")
    assert alert.detail["ip"] == "203.0.113.9"
    world.clock.advance(hours=2)  # past any backoff: the suspension itself refuses
    assert refusal(_start, world).code == "device_suspended"


def test_an_approval_needs_the_pin_key(world: World, phone: Phone) -> None:
    challenge = _start(world)
    refused = refusal(phone.answer, challenge, "approve", poll=True, pictures=challenge.pictures)
    assert refused.code == "pin_required"
    assert phone.approve(challenge).status is ChallengeStatus.APPROVED  # not burnt


def test_a_phone_cannot_answer_another_users_challenge(world: World, phone: Phone) -> None:
    bob = world.phone("bob")
    challenge = _start(world, "bob")
    assert refusal(phone.approve, challenge).code == "not_your_challenge"
    assert bob.approve(challenge).status is ChallengeStatus.APPROVED  # not burnt


@pytest.mark.parametrize(
    "claims",
    [{"cid": "another", "action": "approve"}, {"action": "maybe"}, {"action": ["approve"]}],
    ids=["other cid", "unknown action", "action not a string"],
)
def test_an_answer_names_its_challenge_and_a_known_action(
    world: World, phone: Phone, claims: dict[str, object]
) -> None:
    challenge = _start(world)
    answer = {"cid": challenge.challenge_id, "_key": "device", **claims}
    refused = refusal(
        world.push.challenges.answer, world.device(phone), challenge.challenge_id, answer
    )
    assert refused.code == "invalid_answer"


def test_no_push_without_a_device(world: World) -> None:
    assert refusal(_start, world, "nobody").code == "no_device"


def test_an_unknown_or_absurd_challenge_id_is_none(world: World) -> None:
    assert world.push.challenges.get("x" * 100) is None
    assert world.push.challenges.get("nothing-here") is None


@pytest.mark.parametrize("amr", [5, "pin", [1], [["pin"]], {"pin": 1}])
def test_a_malformed_amr_is_refused_and_leaves_the_challenge_open(
    world: World, phone: Phone, amr: object
) -> None:
    challenge = _start(world)
    refused = refusal(phone.answer, challenge, "approve", pictures=challenge.pictures, amr=amr)
    assert (refused.status, refused.code) == (400, "invalid_amr")
    assert phone.approve(challenge).status is ChallengeStatus.APPROVED
