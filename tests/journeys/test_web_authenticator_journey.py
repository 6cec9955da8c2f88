"""The web authenticator (/app) as one officer's phone, in real Chromium: a phone-sized browser
with a virtual platform authenticator (user verification on) opens the activation QR code's
address, becomes the user's Soft Token, and approves the computer's sign-ins by tapping the
pictures and passing its own user verification; it denies, reports "not me", renews its key
and cancels Soft Token (manual chapters 2.5, 3, 5 and 6)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import Browser, CDPSession, Page, expect

from push_auth.authenticator.qr import read_qr
from tests.backends import Backend
from tests.journeys.steps import (
    Citizen,
    Journey,
    desktop,
    heading,
    imported_user,
    journey,
    mails,
    phone_browser,
    register,
    relying_party,
    sign_in_with_password,
    signed_in_with_push,
    start_at_rp,
)
from tests.live import free_port, serve
from tests.push_support import shown_pictures
from tests.virtual_authenticator import VirtualAuthenticator, platform_authenticator
from tests.webpush_service import LoopbackPushService

LOCALHOST = {"host": "localhost"}  # WebAuthn's RP ID must be a domain


def web_phone(j: Journey) -> tuple[Page, VirtualAuthenticator]:
    """A phone's browser with its platform authenticator (Face ID / fingerprint / PIN)."""
    page = phone_browser(j)
    return page, platform_authenticator(page)


def activate_web_phone(j: Journey, page: Page, who: Citizen) -> tuple[Page, VirtualAuthenticator]:
    """Chapter 2 to step 5: the computer shows the QR code; the phone's camera opens its
    address; the phone's screen lock makes the credential; the computer sees it by itself."""
    page.goto(j.base + "/register")
    sign_in_with_password(page, who.user_id, who.password)
    register(page, j, who, upload=False, approved_at_once=True)
    page.locator("a[href='/activate']").click()
    heading(page, "ลงทะเบียน Soft Token")
    png = page.request.get(urljoin(page.url, "/activate/qr.png"))
    image = j.tmp / "web-qr.png"
    image.write_bytes(png.body())
    address = read_qr(str(image))
    assert address.startswith(j.base + "/app/activate?code="), address
    phone, authenticator = web_phone(j)
    phone.goto(address)
    expect(phone.locator("#activate h2")).to_have_text("เปิดใช้งาน Soft Token บนโทรศัพท์เครื่องนี้")
    phone.get_by_role("button", name="เปิดใช้งาน").click()
    expect(phone.locator("#home")).to_be_visible()
    expect(phone.locator("#status")).to_have_text("Soft Token ใช้งานได้บนโทรศัพท์เครื่องนี้")
    assert len(authenticator.credentials()) == 1
    heading(page, "ลงทะเบียน Soft Token สำเร็จ")
    return phone, authenticator


def tap(phone: Page, pictures: list[int]) -> None:
    expect(phone.locator("#request")).to_be_visible()
    for picture in pictures:
        phone.locator(f"#grid button[data-picture='{picture}']").click()


def pictures_on(page: Page) -> list[int]:
    heading(page, "อนุมัติบนโทรศัพท์มือถือ")
    expect(page.locator("ol.pictures li")).to_have_count(4)
    return shown_pictures(page.content())


