"""A push service on loopback for tests: RFC 8030's receiving side, written from the RFCs.

`subscribe()` does what a browser and its push service do together: a P-256 key pair and a
16-byte auth secret kept here (the browser's), and an endpoint on this service. A POST to the
endpoint is accepted only with a valid VAPID header (RFC 8292: `vapid t=<ES256 JWT>, k=<key>`,
the JWT's signature checked with k, `aud` this service's origin, `exp` in the future and no more
than 24 h away, a `sub`; k equal to the subscription's applicationServerKey when one was given),
a TTL and `Content-Encoding: aes128gcm`; its body is then decrypted (RFC 8291) with the
subscription's private key. A test may script the next answers of an endpoint (410, 429, 500).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

MAX_EXP = 24 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


@dataclass
class BrowserSubscription:
    """What the browser holds: the endpoint and its private key and auth secret."""

    sid: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str | None

    @property
    def p256dh(self) -> str:
        return b64url(_point(self.private_key.public_key()))

    @property
    def auth_b64(self) -> str:
        return b64url(self.auth)

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 §3.4 and RFC 8188 §2: one record, keyid = the sender's public key."""
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender = body[21 : 21 + idlen]
        ciphertext = body[21 + idlen :]
        if idlen != 65 or len(ciphertext) > rs:
            raise ValueError("not one record with a P-256 key ID")
        as_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
        ecdh = self.private_key.exchange(ec.ECDH(), as_public)
        info = b"WebPush: info\x00" + _point(self.private_key.public_key()) + sender
        ikm = _hkdf(self.auth, ecdh, info, 32)
        cek = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None).rstrip(b"\x00")
        if not padded.endswith(b"\x02"):
            raise ValueError("no last record's delimiter")
        return padded[:-1]


@dataclass
class Received:
    sid: str
    headers: dict[str, str]
    claims: dict[str, Any]
    plaintext: bytes

    def json(self) -> Any:
        return json.loads(self.plaintext)


@dataclass
class LoopbackPushService:
    """Serve `app` (tests.live.serve), then set `origin` to the URL it is served at."""

    origin: str = ""
    received: list[Received] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    refused: list[tuple[int, str]] = field(default_factory=list)
    _subscriptions: dict[str, BrowserSubscription] = field(default_factory=dict)
    _scripted: dict[str, list[int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/push/{sid}", self._push, methods=["POST"])])

    def subscribe(self, application_server_key: str | None = None) -> BrowserSubscription:
        sid = b64url(os.urandom(12))
        subscription = BrowserSubscription(
            sid=sid,
            endpoint=f"{self.origin}/push/{sid}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
            application_server_key=application_server_key,
        )
        self._subscriptions[sid] = subscription
        return subscription

    def script(self, subscription: BrowserSubscription, *statuses: int) -> None:
        """The next answers to this endpoint, before it accepts again."""
        self._scripted[subscription.sid] = list(statuses)

    def wait(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)

    async def _push(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        with self._lock:
            self.attempts[sid] = self.attempts.get(sid, 0) + 1
            scripted = self._scripted.get(sid)
            status = scripted.pop(0) if scripted else None
        subscription = self._subscriptions.get(sid)
        if subscription is None:
            return Response(status_code=404)
        if status is not None:
            return Response(status_code=status)
        body = await request.body()
        refusal = self._check(request, subscription)
        if isinstance(refusal, tuple):
            self.refused.append(refusal)
            return Response(refusal[1], status_code=refusal[0])
        try:
            plaintext = subscription.decrypt(body)
        except (InvalidTag, ValueError) as exc:
            self.refused.append((400, f"decrypt: {exc!r}"))
            return Response(status_code=400)
        self.received.append(Received(sid, dict(request.headers), refusal, plaintext))
        return Response(status_code=201, headers={"Location": f"{self.origin}/message/{sid}"})

    def _check(
        self, request: Request, subscription: BrowserSubscription
    ) -> dict[str, Any] | tuple[int, str]:
        """The VAPID claims, or the status and reason of a refusal."""
        if request.headers.get("content-encoding") != "aes128gcm":
            return 415, "content-encoding"
        if not request.headers.get("ttl", "").isdigit():
            return 400, "ttl"
        scheme, _, params = request.headers.get("authorization", "").partition(" ")
        fields = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        if scheme.lower() != "vapid" or "t" not in fields or "k" not in fields:
            return 401, "no vapid"
        try:
            point = unb64url(fields["k"])
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
            pem = public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            token = jwt.decode(fields["t"], ECKey.import_key(pem), algorithms=["ES256"])
        except (JoseError, ValueError) as exc:
            return 401, f"signature: {exc}"
        claims = dict(token.claims)
        if subscription.application_server_key not in (None, fields["k"]):
            return 403, "not the subscription's applicationServerKey"
        if claims.get("aud") != self.origin:
            return 401, "aud"
        exp, now = claims.get("exp"), time.time()
        if not isinstance(exp, int) or exp <= now or exp > now + MAX_EXP:
            return 401, "exp"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            return 401, "sub"
        return claims
