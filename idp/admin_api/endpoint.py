"""The admin API's handler wrapper: authorise, run, audit; bad input as a 400 with the field,
a missing thing as a 404, what the account's lifecycle does not allow in its state as a 409."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idp.admin_api.access import Officer, Refusal, authorise
from idp.core import Core, core_of
from idp.domain import audit
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.lifecycle import NotAllowed
from idp.domain.officers import RoleRefused

Handler = Callable[[Request, Core, Officer], Awaitable[Response]]
NO_STORE = {"Cache-Control": "no-store"}


def endpoint(
    resource: str, write: bool
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Authorise, run, audit; bad input becomes a 400 with the field and a bilingual text."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            c = core_of(request)
            try:
                officer = await run_in_threadpool(authorise, c, request, resource, write)
            except Refusal as refusal:
                return refusal.response
            try:
                response = await handler(request, c, officer)
                outcome = "success" if response.status_code < 400 else "failure"
            except UserFacingError as problem:
                response = _problem(problem)
                outcome = "failure"
            await run_in_threadpool(_audit, c, officer, request, outcome)
            return response

        return run

    return wrap


def _problem(problem: UserFacingError) -> JSONResponse:
    body: dict[str, Any] = {
        "error": "invalid_request",
        "error_description": problem.message.en,
        "error_description_th": problem.message.th,
        "field": problem.field,
    }
    status = 400
    if isinstance(problem, NotFound):
        body["error"], status = "not_found", 404
    elif isinstance(problem, NotAllowed):  # the lifecycle refuses in the account's state
        body["error"], body["state"], status = "not_allowed", problem.state.value, 409
    elif isinstance(problem, RoleRefused):  # the back office would lose its officers
        body["error"], status = "not_allowed", 409
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _audit(c: Core, officer: Officer, request: Request, outcome: str) -> None:
    with c.services.db.session() as session:
        audit.record(
            session,
            "admin_api." + request.method.lower(),
            actor=officer.user_id,
            subject=request.url.path[:100],
            outcome=outcome,
            origin=officer.origin,
        )


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is an empty object."""
    body = await request.body()
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise UserFacingError(Message("the body must be a JSON object"), "body")
    if (field := _control_characters(data, "body")) is not None:
        raise UserFacingError(CONTROL_CHARACTERS, field)
    return data


CONTROL_CHARACTERS = Message("control characters other than TAB, LF and CR are not allowed")
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # the forms' rule


def _control_characters(value: Any, field: str) -> str | None:
    """The first field (a top-level name) whose text holds a control character, keys included:
    PostgreSQL refuses a NUL, and none belongs in a record."""
    if isinstance(value, str):
        return field if FORBIDDEN.search(value) else None
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = [(k, v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(None, v) for v in value]
    for key, item in items:
        name = key if field == "body" and isinstance(key, str) else field
        if (key is not None and FORBIDDEN.search(key)) or _control_characters(item, name):
            return name
    return None


def json_response(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=NO_STORE)
