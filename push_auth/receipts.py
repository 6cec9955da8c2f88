"""Signed approval receipts: what lets a relying party, or an auditor years later, check that
this user's device approved exactly these authorization details (RFC 9396).

The details' canonical bytes are their JSON with sorted keys, no spaces, UTF-8; the device
signs their SHA-256 (hex, `details_sha256`) together with the challenge:

- the softtoken app: its approval is a JWS signed by the device key (ES256), whose claims
  carry `cid`, `action` "approve", `pictures` and `details_sha256`. The receipt is that JWS
  with `x5c`: the device certificate (its subject the user ID) and the internal CA's.
- the web authenticator: its WebAuthn assertion signs
  SHA-256("softtoken-approve-v1" 0x00 cid 0x00 "p1,p2,…" 0x00 details_sha256). The receipt
  gives the assertion's parts and the same `x5c` (the device certificate is issued for the
  credential's key).

docs/approval-receipts.md shows how to check both.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def canonical(details: Any) -> bytes:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def details_digest(details: Any) -> str:
    """SHA-256 of the canonical bytes, hex: what the device signs."""
    return hashlib.sha256(canonical(details)).hexdigest()


def x5c(*certificates_pem: str) -> list[str]:
    """RFC 7515 §4.1.6: base64 (not base64url) DER, the signer's certificate first."""
    return [
        base64.b64encode(
            x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
        ).decode()
        for pem in certificates_pem
    ]


def jws_receipt(token: str, device_certificate: str, ca_certificate: str) -> dict[str, Any]:
    return {"format": "jws", "jws": token, "x5c": x5c(device_certificate, ca_certificate)}


def webauthn_receipt(
    credential: dict[str, Any],
    challenge_id: str,
    pictures: list[int],
    details_sha256: str,
    device_certificate: str,
    ca_certificate: str,
) -> dict[str, Any]:
    response = credential.get("response") or {}
    return {
        "format": "webauthn",
        "challenge_id": challenge_id,
        "pictures": pictures,
        "details_sha256": details_sha256,
        "credential_id": credential.get("id"),
        "authenticator_data": response.get("authenticatorData"),
        "client_data_json": response.get("clientDataJSON"),
        "signature": response.get("signature"),
        "x5c": x5c(device_certificate, ca_certificate),
    }