def test_a_phone_without_an_app_store_signs_in_renews_and_cancels(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium, **LOCALHOST) as j:
        who = imported_user(j, assignment_order_on_file=True)
        rp = relying_party(j)
        page = desktop(j)
        phone, authenticator = activate_web_phone(j, page, who)

        # a sign-in approved on the phone: the pictures tapped, then user verification
        request = start_at_rp(page, j, rp, prompt="login")
        sign_in_with_password(page, who.user_id, who.password)
        shown = pictures_on(page)
        tap(phone, shown)
        expect(phone.locator("#ctx-client")).to_have_text("Test RP")
        expect(phone.locator("#ctx-ip")).to_have_text("127.0.0.1")
        phone.get_by_role("button", name="อนุมัติ", exact=True).click()
        expect(phone.locator("#status")).to_have_text("อนุมัติแล้ว กลับไปที่เครื่องคอมพิวเตอร์ได้")
        tokens = signed_in_with_push(j, page, request, who.user_id)
        assert set(tokens.claims["amr"]) == {"pwd", "swk", "mfa", "user"}

        # the wrong pictures end the request; the computer says so
        request = start_at_rp(page, j, rp, prompt="login")
        sign_in_with_password(page, who.user_id, who.password)
        shown = pictures_on(page)
        tap(phone, [(shown[0] + 1) % 32, *shown[1:]])
        phone.get_by_role("button", name="อนุมัติ", exact=True).click()
        expect(phone.locator("#problem")).to_contain_text("รูปภาพไม่ตรงกัน")
        expect(page.locator("p.error")).to_be_visible()

        # deny (the refusal backed pushes off for 10 s: that time passes)
        j.world.context.push.challenges.backoff.clear(who.user_id)
        page.get_by_role("button", name="ส่งคำขอใหม่").click()
        pictures_on(page)
        expect(phone.locator("#request")).to_be_visible()
        phone.get_by_role("button", name="ปฏิเสธ").click()
        expect(phone.locator("#problem")).to_have_text("ปฏิเสธแล้ว")
        expect(page.locator("p.error")).to_be_visible()

        j.world.context.push.challenges.backoff.clear(who.user_id)

        # renewal: the current credential signs, a new one replaces it
        before = j.world.context.push.devices.active_for(who.user_id)
        assert before is not None
        phone.get_by_role("button", name="ต่ออายุ Soft Token").click()
        expect(phone.locator("#status")).to_contain_text("ต่ออายุแล้ว ใช้ได้ถึง")
        after = j.world.context.push.devices.active_for(who.user_id)
        assert after is not None
        assert after.credential_id != before.credential_id
        assert after.serial != before.serial
        assert len(authenticator.credentials()) == 2

        # the renewed credential approves the next sign-in
        request = start_at_rp(page, j, rp, prompt="login")
        sign_in_with_password(page, who.user_id, who.password)
        tap(phone, pictures_on(page))
        phone.get_by_role("button", name="อนุมัติ", exact=True).click()
        signed_in_with_push(j, page, request, who.user_id)

        # cancellation (chapter 5) from the phone: the device revoked, the email sent
        phone.locator("#cancel summary").click()
        phone.locator("input[name=reason][value=new_phone]").check()
        phone.once("dialog", lambda dialog: dialog.accept())
        phone.get_by_role("button", name="ยกเลิก Soft Token").click()
        expect(phone.locator("#setup")).to_be_visible()
        expect(phone.locator("#status")).to_contain_text(j.base + "/register")
        assert j.world.context.push.devices.active_for(who.user_id) is None
        mails(j, who.email, "ยกเลิก Soft Token")


def _service_worker_registration(cdp: CDPSession, phone: Page) -> str:
    """The web app's service worker registration, as the DevTools Protocol names it."""
    found: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.extend(
            r["registrationId"] for r in event["registrations"] if r["scopeURL"].endswith("/app")
        ),
    )
    cdp.send("ServiceWorker.enable")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    deadline = time.monotonic() + 10
    while not found and time.monotonic() < deadline:
        phone.wait_for_timeout(50)
    assert found, "the service worker did not register"
    return found[0]


