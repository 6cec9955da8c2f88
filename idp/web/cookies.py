"""The one way this server sets a private cookie: HttpOnly, SameSite=Lax, Secure under https."""

from __future__ import annotations

from starlette.responses import Response


def host_cookie_name(name: str, secure: bool) -> str:
    """`__Host-` prefixed under https (bound to this host, path /, Secure)."""
    return f"__Host-{name}" if secure else name


def set_private_cookie(
    response: Response, name: str, value: str, secure: bool, max_age: int | None = None
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, secure=secure, samesite="lax", path="/"
    )
