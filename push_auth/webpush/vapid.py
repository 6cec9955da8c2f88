"""The application server's VAPID key (RFC 8292): a P-256 key made once, sealed by the host and
kept in its key vault (the first process to store one wins), and the `vapid t=…, k=…` header
that signs a JWT for one push service's origin."""

from __future__ import annotations

import base64
import threading
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02  # type: ignore[import-untyped]

from push_auth.ports import KeyVault, RealTime, Sealer

VAULT_NAME = "webpush-vapid-key"
TOKEN_LIFETIME = 12 * 3600  # RFC 8292 §2: no more than 24 hours


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def origin_of(endpoint: str) -> str:
    """The JWT's audience: the push resource's origin (scheme, host and a non-default port)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


class VapidKeys:
    def __init__(self, vault: KeyVault, sealer: Sealer, contact: str, real_time: RealTime) -> None:
        self._vault = vault
        self._sealer = sealer
        self._contact = contact
        self._real_time = real_time
        self._lock = threading.Lock()
        self._key: ec.EllipticCurvePrivateKey | None = None

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        with self._lock:
            if self._key is None:
                self._key = self._load_or_make()
            return self._key

    def _load_or_make(self) -> ec.EllipticCurvePrivateKey:
        context = VAULT_NAME.encode()
        sealed = self._vault.load(VAULT_NAME)
        if sealed is None:
            fresh = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            sealed = self._vault.save_if_absent(VAULT_NAME, self._sealer.encrypt(fresh, context))
        key = serialization.load_pem_private_key(self._sealer.decrypt(sealed, context), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def application_server_key(self) -> str:
        """The public key, base64url, uncompressed point: `applicationServerKey` of
        `PushManager.subscribe()` in the web app."""
        public = self.private_key().public_key()
        return b64url(
            public.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def authorization(self, endpoint: str) -> str:
        """The `Authorization` header for a request to this endpoint's push service."""
        claims = {
            "aud": origin_of(endpoint),
            "exp": int(self._real_time()) + TOKEN_LIFETIME,
            "sub": self._contact,
        }
        vapid = Vapid02(self.private_key(), conf={"no-strict": True})
        header: str = vapid.sign(claims)["Authorization"]
        return header
