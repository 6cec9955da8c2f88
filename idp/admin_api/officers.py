"""Officers (admin): everyone with a back-office role, and a role granted (`PUT`) or revoked
(`DELETE`); nobody removes their own role, and the last admin keeps theirs (409)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api import cursors
from idp.admin_api.access import Officer
from idp.admin_api.endpoint import endpoint, json_object, json_response
from idp.core import Core
from idp.domain.back_office.officers import Officers


@endpoint("officers", write=False)
async def search(request: Request, c: Core, officer: Officer) -> Response:
    return await cursors.listed(request, Officers(c.services.db).search)


@endpoint("officers", write=True)
async def set_role(request: Request, c: Core, officer: Officer) -> Response:
    """`{"role"}`: officer, admin or auditor."""
    role = str((await json_object(request)).get("role", ""))
    changed = await run_in_threadpool(
        Officers(c.services.db).change_role,
        request.path_params["user_id"],
        role,
        request.method == "PUT",
        officer.user_id,
        officer.origin,
    )
    return json_response(changed)
