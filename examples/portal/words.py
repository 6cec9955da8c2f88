"""The demo portal's words in Thai and English: its own texts, what the IdP's `acr` and `amr`
mean for a person, and dates as a Thai reader writes them (Buddhist era, Bangkok time; the
IdP's formatter, as a payment's lines are the IdP's `rar.summary`).

The Soft Token certificate's end (the IdP's `softtoken_expires_at` claim) is shown as a day, with
a "renew soon" hint in the manual's renewal window (1–30 days left, chapter 6; the IdP warns
within `push.renewal_warning_days`, 30 by default).

The portal stands for another system: it keeps its own small table of texts rather than the
IdP's catalogs, and borrows only the IdP's formatters."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from idp.domain.acr import ACR_PASSWORD, ACR_PHISHING_RESISTANT, ACR_PUSH
from idp.domain.thai_dates import format_date, format_datetime

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("ระบบบริหารการเงินการคลังภาครัฐ (ตัวอย่าง)", "Government finance system (demo)"),
    "brand": ("GFMIS ตัวอย่าง", "GFMIS demo"),
    "demo_note": (
        "ระบบตัวอย่างที่เชื่อมต่อกับ Soft Token IdP ด้วย OpenID Connect",
        "A demo relying party connected to the Soft Token IdP with OpenID Connect",
    ),
    "welcome": ("ยินดีต้อนรับ", "Welcome"),
    "signed_out": ("ยังไม่ได้เข้าสู่ระบบ", "You are not signed in."),
    "sign_in": ("เข้าสู่ระบบด้วย Soft Token", "Sign in with Soft Token"),
    "sign_out": ("ออกจากระบบ", "Sign out"),
    "who": ("ผู้ใช้งาน", "Signed in as"),
    "user_id": ("รหัสผู้ใช้งาน", "User ID"),
    "email": ("อีเมล", "Email"),
    "unit": ("หน่วยเบิกจ่าย", "Disbursement unit"),
    "division": ("กอง / สำนัก", "Division"),
    "department": ("กรม", "Department"),
    "ministry": ("กระทรวง", "Ministry"),
    "level": ("ระดับการยืนยันตัวตน", "Sign-in level"),
    "methods": ("วิธีที่ใช้ยืนยันตัวตน", "Methods used"),
    "auth_time": ("ยืนยันตัวตนเมื่อ", "Signed in at"),
    "cert_expires": ("ใบรับรอง Soft Token หมดอายุ", "Soft Token certificate expires"),
    "renew_soon": (
        "ใบรับรอง Soft Token ของท่านจะหมดอายุในอีก {days} วัน: ต่ออายุ Soft Token (Renew) "
        "ในแอปบนโทรศัพท์ได้เลย ก่อนหมดอายุ",
        "Your Soft Token certificate expires in {days} days: renew Soft Token in the app on "
        "your phone before then.",
    ),
    "step_up": ("ยืนยันตัวตนอีกครั้งด้วยโทรศัพท์", "Confirm again with your phone"),
    "step_up_help": (
        "ก่อนทำรายการสำคัญ ระบบขอให้อนุมัติบนโทรศัพท์อีกครั้ง (ระดับ AAL2)",
        "Before an important task, approve once more on your phone (level AAL2).",
    ),
    "stepped_up": ("ยืนยันตัวตนอีกครั้งเรียบร้อยแล้ว", "You confirmed your sign-in again."),
    "not_stepped_up": (
        "ยังไม่ถึงระดับอนุมัติบนโทรศัพท์: ลงทะเบียน Soft Token ก่อน",
        "The phone approval level was not reached: activate Soft Token first.",
    ),
    "payment": ("อนุมัติการเบิกจ่าย", "Approve a payment"),
    "payment_help": (
        "ตัวอย่างรายการรออนุมัติ: ระบบส่งคำขอไปที่ Soft Token บนโทรศัพท์ของท่าน (CIBA)",
        "A payment waiting for approval: the request goes to Soft Token on your phone (CIBA).",
    ),
    "send_to_phone": ("ส่งคำขออนุมัติไปที่โทรศัพท์", "Send for approval to my phone"),
    "tap_these": (
        "เปิดแอป Soft Token แล้วแตะรูปภาพต่อไปนี้ตามลำดับ:",
        "Open the Soft Token app and tap these pictures in this order:",
    ),
    "waiting": (
        "กำลังรอการอนุมัติบนโทรศัพท์… หน้านี้ตรวจสอบผลเองทุก 5 วินาที",
        "Waiting for the approval on your phone… This page checks every 5 seconds.",
    ),
    "check": ("ตรวจสอบผล", "Check now"),
    "approved": ("อนุมัติรายการแล้ว", "Payment approved"),
    "approved_help": (
        "Soft Token บนโทรศัพท์ลงนามรายการนี้ ระบบเก็บใบรับรองการอนุมัติไว้เป็นหลักฐาน",
        "Soft Token on the phone signed this payment; the approval receipt is kept as proof.",
    ),
    "denied": ("ไม่ได้รับการอนุมัติ", "The payment was not approved"),
    "expired": ("คำขอหมดอายุแล้ว ส่งคำขอใหม่ได้", "The request expired; you can send it again."),
    "refused": ("IdP ไม่รับคำขอ", "The IdP refused the request"),
    "again": ("ทำรายการใหม่", "Start again"),
    "back": ("กลับหน้าหลัก", "Back to the start page"),
    "details": ("ข้อมูลทางเทคนิค (โทเคน)", "Technical details (tokens)"),
    "id_token": ("ID token (ตรวจลายเซ็นแล้ว)", "ID token (signature checked)"),
    "userinfo": ("UserInfo", "UserInfo"),
    "receipt": ("ใบรับรองการอนุมัติ (approval_receipt)", "Approval receipt"),
    "language": ("ภาษา", "Language"),
    "ended": ("เซสชันถูกปิดจาก IdP แล้ว", "Your session was ended at the IdP."),
}
ACR_WORDS: dict[str, tuple[str, str]] = {
    ACR_PASSWORD: ("รหัสผ่านอย่างเดียว (AAL1)", "Password only (AAL1)"),
    ACR_PUSH: (
        "รหัสผ่าน และอนุมัติด้วย Soft Token บนโทรศัพท์ (AAL2)",
        "Password and approval with Soft Token on the phone (AAL2)",
    ),
    ACR_PHISHING_RESISTANT: (
        "รหัสผ่าน และพาสคีย์ ที่กันเว็บปลอมได้ (AAL2)",
        "Password and a passkey that fake sites cannot use (AAL2)",
    ),
}
AMR_WORDS: dict[str, tuple[str, str]] = {  # RFC 8176, in the order a person reads them
    "pwd": ("รหัสผ่าน", "password"),
    "otp": ("รหัสผ่านใช้ครั้งเดียว", "a one-time code"),
    "swk": ("กุญแจในแอป Soft Token", "a key in the Soft Token app"),
    "hwk": ("กุญแจในอุปกรณ์ (พาสคีย์)", "a key in a device (passkey)"),
    "pin": ("PIN บนโทรศัพท์", "the phone's PIN"),
    "fpt": ("ลายนิ้วมือ", "fingerprint"),
    "face": ("ใบหน้า", "face"),
    "user": ("การยืนยันตัวตนบนอุปกรณ์", "verification on the device"),
    "mfa": ("รวมหลายปัจจัย", "more than one factor"),
}
ORDER = list(AMR_WORDS)


def translator(locale: str) -> Callable[[str], str]:
    index = 0 if locale == "th" else 1

    def t(key: str) -> str:
        pair = TEXTS.get(key)
        return pair[index] if pair else key

    return t


def acr_words(acr: str | None, locale: str) -> str:
    pair = ACR_WORDS.get(acr or "")
    return pair[0 if locale == "th" else 1] if pair else (acr or "–")


def amr_words(amr: list[str] | None, locale: str) -> list[str]:
    index = 0 if locale == "th" else 1
    known = sorted((m for m in amr or [] if m in AMR_WORDS), key=ORDER.index)
    return [AMR_WORDS[m][index] for m in known] + [m for m in amr or [] if m not in AMR_WORDS]


def when(epoch: int | None, locale: str) -> str:
    """`1 ธ.ค. 2569 14:05 น.` on a Thai page (the IdP's formatter), Gregorian on an English one."""
    return format_datetime(datetime.fromtimestamp(epoch, UTC), locale) if epoch else "–"


RENEWAL_WINDOW_DAYS = 30  # the manual's window; the IdP's push.renewal_warning_days default


def expiry_day(epoch: int, locale: str) -> str:
    """`1 ธ.ค. 2571` on a Thai page, `1 Dec 2028` on an English one (Bangkok's day)."""
    return format_date(datetime.fromtimestamp(epoch, UTC), locale)


def days_left(epoch: int, now: float | None = None) -> int:
    """Whole days until `epoch`, a part of a day counted as one (1 on the last day)."""
    return max(0, math.ceil((epoch - (time.time() if now is None else now)) / 86400))
