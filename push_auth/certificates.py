"""Device certificates from the internal CA, valid from the lifecycle clock's now for the
deployment's term (activation and renewal both issue through here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from push_auth.ca import CertificateAuthority, Issued
from push_auth.errors import bad_request
from push_auth.ports import Clock


def csr_of(claims: dict[str, Any]) -> str:
    """The certificate signing request (PEM) a device request carries; refuse one without."""
    csr_pem = claims.get("csr")
    if not isinstance(csr_pem, str):
        raise bad_request("invalid_request", "csr is missing")
    return csr_pem


@dataclass(frozen=True, kw_only=True)
class DeviceCertificates:
    ca: CertificateAuthority
    clock: Clock
    validity: timedelta

    def issue(self, csr_pem: str, user_id: str, device_id: str) -> Issued:
        return self.ca.issue(csr_pem, user_id, device_id, self.clock.now(), self.validity)

    def issue_for_key(self, key: ec.EllipticCurvePublicKey, user_id: str, device_id: str) -> Issued:
        return self.ca.issue_for_key(key, user_id, device_id, self.clock.now(), self.validity)
