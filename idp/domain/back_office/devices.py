"""Users' Soft Token devices in the back office, each action through the account lifecycle: the
open "not me" alerts, lifting a suspension after the officer's call, and revoking a device
outside a service request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from idp.domain.back_office.listing import iso
from idp.domain.back_office.ports import Device, DeviceRefused, PushDevices
from idp.domain.errors import Message, NotFound
from idp.domain.lifecycle import Account, NotAllowed, OfficerAction
from idp.domain.transitions import Lifecycle
from idp.domain.users import lifecycle_record
from idp.storage.db import Database
from idp.storage.models import AuditEvent, User

NO_DEVICE = Message("no active device")
NOT_ME = "push.not_me"
SUSPENSION_ENDED = ("device.suspension_lifted", "device.revoke")  # lifted, or the device gone


@dataclass(frozen=True)
class Devices:
    db: Database
    lifecycle: Lifecycle
    push: PushDevices

    # -- queries ---------------------------------------------------------------------------
    def alerts(self) -> list[dict[str, Any]]:
        """Open "not me" alerts, newest first: users whose device is suspended because they
        answered "not me" (the lifecycle's state, in which an officer may lift the
        suspension), each with the time and address of the sign-in they refused."""
        items = []
        with self.db.read() as session:
            for event in _open_not_me(session):
                user = session.get(User, event.subject)
                if user is None:
                    continue
                account = self.lifecycle.account(session, user)
                if account.officer_may(OfficerAction.LIFT_SUSPENSION) and account.device:
                    items.append(_alert(event, user, account))
        return items

    # -- commands --------------------------------------------------------------------------
    def revoke(self, user_id: str, reason: str, officer: str) -> dict[str, Any]:
        """The certificate revoked at once and a new registration required (the caller signs
        the user out everywhere)."""
        revoked: list[Device] = []

        def revoke_on_phone() -> None:
            device = self.push.revoke(user_id, "officer: " + reason, officer)
            revoked.extend(filter(None, [device]))

        with self.db.session() as session:
            user, account = self.lifecycle.user(session, user_id)
            if not account.officer_may(OfficerAction.REVOKE_DEVICE):
                raise NotFound(NO_DEVICE, "user_id")
            self.lifecycle.revoke_device(
                session, user, reason, officer, revoke=revoke_on_phone, new_device_allowed=False
            )
        if not revoked:  # another officer was first
            raise NotFound(NO_DEVICE, "user_id")
        return {"user_id": user_id, **_standing(revoked[0])}

    def lift_suspension(self, user_id: str, note: str, officer: str) -> dict[str, Any]:
        """After "not me" and the officer's call (`note`: what it established), pushes reach the
        phone again. NotAllowed when the device is not suspended."""
        lifted: list[Device] = []
        with self.db.session() as session:
            user, account = self.lifecycle.user(session, user_id)
            try:
                self.lifecycle.lift_suspension(
                    session,
                    user,
                    officer,
                    lift=lambda: lifted.append(self.push.lift_suspension(user_id, officer, note)),
                )
            except DeviceRefused as refused:  # lifted by someone else a moment ago
                raise NotAllowed(refused.message, account.state) from refused
        with self.db.read() as session:  # the device as push authentication left it
            after = self.lifecycle.user(session, user_id)[1]
        return {"user_id": user_id, **_standing(lifted[0]), "lifecycle": lifecycle_record(after)}


def _standing(device: Device) -> dict[str, Any]:
    return {"device_id": device.device_id, "status": device.status}


def _alert(event: AuditEvent, user: User, account: Account) -> dict[str, Any]:
    assert account.device is not None
    return {
        "user_id": user.user_id,
        "name_th": user.name_th,
        "name_en": user.name_en,
        "device_id": account.device.device_id,
        "at": iso(event.at),
        "ip": (event.detail or {}).get("ip") or event.ip,
        "lifecycle": lifecycle_record(account),
    }


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
