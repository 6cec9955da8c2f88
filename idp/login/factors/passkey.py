"""A passkey (WebAuthn credential with user verification): a phishing-resistant second factor.

The browser signs the server's challenge together with the page's origin, and the
authenticator signs the RP ID's hash: an answer made on a look-alike site does not verify
here, so a passkey reaches `ACR_PHISHING_RESISTANT` (NIST SP 800-63B-4 §3.2.5). `amr`
(RFC 8176): `user` (the authenticator verified the user: PIN or biometric, it does not say
which) and `hwk` for a device-bound key or `swk` for a synced one (backup eligible), with
`pwd` and `mfa` from the password.

`PasskeyCeremonies` runs registration (from the account page) and the sign-in check with
py_webauthn, against the issuer's host as RP ID and its origin. Every check that refuses
has its own message (Thai and English) and audit row (`passkey.refused`, with the reason);
a refusal changes nothing but spending the challenge, which is single use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    ClientDataType,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.domain import audit
from idp.domain.audit import Origin
from idp.domain.clock import Clock
from idp.domain.errors import Message, UserFacingError
from idp.domain.lifecycle import Ability, Account
from idp.domain.passkeys import NewPasskey, PasskeyBook, PasskeyView
from idp.login.factors import Factor, Kind
from idp.storage.db import Database
from idp.storage.expiring import ExpiringStore
from idp.storage.models import Passkey


def _held(account: Account) -> bool:
    """Passkeys count beside Soft Token, never instead of it: once the phone is cancelled or
    revoked (the holder resigned, moved, lost it), they no longer sign anyone in."""
    return account.passkeys > 0 and account.has_device and account.may(Ability.SIGN_IN)


PASSKEY = Factor(
    "passkey",
    Kind.POSSESSION,
    frozenset({"user"}),  # user verification is required of every assertion
    True,  # the signature covers this sign-in's challenge and this site's origin
    _held,
    "Use a passkey",
    phishing_resistant=True,
)
CHALLENGE_SECONDS = 180
TIMEOUT_MS = 120_000
SIGN_IN = "passkey-auth:"  # + the challenge (base64url): who it was made for
REGISTER = "passkey-reg:"  # + the user ID: the registration's challenge

EXPIRED = Message(
    "This passkey request has expired or was already used. Please try again.",
)
OTHER_CHALLENGE = Message(
    "The passkey answered another request, not this sign-in.",
)
OTHER_SITE = Message(
    "The passkey signed for another website, not this one.",
)
NOT_YOURS = Message("This passkey is not registered to this account.")
NO_USER_VERIFICATION = Message(
    "The passkey must verify you on the device (fingerprint, face or PIN).",
)
COUNTER = Message(
    "The passkey's signature counter did not increase: a copied passkey or a replayed answer.",
)
UNVERIFIED = Message("The passkey's answer could not be verified.")
MALFORMED = Message("The passkey's answer is malformed.")
NO_DEVICE = Message(
    "Add a passkey only with an active Soft Token.",
)
NO_SOFT_TOKEN = Message(
    (
        "A passkey signs you in only while you hold Soft Token, and yours was "
        "cancelled or revoked. Please register Soft Token again."
    ),
)
REGISTRATION_FAILED = Message(
    (
        "The passkey was not added: the device must verify you (fingerprint, "
        "face or PIN) on this website."
    ),
)
ALREADY = Message("This passkey is already registered.")


class PasskeyRefused(UserFacingError):
    """A registration or an assertion refused; `reason` is what the audit row says."""

    def __init__(self, message: Message, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def origin_and_rp_id(issuer: str) -> tuple[str, str]:
    """The expected origin (scheme://host[:port]) and RP ID (the host) of this issuer."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}", parts.hostname or ""


def user_handle(user_id: str) -> bytes:
    """The WebAuthn user handle: not the user ID itself (authenticators may show or sync it)."""
    return hashlib.sha256(b"soft-token-idp passkey user\0" + user_id.encode()).digest()[:32]


def reported_amr(backup_eligible: bool) -> set[str]:
    """A synced passkey is a software key; one bound to its device a hardware key."""
    return {"swk"} if backup_eligible else {"hwk"}


def _transports(values: Any) -> list[str]:
    known = {t.value for t in AuthenticatorTransport}
    return [str(v) for v in values or [] if str(v) in known][:8]


@dataclass(frozen=True)
class PasskeyCeremonies:
    db: Database
    store: ExpiringStore
    clock: Clock
    book: PasskeyBook
    account: Callable[[str], Account]  # where a user stands now (a database read)
    issuer: str
    rp_name: str = "Soft Token"

    @property
    def origin(self) -> str:
        return origin_and_rp_id(self.issuer)[0]

    @property
    def rp_id(self) -> str:
        return origin_and_rp_id(self.issuer)[1]

    # -- registration (the account page) -------------------------------------------------
    def registration_options(self, user_id: str, display_name: str) -> str:
        """`navigator.credentials.create` options (JSON): user verification required, a
        discoverable credential preferred, the user's passkeys excluded."""
        if not self.account(user_id).has_device:
            raise PasskeyRefused(NO_DEVICE, "no_device")
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.rp_name,
            user_name=user_id,
            user_id=user_handle(user_id),
            user_display_name=display_name or user_id,
            timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(cid))
                for cid in self.book.credential_ids(user_id)
            ],
        )
        challenge = bytes_to_base64url(options.challenge)
        self.store.put(REGISTER + user_id, {"challenge": challenge}, CHALLENGE_SECONDS)
        return options_to_json(options)

    def register(self, user_id: str, credential: str, name: str, origin: Origin) -> PasskeyView:
        """Check the authenticator's answer (attestation "none" accepted: we trust the
        user's own device, not its maker) and keep the passkey."""
        kept = self.store.consume(REGISTER + user_id)
        try:
            if kept is None:
                raise PasskeyRefused(EXPIRED, "challenge_unknown")
            if not self.account(user_id).has_device:
                raise PasskeyRefused(NO_DEVICE, "no_device")
            try:
                verified = verify_registration_response(
                    credential=credential,
                    expected_challenge=base64url_to_bytes(str(kept["challenge"])),
                    expected_rp_id=self.rp_id,
                    expected_origin=self.origin,
                    require_user_verification=True,
                )
                transports = _transports(json.loads(credential)["response"].get("transports"))
            except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
                raise PasskeyRefused(REGISTRATION_FAILED, "registration_invalid") from exc
            credential_id = bytes_to_base64url(verified.credential_id)
            with self.db.read() as session:
                if session.get(Passkey, credential_id) is not None:
                    raise PasskeyRefused(ALREADY, "already_registered")
            new = NewPasskey(
                credential_id=credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=transports,
                aaguid=str(verified.aaguid),
                backup_eligible=verified.credential_device_type
                is CredentialDeviceType.MULTI_DEVICE,
                backed_up=verified.credential_backed_up,
            )
        except PasskeyRefused as refused:
            self._refused("passkey.add", user_id, refused.reason, origin)
            raise
        return self.book.add(user_id, new, name, origin)

    # -- sign-in -------------------------------------------------------------------------
    def sign_in_options(self, user_id: str) -> tuple[str, str]:
        """(challenge, `navigator.credentials.get` options as JSON) for this user's
        passkeys, user verification required; the challenge works once, for this user."""
        options = generate_authentication_options(
            rp_id=self.rp_id,
            timeout=TIMEOUT_MS,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(cid))
                for cid in self.book.credential_ids(user_id)
            ],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        challenge = bytes_to_base64url(options.challenge)
        self.store.put(SIGN_IN + challenge, {"user_id": user_id}, CHALLENGE_SECONDS)
        return challenge, options_to_json(options)

    def sign_in(self, user_id: str, challenge: str, credential: str, origin: Origin) -> set[str]:
        """Check an assertion for this sign-in's `challenge` (spent, whatever the outcome):
        the `amr` it adds, or PasskeyRefused (audited, nothing changed)."""
        try:
            return self._verify(user_id, challenge, credential, origin)
        except PasskeyRefused as refused:
            self._refused("passkey.refused", user_id, refused.reason, origin)
            raise

    def _verify(self, user_id: str, challenge: str, credential: str, origin: Origin) -> set[str]:
        kept = self.store.consume(SIGN_IN + challenge) if challenge else None
        if kept is None or kept.get("user_id") != user_id:
            raise PasskeyRefused(EXPIRED, "challenge_unknown")
        if not _held(self.account(user_id)):  # Soft Token ended since the page was shown
            raise PasskeyRefused(NO_SOFT_TOKEN, "no_device")
        try:
            parsed = parse_authentication_credential_json(credential)
            client_data = parse_client_data_json(parsed.response.client_data_json)
            auth_data = parse_authenticator_data(parsed.response.authenticator_data)
        except Exception as exc:  # py_webauthn raises several kinds for bad input
            raise PasskeyRefused(MALFORMED, "malformed") from exc
        with self.db.read() as session:
            row = session.get(Passkey, parsed.id[:1400])
            if row is None or row.user_id != user_id:
                raise PasskeyRefused(NOT_YOURS, "credential_of_another")
            public_key, count = row.public_key, row.sign_count
        if client_data.type != ClientDataType.WEBAUTHN_GET:
            raise PasskeyRefused(MALFORMED, "client_data_type")
        if bytes_to_base64url(client_data.challenge) != challenge:
            raise PasskeyRefused(OTHER_CHALLENGE, "challenge_mismatch")
        if client_data.origin != self.origin:
            raise PasskeyRefused(OTHER_SITE, "origin_mismatch")
        if auth_data.rp_id_hash != hashlib.sha256(self.rp_id.encode()).digest():
            raise PasskeyRefused(OTHER_SITE, "rp_id_mismatch")
        if not auth_data.flags.uv:
            raise PasskeyRefused(NO_USER_VERIFICATION, "user_not_verified")
        if (auth_data.sign_count or count) and auth_data.sign_count <= count:
            raise PasskeyRefused(COUNTER, "sign_count_regression")
        try:
            verified = verify_authentication_response(
                credential=parsed,
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=public_key,
                credential_current_sign_count=count,
                require_user_verification=True,
            )
        except (InvalidAuthenticationResponse, ValueError) as exc:
            raise PasskeyRefused(UNVERIFIED, "signature_invalid") from exc
        return self._used(user_id, parsed.id, count, verified.new_sign_count, verified, origin)

    def _used(
        self,
        user_id: str,
        credential_id: str,
        count: int,
        new_count: int,
        verified: Any,
        origin: Origin,
    ) -> set[str]:
        """Keep the new counter (only if nobody else moved it meanwhile) and the time."""
        with self.db.session() as session:
            row = session.get(Passkey, credential_id, with_for_update=True)
            if row is None or row.user_id != user_id:
                raise PasskeyRefused(NOT_YOURS, "credential_of_another")
            if row.sign_count != count:  # a parallel use of the same counter value
                raise PasskeyRefused(COUNTER, "sign_count_regression")
            row.sign_count = new_count
            row.backed_up = bool(verified.credential_backed_up)
            row.last_used_at = self.clock.now()
            audit.record(
                session,
                "passkey.use",
                actor=user_id,
                subject=user_id,
                origin=origin,
                credential=credential_id[:16],
                name=row.name,
            )
            return reported_amr(row.backup_eligible)

    def _refused(self, action: str, user_id: str, reason: str, origin: Origin) -> None:
        with self.db.session() as session:
            audit.record(
                session,
                action,
                actor=user_id,
                subject=user_id,
                outcome="failure",
                origin=origin,
                reason=reason,
            )
