"""The signer process: concurrent signatures, keys sent once, and the fallback when it is gone."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from idp.domain import compact_jws
from idp.domain.signer_process import SignerProcess
from idp.oidc.tokens import UnsignedJwt

EC = ECKey.generate_key("P-256")
RSA = RSAKey.generate_key(2048)


async def _sign_many(signer: SignerProcess, count: int) -> list[str]:
    async def one(n: int) -> str:
        alg, kid, key = ("ES256", "ec-1", EC) if n % 2 else ("RS256", "rsa-1", RSA)
        data = compact_jws.signing_input({"n": n}, alg, kid, "JWT")
        assert key.private_key is not None
        signature = await signer.sign(kid, key.private_key, alg, data)
        return compact_jws.assemble(data, alg, signature)

    return await asyncio.gather(*(one(n) for n in range(count)))


def _check(tokens: list[str]) -> None:
    for n, token in enumerate(tokens):
        key, alg = (EC, "ES256") if n % 2 else (RSA, "RS256")
        assert jwt.decode(token, key, algorithms=[alg]).claims == {"n": n}


def test_concurrent_signatures_come_back_to_their_callers() -> None:
    async def run() -> list[str]:
        signer = SignerProcess()
        await signer.start()
        assert signer.running
        tokens = await _sign_many(signer, 200)  # many batches, both algorithms, keys sent once
        assert signer.running
        assert signer._known == {"ec-1", "rsa-1"}  # the keys went to the child, once each
        await signer.stop()
        assert not signer.running
        return tokens

    _check(asyncio.run(run()))


def test_signing_goes_on_in_process_when_the_child_dies(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> list[str]:
        signer = SignerProcess()
        await signer.start()
        assert signer._process is not None
        signer._process.kill()
        await asyncio.get_running_loop().run_in_executor(None, signer._process.join, 5)
        tokens = await _sign_many(signer, 20)
        assert not signer.running
        await signer.stop()
        return tokens

    with caplog.at_level(logging.WARNING):
        tokens = asyncio.run(run())
    _check(tokens)
    assert "signing in this process" in caplog.text


def test_a_signer_never_started_signs_in_process() -> None:
    _check(asyncio.run(_sign_many(SignerProcess(), 6)))


def test_an_unsigned_access_token_cannot_be_sent() -> None:
    with pytest.raises(TypeError):
        json.dumps({"access_token": UnsignedJwt({"sub": "x"}, "ES256", "at+jwt")})


def test_a_signer_that_cannot_start_leaves_signing_in_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_processes(self: object) -> None:
        raise OSError("no processes here")

    monkeypatch.setattr("multiprocessing.process.BaseProcess.start", no_processes)

    async def run() -> list[str]:
        signer = SignerProcess()
        await signer.start()
        assert not signer.running
        return await _sign_many(signer, 4)

    with caplog.at_level(logging.ERROR):
        _check(asyncio.run(run()))
    assert "did not start" in caplog.text
