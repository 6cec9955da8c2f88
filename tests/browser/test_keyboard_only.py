"""Everything by keyboard alone: a registration (with the trip to the simulated Pao Tang page on
a phone-sized browser) and then a sign-in with push approval, the browser driven only by
keyboard.press and keyboard.type (the addresses are typed, as a user would; the QR code is read
by the reference authenticator, as a phone would). Each field is reached with Tab: a field that
the keyboard cannot reach, or a focus trap, fails the test."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from idp.upstream.citizens import CITIZENS
from push_auth.authenticator.client import Authenticator
from push_auth.authenticator.qr import read_qr
from push_auth.authenticator.state import Home
from tests import push_support, support
from tests.backends import Backend
from tests.journeys.steps import RelyingPartySite
from tests.journeys.world import journey_world
from tests.live import free_port, serve
from tests.registration_support import otp_from

MAX_TABS = 40


def tab_to(page: Page, selector: str) -> None:
    """Tab forward until the focus is on `selector` (once the page that has it is there)."""
    page.wait_for_selector(selector, state="attached")
    page.wait_for_load_state("load")
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"{selector} is not reachable with Tab on {page.url}")


def type_into(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.type(text)


def press(page: Page, selector: str, key: str = "Enter") -> None:
    tab_to(page, selector)
    page.keyboard.press(key)


def open_address(page: Page, url: str) -> None:
    """The address typed in the browser's address bar (outside the page)."""
    page.goto(url)


def choose_radio(page: Page, name: str, value: str) -> None:
    """Tab into the group, then the arrow keys until `value` is checked."""
    tab_to(page, f"input[type=radio][name={name}]")
    for _ in range(10):
        if page.evaluate("() => document.activeElement.value") == value:
            page.keyboard.press("Space")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no {name}={value} among the radio buttons")


@pytest.mark.timeout(180)
def test_register_then_sign_in_with_push_by_keyboard_only(
    embedded_backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    """The embedded backend only: what is tested is the pages, the same on both."""
    citizen = CITIZENS[2]
    site, site_port = RelyingPartySite(), free_port()
    with journey_world(embedded_backend, tmp_path) as world, serve(site.app, site_port):
        person = support.create_user(
            world.services,
            name_th=citizen["name"],
            name_en=citizen["name_en"],
            assignment_order_on_file=True,
        )
        email = f"{person.user_id.lower()}@mail.example.go.th"
        desk = chromium.new_context(locale="th-TH", viewport={"width": 1366, "height": 768})
        phone_context = chromium.new_context(
            locale="th-TH", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        try:
            page, phone = desk.new_page(), phone_context.new_page()
            for p in (page, phone):
                p.set_default_timeout(15_000)

            # sign in at /register: a wrong password first; the error summary takes the focus
            open_address(page, world.base + "/register")
            page.keyboard.type(person.user_id)  # the user ID field has the focus
            type_into(page, "#password", "not the password")
            page.keyboard.press("Enter")
            expect(page.locator("#form-error")).to_be_focused()
            expect(page.locator("#password")).to_have_attribute("aria-describedby", "form-error")
            type_into(page, "#password", person.password)
            page.keyboard.press("Enter")

            # step 1: national ID, consent, next
            type_into(page, "#national_id", citizen["pid"])
            choose_radio(page, "consent", "yes")
            press(page, "form[action='/register/identity'] button[type=submit]")

            # step 2: the link opened on the phone, the citizen chosen at the upstream
            link = page.locator("a[href*='/register/proof/']")
            tab_to(page, "a[href*='/register/proof/']")  # reachable, as the QR code's alternative
            open_address(phone, str(link.get_attribute("href")))
            choose_radio(phone, "pid", citizen["pid"])
            press(phone, "button[value=allow]")
            expect(phone.locator("h1")).to_have_text("พิสูจน์ตัวตนเรียบร้อยแล้ว")

            # step 3: the desktop went on by itself; the email and its code
            type_into(page, "#email", email)
            page.keyboard.press("Enter")
            type_into(page, "#otp", otp_from(world.inbox, 1, email))
            page.keyboard.press("Enter")
            press(page, "form[action='/register/confirm'] button")

            # step 5: activation; the phone reads the QR code, the page notices by itself
            press(page, "a[href='/activate']")
            expect(page.locator(".qr img")).to_be_visible()
            png = tmp_path / "qr.png"
            png.write_bytes(page.request.get(world.base + "/activate/qr.png").body())
            app = Authenticator(Home(tmp_path / "phone"), httpx.Client(timeout=40))
            try:
                app.activate(read_qr(str(png)), push_support.PIN)
                expect(page.locator("#push-state")).to_have_count(0)

                # then a sign-in at a relying party, approved on the phone
                rp = support.create_client(
                    world.services, redirect_uris=[f"http://localhost:{site_port}/callback"]
                )
                page.context.clear_cookies()
                params = support.authorize_params(rp, support.pkce()[1])
                open_address(page, world.base + "/authorize?" + urlencode(params))
                page.keyboard.type(person.user_id)
                type_into(page, "#password", person.password)
                page.keyboard.press("Enter")
                expect(page.locator("ol.pictures li")).to_have_count(4)
                tab_to(page, "button[value=check]")  # "I have approved" is reachable
                shown = push_support.shown_pictures(page.content())
                assert app.pending(wait=5) is not None
                assert app.approve(push_support.PIN, shown)["status"] == "approved"
                page.keyboard.press("Enter")  # the poll may have gone on already: once only
                page.wait_for_url(re.compile(r"/callback\?"))
                query = support.query_of(page.url)
                assert "code" in query, query
                assert query["state"] == params["state"]
            finally:
                app.http.close()
        finally:
            desk.close()
            phone_context.close()
