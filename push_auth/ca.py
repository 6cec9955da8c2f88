"""The internal certificate authority: device certificates valid two years.

The CA key and the key that signs challenges are P-256 keys generated once, sealed by the host
(its master key) and kept in the host's key vault. A device proves possession of its key by
signing its certificate signing request; the certificate names the user ID as subject and the
device ID as a URI subject alternative name.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from push_auth.errors import bad_request
from push_auth.ports import KeyVault, Sealer

CERT_VALIDITY = timedelta(days=730)  # the manual's two years; the host may set another
CA_VALIDITY = timedelta(days=3650)
DEVICE_URI_PREFIX = "urn:softtoken:device:"


@dataclass(frozen=True)
class Issued:
    certificate_pem: str
    public_key_pem: str
    serial: str
    not_before: datetime
    not_after: datetime


def _pem_private(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class CertificateAuthority:
    def __init__(self, vault: KeyVault, sealer: Sealer, name: str = "Soft Token Device CA") -> None:
        self._vault = vault
        self._sealer = sealer
        self._name = name
        self._lock = threading.Lock()
        self._ca_key: ec.EllipticCurvePrivateKey | None = None
        self._ca_cert: x509.Certificate | None = None
        self._challenge_key: ec.EllipticCurvePrivateKey | None = None

    def _key(self, name: str) -> ec.EllipticCurvePrivateKey:
        sealed = self._vault.load(name)
        if sealed is None:
            fresh = ec.generate_private_key(ec.SECP256R1())
            sealed = self._vault.save_if_absent(
                name, self._sealer.encrypt(_pem_private(fresh), name.encode())
            )
        key = serialization.load_pem_private_key(self._sealer.decrypt(sealed, name.encode()), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def _load(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        with self._lock:
            if self._ca_key is None or self._ca_cert is None:
                self._ca_key = self._key("ca-key")
                pem = self._vault.load("ca-cert")
                if pem is None:
                    pem = self._vault.save_if_absent("ca-cert", self._self_signed(self._ca_key))
                self._ca_cert = x509.load_pem_x509_certificate(pem)
            return self._ca_key, self._ca_cert

    def _self_signed(self, key: ec.EllipticCurvePrivateKey) -> bytes:
        now = datetime.now(UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self._name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    @property
    def certificate_pem(self) -> str:
        return self._load()[1].public_bytes(serialization.Encoding.PEM).decode()

    def challenge_key(self) -> ec.EllipticCurvePrivateKey:
        with self._lock:
            if self._challenge_key is None:
                self._challenge_key = self._key("challenge-key")
            return self._challenge_key

    def challenge_public_pem(self) -> str:
        return public_pem(self.challenge_key().public_key())

    def issue(
        self,
        csr_pem: str,
        user_id: str,
        device_id: str,
        now: datetime,
        validity: timedelta = CERT_VALIDITY,
    ) -> Issued:
        """Check the CSR (P-256, self-signed by its key) and issue the device certificate."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError as exc:
            raise bad_request(
                "invalid_csr", "คำขอใบรับรองไม่ถูกต้อง", "the CSR is not valid PEM"
            ) from exc
        if not csr.is_signature_valid:
            raise bad_request(
                "invalid_csr",
                "ลายมือชื่อของคำขอใบรับรองไม่ถูกต้อง",
                "the CSR's signature does not match its key",
            )
        key = csr.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise bad_request("invalid_csr", "ต้องใช้กุญแจ P-256", "the device key must be P-256")
        return self.issue_for_key(key, user_id, device_id, now, validity)

    def issue_for_key(
        self,
        key: ec.EllipticCurvePublicKey,
        user_id: str,
        device_id: str,
        now: datetime,
        validity: timedelta = CERT_VALIDITY,
    ) -> Issued:
        """The device certificate for a P-256 key whose possession was proven otherwise (a
        WebAuthn credential's attestation, for the web authenticator)."""
        ca_key, ca_cert = self._load()
        not_after = now + validity
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)]))
            .issuer_name(ca_cert.subject)
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.UniformResourceIdentifier(DEVICE_URI_PREFIX + device_id)]
                ),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage([x509.ObjectIdentifier("1.3.6.1.5.5.7.3.2")]), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        return Issued(
            cert.public_bytes(serialization.Encoding.PEM).decode(),
            public_pem(key),
            format(cert.serial_number, "x"),
            now,
            not_after,
        )
