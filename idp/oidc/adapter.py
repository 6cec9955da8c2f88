"""The thin binding between Starlette and Authlib: request in, response out."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl

import orjson
from authlib.oauth2.rfc6749 import OAuth2Payload, OAuth2Request
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import Response

from idp.domain.audit import Origin
from idp.domain.validation import bad_form

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FORM_FIELDS = 100
MAX_FORM_BYTES = 64 * 1024


class MultiPayload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in items:
            self._data.setdefault(key, value)
            self._datalist[key].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):  # type: ignore[misc]
    def __init__(
        self,
        method: str,
        uri: str,
        headers: Headers,
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
        origin: Origin,
    ) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args = dict(query)
        self._form = dict(form)
        self.params = query + form
        self.payload = MultiPayload(self.params)
        self.origin = origin

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


CONTROL_CHARACTERS = "the request contains control characters that are not allowed"


class BadRequestBody(Exception):
    """The body could not be read as a form."""


def origin_of(request: Request) -> Origin:
    return Origin(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


async def read_form(request: Request) -> list[tuple[str, str]]:
    """The fields of an application/x-www-form-urlencoded POST body (none for other methods).

    Parsed with the standard library from a body of at most MAX_FORM_BYTES: OAuth requests are
    small, and this is a third of the cost of the general multipart form parser."""
    if request.method != "POST":
        return []
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadRequestBody("the body must be application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadRequestBody("the body is too large")
    if bad_form(bytes(body)):
        raise BadRequestBody(CONTROL_CHARACTERS)
    try:
        return parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError) as exc:  # not UTF-8, or too many fields
        raise BadRequestBody("the body could not be parsed") from exc


def build_request(
    request: Request, issuer: str, form: list[tuple[str, str]], query: QueryParams | None = None
) -> StarletteOAuth2Request:
    """Authlib's request from Starlette's: read from the ASGI scope directly (building
    Starlette's URL object was a seventh of the token endpoint's time)."""
    if query is None:
        query_text = request.scope.get("query_string", b"").decode("latin-1")
        pairs = parse_qsl(query_text, keep_blank_values=True) if query_text else []
    else:
        query_text, pairs = str(query), list(query.multi_items())
    path = request.scope["path"]
    return StarletteOAuth2Request(
        method=request.method,
        uri=issuer + path + ("?" + query_text if query_text else ""),
        headers=request.headers,
        query=pairs,
        form=form,
        origin=origin_of(request),
    )


def to_response(status: int, body: Any, headers: list[tuple[str, str]] | None) -> Response:
    header_map = dict(headers or [])
    if isinstance(body, dict):
        header_map.setdefault("Content-Type", "application/json")
        header_map.update(NO_STORE)
        body = orjson.dumps(body)  # measured: +14 % on introspection over json.dumps
    return Response(body, status_code=status, headers=header_map)


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return to_response(status, {"error": error, "error_description": description}, None)
