"""Devices and challenges, and the statuses they move through (stored as these strings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # "not me" on the phone, until an officer lifts it or revokes
    REVOKED = "revoked"
    REPLACED = "replaced"


class ChallengeMode(StrEnum):
    SEQUENCE = "sequence"  # the phone shows all pictures; the user taps the computer's sequence
    COMPARE = "compare"  # the manual's same-picture-and-approve (never the push acr)
    BINDING = "binding"  # CIBA without pictures: the user compares the relying party's code


class ChallengeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    NOT_ME = "not_me"
    FAILED = "failed"  # the wrong pictures
    EXPIRED = "expired"  # unanswered in time, or replaced by a newer challenge


@dataclass
class Device:
    device_id: str
    user_id: str
    status: DeviceStatus
    public_key_pem: str
    certificate_pem: str
    serial: str
    not_before: datetime
    not_after: datetime
    platform: str
    model: str
    name: str
    app_version: str
    biometrics: bool
    push_token: str | None
    created_at: datetime
    poll_public_key_pem: str | None = None  # signs polls, status and denials (no PIN needed)
    revoked_at: datetime | None = None
    revoke_reason: str | None = None
    next_public_key_pem: str | None = None  # renewal in progress: new key, not yet used
    next_certificate_pem: str | None = None
    next_serial: str | None = None
    next_not_after: datetime | None = None
    # the web authenticator (push_auth.webapp): the WebAuthn credential that holds the device
    # key (base64url ID, base64url COSE public key) and its signature counter
    credential_id: str | None = None
    credential_public_key: str | None = None
    sign_count: int | None = None
    # the challenge-signing key the device pinned at activation (push_auth.ca; None: the first)
    challenge_key_id: str | None = None

    def __post_init__(self) -> None:
        self.status = DeviceStatus(self.status)  # a stored string becomes the enum

    @property
    def usable(self) -> bool:
        return self.status is DeviceStatus.ACTIVE

    @property
    def effective_not_after(self) -> datetime:
        """The end of validity, counting a renewal that was issued but not yet used."""
        return self.next_not_after or self.not_after

    def expired(self, now: datetime) -> bool:
        return self.effective_not_after <= now


@dataclass
class Challenge:
    challenge_id: str
    user_id: str
    device_id: str
    mode: ChallengeMode
    pictures: list[int]
    created: int
    expires: int
    context: dict[str, Any] = field(default_factory=dict)
    status: ChallengeStatus = ChallengeStatus.PENDING
    amr: list[str] = field(default_factory=list)
    receipt: dict[str, Any] | None = None  # the device's signed approval of the details

    def __post_init__(self) -> None:
        self.mode = ChallengeMode(self.mode)  # a stored string becomes the enum
        self.status = ChallengeStatus(self.status)
