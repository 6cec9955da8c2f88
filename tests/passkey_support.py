"""A software passkey authenticator for tests without a browser: an ES256 key, attestation
"none", and assertions built byte for byte as WebAuthn Level 3 describes (authenticatorData,
clientDataJSON, the signature over both), with knobs to get each wrong on purpose."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SoftPasskey:
    """One credential of one authenticator, made for `origin` (its RP ID is the host)."""

    origin: str
    rp_id: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    raw_id: bytes = field(default_factory=lambda: os.urandom(16))
    count: int = 0
    backup_eligible: bool = False

    @property
    def credential_id(self) -> str:
        return b64url(self.raw_id)

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _flags(self, uv: bool) -> int:
        return UP | (UV if uv else 0) | (BE | BS if self.backup_eligible else 0)

    def create(self, options_json: str, *, uv: bool = True, origin: str | None = None) -> str:
        """navigator.credentials.create's answer (JSON) to the server's options."""
        options = json.loads(options_json)
        client_data = json.dumps(
            {
                "type": "webauthn.create",
                "challenge": options["challenge"],
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()
        auth_data = (
            hashlib.sha256(options["rp"]["id"].encode()).digest()
            + bytes([self._flags(uv) | AT])
            + self.count.to_bytes(4, "big")
            + bytes(16)  # AAGUID: none given
            + len(self.raw_id).to_bytes(2, "big")
            + self.raw_id
            + self._cose()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": self.credential_id,
                "rawId": self.credential_id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
                "clientExtensionResults": {},
            }
        )

    def get(
        self,
        challenge: str,
        *,
        uv: bool = True,
        origin: str | None = None,
        rp_id: str | None = None,
        count: int | None = None,
        tamper: bool = False,
    ) -> str:
        """navigator.credentials.get's answer (JSON) for `challenge`; each knob makes one
        thing wrong: no user verification, another origin or RP ID, a counter given, the
        authenticator data changed after signing."""
        self.count = self.count + 1 if count is None else count
        client_data = json.dumps(
            {"type": "webauthn.get", "challenge": challenge, "origin": origin or self.origin}
        ).encode()
        auth_data = (
            hashlib.sha256((rp_id or self.rp_id).encode()).digest()
            + bytes([self._flags(uv)])
            + self.count.to_bytes(4, "big")
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        if tamper:  # e.g. a relay raising the counter after the authenticator signed
            auth_data = auth_data[:-4] + (self.count + 1000).to_bytes(4, "big")
        return json.dumps(
            {
                "id": self.credential_id,
                "rawId": self.credential_id,
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": None,
                },
                "clientExtensionResults": {},
            }
        )


def challenge_of(options_json: str) -> str:
    return str(json.loads(options_json)["challenge"])
