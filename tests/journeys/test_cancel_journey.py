"""Manual chapter 5 as one user's life: an active user, signed in at a relying party that takes
back-channel logouts, cancels Soft Token on the account page with a reason. The email goes to
the address verified at registration (not the record's), the relying party is told by a logout
token and its tokens stop working. The user registers again, activates a new phone, and signs
in with it; the old phone's approval is refused."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import Browser, expect

from push_auth.authenticator.client import Authenticator
from push_auth.authenticator.state import AuthenticatorError
from push_auth.errors import PushError
from tests.backends import Backend
from tests.journeys.steps import (
    PIN,
    Journey,
    activate_phone,
    approve_on_phone,
    become_active,
    desktop,
    heading,
    imported_user,
    journey,
    mails,
    no_mail,
    register,
    relying_party,
    sign_in_at_rp,
    sign_in_with_password,
    signed_in_with_push,
    start_at_rp,
)
from tests.push_support import shown_pictures

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def _logout_token(j: Journey) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while not j.rp_site.logout_tokens and time.monotonic() < deadline:
        time.sleep(0.05)
    assert j.rp_site.logout_tokens, "the relying party was not told"
    keys = KeySet.import_key_set(httpx.get(j.base + "/jwks").json())
    token = jwt.decode(j.rp_site.logout_tokens[-1], keys)
    assert token.header["typ"] == "logout+jwt"
    return dict(token.claims)


def _old_phone_is_refused(old: Authenticator, new: Authenticator, shown: list[int]) -> None:
    """The old phone taps the right pictures: refused, whether it asks for the request or
    answers the new phone's request by its id."""
    with pytest.raises((PushError, AuthenticatorError)):
        old.approve(PIN, shown)
    pending = new.pending(wait=5)
    assert pending is not None
    state = old.home.load()
    path = f"/challenges/{pending['cid']}"
    forged = old._signed(
        old.home.unlock(state, PIN),
        state.device_id,
        state.api,
        "POST",
        path,
        cid=pending["cid"],
        action="approve",
        pictures=shown,
        amr=["pin"],
    )
    with pytest.raises(PushError):
        old._post(state.api, path, forged)


def test_cancel_then_register_again_with_a_new_phone(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium) as j:
        who = imported_user(j, assignment_order_on_file=True)
        record_email = f"{who.user_id.lower()}@example.go.th"
        assert record_email != who.email
        old_phone = become_active(j, desktop(j), who, "old-phone")
        rp = relying_party(
            j, name="ระบบเบิกจ่าย", backchannel_logout_uri=j.rp_base + "/backchannel-logout"
        )
        page = desktop(j)
        tokens = sign_in_at_rp(j, page, rp, who, old_phone)

        page.goto(j.base + "/account")
        heading(page, "บัญชีของฉัน")
        expect(page.locator("dl.review").nth(1)).to_contain_text("ใช้งานได้")
        page.select_option("#reason", label="เปลี่ยนโทรศัพท์มือถือเครื่องใหม่")
        page.get_by_label("ข้าพเจ้าเข้าใจว่าต้องลงทะเบียน Soft Token ใหม่จึงจะใช้งานได้").check()
        page.get_by_role("button", name="ยกเลิก Soft Token").click()
        heading(page, "ยกเลิก Soft Token เรียบร้อยแล้ว")
        expect(page.get_by_text("ระบบได้ออกจากระบบทุกที่และส่งอีเมลแจ้งแล้ว")).to_be_visible()

        claims = _logout_token(j)
        assert claims["sub"] == who.user_id
        assert claims["aud"] == rp.client_id
        assert claims["sid"] == tokens.claims["sid"]
        assert LOGOUT_EVENT in claims["events"]  # type: ignore[operator]
        refreshed = httpx.post(
            j.base + "/token",
            auth=rp.basic,
            data={"grant_type": "refresh_token", "refresh_token": tokens.raw["refresh_token"]},
        )
        assert refreshed.json().get("error") == "invalid_grant"
        cancelled = mails(j, who.email, "ยกเลิก Soft Token แล้ว")[-1]
        assert "เหตุผล: เปลี่ยนโทรศัพท์มือถือเครื่องใหม่" in cancelled
        no_mail(j, record_email)

        page.get_by_role("link", name="ลงทะเบียน Soft Token").click()
        sign_in_with_password(page, who.user_id, who.password)  # the same password still works
        register(page, j, who, upload=False, approved_at_once=True)
        page.locator("a[href='/activate']").click()
        new_phone = activate_phone(page, j, "new-phone")

        page = desktop(j)
        request = start_at_rp(page, j, rp)
        sign_in_with_password(page, who.user_id, who.password)
        heading(page, "อนุมัติบนโทรศัพท์มือถือ")
        _old_phone_is_refused(old_phone, new_phone, shown_pictures(page.content()))
        approve_on_phone(page, new_phone)
        signed_in_with_push(j, page, request, who.user_id)
