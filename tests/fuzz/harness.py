"""The fuzzing driver: schemathesis generates each operation's requests from its OpenAPI
document, the app answers them in process (Starlette's TestClient, the suite's own app), and
schemathesis checks every answer against the document.

Hypothesis runs derandomized (a fixed seed) with a bounded number of examples per operation and
generation mode, so a run is repeatable and its length known. A test may adjust a generated
case before it is sent (`Prepare`): put a real record's ID in a path, sign a device request.
The case is changed in place, so a failure's "Reproduce with" shows what was sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
ADMIN_DOC = ROOT / "idp" / "admin_api" / "openapi.json"
DEVICE_DOC = ROOT / "push_auth" / "openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# the documents' other media types, sent as they are
schemathesis.serializer.alias(["text/csv", "application/jose"], "text/plain")
schemathesis.serializer.alias("application/pdf", "application/octet-stream")

Prepare = Callable[[Any, st.DataObject], None]


@dataclass
class Tally:
    """How many requests a run sent, by operation and mode, and by status."""

    sent: dict[str, dict[int, int]] = field(default_factory=dict)

    def add(self, label: str, status: int) -> None:
        by_status = self.sent.setdefault(label, {})
        by_status[status] = by_status.get(status, 0) + 1

    def total(self) -> int:
        return sum(sum(s.values()) for s in self.sent.values())


def read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def operations(document: dict[str, Any]) -> list[Any]:
    results: list[Any] = list(schemathesis.openapi.from_dict(document).get_all_operations())
    return [result.ok() for result in results]  # an operation that does not load fails here


def label(operation: Any) -> str:
    return f"{operation.method.upper()} {operation.path}"


def runs(operations: list[Any], modes: list[GenerationMode]) -> list[Any]:
    """(operation, mode) pairs; an operation without inputs has no invalid requests to make."""
    return [
        pytest_param(operation, mode)
        for operation in operations
        for mode in modes
        if mode == GenerationMode.POSITIVE or _has_inputs(operation)
    ]


def pytest_param(operation: Any, mode: GenerationMode) -> Any:
    import pytest

    return pytest.param(operation, mode, id=f"{label(operation)}-{mode.value}")


def _has_inputs(operation: Any) -> bool:
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


def fuzz(
    client: TestClient,
    prefix: str,
    operation: Any,
    mode: GenerationMode,
    examples: int,
    prepare: Prepare,
    tally: Tally,
) -> None:
    """Send `examples` generated requests for one operation; fail on the first bad answer."""

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,  # the seed is fixed: the same requests every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        prepare(case, data)
        response = send(client, prefix, case)
        tally.add(f"{label(operation)} [{mode.value}]", response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()


def path_of(case: Any) -> str:
    path = str(case.path)
    for name, value in (case.path_parameters or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


def send(client: TestClient, prefix: str, case: Any) -> Any:
    headers = {k: str(v) for k, v in (case.headers or {}).items()}
    content = None
    if case.body is not None and not _is_unset(case.body):
        content = _serialise(case.body, case.media_type)
        headers.setdefault("content-type", str(case.media_type))
    return client.request(
        case.method.upper(),
        prefix + path_of(case),
        params={k: _query_value(v) for k, v in (case.query or {}).items()},
        headers=headers,
        content=content,
    )


def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "NotSet"


def _serialise(body: Any, media_type: str | None) -> bytes:
    if isinstance(body, bytes):
        return body
    if media_type == "application/json":
        return json.dumps(body).encode()
    return (body if isinstance(body, str) else json.dumps(body)).encode("utf-8", "surrogatepass")


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_query_value(v) for v in value]
    return value if isinstance(value, str) else json.dumps(value)
