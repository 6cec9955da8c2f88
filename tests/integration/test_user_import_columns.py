"""User import: the optional columns. A file without `legacy_cert_fingerprint` or
`assignment_order_on_file` imports; `assignment_order_on_file` is the officer's statement that
the written assignment order is on file (yes/no/true/false/1/0/ใช่/ไม่, empty = no)."""

from __future__ import annotations

import pytest

from idp.domain.users import COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, import_users
from idp.services import Services
from idp.storage.models import User
from tests.support import new_user_id

VALUES = {
    "name_th": "นายทดสอบ นำเข้า",
    "name_en": "Mr Test Import",
    "mobile": "0812345678",
    "unit_code": "0500500000",
    "unit_name": "กองคลัง",
    "division": "กองคลัง",
    "department": "กรมบัญชีกลาง",
    "ministry": "กระทรวงการคลัง",
    "initial_password": "initial-password-1",
}


def _csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    lines = [",".join(columns)]
    for row in rows:
        values = {**VALUES, "email": f"{row['user_id'].lower()}@example.go.th", **row}
        lines.append(",".join(values.get(c, "") for c in columns))
    return "\n".join(lines)


def _imported(services: Services, text: str) -> list[str]:
    with services.db.session() as session:
        result = import_users(session, text, "test")
    assert result.errors == [], [str(e) for e in result.errors]
    return result.imported


def test_the_columns_are_the_required_then_the_optional() -> None:
    assert COLUMNS == REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    assert OPTIONAL_COLUMNS == ("legacy_cert_fingerprint", "assignment_order_on_file")


def test_a_file_without_the_optional_columns_imports(services: Services) -> None:
    user_id = new_user_id()
    assert _imported(services, _csv(list(REQUIRED_COLUMNS), [{"user_id": user_id}])) == [user_id]
    with services.db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert user.legacy_cert_fingerprint is None
        assert user.assignment_order_on_file is False
        assert user.must_change_password


def test_a_file_with_only_the_fingerprint_column_imports_token_key_users(
    services: Services,
) -> None:
    user_id = new_user_id()
    columns = [*REQUIRED_COLUMNS, "legacy_cert_fingerprint"]
    row = {"user_id": user_id, "initial_password": "", "legacy_cert_fingerprint": "CD" * 32}
    assert _imported(services, _csv(columns, [row])) == [user_id]
    with services.db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert user.password_hash is None
        assert user.legacy_cert_fingerprint == "cd" * 32


@pytest.mark.parametrize(
    ("written", "on_file"),
    [
        ("yes", True),
        ("YES", True),
        ("true", True),
        ("1", True),
        ("ใช่", True),
        ("no", False),
        ("False", False),
        ("0", False),
        ("ไม่", False),
        ("", False),
    ],
)
def test_assignment_order_on_file_is_read_as_yes_or_no(
    services: Services, written: str, on_file: bool
) -> None:
    user_id = new_user_id()
    columns = [*REQUIRED_COLUMNS, "assignment_order_on_file"]
    row = {"user_id": user_id, "assignment_order_on_file": f" {written} "}
    assert _imported(services, _csv(columns, [row])) == [user_id]
    with services.db.read() as session:
        user = session.get(User, user_id)
        assert user is not None
        assert user.assignment_order_on_file is on_file


def test_another_assignment_order_value_is_a_bilingual_error(services: Services) -> None:
    good, bad = new_user_id(), new_user_id()
    columns = list(COLUMNS)
    rows = [
        {"user_id": good, "assignment_order_on_file": "yes"},
        {"user_id": bad, "assignment_order_on_file": "maybe"},
    ]
    with services.db.session() as session:
        result = import_users(session, _csv(columns, rows), "test")
    assert [(e.line, e.column) for e in result.errors] == [(3, "assignment_order_on_file")]
    message = result.errors[0].message
    assert "ใช่" in message.th
    assert "yes" in message.en
    with services.db.read() as session:
        assert session.get(User, good) is None  # all or nothing


def test_a_missing_required_column_is_still_named(services: Services) -> None:
    columns = [c for c in REQUIRED_COLUMNS if c != "initial_password"]
    with services.db.session() as session:
        result = import_users(session, _csv(columns, [{"user_id": new_user_id()}]), "test")
    assert result.errors[0].column == "initial_password"
