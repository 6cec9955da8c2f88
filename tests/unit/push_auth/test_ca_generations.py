"""The CA's generations (push_auth.ca): the newest CA issues, an older one still names its own
certificates, each challenge key stays reachable by the generation a device pinned, and only
an older generation can be retired."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from push_auth.ca import CA_KEY, CHALLENGE_KEY, CertificateAuthority, public_pem
from tests.unit.push_auth.push_doubles import MemoryVault, PlainSealer

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _issue(ca: CertificateAuthority, device: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return ca.issue_for_key(key, "T00000000000001", device, NOW).certificate_pem


def test_the_newest_ca_issues_and_the_older_still_names_its_certificates() -> None:
    vault = MemoryVault()
    ca = CertificateAuthority(vault, PlainSealer())
    first_ca, old_cert = ca.certificate_pem, _issue(ca, "old")
    made = ca.rotate_ca()
    new_cert = _issue(ca, "new")
    assert ca.certificate_pem != first_ca
    assert made.ca_id == made.generation
    assert ca.certificate_for(old_cert) == first_ca
    assert ca.certificate_for(new_cert) == ca.certificate_pem
    issuer = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    x509.load_pem_x509_certificate(new_cert.encode()).verify_directly_issued_by(issuer)
    other = CertificateAuthority(vault, PlainSealer())  # another process: the same newest CA
    assert other.certificate_pem == ca.certificate_pem
    states = [(e["kind"], e["state"]) for e in ca.describe()]
    assert states == [("ca", "trusted"), ("ca", "issuing"), ("challenge-key", "current")]


def test_each_device_keeps_the_challenge_key_it_pinned() -> None:
    ca = CertificateAuthority(MemoryVault(), PlainSealer())
    first, first_key = ca.current_challenge_key()
    assert first is None  # the first key keeps its plain vault name
    made = ca.rotate_challenge_key()
    assert ca.current_challenge_key()[0] == made
    assert public_pem(ca.challenge_key_of(None).public_key()) == public_pem(first_key.public_key())
    assert ca.challenge_public_pem() == public_pem(ca.challenge_key_of(made).public_key())


def test_only_an_older_generation_is_retired() -> None:
    vault = MemoryVault()
    ca = CertificateAuthority(vault, PlainSealer())
    old_ca = ca.describe()[0]["id"]
    ca.rotate_ca()
    new_ca = ca.describe()[1]["id"]
    with pytest.raises(ValueError, match="in use"):
        ca.retire("ca", str(new_ca))
    ca.retire("ca", str(old_ca))
    assert CA_KEY not in vault.blobs  # the first CA's key is gone, its certificate stays
    assert [e["state"] for e in ca.describe() if e["kind"] == "ca"] == ["retired", "issuing"]
    with pytest.raises(ValueError, match="already retired"):
        ca.retire("ca", str(old_ca))
    old_key = ca.describe()[-1]["id"]
    ca.rotate_challenge_key()
    ca.retire("challenge-key", str(old_key))
    assert CHALLENGE_KEY not in vault.blobs
    with pytest.raises(KeyError):
        ca.challenge_key_of(None)  # a device that pinned it must be activated again
    with pytest.raises(ValueError, match="no ca"):
        ca.retire("ca", "0" * 16)
