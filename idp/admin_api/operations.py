"""The admin API's operator calls: the token signing keys (admin), and ending a user's
sessions or revoking their Soft Token device (officer) outside a service request; the open
"not me" alerts, lifting a suspension, and the assignment order on file, each through the
account lifecycle."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from idp.admin_api.access import Officer
from idp.admin_api.endpoint import NO_USER, endpoint, iso, json_object, json_response
from idp.core import Core
from idp.domain import keys
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.lifecycle import NotAllowed, OfficerAction
from idp.domain.users import lifecycle_record
from idp.storage.models import AuditEvent, User
from push_auth.errors import PushError
from push_auth.models import Device


@endpoint("keys", write=False)
async def list_keys(request: Request, c: Core, officer: Officer) -> Response:
    with c.services.db.read() as session:
        return json_response({"items": keys.describe_all(session)})


@endpoint("keys", write=True)
async def rotate_keys(request: Request, c: Core, officer: Officer) -> Response:
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
async def end_sessions(request: Request, c: Core, officer: Officer) -> Response:
    """Sign the user out everywhere: every sign-in session and grant ends, relying parties
    are told by back-channel logout."""
    user_id = request.path_params["user_id"]
    with c.services.db.read() as session:
        if session.get(User, user_id) is None:
            raise NotFound(NO_USER, "user_id")
    told = await c.back_channel.sign_out_everywhere(user_id, "officer", officer.origin)
    return json_response({"user_id": user_id, "relying_parties_told": told})


NO_DEVICE = Message("ผู้ใช้นี้ไม่มีอุปกรณ์ที่ใช้งานอยู่", "no active device")


@endpoint("users", write=True)
async def revoke_device(request: Request, c: Core, officer: Officer) -> Response:
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
        if not revoked:  # another officer was first
            raise NotFound(NO_DEVICE, "user_id")
        device = revoked[0]
        return {"user_id": user_id, "device_id": device.device_id, "status": device.status}

    result = await run_in_threadpool(revoke)
    await c.back_channel.sign_out_everywhere(user_id, "device_revoked", officer.origin)
    return json_response(result)


# -- "not me" and the assignment order, through the account lifecycle ------------------------
NOTE_NEEDED = Message(
    "ต้องบันทึกผลการโทรศัพท์สอบถามผู้ใช้", "a note of what the call with the user established is required"
)
ON_FILE_NEEDED = Message("on_file ต้องเป็น true หรือ false", "on_file must be true or false")
NOT_ME = "push.not_me"
SUSPENSION_ENDED = ("device.suspension_lifted", "device.revoke")  # lifted, or the device gone


def _open_not_me(session: Session) -> list[AuditEvent]:
    """Each user's latest "not me" with no lift or revocation after it, newest first: the
    candidates, which the lifecycle then confirms."""
    alert = (
        select(AuditEvent.subject, func.max(AuditEvent.id).label("id"))
        .where(AuditEvent.action == NOT_ME)
        .group_by(AuditEvent.subject)
        .subquery()
    )
    ended = (
        select(AuditEvent.subject, func.max(AuditEvent.id).label("id"))
        .where(AuditEvent.action.in_(SUSPENSION_ENDED))
        .group_by(AuditEvent.subject)
        .subquery()
    )
    query = (
        select(AuditEvent)
        .join(alert, AuditEvent.id == alert.c.id)
        .outerjoin(ended, ended.c.subject == alert.c.subject)
        .where(or_(ended.c.id.is_(None), ended.c.id < alert.c.id))
        .order_by(AuditEvent.id.desc())
    )
    return list(session.scalars(query))


@endpoint("users", write=False)
async def alerts(request: Request, c: Core, officer: Officer) -> Response:
    """Open "not me" alerts: users whose Soft Token is suspended because they answered "not me"
    (the lifecycle's state, in which an officer may lift the suspension), each with the time
    and address of the sign-in they refused. They stay open until an officer acts."""

    def load() -> list[dict[str, Any]]:
        items = []
        with c.services.db.read() as session:
            for event in _open_not_me(session):
                user = session.get(User, event.subject)
                if user is None:
                    continue
                account = c.services.lifecycle.account(session, user)
                if not account.officer_may(OfficerAction.LIFT_SUSPENSION) or not account.device:
                    continue
                items.append(
                    {
                        "user_id": user.user_id,
                        "name_th": user.name_th,
                        "name_en": user.name_en,
                        "device_id": account.device.device_id,
                        "at": iso(event.at),
                        "ip": (event.detail or {}).get("ip") or event.ip,
                        "lifecycle": lifecycle_record(account),
                    }
                )
        return items

    return json_response({"items": await run_in_threadpool(load)})


@endpoint("users", write=True)
async def lift_suspension(request: Request, c: Core, officer: Officer) -> Response:
    """After "not me", the officer has called the user (`{"note"}`: what the call established);
    pushes reach the phone again. 409 when the device is not suspended."""
    user_id = request.path_params["user_id"]
    note = str((await json_object(request)).get("note") or "").strip()
    if not note:
        raise UserFacingError(NOTE_NEEDED, "note")

    def lift() -> dict[str, Any]:
        lifted: list[Device] = []
        with c.services.db.session() as session:
            user, account = c.services.lifecycle.user(session, user_id)
            try:
                c.services.lifecycle.lift_suspension(
                    session,
                    user,
                    officer.user_id,
                    lift=lambda: lifted.append(
                        c.push.lift_suspension(user_id, officer.user_id, note)
                    ),
                )
            except PushError as refused:  # lifted by someone else a moment ago
                raise NotAllowed(Message(refused.th, refused.en), account.state) from refused
        with c.services.db.read() as session:  # the device as push_auth left it
            after = c.services.lifecycle.user(session, user_id)[1]
        return {
            "user_id": user_id,
            "device_id": lifted[0].device_id,
            "status": lifted[0].status,
            "lifecycle": lifecycle_record(after),
        }

    return json_response(await run_in_threadpool(lift))


@endpoint("users", write=True)
async def assignment_order(request: Request, c: Core, officer: Officer) -> Response:
    """`{"on_file": true|false}`: the written assignment order is (or is no longer) on file,
    so registration step 1 needs no PDF and step 4 may approve by itself. 409 once the
    registration is approved."""
    user_id = request.path_params["user_id"]
    on_file = (await json_object(request)).get("on_file")
    if not isinstance(on_file, bool):
        raise UserFacingError(ON_FILE_NEEDED, "on_file")

    def mark() -> dict[str, Any]:
        with c.services.db.session() as session:
            user, _account = c.services.lifecycle.user(session, user_id)
            c.services.lifecycle.mark_assignment_order(
                session, user, on_file, officer.user_id, officer.origin
            )
            after = c.services.lifecycle.account(session, user)
            return {
                "user_id": user_id,
                "assignment_order_on_file": on_file,
                "lifecycle": lifecycle_record(after),
            }

    return json_response(await run_in_threadpool(mark))
