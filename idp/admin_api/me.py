"""Who is calling (`GET /me`; auditor, officer, admin): the back office shows only what these
roles may use, and until when changes are allowed without signing in again."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import STEP_UP_SECONDS, Officer, strong_enough
from idp.admin_api.endpoint import endpoint, json_response
from idp.core import Core
from idp.domain.back_office.officers import Officers


@endpoint("me", write=False)
async def me(request: Request, c: Core, officer: Officer) -> Response:
    names = await run_in_threadpool(Officers(c.services.db).names, officer.user_id)
    return json_response(
        {
            "user_id": officer.user_id,
            **names,
            "roles": sorted(officer.roles),
            "acr": officer.acr,
            "auth_time": officer.auth_time,
            "changes_allowed_until": officer.auth_time + STEP_UP_SECONDS  # past, once expired
            if strong_enough(c, officer)
            else 0,
        }
    )
