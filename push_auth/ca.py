"""The internal certificate authority: device certificates valid two years.

The CA key and the key that signs challenges are P-256 keys, sealed by the host (its master
key) and kept in the host's key vault: the first of each is made when first needed, later
generations by a rotation (`rotate_ca`, `rotate_challenge_key`; the host's `idp device-ca`),
and an older generation is retired by deleting its key. A device proves possession of its key by
signing its certificate signing request; the certificate names the user ID as subject and the
device ID as a URI subject alternative name.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
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


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def public_pem(key: ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


CA_KEY, CA_CERT, CHALLENGE_KEY = "ca-key", "ca-cert", "challenge-key"
REFRESH_SECONDS = 60.0  # how soon every process sees a rotation made by another


def key_id(key: ec.EllipticCurvePublicKey) -> str:
    """A public key's ID: 16 hex digits of the SHA-256 of its SubjectPublicKeyInfo."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def vault_name(base: str, generation: str | None) -> str:
    """The vault entry of one generation: the first keeps the plain name (`ca-key`), a later
    one adds its ID (`ca-key:0123456789abcdef`)."""
    return base if generation is None else f"{base}:{generation}"


def generation_of(name: str) -> str | None:
    return name.partition(":")[2] or None


@dataclass(frozen=True)
class DeviceCa:
    """One CA generation: its certificate, and whether its key is still kept (retired: not)."""

    generation: str | None  # None: the first CA (vault `ca-key`, `ca-cert`)
    certificate: x509.Certificate
    has_key: bool

    @property
    def ca_id(self) -> str:
        public = self.certificate.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        return key_id(public)


@dataclass(frozen=True)
class _State:
    cas: list[DeviceCa]  # oldest first; the newest with a key issues
    challenge_keys: list[str | None]  # generations, oldest first; the newest signs new pins

    @property
    def issuing(self) -> DeviceCa:
        return [ca for ca in self.cas if ca.has_key][-1]


