"""Manual chapters 2 and 3 as one user's life: an officer-imported user signs in for the first
time at a relying party, must change the password, signs in again, is led to register Soft
Token (five steps: national ID + PDPA consent + the assignment order, proofing on the phone,
email code, confirmation, approval), activates the phone, and signs in with password and the
pictures tapped on the phone; the relying party exchanges the code.

Variants: approved at once (assignment order on file, names matching), and rejected by an
officer with a reason, then registered again from step 1."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from idp.domain.acr import ACR_PUSH
from tests.backends import Backend
from tests.journeys.steps import (
    Citizen,
    Journey,
    RpRequest,
    activate_phone,
    approve_on_phone,
    change_password,
    desktop,
    heading,
    imported_user,
    journey,
    mails,
    new_password,
    officer_approves,
    officer_rejects,
    refused_sign_in,
    register,
    relying_party,
    sign_in_at_rp,
    sign_in_with_password,
    signed_in_with_push,
    start_at_rp,
    step_is,
)

APPROVED = "registration approved"
REJECTED = "registration rejected"


def _first_sign_in(j: Journey, page: Page, who: Citizen) -> tuple[RpRequest, Citizen]:
    """Chapter 3: the first sign-in with the initial password, the forced change, the sign-in
    again; this application needs Soft Token, which the user has not: on to registering."""
    rp = relying_party(j, name="ระบบบริหารงบประมาณ", min_acr=ACR_PUSH)
    request = start_at_rp(page, j, rp)
    sign_in_with_password(page, who.user_id, who.password)
    chosen = new_password()
    change_password(page, who.password, chosen)
    sign_in_with_password(page, who.user_id, who.password)  # the old one no longer works
    refused_sign_in(page)
    sign_in_with_password(page, who.user_id, chosen)
    heading(page, "ระบบนี้ต้องใช้ Soft Token")
    expect(page.get_by_text("กรุณาลงทะเบียน Soft Token ก่อนเข้าใช้งานระบบนี้")).to_be_visible()
    page.get_by_role("link", name="ลงทะเบียน Soft Token").click()
    return request, who.with_password(chosen)


def _activate_and_continue(j: Journey, page: Page, request: RpRequest, who: Citizen) -> None:
    """Step 5, then "Continue" back to the relying party's request: only the push is asked."""
    step_is(page, 4, "รออนุมัติลงทะเบียน", "เสร็จแล้ว")
    step_is(page, 5, "ลงทะเบียน Soft Token")
    page.locator("a[href='/activate']").click()
    phone = activate_phone(page, j, "phone")
    page.get_by_role("link", name="ดำเนินการต่อ").click()
    approve_on_phone(page, phone)
    signed_in_with_push(j, page, request, who.user_id)
    # another day, a new browser: password and pictures, straight back to the relying party
    sign_in_at_rp(j, desktop(j), request.rp, who, phone)


def test_imported_user_registers_is_approved_by_an_officer_and_signs_in(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium) as j:
        who = imported_user(j, must_change_password=True)
        page = desktop(j)
        request, who = _first_sign_in(j, page, who)
        register(page, j, who, upload=True, approved_at_once=False)
        officer_approves(j, who.user_id)
        approval = mails(j, who.email, APPROVED)[-1]
        assert f"การลงทะเบียน Soft Token ของท่าน (รหัสผู้ใช้ {who.user_id}) ได้รับการอนุมัติแล้ว" in approval
        page.reload()
        _activate_and_continue(j, page, request, who)


def test_assignment_order_on_file_and_matching_names_are_approved_at_once(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    with journey(backend, tmp_path, chromium) as j:
        who = imported_user(j, must_change_password=True, assignment_order_on_file=True)
        page = desktop(j)
        request, who = _first_sign_in(j, page, who)
        register(page, j, who, upload=False, approved_at_once=True)
        assert mails(j, who.email, APPROVED)
        _activate_and_continue(j, page, request, who)


def test_rejected_with_a_reason_then_registered_again_from_step_1(
    backend: Backend, tmp_path: Path, chromium: Browser
) -> None:
    reason = "หนังสือมอบหมายไม่มีลายมือชื่อผู้มีอำนาจ"
    with journey(backend, tmp_path, chromium) as j:
        who = imported_user(j, must_change_password=True)
        page = desktop(j)
        request, who = _first_sign_in(j, page, who)
        register(page, j, who, upload=True, approved_at_once=False)
        officer_rejects(j, who.user_id, reason)
        assert reason in mails(j, who.email, REJECTED)[-1]
        page.reload()  # a new attempt, from step 1, with the reason shown
        expect(page.locator(".warning")).to_have_text("การลงทะเบียนครั้งก่อนไม่ได้รับการอนุมัติ: " + reason)
        register(page, j, who, upload=True, approved_at_once=False)
        officer_approves(j, who.user_id)
        assert mails(j, who.email, APPROVED)
        page.reload()
        _activate_and_continue(j, page, request, who)
