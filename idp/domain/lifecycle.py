"""The account's life as one model: the state a user is in, the credential they hold, and the
one answer to "what may this account do now?".

Every page, the device API, the admin API and the CLI ask `account_of(...)` and its
`may(...)`/`require(...)` instead of reading the flags on the records (`must_change_password`,
`single_use_password`, registration and device statuses). The transitions that change those
flags live in `idp.domain.transitions`; each checks its precondition here first.

States (README, "The account lifecycle", draws them):
provisioned → registering → proofed → awaiting approval → approved → device active → warned →
expired → renewing; suspended (by "not me"); rejected (starts again at step 1); cancelled;
holder changed; device revoked; disabled.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from idp.domain.errors import Message, UserFacingError
from idp.storage.models import DeviceRecord, Passkey, Registration, User

CURRENT_DEVICE = ("active", "suspended")
HOLDER_CHANGED_REASON = "holder changed"


class State(enum.StrEnum):
    DISABLED = "disabled"
    PROVISIONED = "provisioned"  # imported by an officer; no registration yet
    REGISTERING = "registering"  # registration steps 1-3 under way
    PROOFED = "proofed"  # step 2 done: the upstream proved who this is
    AWAITING_APPROVAL = "awaiting_approval"  # step 4, an officer decides
    REJECTED = "rejected"  # step 4 refused: start again at step 1
    APPROVED = "approved"  # step 5 may begin: activate a phone
    DEVICE_ACTIVE = "device_active"
    WARNED = "warned"  # the certificate ends within the warning days
    EXPIRED = "expired"  # the certificate has ended: renewal is forced
    RENEWING = "renewing"  # a renewed certificate is issued, not yet used
    SUSPENDED = "suspended"  # "not me": pushes stop until an officer acts
    DEVICE_REVOKED = "device_revoked"  # revoked by an officer: register again
    CANCELLED = "cancelled"  # the holder cancelled Soft Token: register again
    HOLDER_CHANGED = "holder_changed"  # a new holder took the user ID: register again


class Credential(enum.StrEnum):
    NONE = "none"  # a token-key user before Login by Token
    INITIAL = "initial"  # a one-time initial password, not yet used
    INITIAL_SPENT = "initial_spent"  # used once; only the forced change may follow
    TEMPORARY = "temporary"  # imported, emailed after a reset or set by an officer
    CHOSEN = "chosen"  # the user's own


class Ability(enum.StrEnum):
    SIGN_IN = "sign_in"  # with the password
    CHANGE_PASSWORD = "change_password"  # the forced change, before anything else
    REGISTER = "register"  # the registration wizard
    ACTIVATE = "activate"  # pair a phone
    PUSH = "push"  # approve sign-ins on the phone
    RENEW = "renew"  # renew the certificate (offered when warned, forced when expired)
    CANCEL = "cancel"  # cancel Soft Token (manual chapter 5)
    RESET_PASSWORD = "reset_password"  # forgot password (manual chapter 4)


class OfficerAction(enum.StrEnum):
    LIFT_SUSPENSION = "lift_suspension"
    REVOKE_DEVICE = "revoke_device"
    RESET_PASSWORD = "reset_password"
    MARK_ASSIGNMENT_ORDER = "mark_assignment_order"


NOT_ALLOWED: dict[Ability, Message] = {
    Ability.SIGN_IN: Message("this account cannot sign in"),
    Ability.ACTIVATE: Message(
        (
            "Soft Token cannot be activated now: register and be approved first, "
            "with no active Soft Token"
        ),
    ),
    Ability.REGISTER: Message("you have already registered Soft Token"),
    Ability.CANCEL: Message("there is no Soft Token to cancel"),
    Ability.RENEW: Message("the certificate cannot be renewed now"),
    Ability.PUSH: Message("there is no usable Soft Token"),
    Ability.CHANGE_PASSWORD: Message("no password change is due"),
    Ability.RESET_PASSWORD: Message(
        "register Soft Token before asking for a new password",
    ),
}
OFFICER_NOT_ALLOWED = Message("this action is not allowed in the account's state")


class NotAllowed(UserFacingError):
    """The lifecycle refuses: this account may not do that now."""

    def __init__(self, message: Message, state: State) -> None:
        super().__init__(message)
        self.state = state


@dataclass(frozen=True)
class DeviceView:
    device_id: str
    status: str
    not_after: datetime
    renewing: bool


@dataclass(frozen=True)
class Account:
    """One user's place in the lifecycle at one moment."""

    user_id: str
    state: State
    credential: Credential
    must_change_password: bool
    registration_status: str | None
    device: DeviceView | None
    abilities: frozenset[Ability]
    officer_actions: frozenset[OfficerAction]
    passkeys: int = 0  # passkeys registered (idp.login.factors.passkey)

    def may(self, ability: Ability) -> bool:
        return ability in self.abilities

    def require(self, ability: Ability) -> None:
        if ability not in self.abilities:
            raise NotAllowed(NOT_ALLOWED[ability], self.state)

    def officer_may(self, action: OfficerAction) -> bool:
        return action in self.officer_actions

    def require_officer(self, action: OfficerAction) -> None:
        if action not in self.officer_actions:
            raise NotAllowed(OFFICER_NOT_ALLOWED, self.state)

    @property
    def has_device(self) -> bool:
        """A phone is paired (active or suspended): a second factor exists."""
        return self.device is not None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def latest_registration(session: Session, user_id: str) -> Registration | None:
    return session.scalars(
        select(Registration)
        .where(Registration.user_id == user_id)
        .order_by(Registration.attempt.desc())
        .limit(1)
    ).first()