class CertificateAuthority:
    """The device CAs and challenge-signing keys, by generation. The newest CA issues every
    certificate; an older CA's certificates stay valid (nothing checks a device against its CA
    but receipts, which name the issuing CA) until they expire or move to the new CA at their
    renewal. Each device keeps the challenge key it pinned at activation; new activations pin
    the newest. A rotation is seen by every process within REFRESH_SECONDS."""

    def __init__(
        self,
        vault: KeyVault,
        sealer: Sealer,
        name: str = "Soft Token Device CA",
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._vault = vault
        self._sealer = sealer
        self._name = name
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._state: _State | None = None
        self._loaded_at = 0.0
        self._keys: dict[str, ec.EllipticCurvePrivateKey] = {}  # vault name -> opened key

    # -- loading -----------------------------------------------------------------------------
    def _open(self, name: str, make: bool = False) -> ec.EllipticCurvePrivateKey:
        """The sealed key of this vault entry (made first when `make` and absent)."""
        if name in self._keys:
            return self._keys[name]
        sealed = self._vault.load(name)
        if sealed is None:
            if not make:
                raise KeyError(name)
            fresh = ec.generate_private_key(ec.SECP256R1())
            sealed = self._vault.save_if_absent(
                name, self._sealer.encrypt(_pem_private(fresh), name.encode())
            )
        key = serialization.load_pem_private_key(self._sealer.decrypt(sealed, name.encode()), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self._keys[name] = key
        return key

    def _current(self) -> _State:
        with self._lock:
            if self._state is None or time.monotonic() - self._loaded_at > self._refresh:
                self._state = self._read()
                self._loaded_at = time.monotonic()
            return self._state

    def reload(self) -> None:
        with self._lock:
            self._state = None

    def _read(self) -> _State:
        certs = self._vault.names(CA_CERT)
        if not certs:  # the first CA, made by whichever process needs it first
            key = self._open(CA_KEY, make=True)
            self._vault.save_if_absent(CA_CERT, self._self_signed(key, self._name))
            certs = [CA_CERT]
        keys = set(self._vault.names(CA_KEY))
        cas = []
        for name in certs:
            pem = self._vault.load(name)
            if pem is not None:
                generation = generation_of(name)
                cert = x509.load_pem_x509_certificate(pem)
                cas.append(DeviceCa(generation, cert, vault_name(CA_KEY, generation) in keys))
        if not any(ca.has_key for ca in cas):
            raise RuntimeError("no device CA has its key: every CA was retired")
        challenge = self._vault.names(CHALLENGE_KEY)
        if not challenge:
            self._open(CHALLENGE_KEY, make=True)
            challenge = [CHALLENGE_KEY]
        return _State(cas, [generation_of(name) for name in challenge])

    def _self_signed(self, key: ec.EllipticCurvePrivateKey, common_name: str) -> bytes:
        now = datetime.now(UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
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

    # -- what the service uses ---------------------------------------------------------------
    @property
    def certificate_pem(self) -> str:
        """The issuing CA's certificate (what a new activation is given)."""
        return _pem(self._current().issuing.certificate)

    def certificate_for(self, device_certificate_pem: str) -> str:
        """The certificate of the CA that issued this device certificate (a receipt's chain),
        found by its signature; the issuing CA's when none of ours did."""
        state = self._current()
        device = x509.load_pem_x509_certificate(device_certificate_pem.encode())
        for ca in reversed(state.cas):
            if ca.certificate.subject == device.issuer:
                try:
                    device.verify_directly_issued_by(ca.certificate)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return _pem(ca.certificate)
        return _pem(state.issuing.certificate)

    def current_challenge_key(self) -> tuple[str | None, ec.EllipticCurvePrivateKey]:
        """The generation a new activation pins (a device's `challenge_key_id`) and its key."""
        generation = self._current().challenge_keys[-1]
        return generation, self._open(vault_name(CHALLENGE_KEY, generation))

    def challenge_key(self) -> ec.EllipticCurvePrivateKey:
        """The newest challenge key (what a new activation pins)."""
        return self.current_challenge_key()[1]

    def challenge_key_of(self, generation: str | None) -> ec.EllipticCurvePrivateKey:
        """The challenge key a device pinned; KeyError when it was retired."""
        return self._open(vault_name(CHALLENGE_KEY, generation))

    def challenge_public_pem(self) -> str:
        return public_pem(self.current_challenge_key()[1].public_key())

    # -- rotation (the host's command line) ---------------------------------------------------
    def rotate_ca(self) -> DeviceCa:
        """A new CA that issues every certificate from now on; the older ones stay trusted."""
        key = ec.generate_private_key(ec.SECP256R1())
        generation = key_id(key.public_key())
        name = vault_name(CA_KEY, generation)
        self._vault.save_if_absent(name, self._sealer.encrypt(_pem_private(key), name.encode()))
        common_name = f"{self._name} {generation}"  # distinct: receipts name their issuer
        self._vault.save_if_absent(
            vault_name(CA_CERT, generation), self._self_signed(key, common_name)
        )
        self.reload()
        return self._current().issuing

    def rotate_challenge_key(self) -> str:
        """A new challenge key for the devices activated from now on; its ID."""
        key = ec.generate_private_key(ec.SECP256R1())
        generation = key_id(key.public_key())
        name = vault_name(CHALLENGE_KEY, generation)
        self._vault.save_if_absent(name, self._sealer.encrypt(_pem_private(key), name.encode()))
        self.reload()
        return generation

    def describe(self) -> list[dict[str, object]]:
        """Every CA and challenge key, oldest first: ID, state, validity (never key material).
        A CA: `issuing`, `trusted` (its certificates still count) or `retired` (its key is
        gone); a challenge key: `current` (new activations pin it) or `pinned` (by older ones)."""
        state = self._current()
        issuing = state.issuing
        listed: list[dict[str, object]] = [
            {
                "kind": "ca",
                "id": ca.ca_id,
                "generation": ca.generation,
                "state": "issuing" if ca is issuing else ("trusted" if ca.has_key else "retired"),
                "subject": ca.certificate.subject.rfc4514_string(),
                "not_after": ca.certificate.not_valid_after_utc.isoformat(),
                "certificate_pem": _pem(ca.certificate),  # public: what verifiers of receipts trust
            }
            for ca in state.cas
        ]
        for generation in state.challenge_keys:
            listed.append(
                {
                    "kind": "challenge-key",
                    "id": key_id(self.challenge_key_of(generation).public_key()),
                    "generation": generation,
                    "state": "current" if generation == state.challenge_keys[-1] else "pinned",
                }
            )
        return listed

    def retire(self, kind: str, ident: str) -> str | None:
        """Forget the key of an older CA or challenge key named by its ID (never the one in
        use for new devices): a retired CA issues nothing and a retired challenge key signs
        nothing again. The host first checks that no current device still depends on it.
        Returns the generation retired; ValueError when there is no such older one."""
        for entry in self.describe():
            if entry["kind"] == kind and entry["id"] == ident:
                if entry["state"] in ("issuing", "current"):
                    raise ValueError(f"{kind} {ident} is the one in use: rotate first")
                if entry["state"] == "retired":
                    raise ValueError(f"{kind} {ident} is already retired")
                generation = entry["generation"]
                assert generation is None or isinstance(generation, str)
                base = CA_KEY if kind == "ca" else CHALLENGE_KEY
                name = vault_name(base, generation)
                self._vault.delete(name)
                self._keys.pop(name, None)
                self.reload()
                return generation
        raise ValueError(f"no {kind} {ident}")

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
            raise bad_request("invalid_csr", "the CSR is not valid PEM") from exc
        if not csr.is_signature_valid:
            raise bad_request(
                "invalid_csr",
                "the CSR's signature does not match its key",
            )
        key = csr.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise bad_request("invalid_csr", "the device key must be P-256")
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
        issuing = self._current().issuing
        ca_cert = issuing.certificate
        ca_key = self._open(vault_name(CA_KEY, issuing.generation))
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
