"""The password rules."""

from __future__ import annotations

import pytest

from idp.domain import password_policy as policy

USER = "T05005000000201"
NAMES = ["นางสาวสมหญิง ใจดี", "Ms Somying Jaidee"]


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "ฟ้าใสไร้เมฆในเดือนธันวา",
        "x" * 11 + "yZ",
        "a" * 10 + "b1c2",
    ],
)
def test_good_passwords_pass(password: str) -> None:
    assert policy.problem(password, USER, NAMES) is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pass", policy.TOO_SHORT),
        ("x" * 1025, policy.TOO_LONG),
        ("qwerty123456", policy.COMMON),
        ("1qaz2wsx3edc", policy.COMMON),
        ("Password2569!", policy.COMMON),
        ("aaaaaaaaaaaaaaaa", policy.COMMON),
        ("softtoken12345", policy.COMMON),
        ("t05005000000201!", policy.PERSONAL),
        ("Somying-likes-tea", policy.PERSONAL),
        ("ใจดีมากมายหลายอย่าง", policy.PERSONAL),
    ],
)
def test_bad_passwords_say_why(password: str, message: object) -> None:
    assert policy.problem(password, USER, NAMES) is message


def test_at_least_64_characters_are_allowed() -> None:
    assert policy.problem("a long passphrase " * 4, USER, NAMES) is None
