"""Manual chapter 6 as one user's life, on the server's lifecycle clock (moved forward, never
slept): ten days before the phone's certificate runs out, each sign-in warns and offers
"Continue" or "Renew"; renewing is "Update Profile" → Accept in the app, and the page goes on
by itself. Once the certificate has run out, the sign-in asks for the renewal before the
pictures."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from push_auth.models import Device
from tests.backends import Backend
from tests.journeys.steps import (
    PIN,
    Citizen,
    Journey,
    approve_on_phone,
    become_active,
    desktop,
    heading,
    imported_user,
    journey,
    relying_party,
    sign_in_at_rp,
    sign_in_with_password,
    signed_in_with_push,
    start_at_rp,
)

MOVABLE = {"movable_clock": True}
UPDATE_PROFILE = "เปิดแอป Soft Token เลือก Update Profile แล้วกด Accept หน้านี้จะดำเนินการต่อเอง"


def _device(j: Journey, who: Citizen) -> Device:
    device = j.world.context.push.devices.active_for(who.user_id)
    assert device is not None
    return device


def _not_after(j: Journey, who: Citizen) -> datetime:
    """The end of the phone's newest certificate (a renewed one takes over at its first use)."""
    device = _device(j, who)
    return device.next_not_after or device.not_after


def _warned(page: Page, days: int) -> None:
    heading(page, "ใบรับรอง Soft Token ของท่านใกล้หมดอายุ")
    expect(page.get_by_text(f"จะหมดอายุในอีก {days} วัน")).to_be_visible()
    expect(page.get_by_role("button", name="ดำเนินการต่อ")).to_be_visible()
    expect(page.get_by_role("button", name="ต่ออายุ")).to_be_visible()


def test_warned_before_expiry_then_forced_to_renew_after_it(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium, development=MOVABLE) as j:
        who = imported_user(j, assignment_order_on_file=True)
        phone = become_active(j, desktop(j), who)
        rp = relying_party(j, name="ระบบการเงินการคลัง")
        clock = j.services.clock
        first = _not_after(j, who)
        assert first - clock.now() > timedelta(days=700)  # two years (the manual)

        clock.set_to(first - timedelta(days=10))
        page = desktop(j)
        request = start_at_rp(page, j, rp)
        sign_in_with_password(page, who.user_id, who.password)
        approve_on_phone(page, phone)
        _warned(page, 10)
        page.get_by_role("button", name="ดำเนินการต่อ").click()  # not today
        signed_in_with_push(j, page, request, who.user_id)

        page = desktop(j)  # the next day's sign-in warns again; this time: renew
        request = start_at_rp(page, j, rp)
        sign_in_with_password(page, who.user_id, who.password)
        approve_on_phone(page, phone)
        _warned(page, 10)
        page.get_by_role("button", name="ต่ออายุ").click()
        expect(page.get_by_text(UPDATE_PROFILE)).to_be_visible()
        phone.renew(PIN)  # Update Profile → Accept
        signed_in_with_push(j, page, request, who.user_id)
        renewed = _not_after(j, who)
        assert renewed - clock.now() > timedelta(days=700)
        sign_in_at_rp(j, desktop(j), rp, who, phone)  # the renewed key answers: no warning
        taken_over = _device(j, who)  # at its first use
        assert (taken_over.not_after, taken_over.next_not_after) == (renewed, None)

        clock.set_to(renewed + timedelta(days=1))  # two years without signing in
        page = desktop(j)
        request = start_at_rp(page, j, rp)
        sign_in_with_password(page, who.user_id, who.password)
        heading(page, "ใบรับรอง Soft Token ของท่านหมดอายุแล้ว")
        expect(page.get_by_text(UPDATE_PROFILE)).to_be_visible()
        expect(page.locator("ol.pictures")).to_have_count(0)  # nothing to approve with
        phone.renew(PIN)
        approve_on_phone(page, phone)  # the page went on by itself to the pictures
        signed_in_with_push(j, page, request, who.user_id)
        assert _not_after(j, who) - clock.now() > timedelta(days=700)
