"""Message kinds and their bilingual subjects; bodies are Jinja2 templates (text and HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"

SUBJECTS = {
    "email_otp": "รหัส OTP ยืนยันอีเมล / Your email verification code",
    "registration_approved": "อนุมัติการลงทะเบียน Soft Token / Soft Token registration approved",
    "reset_otp": "รหัส OTP ขอรหัสผ่านใหม่ / Your password reset code",
    "password_new": "รหัสผ่านใหม่ New GFMIS Thai / Your new password",
    "password_reset_notice": "แจ้งการตั้งรหัสผ่านใหม่ / Your password was reset",
    "soft_token_cancelled": "ยกเลิก Soft Token แล้ว / Soft Token cancelled",
    "renewal_reminder": "Soft Token ใกล้หมดอายุ / Your Soft Token certificate expires soon",
    "service_request_result": "ผลการดำเนินการคำร้อง Soft Token / Your Soft Token request",
    "email_change_link": "ยืนยันอีเมลใหม่ / Confirm your new email",
    "holder_initial_password": "รหัสผ่านเริ่มต้น New GFMIS Thai / Your initial password",
    "registration_rejected": "ไม่อนุมัติการลงทะเบียน Soft Token / Soft Token registration rejected",
    "passkey_changed": "พาสคีย์ของท่านเปลี่ยนแปลง / Your passkeys changed",
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class MessageRenderer:
    def __init__(self) -> None:
        self._text = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=False,  # noqa: S701 (plain text)
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        self._html = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(),
            undefined=StrictUndefined,
        )

    def render(self, kind: str, **values: Any) -> Rendered:
        subject = SUBJECTS[kind]
        return Rendered(
            subject=subject,
            text=self._text.get_template(f"{kind}.txt").render(**values),
            html=self._html.get_template(f"{kind}.html").render(subject=subject, **values),
        )
