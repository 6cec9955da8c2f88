"""The back office's session: an AES-GCM encrypted, HttpOnly cookie, so that any process of
the deployment can read it and the browser can read none of it (the access token is inside)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "softtoken_admin"
MAX_COOKIE = 4000  # browsers keep at most 4096 bytes per cookie, name and attributes included


def decode_key(encoded: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (ValueError, binascii.Error) as exc:
        raise ValueError("admin_ui session_key is not base64url") from exc
    if len(key) != 32:
        raise ValueError("admin_ui session_key must be 32 bytes")
    return key


class CookieSessions:
    def __init__(self, key: bytes, lifetime_seconds: int, path: str, secure: bool) -> None:
        self._aead = AESGCM(key)
        self._lifetime = lifetime_seconds
        self._path = path
        self._secure = secure

    def read(self, request: Request) -> dict[str, Any]:
        """The session, or an empty one when the cookie is missing, altered or expired."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return {}
        try:
            blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            data = json.loads(self._aead.decrypt(blob[:12], blob[12:], COOKIE.encode()))
        except (ValueError, InvalidTag, binascii.Error):
            return {}
        if not isinstance(data, dict) or data.get("_exp", 0) < time.time():
            return {}
        return data

    def write(self, response: Response, data: dict[str, Any]) -> None:
        data.setdefault("_exp", int(time.time()) + self._lifetime)
        nonce = os.urandom(12)
        plain = json.dumps(data, separators=(",", ":")).encode()
        blob = nonce + self._aead.encrypt(nonce, plain, COOKIE.encode())
        if len(blob) * 4 // 3 > MAX_COOKIE:
            raise ValueError("the session is too large for a cookie")
        response.set_cookie(
            COOKIE,
            base64.urlsafe_b64encode(blob).rstrip(b"=").decode(),
            max_age=max(1, int(data["_exp"] - time.time())),
            path=self._path,
            secure=self._secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=self._path, secure=self._secure, httponly=True)
