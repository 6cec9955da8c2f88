"""The dashboard (auditor, officer, admin): pending registrations and service requests,
registrations and sign-ins per day for 30 days, certificates expiring within 30 days."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import Officer
from idp.admin_api.endpoint import endpoint, json_response
from idp.admin_api.push_devices import PushAuthDevices
from idp.core import Core
from idp.domain.back_office.dashboard import Dashboard


@endpoint("dashboard", write=False)
async def dashboard(request: Request, c: Core, officer: Officer) -> Response:
    numbers = Dashboard(c.services.db, PushAuthDevices(c.push)).numbers
    return json_response(await run_in_threadpool(numbers))
