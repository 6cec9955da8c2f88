"""The audit log (auditor, officer, admin): `?user=&officer=&action=&outcome=&since=&until=`,
newest first, a page at a time or whole as `audit.csv`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api import cursors
from idp.admin_api.access import Officer
from idp.admin_api.endpoint import NO_STORE, endpoint
from idp.core import Core
from idp.domain.back_office.audit_log import AuditFilter, AuditLog
from idp.domain.errors import Message, UserFacingError

BAD_TIME = Message("since/until must be ISO 8601")


@endpoint("audit", write=False)
async def search(request: Request, c: Core, officer: Officer) -> Response:
    filters = _filters(request.query_params)
    return await cursors.listed(request, AuditLog(c.services.db).search, filters, key=int)


@endpoint("audit", write=False)
async def csv_file(request: Request, c: Core, officer: Officer) -> Response:
    text = await run_in_threadpool(AuditLog(c.services.db).csv, _filters(request.query_params))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"', **NO_STORE},
    )


def _filters(params: Mapping[str, str]) -> AuditFilter:
    return AuditFilter(
        user=params.get("user"),
        officer=params.get("officer"),
        action=params.get("action"),
        outcome=params.get("outcome"),
        since=_time(params.get("since")),
        until=_time(params.get("until")),
    )


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError as exc:
        raise UserFacingError(BAD_TIME, "since") from exc
