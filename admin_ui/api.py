"""The back office's only way to the data: idp's admin REST API, with the officer's token.

Errors come back as exceptions that the pages know how to show: a field error in Thai and
English, a missing thing, a refused role, or the need to sign in (again, with push)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error_description") or f"HTTP {status}")
        self.status = status
        self.error = str(body.get("error") or "error")
        self.th = str(body.get("error_description_th") or body.get("error_description") or "")
        self.en = str(body.get("error_description") or "")
        self.field = body.get("field")
        self.rows: list[dict[str, Any]] = list(body.get("errors") or [])


class SignInNeeded(ApiError):
    """No token, or one that has expired: sign in again."""


class StepUpNeeded(ApiError):
    """RFC 9470: a change needs a push sign-in no older than max_age seconds."""

    def __init__(self, status: int, body: dict[str, Any], max_age: int) -> None:
        super().__init__(status, body)
        self.max_age = max_age


def _max_age(challenge: str) -> int:
    for part in challenge.replace(",", " ").split():
        if part.startswith("max_age="):
            value = part.partition("=")[2].strip('"')
            if value.isdigit():
                return int(value)
    return 0


@dataclass(frozen=True)
class Origin:
    """The officer's browser, so that the IdP's audit log names it and not us."""

    ip: str | None
    user_agent: str | None


class AdminApi:
    def __init__(self, base_url: str, http: httpx.AsyncClient, local: ASGIApp | None) -> None:
        """`local`: the IdP's ASGI app when the back office runs inside it. Each call then
        carries the officer's address as the ASGI client (nothing outside the process can
        forge it); across the network it goes as X-Forwarded-For, which the IdP believes
        only from its trusted proxies."""
        self.base = base_url
        self.http = http
        self.local = local

    async def call(
        self,
        token: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        origin: Origin | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if origin and origin.user_agent:
            headers["User-Agent"] = origin.user_agent
        if origin and origin.ip and self.local is None:
            headers["X-Forwarded-For"] = origin.ip
        request = self.http.build_request(
            method,
            self.base + path,
            params={k: v for k, v in (params or {}).items() if v},
            json=json,
            content=content,
            headers=headers,
        )
        if self.local is not None and origin and origin.ip:
            transport = httpx.ASGITransport(app=self.local, client=(origin.ip, 0))
            async with httpx.AsyncClient(transport=transport, timeout=self.http.timeout) as own:
                response = await own.send(request)
        else:
            response = await self.http.send(request)
        if response.status_code < 400:
            return response
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code == 401:
            challenge = response.headers.get("www-authenticate", "")
            if "insufficient_user_authentication" in challenge:
                raise StepUpNeeded(401, body, _max_age(challenge))
            raise SignInNeeded(401, body)
        raise ApiError(response.status_code, body)

    async def get(self, token: str, path: str, origin: Origin | None = None, **params: str) -> Any:
        return (await self.call(token, "GET", path, params=params, origin=origin)).json()

    async def send(
        self, token: str, method: str, path: str, body: Any = None, origin: Origin | None = None
    ) -> Any:
        response = await self.call(
            token, method, path, json=body if body is not None else {}, origin=origin
        )
        return response.json() if response.content else None
