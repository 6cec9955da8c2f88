"""The admin API's operator calls: the token signing keys (admin), and ending a user's
sessions or revoking their Soft Token device (officer) outside a service request."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import Officer
from idp.admin_api.endpoint import NO_USER, endpoint, json_object, json_response
from idp.domain import keys
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.lifecycle import OfficerAction
from idp.storage.models import User
from idp.web.context import WebContext
from idp.web.logout import sign_out_and_notify
from push_auth.models import Device


@endpoint("keys", write=False)
async def list_keys(request: Request, c: WebContext, officer: Officer) -> Response:
    with c.services.db.read() as session:
        return json_response({"items": keys.describe_all(session)})


@endpoint("keys", write=True)
async def rotate_keys(request: Request, c: WebContext, officer: Officer) -> Response:
    """Next keys become active, active ones retire (published until their last token expires);
    other processes pick the change up within tokens.key_refresh_seconds."""

    def rotate() -> list[str]:
        tokens = c.services.settings.tokens
        longest = max(tokens.access_token_ttl, tokens.id_token_ttl)
        with c.services.db.session() as session:
            return keys.rotate(session, c.services.master, longest, officer.user_id)

    activated = await run_in_threadpool(rotate)
    await run_in_threadpool(c.services.keys.reload)
    return json_response({"activated": activated})


@endpoint("users", write=True)
async def end_sessions(request: Request, c: WebContext, officer: Officer) -> Response:
    """Sign the user out everywhere: every sign-in session and grant ends, relying parties
    are told by back-channel logout."""
    user_id = request.path_params["user_id"]
    with c.services.db.read() as session:
        if session.get(User, user_id) is None:
            raise NotFound(NO_USER, "user_id")
    told = await sign_out_and_notify(c, user_id, "officer", officer.origin)
    return json_response({"user_id": user_id, "relying_parties_told": told})


NO_DEVICE = Message("ผู้ใช้นี้ไม่มีอุปกรณ์ที่ใช้งานอยู่", "no active device")


@endpoint("users", write=True)
async def revoke_device(request: Request, c: WebContext, officer: Officer) -> Response:
    """The user's certificate revoked at once, every session ended, relying parties told; a
    new activation is then allowed. `{"reason"}` is required and audited."""
    user_id = request.path_params["user_id"]
    reason = str((await json_object(request)).get("reason") or "").strip()
    if not reason:
        raise UserFacingError(Message("ต้องระบุเหตุผล", "a reason is required"), "reason")

    def revoke() -> dict[str, Any]:
        revoked: list[Device] = []
        with c.services.db.session() as session:
            user, account = c.services.lifecycle.user(session, user_id)
            if not account.officer_may(OfficerAction.REVOKE_DEVICE):
                raise NotFound(NO_DEVICE, "user_id")
            c.services.lifecycle.revoke_device(
                session,
                user,
                reason,
                officer.user_id,
                revoke=lambda: revoked.extend(
                    filter(None, [c.push.revoke(user_id, "officer: " + reason, officer.user_id)])
                ),
                new_device_allowed=False,
            )
        device = revoked[0]
        return {"user_id": user_id, "device_id": device.device_id, "status": device.status}

    result = await run_in_threadpool(revoke)
    await sign_out_and_notify(c, user_id, "device_revoked", officer.origin)
    return json_response(result)
