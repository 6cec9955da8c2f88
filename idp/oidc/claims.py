"""Which claims a relying party receives: by scope, by the `claims` request parameter, and
only those the client is allowed.

A client is allowed the claims of the scopes it is registered for, narrowed by its
allowed-claims list when that names any. A claim asked through the `claims` parameter (OIDC
Core §5.5) is a request for that claim whether or not its scope was asked: the consent page
shows it (`beyond_scope`) and it is released within what the client is allowed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from idp.storage.models import Client, User

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "name#th", "name#en", "locale", "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "gfmis": (
        "gfmis_user_id",
        "disbursement_unit_code",
        "disbursement_unit_name",
        "division",
        "department",
        "ministry",
        "softtoken_expires_at",
    ),
}
CLAIMS_SUPPORTED = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    *(claim for claims in SCOPE_CLAIMS.values() for claim in claims),
)


def parse_claims_request(raw: str | None) -> dict[str, Any] | None:
    """The OIDC `claims` parameter (Core §5.5); raise ValueError when it is malformed."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError("the claims parameter is not JSON") from exc
    if not isinstance(value, dict) or not all(
        isinstance(value.get(part, {}), dict) for part in ("userinfo", "id_token")
    ):
        raise ValueError("the claims parameter must be an object of userinfo and id_token")
    return {part: value[part] for part in ("userinfo", "id_token") if part in value}


def all_claims(user: User, softtoken_expires_at: int | None = None) -> dict[str, Any]:
    """Every claim the user has; `softtoken_expires_at` (a NumericDate: when the current Soft
    Token device's certificate ends, as `lifecycle.certificate_expiry` reads it) only with one."""
    phone = "+66" + user.mobile[1:] if user.mobile.startswith("0") else user.mobile
    device = {} if softtoken_expires_at is None else {"softtoken_expires_at": softtoken_expires_at}
    return {
        **device,
        "name": user.name_th,
        "name#th": user.name_th,
        "name#en": user.name_en,
        "locale": user.locale or "th",
        "updated_at": int(user.updated_at.timestamp()),
        "email": user.email,
        "email_verified": False,
        "phone_number": phone,
        "phone_number_verified": False,
        "gfmis_user_id": user.user_id,
        "disbursement_unit_code": user.unit_code,
        "disbursement_unit_name": user.unit_name,
        "division": user.division,
        "department": user.department,
        "ministry": user.ministry,
    }


def requested_names(
    scope: str, claims_request: dict[str, Any] | None, part: str, by_scope: bool = True
) -> set[str]:
    names: set[str] = set()
    if by_scope:
        for item in scope.split():
            names.update(SCOPE_CLAIMS.get(item, ()))
    if claims_request:
        names.update((claims_request.get(part) or {}).keys())
    return names


VERIFIED = "verified_claims"
CARRIER = {claim: scope for scope, claims in SCOPE_CLAIMS.items() for claim in claims}


def permitted(client: Client) -> set[str]:
    """The standard claims this client may ever receive: those of its registered scopes,
    narrowed by its allowed-claims list when that names any (`verified_claims` aside)."""
    return _within(requested_names(client.scope, None, ""), client.allowed_claims)


def _within(names: set[str], allowed: list[str]) -> set[str]:
    narrowed = set(allowed) - {VERIFIED}
    return names & narrowed if narrowed else names


def asked_claims(claims_request: dict[str, Any] | None) -> set[str]:
    """Every claim the `claims` parameter names, in either member."""
    return requested_names("", claims_request, "userinfo") | requested_names(
        "", claims_request, "id_token"
    )


def beyond_scope(
    scope: str, claims_request: dict[str, Any] | None, client: Client
) -> dict[str, str]:
    """The claims a `claims` request adds to what the scopes carry, as far as the client may
    receive them: what consent must cover besides the scopes, each with its scope."""
    extra = (asked_claims(claims_request) & permitted(client)) - requested_names(scope, None, "")
    return {name: CARRIER[name] for name in sorted(extra)}


def release(
    user: User,
    scope: str,
    allowed: list[str],
    claims_request: dict[str, Any] | None,
    part: str,
    by_scope: bool = True,
    registered: str | None = None,
    softtoken_expires_at: int | None = None,
) -> dict[str, Any]:
    """The claims for one token or response: those the granted scopes carry (unless
    `by_scope` is False, as for the ID token) and those the `claims` parameter asks for in
    `part`; known, and allowed for the client: within its `registered` scopes (consent for
    what the claims parameter adds was asked at the authorization endpoint, `beyond_scope`),
    or within the granted scopes when those are not given, and within its `allowed` claims
    when that list names any. (`verified_claims` is added separately, by `verified_claims`.)"""
    available = all_claims(user, softtoken_expires_at)
    names = requested_names(scope, claims_request, part, by_scope) - {VERIFIED}
    bound = requested_names(registered if registered is not None else scope, None, part)
    released = _within(names & bound, allowed)
    return {name: available[name] for name in sorted(released) if name in available}


def wants_verified_claims(
    allowed: list[str], claims_request: dict[str, Any] | None, part: str
) -> bool:
    """Only clients allowed to, and only when they ask with the claims parameter."""
    asked = ((claims_request or {}).get(part) or {}).get(VERIFIED)
    return VERIFIED in allowed and isinstance(asked, dict)


def verified_claims(
    proofing: dict[str, Any] | None,
    claims_request: dict[str, Any] | None,
    part: str,
    trust_framework: str,
) -> dict[str, Any] | None:
    """OpenID Connect for Identity Assurance: the proofing result, as far as the client asked.
    The national ID leaves only this way, to clients allowed `verified_claims`."""
    if not proofing:
        return None
    asked = (((claims_request or {}).get(part) or {}).get(VERIFIED) or {}).get("claims") or {}
    mapped = proofing.get("claims") or {}
    available = {
        "national_id": mapped.get("national_id"),
        "name": mapped.get("name_th"),
        "name#en": mapped.get("name_en"),
        "birthdate": mapped.get("birthdate"),
        "address": mapped.get("address"),
    }
    claims = {k: v for k, v in available.items() if k in asked and v is not None}
    if not claims:
        return None
    verified_at = datetime.fromtimestamp(int(proofing.get("time", 0)), UTC)
    return {
        "verification": {
            "trust_framework": trust_framework,
            "assurance_level": proofing.get("assurance_level"),
            "time": verified_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "evidence": [
                {
                    "type": "electronic_record",
                    "record": {
                        "type": "upstream_identity_provider",
                        "source": {"name": proofing.get("issuer")},
                    },
                }
            ],
        },
        "claims": claims,
    }
