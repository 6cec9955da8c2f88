"""Signatures made by a child process: the event loop hands over the bytes to sign and awaits.

An ES256 signature made in place took the event loop about 60 µs per access token in the running
server (25-30 µs in a tight loop), a quarter of the token endpoint's time, while the machine's
other core sat 40 % idle. A child process, with its own interpreter and GIL, signs instead. The
requests of one event-loop iteration travel as one message over a pipe; while one batch is being
signed the next one gathers. A key reaches the child with the first job that needs it.

It is also the shape an HSM or a cloud KMS would have here: a signer that is awaited.

If the child cannot start or goes away, signing falls back to this process (logged once), so no
request fails because of it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from cryptography.hazmat.primitives import serialization

from idp.domain.compact_jws import PrivateKey, raw_signature

log = logging.getLogger(__name__)


class SignerGone(Exception):
    """The child process stopped answering."""


@dataclass
class _Job:
    kid: str
    alg: str
    key: PrivateKey
    data: bytes
    future: asyncio.Future[bytes]


class SignerProcess:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        self._known: set[str] = set()  # key IDs the child holds
        self._waiting: list[_Job] = []
        self._in_flight: list[_Job] = []
        self._sending = False

    @property
    def running(self) -> bool:
        return self._connection is not None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("forkserver")  # no threads copied by fork
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs,), name="idp-signer", daemon=True)
        try:
            await loop.run_in_executor(None, process.start)
        except Exception:  # no processes allowed, no forkserver: this process signs, as before
            log.exception("the signer process did not start; signing in this process")
            return
        finally:
            theirs.close()
        self._loop, self._process, self._connection = loop, process, ours
        self._known, self._waiting, self._in_flight, self._sending = set(), [], [], False
        loop.add_reader(ours.fileno(), self._on_answers)

    async def stop(self) -> None:
        process, connection = self._process, self._connection
        self._gone("stopped")
        if connection is not None:
            connection.close()  # the child reads the end of the pipe and exits
        if process is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, process.join, 5)
            if process.is_alive():
                process.kill()

    async def sign(self, kid: str, key: PrivateKey, alg: str, data: bytes) -> bytes:
        """The raw signature (as compact_jws.raw_signature makes it) of data."""
        if self._connection is None or self._loop is not asyncio.get_running_loop():
            return raw_signature(key, alg, data)
        future: asyncio.Future[bytes] = self._loop.create_future()
        self._waiting.append(_Job(kid, alg, key, data, future))
        if not self._sending:
            self._sending = True
            self._loop.call_soon(self._send_waiting)  # the rest of this iteration joins in
        try:
            return await future
        except SignerGone:
            return raw_signature(key, alg, data)

    def _send_waiting(self) -> None:
        batch, self._waiting = self._waiting, []
        if self._connection is None:
            self._fail(batch)
            return
        message: list[bytes] = []
        for job in batch:
            der = None
            if job.kid not in self._known:
                der = job.key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                self._known.add(job.kid)
            message += [job.kid.encode(), job.alg.encode(), der or b"", job.data]
        self._in_flight = batch
        try:
            self._connection.send_bytes(_pack(message))
        except OSError:
            self._gone("could not be written to")

    def _on_answers(self) -> None:
        assert self._connection is not None
        try:
            answers = _unpack(self._connection.recv_bytes())
        except (EOFError, OSError):
            self._gone("went away")
            return
        batch, self._in_flight = self._in_flight, []
        pairs = zip(answers[::2], answers[1::2], strict=True)
        for job, (ok, answer) in zip(batch, pairs, strict=True):
            if job.future.done():
                continue
            if ok == b"+":
                job.future.set_result(answer)
            else:
                job.future.set_exception(ValueError(answer.decode()))
        if self._waiting:
            self._send_waiting()
        else:
            self._sending = False

    def _gone(self, why: str) -> None:
        if self._connection is None:
            return
        if why != "stopped":  # also when a service manager stops the whole process group
            log.warning("the signer process %s; signing in this process from now on", why)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._connection.fileno())
        self._connection = None
        self._fail(self._in_flight + self._waiting)
        self._in_flight, self._waiting, self._sending = [], [], False

    @staticmethod
    def _fail(jobs: list[_Job]) -> None:
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(SignerGone())


def _serve(connection: Connection) -> None:
    """The child: sign each batch in order, answer with one message; stop at the pipe's end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server, which stops us
    keys: dict[str, Any] = {}
    while True:
        try:
            fields = _unpack(connection.recv_bytes())
        except (EOFError, OSError):
            return
        answers: list[bytes] = []
        for at in range(0, len(fields), 4):
            kid, alg, der, data = (
                fields[at].decode(),
                fields[at + 1].decode(),
                *fields[at + 2 : at + 4],
            )
            try:
                if der:
                    keys[kid] = serialization.load_der_private_key(der, password=None)
                answers += [b"+", raw_signature(keys[kid], alg, data)]
            except Exception as exc:  # answered as text: the parent raises it for that job
                answers += [b"-", f"{type(exc).__name__}: {exc}".encode()]
        connection.send_bytes(_pack(answers))


def _pack(fields: list[bytes]) -> bytes:
    """Fields as length-prefixed bytes: the only format the two processes speak."""
    return b"".join(len(field).to_bytes(4, "big") + field for field in fields)


def _unpack(message: bytes) -> list[bytes]:
    fields, at = [], 0
    while at < len(message):
        size = int.from_bytes(message[at : at + 4], "big")
        fields.append(message[at + 4 : at + 4 + size])
        at += 4 + size
    return fields
