"""Forgot password through the hosted pages, the emails read from a real SMTP server."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from idp.domain import recovery
from idp.domain.audit import SYSTEM, Origin
from idp.domain.errors import UserFacingError
from idp.storage.models import Registration
from idp.web.recovery import forgot_password as forgot
from tests import support
from tests.backends import Backend
from tests.registration_support import World, registration_world
from tests.smtp import text_of
from tests.thai_pages import assert_thai

NATIONAL_ID = "1101700203450"


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> Iterator[World]:
    with registration_world(backend, tmp_path) as w:
        yield w


def _registered(world: World) -> tuple[support.Person, str]:
    """A user with an approved registration: national ID and a verified email on file."""
    user = support.create_user(world.services)
    email = f"{user.user_id.lower()}@mail.example.go.th"
    now = datetime.now(UTC)
    with world.services.db.session() as session:
        session.add(
            Registration(
                id=secrets.token_urlsafe(16),
                user_id=user.user_id,
                attempt=1,
                status="approved",  # activated needs a phone: the lifecycle checks both
                national_id=NATIONAL_ID,
                email=email,
                email_verified_at=now,
                created_at=now,
                updated_at=now,
            )
        )
    return user, email


def _ask(browser: httpx.Client, user_id: str, nid: str, email: str) -> httpx.Response:
    page = browser.get("/forgot")
    return browser.post(
        "/forgot",
        data={
            "csrf_token": support.csrf_of(page.text),
            "user_id": user_id,
            "national_id": nid,
            "email": email,
        },
    )


def _code_of(world: World, index: int, to: str) -> str:
    match = re.search(r"\b(\d{6})\b", text_of(world.inbox.wait_for(index + 1, to=to)[index]))
    assert match
    return match.group(1)


def _verify(browser: httpx.Client, flow_url: str, code: str) -> httpx.Response:
    page = browser.get(flow_url)
    return browser.post(
        flow_url + "/verify", data={"csrf_token": support.csrf_of(page.text), "otp": code}
    )


def test_reset_emails_a_new_password_that_must_be_changed(world: World) -> None:
    user, email = _registered(world)
    asked = _ask(world.browser, user.user_id, "1-1017-00203-45-0", email.upper())
    assert asked.status_code == 303
    done = _verify(world.browser, asked.headers["location"], _code_of(world, 0, email))
    assert done.status_code == 200
    messages = world.inbox.wait_for(3, to=email)
    new_password = re.search(r"^([A-Za-z0-9]{16})$", text_of(messages[1]), re.M)
    assert new_password
    assert "ตั้งใหม่" in text_of(messages[2])  # the notice to the registered email
    assert all(m["To"] == email for m in messages)
    rp = support.create_client(world.services)
    response = world.browser.get(
        "/authorize", params=support.authorize_params(rp, support.pkce()[1])
    )
    signed_in = support.submit_login(
        world.browser, response.headers["location"], user.user_id, new_password.group(1)
    )
    assert "current_password" in world.browser.get(signed_in.headers["location"]).text
    reused = _verify(world.browser, asked.headers["location"], _code_of(world, 0, email))
    assert reused.status_code == 400  # the code was used


def test_wrong_details_get_the_same_answer_and_no_email(world: World) -> None:
    user, email = _registered(world)
    answers = [
        _ask(world.browser, user.user_id, "3100600445635", email),  # another national ID
        _ask(world.browser, user.user_id, NATIONAL_ID, "other@mail.example.go.th"),
        _ask(world.browser, support.new_user_id(), NATIONAL_ID, email),  # no such user
    ]
    pages = [world.browser.get(a.headers["location"]) for a in answers]
    assert {a.status_code for a in answers} == {303}
    strip = [re.sub(r"/forgot/[^/\"]+", "/forgot/F", p.text) for p in pages]
    strip = [re.sub(r'name="csrf_token" value="[^"]+"', "", p) for p in strip]
    assert all(80 <= _countdown(p) <= 90 for p in strip)  # the same wait, known or not
    strip = [re.sub(r'(data-countdown="|<span data-seconds>)\d+', r"\1N", p) for p in strip]
    assert strip[0] == strip[1] == strip[2]
    assert world.inbox.wait_for(1, timeout=1.5, to=email) == []
    assert world.inbox.wait_for(1, timeout=0.1, to="other@mail.example.go.th") == []


@pytest.mark.parametrize("change", ["disabled", "cancelled"])
def test_an_account_the_lifecycle_does_not_allow_gets_no_code(world: World, change: str) -> None:
    user, email = _registered(world)
    with world.services.db.session() as session:
        record, _account = world.services.lifecycle.user(session, user.user_id)
        if change == "disabled":
            world.services.lifecycle.set_in_service(session, record, False, "test", SYSTEM)
        else:
            world.services.lifecycle.change_holder(session, record, "test")
    asked = _ask(world.browser, user.user_id, NATIONAL_ID, email)
    assert asked.status_code == 303  # the same answer as for anyone
    assert world.inbox.wait_for(1, timeout=1.5, to=email) == []


def test_five_wrong_entries_lock_even_in_parallel(world: World) -> None:
    user, email = _registered(world)
    page = world.browser.get("/forgot")
    csrf = support.csrf_of(page.text)
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def wrong() -> None:
        barrier.wait()
        response = world.browser.post(
            "/forgot",
            data={
                "csrf_token": csrf,
                "user_id": user.user_id,
                "national_id": "3100600445635",
                "email": email,
            },
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=wrong) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # at most five wrong entries were checked (per user ID, atomically)
    assert 1 <= statuses.count(303) <= 5
    assert statuses.count(429) >= 5
    locked = _ask(world.browser, user.user_id, NATIONAL_ID, email)
    assert locked.status_code == 429
    assert "5 นาที" in locked.text
    assert_thai(locked.text, "the lock on forgot password")


def test_wrong_entries_from_a_shared_office_ip_do_not_lock_a_colleague(world: World) -> None:
    """Offices share one public IP: colleagues' wrong entries must not lock another user."""
    user, email = _registered(world)
    colleague, colleague_email = _registered(world)
    wrong = [_ask(world.browser, support.new_user_id(), NATIONAL_ID, email) for _ in range(6)]
    wrong += [
        _ask(world.browser, colleague.user_id, "3100600445635", colleague_email) for _ in range(4)
    ]
    assert [a.status_code for a in wrong] == [303] * 10
    asked = _ask(world.browser, user.user_id, NATIONAL_ID, email)  # the 11th from this IP
    assert asked.status_code == 303, asked.text
    assert _code_of(world, 0, email)  # the code still reaches the registered email
    after_four = _ask(world.browser, colleague.user_id, NATIONAL_ID, colleague_email)
    assert after_four.status_code == 303  # four wrong entries do not lock an account
    assert _code_of(world, 0, colleague_email)


