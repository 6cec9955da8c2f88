"""Users' Soft Token devices (officer, admin): the open "not me" alerts, lifting a suspension
after calling the user, and revoking a device (every session ended, relying parties told)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import Officer
from idp.admin_api.endpoint import endpoint, json_object, json_response
from idp.admin_api.push_devices import PushAuthDevices
from idp.core import Core
from idp.domain.back_office.devices import Devices
from idp.domain.errors import Message, UserFacingError

NOTE_NEEDED = Message("a note of what the call with the user established is required")
REASON_NEEDED = Message("a reason is required")


def devices_of(c: Core) -> Devices:
    return Devices(c.services.db, c.services.lifecycle, PushAuthDevices(c.push))


@endpoint("users", write=False)
async def alerts(request: Request, c: Core, officer: Officer) -> Response:
    """Users whose device is suspended because they answered "not me", newest first; each
    stays open until an officer lifts the suspension or revokes the device."""
    return json_response({"items": await run_in_threadpool(devices_of(c).alerts)})


@endpoint("users", write=True)
async def lift_suspension(request: Request, c: Core, officer: Officer) -> Response:
    """`{"note"}`: what the call with the user established; pushes reach the phone again.
    409 when the device is not suspended."""
    note = str((await json_object(request)).get("note") or "").strip()
    if not note:
        raise UserFacingError(NOTE_NEEDED, "note")
    lifted = await run_in_threadpool(
        devices_of(c).lift_suspension, request.path_params["user_id"], note, officer.user_id
    )
    return json_response(lifted)


@endpoint("users", write=True)
async def revoke(request: Request, c: Core, officer: Officer) -> Response:
    """`{"reason"}`, required and audited: the certificate revoked at once, every session
    ended, relying parties told; the user registers again."""
    user_id = request.path_params["user_id"]
    reason = str((await json_object(request)).get("reason") or "").strip()
    if not reason:
        raise UserFacingError(REASON_NEEDED, "reason")
    revoked = await run_in_threadpool(devices_of(c).revoke, user_id, reason, officer.user_id)
    await c.back_channel.sign_out_everywhere(user_id, "device_revoked", officer.origin)
    return json_response(revoked)
