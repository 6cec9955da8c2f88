"""The durable records, as SQLAlchemy 2 ORM classes (one code path for SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(15), primary_key=True)
    name_th: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), index=True)
    mobile: Mapped[str] = mapped_column(String(10))
    unit_code: Mapped[str] = mapped_column(String(10), index=True)
    unit_name: Mapped[str] = mapped_column(String(300))
    division: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(300))
    ministry: Mapped[str] = mapped_column(String(300))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    legacy_cert_fingerprint: Mapped[str | None] = mapped_column(String(64))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    roles: Mapped[list[str]] = mapped_column(default=list)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    assignment_order_on_file: Mapped[bool] = mapped_column(Boolean, default=False)
    # An initial Soft Token password (token-key users) works once: issued, then spent.
    single_use_password: Mapped[str | None] = mapped_column(String(10))
    locale: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Client(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(40))
    redirect_uris: Mapped[list[str]] = mapped_column(default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    grant_types: Mapped[list[str]] = mapped_column(default=list)
    scope: Mapped[str] = mapped_column(String(500))
    allowed_claims: Mapped[list[str]] = mapped_column(default=list)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(500))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(10), default="RS256")
    require_pkce: Mapped[bool] = mapped_column(Boolean, default=True)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # Stricter than the deployment for this client: a minimum acr, shorter token lifetimes.
    min_acr: Mapped[str | None] = mapped_column(String(100))
    access_token_ttl: Mapped[int | None] = mapped_column(Integer)
    id_token_ttl: Mapped[int | None] = mapped_column(Integer)
    refresh_token_ttl: Mapped[int | None] = mapped_column(Integer)
    # PAR, DPoP, JAR, CIBA, RAR, the FAPI 2.0 profile: idp.domain.client_protocol
    protocol: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Grant(Base):
    """One sign-in's consent to one client: the family that its refresh tokens belong to."""

    __tablename__ = "grants"

    grant_id: Mapped[str] = mapped_column(String(43), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(500))
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    auth_time: Mapped[int] = mapped_column(Integer)
    acr: Mapped[str] = mapped_column(String(100))
    amr: Mapped[list[str]] = mapped_column(default=list)
    claims_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # RFC 9396: what was approved (the access tokens of this grant carry it)
    authorization_details: Mapped[list[Any] | None] = mapped_column(JSON)
    # RFC 9449: the JWK thumbprint a public client's refresh tokens are bound to (DPoP)
    dpop_jkt: Mapped[str | None] = mapped_column(String(43))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(
        ForeignKey("grants.grant_id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(15))
    scope: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedAccessToken(Base):
    """A revoked access token (RFC 7009), kept until it would have expired: the durable record
    behind the expiring store's cached marker, which Redis may lose."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Consent(Base):
    __tablename__ = "consents"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(500))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10))  # next | active | retired
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    publish_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """Append-only record of a security-relevant action."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_subject_at", "subject", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DeviceRecord(Base):
    """An authenticator device (push_auth.models.Device) and its certificate."""

    __tablename__ = "devices"
    __table_args__ = (
        Index(
            "uq_devices_one_current_per_user",
            "user_id",
            unique=True,
            sqlite_where=text("status IN ('active', 'suspended')"),
            postgresql_where=text("status IN ('active', 'suspended')"),
        ),
    )

    device_id: Mapped[str] = mapped_column(String(43), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    poll_public_key_pem: Mapped[str | None] = mapped_column(Text)
    certificate_pem: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    platform: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    app_version: Mapped[str] = mapped_column(String(40))
    biometrics: Mapped[bool] = mapped_column(Boolean)
    push_token: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    next_public_key_pem: Mapped[str | None] = mapped_column(Text)
    next_certificate_pem: Mapped[str | None] = mapped_column(Text)
    next_serial: Mapped[str | None] = mapped_column(String(64))
    next_not_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the web authenticator's WebAuthn credential (base64url ID, COSE public key), if any
    credential_id: Mapped[str | None] = mapped_column(String(1400))
    credential_public_key: Mapped[str | None] = mapped_column(Text)
    sign_count: Mapped[int | None] = mapped_column(Integer)
    # the challenge-signing key the device pinned at activation (NULL: the first one)
    challenge_key_id: Mapped[str | None] = mapped_column(String(16))


class Passkey(Base):
    """A user's passkey (WebAuthn discoverable credential), a phishing-resistant second factor
    (idp.login.factors.passkey)."""

    __tablename__ = "passkeys"

    credential_id: Mapped[str] = mapped_column(String(1400), primary_key=True)  # base64url
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key
    sign_count: Mapped[int] = mapped_column(Integer)
    transports: Mapped[list[str]] = mapped_column(default=list)
    name: Mapped[str] = mapped_column(String(100))
    aaguid: Mapped[str] = mapped_column(String(36))
    backup_eligible: Mapped[bool] = mapped_column(Boolean)
    backed_up: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VaultEntry(Base):
    """Named blobs: the device CAs' keys (sealed) and certificates (public: every name with
    "cert"), the challenge-signing keys and the VAPID key (sealed); idp.domain.sealed."""

    __tablename__ = "vault"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """An email to send: written in the same transaction as what caused it, sent by a worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))


class Registration(Base):
    """One attempt at the five-step registration (manual chapter 2); rejected ones are kept."""

    __tablename__ = "registrations"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    national_id: Mapped[str | None] = mapped_column(String(13), index=True)
    consent_version: Mapped[str | None] = mapped_column(String(20))
    consent_text_sha256: Mapped[str | None] = mapped_column(String(64))
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_ip: Mapped[str | None] = mapped_column(String(45))
    consent_user_agent: Mapped[str | None] = mapped_column(String(300))
    upload_sha256: Mapped[str | None] = mapped_column(String(64))
    upload_size: Mapped[int | None] = mapped_column(Integer)
    proofing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    proofing_status: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    first_approval_by: Mapped[str | None] = mapped_column(String(100))  # four eyes
    first_approval_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PasswordHistory(Base):
    """Earlier password hashes, so that the last five are not used again."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RenewalReminder(Base):
    """A certificate-expiry reminder already emailed, per certificate and reminder day (30 or
    7 days before): the key makes each go once, however many processes run the job."""

    __tablename__ = "renewal_reminders"

    serial: Mapped[str] = mapped_column(String(64), primary_key=True)
    days_before: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(43))
    user_id: Mapped[str] = mapped_column(String(15))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ServiceRequest(Base):
    """The Soft Token service request form (manual chapter 7), and section 4: the officer's
    processing and result."""

    __tablename__ = "service_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(10))
    unit_name: Mapped[str] = mapped_column(String(300))
    requester_name: Mapped[str] = mapped_column(String(200))
    registered_email: Mapped[str] = mapped_column(String(254))
    mobile: Mapped[str] = mapped_column(String(10))
    division: Mapped[str] = mapped_column(String(300))
    department: Mapped[str] = mapped_column(String(300))
    ministry: Mapped[str] = mapped_column(String(300))
    reasons: Mapped[list[str]] = mapped_column(default=list)
    other_text: Mapped[str | None] = mapped_column(String(500))
    new_email: Mapped[str | None] = mapped_column(String(254))
    new_holder: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    email_new_password: Mapped[bool] = mapped_column(Boolean, default=False)
    new_password_email: Mapped[str | None] = mapped_column(String(254))
    form_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), index=True)  # received | done | rejected
    recorded_by: Mapped[str] = mapped_column(String(100))
    processed_by: Mapped[str | None] = mapped_column(String(100))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PushSubscription(Base):
    """A browser's Web Push subscription (push_auth.webpush.Subscription) for a device: its
    endpoint is a capability URL at the push service, stored once."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.device_id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