def test_a_pushed_request_reaches_the_phone_and_not_me_suspends_it(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    service = LoopbackPushService()
    with (
        serve(service.app, free_port()) as push_origin,
        journey(backend, tmp_path, chromium, **LOCALHOST) as j,
    ):
        service.origin = push_origin
        who = imported_user(j, assignment_order_on_file=True)
        page = desktop(j)
        phone, _authenticator = activate_web_phone(j, page, who)

        # installable: the manifest, and the shell that opens offline
        manifest = phone.request.get(j.base + "/app/manifest.webmanifest").json()
        assert manifest["start_url"] == "/app"
        assert manifest["display"] == "standalone"
        assert {"192x192", "512x512"} <= {icon["sizes"] for icon in manifest["icons"]}
        cdp = phone.context.new_cdp_session(phone)
        registration = _service_worker_registration(cdp, phone)
        phone.context.set_offline(True)
        phone.reload()
        expect(phone.locator("#home")).to_be_visible()  # the kept shell, the kept device
        phone.context.set_offline(False)
        phone.reload()
        expect(phone.locator("#home")).to_be_visible()

        # the page stores its subscription (a loopback push service stands in for the
        # browser vendor's: headless Chromium has none)
        push_key = phone.request.get(j.base + "/push/v1/webauthn/push-key").json()["push_key"]
        browser = service.subscribe(push_key)
        subscription = {
            "endpoint": browser.endpoint,
            "keys": {"p256dh": browser.p256dh, "auth": browser.auth_b64},
        }
        phone.context.grant_permissions(["notifications"], origin=j.base)
        phone.evaluate("(s) => window.softtoken.saveSubscription(s)", subscription)

        # a sign-in: the push service receives the challenge's ID and context, never pictures
        rp = relying_party(j)
        start_at_rp(page, j, rp, prompt="login")
        sign_in_with_password(page, who.user_id, who.password)
        pictures_on(page)
        received = service.wait(1, timeout=15)
        assert received, "nothing was pushed"
        payload = received[0].json()
        assert set(payload) == {"challenge_id", "context"}
        assert payload["context"]["client_name"] == "Test RP"

        # the service worker shows it (delivered as the push service would)
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": j.base,
                "registrationId": registration,
                "data": received[0].plaintext.decode(),
            },
        )
        shown = phone.evaluate(
            """async () => {
                 const registration = await navigator.serviceWorker.ready;
                 for (let i = 0; i < 300; i++) {  // up to 15 s: a loaded machine is slow
                   const found = await registration.getNotifications({ tag: "signin" });
                   if (found.length) return found.map((n) => ({ body: n.body, data: n.data }));
                   await new Promise((r) => setTimeout(r, 50));
                 }
                 return [];
               }"""
        )
        assert shown, "no notification was shown"
        assert shown[0]["data"]["cid"] == payload["challenge_id"]
        assert "Test RP" in shown[0]["body"]

        # "not me": the phone is suspended and the computer's sign-in refused
        expect(phone.locator("#request")).to_be_visible()
        phone.get_by_role("button", name="ไม่ใช่ฉัน").click()
        expect(phone.locator("#problem")).to_contain_text("ระงับการส่งคำขอ")
        expect(page.locator("p.error")).to_be_visible()
        device = j.world.context.push.devices.active_for(who.user_id)
        assert device is not None
        assert device.status == "suspended"


def test_an_expired_web_phone_renews_from_the_sign_in_and_approves(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    """Manual chapter 6 with the web app: the lifecycle clock moved past the two years, the
    sign-in waits for the renewal (and says where to tap), then goes on to the pictures."""
    movable = {"movable_clock": True}
    with journey(backend, tmp_path, chromium, development=movable, **LOCALHOST) as j:
        who = imported_user(j, assignment_order_on_file=True)
        page = desktop(j)
        phone, _authenticator = activate_web_phone(j, page, who)
        rp = relying_party(j)
        device = j.world.context.push.devices.active_for(who.user_id)
        assert device is not None
        j.services.clock.set_to(device.not_after + timedelta(days=1))

        request = start_at_rp(page, j, rp, prompt="login")
        sign_in_with_password(page, who.user_id, who.password)
        heading(page, "ใบรับรอง Soft Token ของท่านหมดอายุแล้ว")
        expect(page.get_by_text("แล้วแตะ ต่ออายุ Soft Token")).to_be_visible()
        phone.reload()
        expect(phone.locator("#problem")).to_contain_text("ใบรับรองหมดอายุ")  # its long-poll says so
        phone.get_by_role("button", name="ต่ออายุ Soft Token").click()
        expect(phone.locator("#status")).to_contain_text("ต่ออายุแล้ว ใช้ได้ถึง")
        tap(phone, pictures_on(page))  # the page went on by itself to the pictures
        phone.get_by_role("button", name="อนุมัติ", exact=True).click()
        signed_in_with_push(j, page, request, who.user_id)
        renewed = j.world.context.push.devices.active_for(who.user_id)
        assert renewed is not None
        assert renewed.not_after - j.services.clock.now() > timedelta(days=700)
