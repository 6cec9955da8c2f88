"""The national ID check digit (weights 13..2, (11 - sum mod 11) mod 10)."""

from __future__ import annotations

from idp.domain import national_id


def test_worked_example_from_the_research_notes() -> None:
    assert national_id.problem("3-1006-00445-63-5") is None
    assert national_id.check_digit("310060044563") == 5


def test_wrong_check_digit_is_refused() -> None:
    assert national_id.problem("3100600445634") is national_id.BAD_CHECKSUM


def test_wrong_length_or_letters_are_refused() -> None:
    for value in ("310060044563", "31006004456355", "31006004456A5", ""):
        assert national_id.problem(value) is national_id.BAD_FORMAT


def test_every_check_digit_value_round_trips() -> None:
    for prefix in ("110170020345", "123456789012", "500000000000", "987654321098"):
        assert national_id.problem(national_id.with_check_digit(prefix)) is None


def test_display_format() -> None:
    assert national_id.display("3100600445635") == "3-1006-00445-63-5"
