"""The authenticator's protocol side: activation, polling, answering and renewal over HTTP."""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from push_auth import protocol
from push_auth.authenticator.qr import parse_activation
from push_auth.authenticator.state import (
    AuthenticatorError,
    Home,
    State,
    check_new_pin,
    poll_key,
    seal_key,
)
from push_auth.errors import RelayedError
from push_auth.receipts import details_digest

DEFAULT_METADATA = {
    "platform": "cli",
    "model": "softtoken reference authenticator",
    "name": "softtoken",
    "app_version": "1.0",
    "biometrics": False,
}


def _csr(key: ec.EllipticCurvePrivateKey) -> str:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "softtoken")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class Authenticator:
    def __init__(self, home: Home, http: httpx.Client | None = None) -> None:
        self.home = home
        self.http = http or httpx.Client(timeout=35.0)

    # -- requests ------------------------------------------------------------------------
    def _signed(
        self,
        key: ec.EllipticCurvePrivateKey,
        kid: str | None,
        api: str,
        method: str,
        path: str,
        **claims: Any,
    ) -> str:
        body = {
            "aud": api,
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(18),
            "htm": method,
            "htu": urlsplit(api).path + path,
            **claims,
        }
        return protocol.sign(key, body, protocol.REQUEST_TYP, kid=kid)

    def _post(self, api: str, path: str, token: str) -> dict[str, Any]:
        response = self.http.post(
            api + path, content=token, headers={"Content-Type": "application/jose"}
        )
        return self._json(response)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            try:
                body = response.json()
                th, en = str(body.get("error_description_th")), str(body.get("error_description"))
                code = str(body.get("error"))
            except ValueError:
                th = en = response.text[:200]
                code = "http_error"
            raise RelayedError(code, th, en, response.status_code)
        return response.json() if response.content else {}

    # -- operations ----------------------------------------------------------------------
    def activate(self, qr_text: str, pin: str, metadata: dict[str, Any] | None = None) -> State:
        check_new_pin(pin)
        if self.home.exists():
            raise AuthenticatorError("already activated (`softtoken reset` first)")
        api, code = parse_activation(qr_text)
        device_key = ec.generate_private_key(ec.SECP256R1())
        polling = ec.generate_private_key(ec.SECP256R1())
        token = self._signed(
            device_key,
            None,
            api,
            "POST",
            "/activate",
            code=code,
            csr=_csr(device_key),
            poll_key=_public_pem(polling),
            device={**DEFAULT_METADATA, **(metadata or {})},
        )
        result = self._post(api, "/activate", token)
        state = State(
            api=api,
            device_id=result["device_id"],
            certificate=result["certificate"],
            ca_certificate=result["ca_certificate"],
            challenge_public_key=result["challenge_public_key"],
            not_after=result["not_after"],
            sealed_key=seal_key(device_key, pin),
            poll_key=polling.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
        )
        self.home.save(state)
        return state

    def pending(self, wait: float = 0) -> dict[str, Any] | None:
        """The waiting challenge's verified claims (long-polls up to `wait` seconds)."""
        state = self.home.load()
        path = "/challenge"
        token = self._signed(poll_key(state), state.device_id + "#poll", state.api, "GET", path)
        response = self.http.get(
            state.api + path,
            params={"wait": str(wait)},
            headers={"Authorization": "SoftToken " + token},
            timeout=wait + 10,
        )
        if response.status_code == 204:
            return None
        challenge = self._json(response)["challenge"]
        claims = protocol.verify(challenge, state.challenge_public_key, protocol.CHALLENGE_TYP)
        if claims.get("aud") != state.device_id or claims.get("exp", 0) <= time.time():
            raise AuthenticatorError("the challenge is not valid for this device")
        return claims

    def _answer(
        self, key: ec.EllipticCurvePrivateKey, kid: str, action: str, **extra: Any
    ) -> dict[str, Any]:
        state = self.home.load()
        challenge = self.pending(0)
        if challenge is None:
            raise AuthenticatorError("no pending challenge")
        path = f"/challenges/{challenge['cid']}"
        details = (challenge.get("context") or {}).get("authorization_details")
        if details and action == "approve":  # what was shown, hashed here (the receipt)
            extra["details_sha256"] = details_digest(details)
        token = self._signed(
            key, kid, state.api, "POST", path, cid=challenge["cid"], action=action, **extra
        )
        return self._post(state.api, path, token)

    def approve(self, pin: str, picture_ids: list[int] | None) -> dict[str, Any]:
        state = self.home.load()
        key = self.home.unlock(state, pin)
        return self._answer(
            key, state.device_id, "approve", pictures=picture_ids or [], amr=["pin"]
        )

    def deny(self, not_me: bool = False) -> dict[str, Any]:
        state = self.home.load()
        return self._answer(
            poll_key(state), state.device_id + "#poll", "not_me" if not_me else "deny"
        )

    def renew(self, pin: str) -> State:
        """Update Profile → Accept: a new key, its CSR signed by it, the request by the old key."""
        state = self.home.load()
        old_key = self.home.unlock(state, pin)
        new_key = ec.generate_private_key(ec.SECP256R1())
        token = self._signed(
            old_key, state.device_id, state.api, "POST", "/renew", csr=_csr(new_key)
        )
        result = self._post(state.api, "/renew", token)
        state.certificate = result["certificate"]
        state.not_after = result["not_after"]
        state.sealed_key = seal_key(new_key, pin)
        self.home.save(state)
        return state

    def status(self) -> dict[str, Any]:
        state = self.home.load()
        path = "/device"
        token = self._signed(poll_key(state), state.device_id + "#poll", state.api, "GET", path)
        response = self.http.get(state.api + path, headers={"Authorization": "SoftToken " + token})
        return {
            **self._json(response),
            "pin_failures": state.pin_failures,
            "locked": state.pin_failures >= 5,
        }
