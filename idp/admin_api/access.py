"""Who may call the admin API: an access token of ours with the `admin` scope, a user with a
role, and — for anything that changes something — a push sign-in no older than 15 minutes
(otherwise RFC 9470 `insufficient_user_authentication`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from idp.core import Core
from idp.domain.audit import Origin
from idp.domain.back_office.officers import Officers
from idp.domain.errors import Message
from idp.login.assurance import Requirement
from idp.oidc.adapter import origin_of

STEP_UP_SECONDS = 900


def strong(c: Core) -> Requirement:
    """The level the back office requires (`admin_ui.required_acr`: push, or a passkey)."""
    return Requirement(minimum=c.services.settings.admin_ui.required_acr)


def changes(c: Core) -> Requirement:
    """Changing anything: that level within 15 minutes (idp.login.assurance judges it)."""
    return Requirement(minimum=strong(c).minimum, max_age=STEP_UP_SECONDS)


READ_ROLES = {
    "registrations": {"officer", "admin"},
    "users": {"officer", "admin"},
    "audit": {"auditor", "officer", "admin"},
    "dashboard": {"auditor", "officer", "admin"},
    "me": {"auditor", "officer", "admin"},
    "clients": {"admin"},
    "officers": {"admin"},
    "keys": {"admin"},
}
WRITE_ROLES = {
    "registrations": {"officer", "admin"},
    "users": {"officer", "admin"},
    "clients": {"admin"},
    "officers": {"admin"},
    "keys": {"admin"},
}


@dataclass(frozen=True)
class Officer:
    user_id: str
    roles: frozenset[str]
    acr: str
    auth_time: int
    origin: Origin


class Refusal(Exception):
    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def _error(status: int, error: str, message: Message, challenge: str | None = None) -> Refusal:
    headers = {"Cache-Control": "no-store"}
    if challenge:
        headers["WWW-Authenticate"] = challenge
    return Refusal(
        JSONResponse(
            {
                "error": error,
                "error_description": message.en,
                "error_description_th": message.th,
            },
            status_code=status,
            headers=headers,
        )
    )


def strong_enough(c: Core, officer: Officer) -> bool:
    """The officer signed in at the level changes need (however long ago)."""
    return c.assurance.fresh_enough(officer.acr, officer.auth_time, strong(c), officer.auth_time)


def may_change(c: Core, officer: Officer) -> bool:
    """The officer's sign-in is strong and recent enough to change anything."""
    return c.assurance.fresh_enough(officer.acr, officer.auth_time, changes(c), int(time.time()))


def authorise(c: Core, request: Request, resource: str, write: bool) -> Officer:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _error(
            401,
            "invalid_token",
            Message("a bearer access token is required"),
            'Bearer realm="admin"',
        )
    checked = c.server.tokens.check_access_token(token.strip())
    if checked is None or "admin" not in str(checked.claims.get("scope", "")).split():
        raise _error(
            401,
            "invalid_token",
            Message("the token is not valid for the admin API"),
            'Bearer realm="admin", error="invalid_token"',
        )
    claims = checked.claims
    roles = Officers(c.services.db).roles_of(str(claims.get("sub")))
    allowed = (WRITE_ROLES if write else READ_ROLES).get(resource, set())
    if not roles & allowed:
        raise _error(403, "forbidden", Message("your role does not allow this"))
    officer = Officer(
        str(claims["sub"]),
        roles,
        str(claims.get("acr", "")),
        int(claims.get("auth_time", 0)),
        origin_of(request),
    )
    if write and not may_change(c, officer):
        raise _error(
            401,
            "insufficient_user_authentication",
            Message(
                "approve on your phone again (push sign-in within 15 minutes) to change anything"
            ),
            f'Bearer error="insufficient_user_authentication", '
            f'error_description="A push sign-in within 15 minutes is required", '
            f'acr_values="{strong(c).minimum}", max_age={STEP_UP_SECONDS}',
        )
    return officer
