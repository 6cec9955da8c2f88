"""Service requests in the back office (manual chapter 7): the signed form recorded, the list,
one request, and its processing (section 4): the device reset, the holder changed, a link
sent to the new email, and the result emailed to every address concerned."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import service_requests
from idp.domain.audit import Origin
from idp.domain.back_office.listing import Page, keyset
from idp.domain.back_office.ports import Mail, PushDevices
from idp.domain.errors import Message, NotFound, UserFacingError
from idp.domain.kept_files import kept_pdf
from idp.domain.recovery import registered_email
from idp.domain.secrets import random_token
from idp.domain.service_requests import RequestForm
from idp.domain.transitions import Lifecycle
from idp.storage.db import Database
from idp.storage.expiring import ExpiringStore
from idp.storage.models import ServiceRequest, User

EMAIL_CHANGE_TTL = 86_400
RESULTS = {
    "reset_device": Message("the old device was revoked; a new one can be activated"),
    "change_holder": Message("the holder was changed; the new holder must register Soft Token"),
    "change_email": Message("a confirmation link was sent to the new email"),
}
RECORDED = Message("the request was recorded")
NO_REQUEST = Message("no such request")
NOT_WAITING = Message("no such request waiting")
NO_UPLOAD = Message("upload the signed form first")


@dataclass(frozen=True)
class Processed:
    request: dict[str, Any]  # as described after processing
    user_id: str
    device_reset: bool  # the user's device was revoked: sign them out everywhere


@dataclass(frozen=True)
class ServiceRequests:
    db: Database
    lifecycle: Lifecycle
    devices: PushDevices
    mail: Mail
    store: ExpiringStore  # the new email's confirmation link
    issuer: str
    uploads: Path  # where the signed forms are kept

    # -- queries ---------------------------------------------------------------------------
    def search(self, status: str, limit: int, after: str | None) -> Page:
        query = select(ServiceRequest).where(ServiceRequest.status == status)
        return keyset(self.db, query, ServiceRequest.id, after, limit, service_requests.describe)

    def show(self, request_id: str) -> dict[str, Any]:
        with self.db.read() as session:
            found = session.get(ServiceRequest, request_id)
            if found is None:
                raise NotFound(NO_REQUEST, "id")
            return service_requests.describe(found)

    # -- commands --------------------------------------------------------------------------
    def record(self, form: RequestForm, officer: str, origin: Origin) -> dict[str, Any]:
        """The form as the officer typed it from the signed paper, whose PDF was uploaded."""
        digest = form.form_pdf_sha256
        if digest and kept_pdf(self.uploads, digest) is None:
            raise UserFacingError(NO_UPLOAD, "form_pdf")
        with self.db.session() as session:
            return service_requests.describe(
                service_requests.record(session, form, officer, origin)
            )

    def process(self, request_id: str, officer: str, origin: Origin) -> Processed:
        """Run the request's actions in order, mark it done, and email the result."""
        with self.db.session() as session:
            found = session.get(ServiceRequest, request_id)
            if found is None or found.status != "received":
                raise NotFound(NOT_WAITING, "id")
            user, _account = self.lifecycle.user(session, found.user_id)
            actions = service_requests.actions_for(found)
            old_email = registered_email(session, user)[1]
            if "reset_device" in actions:
                self._reset_device(session, found, user, officer)
            if "change_holder" in actions and found.new_holder:
                self._change_holder(session, found, user, officer, origin)
            if "change_email" in actions and found.new_email:
                self._send_email_link(session, found.new_email, user)
            self._done(session, found, user, actions, old_email, officer)
        return Processed(self.show(request_id), user.user_id, "reset_device" in actions)

    def _reset_device(
        self, session: Session, found: ServiceRequest, user: User, officer: str
    ) -> None:
        reason = "service_request:" + ",".join(found.reasons)
        self.lifecycle.reset_device_if_any(
            session,
            user,
            reason,
            officer,
            revoke=lambda: self.devices.revoke(user.user_id, reason, officer),
        )

    def _change_holder(
        self, session: Session, found: ServiceRequest, user: User, officer: str, origin: Origin
    ) -> None:
        holder = found.new_holder
        assert holder is not None
        service_requests.replace_holder(user, holder)
        self.lifecycle.change_holder(session, user, officer)
        if found.email_new_password:
            password = self.lifecycle.issue_initial_password(
                session, user, "change_holder", actor=officer, origin=origin
            )
            self.mail.enqueue(
                session,
                "holder_initial_password",
                found.new_password_email or holder["email"],
                user_id=user.user_id,
                password=password,
                link=self.issuer + "/register",
            )

    def _send_email_link(self, session: Session, new_email: str, user: User) -> None:
        token = random_token(24)
        self.store.put(
            "email-change:" + token, {"user_id": user.user_id, "email": new_email}, EMAIL_CHANGE_TTL
        )
        self.mail.enqueue(
            session,
            "email_change_link",
            new_email,
            user_id=user.user_id,
            link=f"{self.issuer}/verify-email/{token}",
        )

    def _done(
        self,
        session: Session,
        found: ServiceRequest,
        user: User,
        actions: list[str],
        old_email: str | None,
        officer: str,
    ) -> None:
        """Marked done; the result goes to the registered, the form's and the new address."""
        results = [RESULTS[a] for a in actions] or [RECORDED]
        result_th, result_en = " ".join(r.th for r in results), " ".join(r.en for r in results)
        service_requests.mark_done(found, officer, result_en)
        new_address = found.new_email or (found.new_holder or {}).get("email")
        for address in {old_email, found.registered_email, new_address} - {None, ""}:
            self.mail.enqueue(
                session,
                "service_request_result",
                str(address),
                user_id=user.user_id,
                result_th=result_th,
                result_en=result_en,
                register="change_holder" in actions or "reset_device" in actions,
                link=self.issuer + "/register",
            )