def _request(world: World, user_id: str, nid: str, email: str, ip: str) -> recovery.ResetRequest:
    with world.services.db.session() as session:
        return world.context.recovery.request(
            session, user_id, nid, email, Origin(ip=ip, user_agent="test")
        )


def test_five_wrong_entries_lock_the_account_from_every_ip(world: World) -> None:
    user, email = _registered(world)
    for n in range(5):
        assert _request(world, user.user_id, "3100600445635", email, f"192.0.2.{n}").code is None
    with pytest.raises(UserFacingError) as refused:
        _request(world, user.user_id, NATIONAL_ID, email, "198.51.100.9")  # right, elsewhere
    assert refused.value.message == recovery.LOCKED
    assert "locked for 5 minutes" in recovery.LOCKED.en
    assert "ล็อก 5 นาที" in recovery.LOCKED.th
    other, other_email = _registered(world)  # the same IPs still serve other accounts
    assert _request(world, other.user_id, NATIONAL_ID, other_email, "192.0.2.0").code


def test_one_ip_is_throttled_at_the_configured_ip_limit(world: World) -> None:
    security = world.settings.security
    user, email = _registered(world)
    ip = "203.0.113.50"
    for _ in range(security.ip_attempts):
        assert _request(world, support.new_user_id(), NATIONAL_ID, email, ip).code is None
    with pytest.raises(UserFacingError) as throttled:
        _request(world, user.user_id, NATIONAL_ID, email, ip)
    assert throttled.value.message == recovery.THROTTLED
    # another address is not throttled: no counter is shared between addresses
    assert _request(world, user.user_id, NATIONAL_ID, email, "203.0.113.51").code


