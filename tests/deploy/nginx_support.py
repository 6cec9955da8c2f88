"""deploy/nginx/idp.conf.template filled in for a test, and a real nginx running it on loopback."""

from __future__ import annotations

import string
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.test_token_login import Pki, _tls
from tests.live import free_port

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "idp.conf.template"
PROXY_SOURCE = "127.0.0.3"  # nginx connects to the IdP processes from here

MAIN_CONF = """
worker_processes 1;
daemon off;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 128; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  include {tmp}/idp.conf;
}}
"""


def write_config(folder: Path, pki: Pki, port: int, upstreams: list[int]) -> Path:
    """The template with this test's addresses, included from a main nginx.conf; its path."""
    values = {
        "IDP_SERVER_NAME": "127.0.0.1",
        "IDP_LISTEN": f"127.0.0.1:{port}",
        "IDP_TLS_CERT": str(pki.server_cert),
        "IDP_TLS_KEY": str(pki.server_key),
        "IDP_TOKEN_CA": str(pki.ca),
        "IDP_UPSTREAM_1": f"127.0.0.1:{upstreams[0]}",
        "IDP_UPSTREAM_2": f"127.0.0.1:{upstreams[1]}",
        "IDP_PROXY_SOURCE": PROXY_SOURCE,
    }
    filled = string.Template(TEMPLATE.read_text()).safe_substitute(values)
    assert "${IDP_" not in filled, "a template variable the test does not fill"
    (folder / "idp.conf").write_text(filled)
    main = folder / "nginx.conf"
    main.write_text(MAIN_CONF.format(tmp=folder))
    return main


@contextmanager
def nginx(
    binary: str, folder: Path, pki: Pki, upstreams: list[int], port: int | None = None
) -> Iterator[str]:
    port = port or free_port()
    main = write_config(folder, pki, port, upstreams)
    process = subprocess.Popen(
        [binary, "-p", str(folder), "-c", str(main)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"https://127.0.0.1:{port}/healthz", verify=_tls(pki), timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            raise RuntimeError("nginx did not start: " + (folder / "error.log").read_text())
        if process.poll() is not None:
            raise RuntimeError("nginx stopped: " + (folder / "error.log").read_text())
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
