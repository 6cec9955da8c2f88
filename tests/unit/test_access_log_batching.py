"""The deployed access log (idp.web.access_log.BatchHandler): lines queued on the request path,
written in batches by a thread, all of them at shutdown; bounded, the dropped lines counted
and reported; the line still JSON with the request ID and no query string."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator

import pytest

from idp.web import access_log
from idp.web.access_log import BatchHandler


class Stdout(io.TextIOWrapper):
    """A text stream over bytes that counts the writes reaching its buffer."""

    def __init__(self) -> None:
        self.raw_bytes = io.BytesIO()
        super().__init__(self.raw_bytes, encoding="utf-8")
        self.writes = 0
        original = self.raw_bytes.write

        def counted(data: object) -> int:
            self.writes += 1
            return original(data)  # type: ignore[arg-type]

        self.raw_bytes.write = counted  # type: ignore[method-assign]

    def lines(self) -> list[bytes]:
        return self.raw_bytes.getvalue().splitlines()


@pytest.fixture
def stdout() -> Stdout:
    return Stdout()


@pytest.fixture
def deployed(stdout: Stdout) -> Iterator[BatchHandler]:
    """The "idp.access" logger as idp.logging_config sets it up, writing to `stdout`."""
    handler = BatchHandler(stdout, interval=60)  # no timed write during the test
    logger = logging.getLogger("idp.access")
    saved = logger.handlers[:], logger.propagate, logger.level
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    yield handler
    handler.close()
    logger.handlers, logger.propagate = saved[0], saved[1]
    logger.setLevel(saved[2])


def _scope(path: str, query: bytes) -> dict[str, object]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query,
        "client": ("192.0.2.1", 4000),
    }


def test_lines_wait_for_the_batch_and_are_written_in_one_write(
    deployed: BatchHandler, stdout: Stdout
) -> None:
    for number in range(3):
        scope = _scope(f"/p{number}", b"code=secret")
        access_log.log_request(scope, 200, time.perf_counter(), f"id{number}")
    assert stdout.lines() == []  # queued, nothing written on the request path
    deployed.flush()
    lines = [json.loads(line) for line in stdout.lines()]
    assert [line["request_id"] for line in lines] == ["id0", "id1", "id2"]
    assert (lines[0]["path"], lines[0]["status"], lines[0]["ip"]) == ("/p0", 200, "192.0.2.1")
    assert b"secret" not in stdout.raw_bytes.getvalue()  # never the query string
    assert stdout.writes == 1


def test_a_full_batch_wakes_the_writer(stdout: Stdout) -> None:
    handler = BatchHandler(stdout, batch=4, interval=60)
    try:
        for number in range(4):
            handler.put(b'{"n":%d}' % number)
        deadline = time.monotonic() + 5
        while len(stdout.lines()) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(stdout.lines()) == 4  # long before the 60 s interval
    finally:
        handler.close()


def test_closing_writes_every_queued_line_and_stops_the_thread(stdout: Stdout) -> None:
    handler = BatchHandler(stdout, interval=60)
    for number in range(1000):
        handler.put(b'{"n":%d}' % number)
    handler.close()  # what logging.shutdown does at exit
    assert len(stdout.lines()) == 1000
    assert not handler._thread.is_alive()


def test_a_full_queue_drops_and_counts_instead_of_blocking(
    stdout: Stdout, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="idp")
    handler = BatchHandler(stdout, capacity=2, interval=60)
    try:
        for number in range(5):
            handler.put(b'{"n":%d}' % number)
        assert handler.dropped == 3
        handler.flush()
        assert stdout.lines() == [b'{"n":0}', b'{"n":1}']
        assert [r.getMessage() for r in caplog.records if r.name == "idp"] == [
            "access log: 3 lines dropped (queue full)"
        ]
        handler.flush()  # reported once
        assert len([r for r in caplog.records if r.name == "idp"]) == 1
        handler.put(b'{"n":5}')  # room again
        handler.flush()
        assert stdout.lines()[-1] == b'{"n":5}'
    finally:
        handler.close()


def test_other_configurations_get_ordinary_records(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="idp.access")
    access_log.log_request(_scope("/healthz", b""), 204, time.perf_counter(), "abc")
    record = [r for r in caplog.records if r.name == "idp.access"][-1]
    assert json.loads(record.getMessage())["request_id"] == "abc"