def current_device(session: Session, user_id: str) -> DeviceRecord | None:
    return session.scalars(
        select(DeviceRecord).where(
            DeviceRecord.user_id == user_id, DeviceRecord.status.in_(CURRENT_DEVICE)
        )
    ).first()


def current_device_of_user() -> ColumnElement[bool]:
    """The join condition of a user (`User`) and their current device: for reading both in one
    query (at most one device is current per user: `uq_devices_one_current_per_user`)."""
    return and_(DeviceRecord.user_id == User.user_id, DeviceRecord.status.in_(CURRENT_DEVICE))


def certificate_end(row: DeviceRecord) -> datetime:
    """When the device's certificate ends as the lifecycle counts it: the renewed
    certificate's end while one is issued, else the current one's."""
    next_after = row.next_not_after
    return _aware(next_after if row.next_certificate_pem and next_after else row.not_after)


def certificate_expiry(row: DeviceRecord | None, now: datetime) -> int | None:
    """The current device's certificate end as a NumericDate, or None when there is no current
    device or its certificate has expired (the `softtoken_expires_at` claim)."""
    if row is None:
        return None
    end = certificate_end(row)
    return int(end.timestamp()) if end > now else None


def credential_of(user: User) -> Credential:
    if user.password_hash is None:
        return Credential.NONE
    if user.single_use_password == "issued":
        return Credential.INITIAL
    if user.single_use_password == "spent":
        return Credential.INITIAL_SPENT
    return Credential.TEMPORARY if user.must_change_password else Credential.CHOSEN


def in_service(user: User) -> bool:
    """The account is not disabled: its sessions, tokens and roles count."""
    return not user.disabled


def needs_assignment_order(user: User) -> bool:
    """Registration step 1 asks for the written assignment order as a PDF."""
    return not user.assignment_order_on_file


def may_sign_in(user: User) -> bool:
    """The password may be tried: an enabled account whose credential is not a spent
    one-time password (which works once, for the sign-in that must change it)."""
    return not user.disabled and credential_of(user) not in (
        Credential.NONE,
        Credential.INITIAL_SPENT,
    )


def spend_initial_password(user: User) -> None:
    """A one-time initial password has been used for its one sign-in."""
    if credential_of(user) is Credential.INITIAL:
        user.single_use_password = "spent"


def _device_state(device: DeviceView, now: datetime, warning: timedelta) -> State:
    if device.status == "suspended":
        return State.SUSPENDED
    if device.not_after <= now:  # the renewed certificate's end, while one is issued
        return State.EXPIRED
    if device.renewing:
        return State.RENEWING
    if device.not_after - now <= warning:
        return State.WARNED
    return State.DEVICE_ACTIVE


