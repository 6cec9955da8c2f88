"""Users: the officer-provisioned records, their CSV import and look-ups."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import audit
from idp.domain.errors import Message
from idp.domain.lifecycle import Account
from idp.domain.passwords import hash_password
from idp.domain.validation import (
    BAD_FINGERPRINT,
    BAD_MOBILE,
    BAD_UNIT_CODE,
    BAD_USER_ID,
    FINGERPRINT,
    MOBILE,
    UNIT_CODE,
    USER_ID,
    check,
    email_problem,
    normalise_fingerprint,
)
from idp.storage.models import User

REQUIRED_COLUMNS = (
    "user_id",
    "name_th",
    "name_en",
    "email",
    "mobile",
    "unit_code",
    "unit_name",
    "division",
    "department",
    "ministry",
    "initial_password",
)
# A file may leave these out: no token-key users, no assignment orders on file.
OPTIONAL_COLUMNS = ("legacy_cert_fingerprint", "assignment_order_on_file")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
REQUIRED_TEXT = ("name_th", "name_en", "unit_name", "division", "department", "ministry")
LONGEST = {"name_th": 200, "name_en": 200} | dict.fromkeys(REQUIRED_TEXT[2:], 300)  # the columns
MIN_INITIAL_PASSWORD = 12
YES = ("yes", "true", "1", "ใช่")
NO = ("no", "false", "0", "ไม่", "")
BAD_YES_NO = Message(
    "must be yes or no (also true/false, 1/0, ใช่/ไม่), or empty for no",
)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: Message

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


@dataclass
class ImportResult:
    imported: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _row_errors(row: dict[str, str], line: int) -> list[RowError]:
    errors: list[RowError] = []

    def add(column: str, message: Message | None) -> None:
        if message:
            errors.append(RowError(line, column, message))

    add("user_id", check(USER_ID, row["user_id"], BAD_USER_ID))
    add("email", email_problem(row["email"]))
    add("mobile", check(MOBILE, row["mobile"], BAD_MOBILE))
    add("unit_code", check(UNIT_CODE, row["unit_code"], BAD_UNIT_CODE))
    for column in REQUIRED_TEXT:
        if not row[column]:
            add(column, Message("this field is required"))
        elif len(row[column]) > LONGEST[column]:
            add(
                column,
                Message("at most {count} characters", count=LONGEST[column]),
            )
    password, fingerprint = row["initial_password"], row["legacy_cert_fingerprint"]
    if bool(password) == bool(fingerprint):
        add(
            "initial_password",
            Message(
                "give either an initial password or a legacy token-key certificate fingerprint",
            ),
        )
    elif password and len(password) < MIN_INITIAL_PASSWORD:
        add(
            "initial_password",
            Message(
                "the initial password must be at least {MIN_INITIAL_PASSWORD} characters",
                MIN_INITIAL_PASSWORD=MIN_INITIAL_PASSWORD,
            ),
        )
    elif fingerprint:
        add("legacy_cert_fingerprint", check(FINGERPRINT, fingerprint, BAD_FINGERPRINT))
    if row["assignment_order_on_file"].lower() not in YES + NO:
        add("assignment_order_on_file", BAD_YES_NO)
    return errors


def parse_csv(text: str) -> tuple[list[dict[str, str]], list[RowError]]:
    """Read and check every row; return the clean rows and every error with its line number."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return [], [RowError(1, ", ".join(missing), Message("missing columns"))]
    rows: list[dict[str, str]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(reader, start=2):
        row = {c: (raw.get(c) or "").strip() for c in COLUMNS}  # an optional column: empty
        row["legacy_cert_fingerprint"] = normalise_fingerprint(row["legacy_cert_fingerprint"])
        row["email"] = row["email"].lower()
        problems = _row_errors(row, index)
        if row["user_id"] in seen:
            problems.append(
                RowError(
                    index,
                    "user_id",
                    Message("duplicate user ID (also on line {line})", line=seen[row["user_id"]]),
                )
            )
        seen.setdefault(row["user_id"], index)
        errors.extend(problems)
        rows.append({**row, "_line": str(index)})
    return rows, errors


def import_users(session: Session, text: str, actor: str) -> ImportResult:
    """All or nothing: either every row is imported, or none is and every error is reported."""
    rows, errors = parse_csv(text)
    ids = [r["user_id"] for r in rows]
    existing = set(session.scalars(select(User.user_id).where(User.user_id.in_(ids))))
    for row in rows:
        if row["user_id"] in existing:
            errors.append(
                RowError(
                    int(row["_line"]),
                    "user_id",
                    Message("a user with this ID already exists"),
                )
            )
    if errors:
        return ImportResult(errors=sorted(errors, key=lambda e: e.line))
    now = datetime.now(UTC)
    for row in rows:
        session.add(_user_from_row(row, now))
    session.flush()
    audit.record(session, "users.import", actor=actor, subject="users", count=len(rows))
    return ImportResult(imported=ids)


def _user_from_row(row: dict[str, str], now: datetime) -> User:
    password = row["initial_password"]
    return User(
        user_id=row["user_id"],
        name_th=row["name_th"],
        name_en=row["name_en"],
        email=row["email"],
        mobile=row["mobile"],
        unit_code=row["unit_code"],
        unit_name=row["unit_name"],
        division=row["division"],
        department=row["department"],
        ministry=row["ministry"],
        password_hash=hash_password(password) if password else None,
        legacy_cert_fingerprint=row["legacy_cert_fingerprint"] or None,
        # the importing officer's statement that the written order is on file
        assignment_order_on_file=row["assignment_order_on_file"].lower() in YES,
        must_change_password=bool(password),
        roles=[],
        created_at=now,
        updated_at=now,
    )


def public_record(user: User) -> dict[str, Any]:
    """The user as shown by `idp users show` (never the password hash)."""
    return {
        "user_id": user.user_id,
        "name_th": user.name_th,
        "name_en": user.name_en,
        "email": user.email,
        "mobile": user.mobile,
        "unit_code": user.unit_code,
        "unit_name": user.unit_name,
        "division": user.division,
        "department": user.department,
        "ministry": user.ministry,
        "roles": list(user.roles),
        "disabled": user.disabled,
        "must_change_password": user.must_change_password,
        "has_password": user.password_hash is not None,
        "legacy_cert_fingerprint": user.legacy_cert_fingerprint,
        "assignment_order_on_file": user.assignment_order_on_file,
    }


def lifecycle_record(account: Account) -> dict[str, Any]:
    """Where the account is in its lifecycle, what the user may do and what an officer may do
    now (as the admin API and the command line show it)."""
    return {
        "state": account.state.value,
        "abilities": sorted(a.value for a in account.abilities),
        "officer_actions": sorted(a.value for a in account.officer_actions),
    }
