"""The authenticator's state folder: certificate, keys, PIN protection and lockout.

The device key (the one in the certificate, which approves and renews) is encrypted with
AES-256-GCM under a key derived from the 6-digit PIN with scrypt (NIST SP 800-63B-4 §3.2.10).
Five wrong PINs lock the authenticator until it is reset (the manual's "locked" case). The
polling key, which only reads challenges and denies, is kept unencrypted (mode 0600).
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from push_auth.errors import both

MAX_PIN_FAILURES = 5
PIN = re.compile(r"^[0-9]{6}$")
BLOCKED_PINS = frozenset(
    {f"{d}" * 6 for d in "0123456789"}
    | {
        "123456",
        "654321",
        "012345",
        "543210",
        "123123",
        "112233",
        "121212",
        "696969",
        "456789",
        "987654",
        "102030",
        "010203",
        "147258",
        "159753",
        "789456",
        "111222",
    }
)


class AuthenticatorError(Exception):
    """A refusal to show the user: a msgid of push_auth's catalogs and its values, shown
    "Thai / English"."""

    def __init__(self, msgid: str, /, **values: object) -> None:
        self.msgid = msgid
        self.values = values
        super().__init__(both(msgid, **values))


def check_new_pin(pin: str) -> None:
    if not PIN.match(pin):
        raise AuthenticatorError("the PIN must be 6 digits")
    if pin in BLOCKED_PINS:
        raise AuthenticatorError("this PIN is too easy to guess")


def _kdf(pin: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(pin.encode())


def seal_key(key: ec.EllipticCurvePrivateKey, pin: str) -> dict[str, str]:
    salt, nonce = os.urandom(16), os.urandom(12)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sealed = AESGCM(_kdf(pin, salt)).encrypt(nonce, der, b"softtoken-device-key")
    return {
        k: base64.b64encode(v).decode()
        for k, v in {"salt": salt, "nonce": nonce, "ciphertext": sealed}.items()
    }


def _open_key(sealed: dict[str, str], pin: str) -> ec.EllipticCurvePrivateKey:
    raw = {k: base64.b64decode(v) for k, v in sealed.items()}
    der = AESGCM(_kdf(pin, raw["salt"])).decrypt(
        raw["nonce"], raw["ciphertext"], b"softtoken-device-key"
    )
    key = serialization.load_der_private_key(der, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


@dataclass
class State:
    api: str
    device_id: str
    certificate: str
    ca_certificate: str
    challenge_public_key: str
    not_after: int
    sealed_key: dict[str, str]
    poll_key: str
    pin_failures: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Home:
    """The folder that holds one authenticator's state (`--home`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path / "state.json"

    def exists(self) -> bool:
        return self.file.exists()

    def load(self) -> State:
        if not self.exists():
            raise AuthenticatorError("not activated: run `softtoken activate`")
        return State(**json.loads(self.file.read_text()))

    def save(self, state: State) -> None:
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(state), handle, indent=1)
        tmp.replace(self.file)

    def reset(self) -> None:
        self.file.unlink(missing_ok=True)

    def unlock(self, state: State, pin: str) -> ec.EllipticCurvePrivateKey:
        """The device key, or a refusal that counts towards the lock."""
        if state.pin_failures >= MAX_PIN_FAILURES:
            raise AuthenticatorError("the authenticator is locked: reset it (`softtoken reset`)")
        try:
            key = _open_key(state.sealed_key, pin)
        except InvalidTag:
            state.pin_failures += 1
            self.save(state)
            left = MAX_PIN_FAILURES - state.pin_failures
            raise AuthenticatorError("wrong PIN ({left} tries left)", left=left) from None
        if state.pin_failures:
            state.pin_failures = 0
            self.save(state)
        return key


def poll_key(state: State) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(state.poll_key.encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key
