"""WebAuthn ceremonies checked with py_webauthn: the options a page passes to
`navigator.credentials.create()`, and the checks of what the authenticator answers.

Every check is strict: the expected challenge (single use, kept by the caller), this server's
origin and RP ID, user presence and user verification, ES256 only (the device key goes into a
P-256 certificate), and a signature counter that never goes back. A refusal is a PushError
with a message in Thai and English; the caller audits it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from webauthn import (
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    options_to_json_dict,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from push_auth.errors import PushError, bad_request, forbidden

ES256 = [COSEAlgorithmIdentifier.ECDSA_SHA_256]
TIMEOUT_MS = 120_000
APPROVAL_DOMAIN = b"softtoken-approve-v1"
MALFORMED = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError, IndexError)


@dataclass(frozen=True)
class NewCredential:
    """A registration that passed every check."""

    credential_id: str  # base64url
    public_key: str  # the COSE key, base64url
    key: ec.EllipticCurvePublicKey  # the same key, for the device certificate
    sign_count: int
    user_verified: bool


@dataclass(frozen=True)
class Assertion:
    """An assertion that passed every check."""

    credential_id: str
    sign_count: int
    user_verified: bool
    backed_up: bool


def approval_challenge(challenge_id: str, pictures: list[int], details_sha256: str = "") -> bytes:
    """What the phone signs to approve: the hash of the server's challenge and the pictures
    the user tapped (and of the authorization details shown, when there are: their digest,
    push_auth.receipts), so the assertion approves exactly this sign-in and this sequence."""
    tapped = ",".join(str(p) for p in pictures)
    signed = APPROVAL_DOMAIN + b"\0" + challenge_id.encode() + b"\0" + tapped.encode()
    if details_sha256:
        signed += b"\0" + details_sha256.encode()
    return hashlib.sha256(signed).digest()


def new_challenge() -> str:
    return bytes_to_base64url(secrets.token_bytes(32))


@dataclass(frozen=True)
class RelyingParty:
    """This server as WebAuthn sees it: its origin (scheme://host[:port]) and RP ID (host)."""

    origin: str
    rp_id: str
    name: str = "Soft Token"

    @classmethod
    def of(cls, base_url: str) -> RelyingParty:
        parts = urlsplit(base_url)
        return cls(f"{parts.scheme}://{parts.netloc}", parts.hostname or "")

    def creation_options(
        self, user_id: str, challenge: str, exclude: list[str] | None = None
    ) -> dict[str, Any]:
        """Options for a platform credential with user verification (a resident key if the
        phone can), ES256, no attestation; `exclude`: credential IDs the user already has."""
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.name,
            user_name=user_id,
            user_id=secrets.token_bytes(32),  # no personal data in the authenticator's handle
            user_display_name=f"Soft Token {user_id}",
            challenge=base64url_to_bytes(challenge),
            timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(
                authenticator_attachment=AuthenticatorAttachment.PLATFORM,
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in exclude or []
            ],
            supported_pub_key_algs=ES256,
        )
        return dict(options_to_json_dict(options))

    def registration(self, response: Any, challenge: str) -> NewCredential:
        """Check a registration response against the challenge this server gave."""
        if not isinstance(response, dict):
            raise _refused("the credential is missing")
        try:
            verified = verify_registration_response(
                credential=response,
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                require_user_verification=True,
                supported_pub_key_algs=ES256,
            )
            key = decoded_public_key_to_cryptography(
                decode_credential_public_key(verified.credential_public_key)
            )
        except MALFORMED as exc:
            raise _refused(str(exc)) from exc
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise _refused("the credential's key must be P-256 (ES256)")
        return NewCredential(
            bytes_to_base64url(verified.credential_id),
            bytes_to_base64url(verified.credential_public_key),
            key,
            verified.sign_count,
            verified.user_verified,
        )

    def assertion(
        self,
        response: Any,
        challenge: bytes,
        credential_id: str,
        public_key: str,
        sign_count: int,
    ) -> Assertion:
        """Check an assertion by the credential `credential_id` over `challenge`."""
        if not isinstance(response, dict) or response.get("id") != credential_id:
            raise forbidden(
                "unknown_credential",
                "this credential is not this device's",
            )
        try:
            verified = verify_authentication_response(
                credential=response,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origin,
                credential_public_key=base64url_to_bytes(public_key),
                credential_current_sign_count=sign_count,
                require_user_verification=True,
            )
        except MALFORMED as exc:
            raise _refused(str(exc)) from exc
        return Assertion(
            bytes_to_base64url(verified.credential_id),
            verified.new_sign_count,
            verified.user_verified,
            verified.credential_backed_up,
        )


# py_webauthn names the check that failed in its message: each gets its own reason and words
REASONS = (
    ("challenge", "challenge_mismatch", "the answer is for another request ({detail})"),
    ("origin", "origin_mismatch", "the answer was made for another site ({detail})"),
    ("rp id", "rp_id_mismatch", "the answer was made for another site ({detail})"),
    (
        "user verification",
        "user_not_verified",
        "the phone must verify you (face, fingerprint or screen lock) ({detail})",
    ),
    (
        "sign count",
        "sign_count_regression",
        "the key's signature counter went back: it may have been cloned ({detail})",
    ),
    ("signature", "signature_invalid", "the signature does not verify ({detail})"),
)


def _refused(detail: str) -> PushError:
    """A refusal that says which check failed (py_webauthn's reason is kept, never a secret;
    in the English text only)."""
    lowered = detail.lower()
    for words, code, msgid in REASONS:
        if words in lowered:
            return PushError(code, msgid, 400, detail=detail[:160])
    return bad_request(
        "webauthn_refused", "the WebAuthn check failed: {detail}", detail=detail[:200]
    )