def test_resend_waits_90_seconds_and_expired_codes_fail(world: World) -> None:
    user, email = _registered(world)
    flow = _ask(world.browser, user.user_id, NATIONAL_ID, email).headers["location"]
    page = world.browser.get(flow)
    assert 80 <= _countdown(page.text) <= 90  # the manual: a new code every 90 s, shown
    assert "ขอรหัส OTP ใหม่ได้อีกครั้งใน" in page.text
    resend = world.browser.post(flow + "/resend", data={"csrf_token": support.csrf_of(page.text)})
    assert resend.status_code == 400  # the server judges, whatever a page shows
    assert "90" in resend.text
    assert 0 < _countdown(resend.text) <= 90
    code = _code_of(world, 0, email)
    flow_id = flow.rsplit("/", 1)[1]
    store = world.context.services.store
    store.put(f"otp:reset:{flow_id}:sent", {"at": time.time() - 80}, 10)  # 80 s later
    assert 9 <= _countdown(world.browser.get(flow).text) <= 10
    store.delete(f"otp:reset:{flow_id}:sent")  # 90 s later: no wait shown, a new code sent
    page = world.browser.get(flow)
    assert 'id="resend-wait"' not in page.text
    resend = world.browser.post(flow + "/resend", data={"csrf_token": support.csrf_of(page.text)})
    assert resend.status_code == 303
    assert 80 <= _countdown(world.browser.get(flow).text) <= 90
    code = _code_of(world, 1, email)
    pending = store.get("otp:reset:" + flow_id)
    assert pending is not None
    store.put("otp:reset:" + flow_id, pending, 1)
    time.sleep(1.2)
    assert _verify(world.browser, flow, code).status_code == 400


def _countdown(page: str) -> int:
    """The seconds the page says to wait before asking for a new code (server-rendered)."""
    match = re.search(r'data-countdown="(\d+)"', page)
    assert match, "no countdown on the page"
    return int(match.group(1))


def test_wrong_codes_count_per_account_across_flows(world: World) -> None:
    """Issue #11, item 9: a new flow is no new set of five guesses."""
    user, email = _registered(world)
    flows = [_request(world, user.user_id, NATIONAL_ID, email, f"192.0.2.{n}") for n in range(3)]
    origin = Origin(ip="203.0.113.7", user_agent="test")
    for flow in flows:  # 2 + 2 + 1 wrong codes in three flows
        for _ in range(2 if flow is not flows[-1] else 1):
            with pytest.raises(UserFacingError), world.services.db.session() as session:
                world.context.recovery.complete(session, flow.flow_id, "000000", origin)
    last = flows[-1]
    assert last.code is not None
    with pytest.raises(UserFacingError) as refused, world.services.db.session() as session:
        world.context.recovery.complete(session, last.flow_id, last.code, origin)
    assert "5" in refused.value.message.en  # locked: even the right code waits


def test_one_account_gets_at_most_five_codes_an_hour(world: World) -> None:
    user, email = _registered(world)
    codes = [
        _request(world, user.user_id, NATIONAL_ID, email, f"192.0.2.{n}").code for n in range(8)
    ]
    assert sum(code is not None for code in codes) == recovery.MAILS_PER_HOUR


def test_the_answer_takes_the_same_time_known_or_not(world: World) -> None:
    user, email = _registered(world)
    for user_id in (user.user_id, support.new_user_id()):
        started = time.monotonic()
        assert _ask(world.browser, user_id, NATIONAL_ID, email).status_code == 303
        assert time.monotonic() - started >= forgot.ANSWER_FLOOR
