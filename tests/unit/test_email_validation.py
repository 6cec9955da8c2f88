"""Email addresses: one plain address, normalised, or nothing (issue #11, item 8)."""

from __future__ import annotations

import pytest

from idp.domain.validation import email_problem, normalise_email


@pytest.mark.parametrize(
    "value",
    [
        "victim@mail.example.go.th,<attacker@evil.example.go.th>",
        "victim@mail.example.go.th, attacker@evil.example.go.th",
        "(x)shared@mail.example.go.th",
        "Somying <somying@mail.example.go.th>",
        '"quoted"@mail.example.go.th',
        "user@[127.0.0.1]",
        "a\x00@mail.example.go.th",
        "a b@mail.example.go.th",
        "no-at-sign",
        "x" * 250 + "@mail.example.go.th",
        "",
    ],
)
def test_anything_but_one_plain_address_is_refused(value: str) -> None:
    assert normalise_email(value) is None
    assert email_problem(value) is not None


def test_a_plain_address_is_normalised_to_lower_case() -> None:
    assert normalise_email("  S.Jaidee@Mail.Example.GO.TH ") == "s.jaidee@mail.example.go.th"
    assert email_problem("s.jaidee@mail.example.go.th") is None
