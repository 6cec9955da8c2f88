"""Rich Authorization Requests (RFC 9396): `authorization_details` checked against the types
the client is registered for, each object against its type's JSON Schema.

The schemas are configuration: `idp/oidc/authorization_details/<type>.schema.json` ships
`gfmis_payment` (a payment to approve: amount in THB, payee, masked account, purpose, document
number); `authorization_details.schema_dir` names a folder whose files replace them. A request
with an unknown type, a type the client may not use, or an object its schema refuses gets
`invalid_authorization_details` and changes nothing.

`canonical` is the byte string a device signs for a receipt and that anyone can recompute:
the details as JSON with sorted keys, no spaces, UTF-8 (RFC 8785's form for such values).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from authlib.oauth2 import OAuth2Error
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from idp.domain.client_protocol import AUTHORIZATION_DETAILS_TYPES, ProtocolOptions
from idp.domain.errors import Message
from push_auth.receipts import details_digest
from softtoken_i18n.formats import format_money

BUILT_IN = Path(__file__).resolve().parent / "authorization_details"
MAX_DETAILS = 10
MAX_BYTES = 8192


class InvalidAuthorizationDetails(OAuth2Error):  # type: ignore[misc]
    error = "invalid_authorization_details"


@cache
def _validator(schema_dir: str, kind: str) -> Draft202012Validator:
    folder = Path(schema_dir) if schema_dir else BUILT_IN
    path = folder / f"{kind}.schema.json"
    if not path.exists():
        path = BUILT_IN / f"{kind}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def parse(
    raw: str | None, protocol: Any, schema_dir: str = "", redirect_uri: str | None = None
) -> list[dict[str, Any]] | None:
    """The request's authorization details (None when it has none), or the RFC's error."""
    if raw is None or raw == "":
        return None
    allowed = ProtocolOptions.of(protocol).authorization_details_types

    def refuse(description: str) -> InvalidAuthorizationDetails:
        # RFC 6749 §5.2: error_description is printable ASCII without '"' and '\\'
        safe = "".join(c for c in description if " " <= c <= "~" and c not in '"\\')
        return InvalidAuthorizationDetails(description=safe, redirect_uri=redirect_uri)

    if len(raw.encode()) > MAX_BYTES:
        raise refuse("authorization_details is too large")
    try:
        details = json.loads(raw)
    except ValueError as exc:
        raise refuse("authorization_details must be a JSON array") from exc
    if not isinstance(details, list) or not 0 < len(details) <= MAX_DETAILS:
        raise refuse(f"authorization_details must be an array of 1-{MAX_DETAILS} objects")
    for detail in details:
        kind = detail.get("type") if isinstance(detail, dict) else None
        if kind not in AUTHORIZATION_DETAILS_TYPES or kind not in allowed:
            raise refuse(f"unknown or not allowed authorization_details type: {kind!r}")
        errors = sorted(_validator(schema_dir, kind).iter_errors(detail), key=str)
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or kind
            raise refuse(f"{where}: {errors[0].message}"[:200])
    return details


def digest(details: list[dict[str, Any]]) -> str:
    """SHA-256 of the canonical bytes, hex: what a receipt names (push_auth.receipts)."""
    return details_digest(details)


def summary(details: list[dict[str, Any]], locale: str) -> list[dict[str, str]]:
    """Label/value lines for people (the consent page, the phone), Thai or English."""
    lines: list[dict[str, str]] = []
    for detail in details:
        if detail.get("type") == "gfmis_payment":
            lines.extend(_payment(detail, locale))
    return lines


PAYMENT_LABELS = {
    "amount": Message("Amount"),
    "payee_name": Message("Payee"),
    "payee_account": Message("Payee account"),
    "payee_bank": Message("Bank"),
    "purpose": Message("Purpose"),
    "document_number": Message("Document number"),
}


def _payment(detail: dict[str, Any], locale: str) -> list[dict[str, str]]:
    lines = []
    for field, label in PAYMENT_LABELS.items():
        if field not in detail:
            continue
        value = str(detail[field])
        if field == "amount":  # 125,000.00 บาท / THB 125,000.00
            value = format_money(value, locale, str(detail.get("currency") or "THB"))
        lines.append({"label": label.text(locale), "value": value})
    return lines
