"""Security headers for every response; a header that the response sets itself (a download's
sandbox CSP) is left as it is."""

from __future__ import annotations

Header = tuple[bytes, bytes]

BASE: list[Header] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self' http: https:; base-uri 'none'; "
        b"object-src 'none'",
    ),
]
HSTS: Header = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NO_STORE: Header = (b"cache-control", b"no-store")


def policy(https: bool) -> list[Header]:
    """The headers every response gets: HSTS only when the site is served over https."""
    return [*BASE, HSTS] if https else list(BASE)


def secured(headers: list[Header], policy: list[Header]) -> list[Header]:
    """The response's headers plus the policy's, and no-store on HTML that sets no caching."""
    own: set[bytes] = set()
    html = False
    for name, value in headers:
        name = name.lower()
        own.add(name)
        if name == b"content-type" and value.startswith(b"text/html"):
            html = True
    added = [header for header in policy if header[0] not in own]
    if html and b"cache-control" not in own:
        added.append(NO_STORE)
    return headers + added
