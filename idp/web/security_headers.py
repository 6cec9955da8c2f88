"""Security headers on every response (pure ASGI middleware); a header that the response
sets itself (a download's sandbox CSP) is left as it is."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE = [
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
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.headers = [*BASE, HSTS] if https else BASE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                html = any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                if html and not any(k == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                own = {k.lower() for k, _ in headers}  # a response's own stricter policy stays
                message["headers"] = headers + [h for h in self.headers if h[0] not in own]
            await send(message)

        await self.app(scope, receive, send_with_headers)
