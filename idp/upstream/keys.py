"""Deterministic P-256 keys derived from the master key (the same in every process)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from idp.domain.secrets import MasterKey

P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def derived_ec_key(seed: bytes) -> ECKey:
    scalar = int.from_bytes(seed, "big") % (P256_ORDER - 1) + 1
    private = ec.derive_private_key(scalar, ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ECKey.import_key(pem)


def public_jwks(key: ECKey) -> dict[str, Any]:
    return {
        "keys": [
            {**key.as_dict(private=False), "kid": key.thumbprint(), "alg": "ES256", "use": "sig"}
        ]
    }


def upstream_client_key(master: MasterKey) -> ECKey:
    """Our key towards the upstream (private_key_jwt), the same in every process."""
    return derived_ec_key(master.derive(b"upstream-client-key"))
