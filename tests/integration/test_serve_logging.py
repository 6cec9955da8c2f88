"""`idp serve` (the Docker image's command): one JSON access-log line per request, and no query
string anywhere in its output, since query strings carry authorization and activation codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests import support
from tests.live import free_port

SECRET = "code-that-must-not-be-logged-7f3a"


def test_idp_serve_logs_requests_without_query_strings(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "IDP_SERVER__ISSUER": f"http://127.0.0.1:{port}",
        "IDP_SERVER__PORT": str(port),
        "IDP_SERVER__VAR_DIR": str(tmp_path),
        "IDP_DATABASE__URL": f"sqlite:///{tmp_path / 'idp.sqlite3'}",
        "IDP_STORE__URL": "memory://",
        "IDP_SECURITY__MASTER_KEY": support.MASTER_KEY,
        "IDP_JOBS__ENABLED": "false",
    }
    idp = Path(sys.executable).with_name("idp")
    process = subprocess.Popen(
        [str(idp), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "idp serve did not start"
                assert process.poll() is None, process.communicate()
                time.sleep(0.2)
        callback = f"http://127.0.0.1:{port}/register/proof/callback?code={SECRET}&state=x"
        assert httpx.get(callback).status_code < 500
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert SECRET not in out + err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert {"method": "GET", "path": "/register/proof/callback"}.items() <= next(
        line for line in lines if line["path"] == "/register/proof/callback"
    ).items()
