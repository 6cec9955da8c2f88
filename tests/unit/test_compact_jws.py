"""Our JWT signer against joserfc: every token it makes must verify there, and nothing else."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, RSAKey

from idp.domain import compact_jws

CLAIMS = {"iss": "http://localhost", "sub": "T05005000000201", "name": "สมชาย ใจดี", "exp": 9}


@pytest.mark.parametrize(
    ("alg", "key"),
    [("ES256", ECKey.generate_key("P-256")), ("RS256", RSAKey.generate_key(2048))],
)
def test_tokens_verify_with_joserfc(alg: str, key: ECKey | RSAKey) -> None:
    token = compact_jws.sign(CLAIMS, alg, "kid-1", "at+jwt", key.private_key)
    decoded = jwt.decode(token, key, algorithms=[alg])
    assert decoded.header == {"alg": alg, "kid": "kid-1", "typ": "at+jwt"}
    assert decoded.claims == CLAIMS


def test_a_changed_payload_does_not_verify() -> None:
    key = ECKey.generate_key("P-256")
    header, _payload, signature = compact_jws.sign(
        CLAIMS, "ES256", "k", "JWT", key.private_key
    ).split(".")
    forged = compact_jws.b64url(b'{"sub":"someone else"}').decode()
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged}.{signature}", key, algorithms=["ES256"])


def test_a_key_of_the_wrong_type_is_refused() -> None:
    key = RSAKey.generate_key(2048)
    with pytest.raises(ValueError, match="cannot sign ES256"):
        compact_jws.sign(CLAIMS, "ES256", "k", "JWT", key.private_key)