_REGISTRATION_STATE = {
    "waiting_approval": State.AWAITING_APPROVAL,
    "approved": State.APPROVED,
    "rejected": State.REJECTED,
    "activated": State.DEVICE_REVOKED,  # activated, yet no current device: it was revoked
}


def _registration_state(registration: Registration | None) -> State:
    if registration is None:
        return State.PROVISIONED
    if registration.status == "cancelled":
        holder = registration.decision_reason == HOLDER_CHANGED_REASON
        return State.HOLDER_CHANGED if holder else State.CANCELLED
    if registration.status == "in_progress":
        proofed = registration.proofing_status == "completed"
        return State.PROOFED if proofed else State.REGISTERING
    return _REGISTRATION_STATE.get(registration.status, State.REGISTERING)


DEVICE_STATES = frozenset(
    {State.DEVICE_ACTIVE, State.WARNED, State.EXPIRED, State.RENEWING, State.SUSPENDED}
)
REGISTER_STATES = frozenset(
    {
        State.PROVISIONED,
        State.REGISTERING,
        State.PROOFED,
        State.AWAITING_APPROVAL,
        State.REJECTED,
        State.CANCELLED,
        State.HOLDER_CHANGED,
        State.DEVICE_REVOKED,
    }
)
PUSH_STATES = frozenset({State.DEVICE_ACTIVE, State.WARNED, State.RENEWING})


def _abilities(state: State, credential: Credential, must_change: bool) -> frozenset[Ability]:
    if state is State.DISABLED:
        return frozenset()
    found: set[Ability] = set()
    if credential not in (Credential.NONE, Credential.INITIAL_SPENT):
        found.add(Ability.SIGN_IN)
    if must_change or credential is Credential.INITIAL_SPENT:
        found.add(Ability.CHANGE_PASSWORD)
    if state in REGISTER_STATES:
        found.add(Ability.REGISTER)
    if state is State.APPROVED:
        found.add(Ability.ACTIVATE)
    if state in PUSH_STATES:
        found.add(Ability.PUSH)
    if state in (State.WARNED, State.EXPIRED, State.RENEWING):
        found.add(Ability.RENEW)
    if state in DEVICE_STATES or state is State.APPROVED:
        found |= {Ability.CANCEL, Ability.RESET_PASSWORD}
    return frozenset(found)


def _officer_actions(
    state: State, registration_status: str | None, has_device: bool = False
) -> frozenset[OfficerAction]:
    if state is State.DISABLED:  # a lost phone of a disabled account can still be revoked
        return frozenset({OfficerAction.REVOKE_DEVICE} if has_device else ())
    found = {OfficerAction.RESET_PASSWORD}
    if state is State.SUSPENDED:
        found.add(OfficerAction.LIFT_SUSPENSION)
    if state in DEVICE_STATES:
        found.add(OfficerAction.REVOKE_DEVICE)
    if registration_status not in ("approved", "activated"):
        found.add(OfficerAction.MARK_ASSIGNMENT_ORDER)
    return frozenset(found)


def account_of(session: Session, user: User, now: datetime, warning_days: int = 30) -> Account:
    """What this account is and may do at `now` (the lifecycle clock's time)."""
    registration = latest_registration(session, user.user_id)
    row = current_device(session, user.user_id)
    device = None
    if row is not None:
        device = DeviceView(
            row.device_id, row.status, certificate_end(row), row.next_certificate_pem is not None
        )
    if user.disabled:
        state = State.DISABLED
    elif device is not None:
        state = _device_state(device, now, timedelta(days=warning_days))
    else:
        state = _registration_state(registration)
    credential = credential_of(user)
    status = registration.status if registration else None
    return Account(
        user_id=user.user_id,
        state=state,
        credential=credential,
        must_change_password=user.must_change_password,
        registration_status=status,
        device=device,
        abilities=_abilities(state, credential, user.must_change_password),
        officer_actions=_officer_actions(state, status, device is not None),
        passkeys=session.scalar(
            select(func.count()).select_from(Passkey).where(Passkey.user_id == user.user_id)
        )
        or 0,
    )
