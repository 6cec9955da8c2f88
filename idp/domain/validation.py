"""Field rules from the manual: user ID, unit code, mobile number, email (one plain address,
checked by email-validator: a list, a display name or a comment never passes)."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from idp.domain.errors import Message

USER_ID = re.compile(r"^[A-Z][0-9]{14}$")
UNIT_CODE = re.compile(r"^[0-9]{10}$")
MOBILE = re.compile(r"^0[0-9]{9}$")
# Control characters: none below space (and no DEL) in a path or a query; a form may keep TAB,
# LF and CR (multi-line text). Checked on the raw, still percent-encoded bytes.
IN_PATH = re.compile(r"[\x00-\x1f\x7f]")
IN_URL = re.compile(rb"%(?:[01][0-9A-Fa-f]|7[Ff])|[\x00-\x1f\x7f]")
IN_FORM = re.compile(rb"%(?:0[0-8BbCcEeFf]|1[0-9A-Fa-f]|7[Ff])|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_EMAIL = 254
FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")

BAD_USER_ID = Message(
    "the user ID must be 15 characters: one capital letter and 14 digits (e.g. T05005000000201)",
)
BAD_UNIT_CODE = Message("the disbursement unit code must be 10 digits")
BAD_MOBILE = Message(
    "the mobile number must be 10 digits starting with 0",
)
BAD_EMAIL = Message("the email address is not valid")
BAD_FINGERPRINT = Message(
    "the certificate fingerprint must be a SHA-256 digest in 64 hex digits",
)


def normalise_fingerprint(value: str) -> str:
    return value.replace(":", "").strip().lower()


def check(pattern: re.Pattern[str], value: str, message: Message) -> Message | None:
    return None if pattern.fullmatch(value) else message


def normalise_email(value: str) -> str | None:
    """One plain address (no display name, list, comment, quoting, IP literal or control
    character; a domain that can receive mail), lower-cased; None when it is not one."""
    if len(value) > MAX_EMAIL:
        return None
    try:
        checked = validate_email(
            value.strip(),
            check_deliverability=False,  # no DNS look-up on a request
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
        )
    except EmailNotValidError:
        return None
    return str(checked.normalized).lower()


def email_problem(value: str) -> Message | None:
    return None if normalise_email(value) == value.strip().lower() else BAD_EMAIL


def bad_url(path: str, query: bytes) -> bool:
    """A control character in the decoded path or anywhere in the query string."""
    return IN_PATH.search(path) is not None or (bool(query) and IN_URL.search(query) is not None)


def bad_form(body: bytes) -> bool:
    """A control character other than TAB, LF and CR in a URL-encoded form body."""
    return IN_FORM.search(body) is not None
