"""User import from CSV: the manual's field rules, all-or-nothing, every bad row reported."""

from __future__ import annotations

from sqlalchemy import select

from idp.domain.users import COLUMNS, import_users
from idp.services import Services
from idp.storage.models import User
from tests.support import new_user_id

HEADER = ",".join(COLUMNS)


def _row(user_id: str, **changes: str) -> str:
    values = {
        "user_id": user_id,
        "name_th": "นายทดสอบ นำเข้า",
        "name_en": "Mr Test Import",
        "email": f"{user_id.lower()}@example.go.th",
        "mobile": "0812345678",
        "unit_code": "0500500000",
        "unit_name": "กองคลัง",
        "division": "กองคลัง",
        "department": "กรมบัญชีกลาง",
        "ministry": "กระทรวงการคลัง",
        "initial_password": "initial-password-1",
        "legacy_cert_fingerprint": "",
        "assignment_order_on_file": "",
    }
    values.update(changes)
    return ",".join(values[c] for c in COLUMNS)


def test_valid_file_imports_every_row(services: Services) -> None:
    ids = [new_user_id(), new_user_id()]
    fingerprint = "AB:" * 31 + "AB"
    text = "\n".join(
        [
            HEADER,
            _row(ids[0]),
            _row(ids[1], initial_password="", legacy_cert_fingerprint=fingerprint),
        ]
    )
    with services.db.session() as session:
        result = import_users(session, text, "test")
    assert result.errors == []
    assert result.imported == ids
    with services.db.session() as session:
        first, second = (session.get(User, i) for i in ids)
        assert first is not None
        assert first.must_change_password
        assert first.password_hash
        assert second is not None
        assert second.password_hash is None
        assert second.legacy_cert_fingerprint == "ab" * 32


def test_bad_rows_are_all_reported_and_nothing_is_imported(services: Services) -> None:
    good = new_user_id()
    text = "\n".join(
        [
            HEADER,
            _row(good),
            _row("T0500500000020"),  # 14 characters
            _row(new_user_id(), unit_code="12345", mobile="812345678", email="not-an-email"),
            _row(good),  # duplicate
            _row(new_user_id(), initial_password=""),
        ]
    )
    with services.db.session() as session:
        result = import_users(session, text, "test")
    problems = {(e.line, e.column) for e in result.errors}
    assert (3, "user_id") in problems
    assert {(4, "unit_code"), (4, "mobile"), (4, "email")} <= problems
    assert (5, "user_id") in problems
    assert (6, "initial_password") in problems
    assert "15" in str(next(e for e in result.errors if e.line == 3).message)
    with services.db.session() as session:
        assert session.scalar(select(User).where(User.user_id == good)) is None


def test_existing_user_is_refused(services: Services) -> None:
    user_id = new_user_id()
    with services.db.session() as session:
        import_users(session, "\n".join([HEADER, _row(user_id)]), "test")
    with services.db.session() as session:
        result = import_users(session, "\n".join([HEADER, _row(user_id)]), "test")
    assert [(e.line, e.column) for e in result.errors] == [(2, "user_id")]


def test_missing_columns_are_named(services: Services) -> None:
    with services.db.session() as session:
        result = import_users(session, "user_id,name_th\nT05005000000201,x\n", "test")
    assert "email" in result.errors[0].column
