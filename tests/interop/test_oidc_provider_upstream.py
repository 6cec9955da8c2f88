"""Registration proofing against a provider nobody here wrote: the npm package oidc-provider."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from idp.app import create_app
from idp.upstream.citizens import CITIZENS
from idp.upstream.keys import public_jwks
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve
from tests.registration_support import proof_link

HERE = Path(__file__).resolve().parent
CITIZEN = CITIZENS[0]


def _follow(client: httpx.Client, response: httpx.Response, stop: str) -> httpx.Response:
    for _ in range(20):
        if response.status_code not in (302, 303) or response.headers["location"].startswith(stop):
            return response
        response = client.get(urljoin(str(response.url), response.headers["location"]))
    raise AssertionError("too many redirects")


def _submit(client: httpx.Client, page: httpx.Response, **fields: str) -> httpx.Response:
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page.text, re.S)
    assert form, page.text[:500]
    data = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
    data.update(fields)
    return client.post(urljoin(str(page.url), form.group(1)), data=data)


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "private_key_jwt"])
def test_proofing_against_node_oidc_provider(
    backend: Backend, tmp_path: Path, auth_method: str
) -> None:
    if not (HERE / "node_modules" / "oidc-provider").exists():
        pytest.fail("oidc-provider is not installed: run `make test` (npm ci in tests/interop)")
    port, upstream_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    secret = "a-long-upstream-client-secret-for-tests"
    settings = support.make_settings(
        backend,
        tmp_path,
        issuer=base,
        upstream={
            "issuer": f"http://127.0.0.1:{upstream_port}",
            "client_secret": secret,
            "auth_method": auth_method,
        },
    )
    app = create_app(settings)
    # the upstream registers our key (its jwks_uri must be https, so by value here)
    jwks = (
        public_jwks(app.state.ctx.proofing.client_key)
        if auth_method != "client_secret_basic"
        else None
    )
    node = subprocess.Popen(
        [
            "node",
            str(HERE / "upstream.mjs"),
            json.dumps(
                {
                    "port": upstream_port,
                    "redirect_uri": base + "/register/proof/callback",
                    "client_id": settings.upstream.client_id,
                    "client_secret": secret,
                    "jwks": jwks,
                    "citizens": CITIZENS,
                }
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert node.stdout is not None
        assert node.stdout.readline().strip() == "ready"
        user = support.create_user(app.state.ctx.services, name_th=CITIZEN["name"])
        with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
            page = push_support.sign_in_to(browser, "/register", user)
            browser.post(
                "/register/identity",
                data={
                    "csrf_token": support.csrf_of(page.text),
                    "national_id": CITIZEN["pid"],
                    "consent": "yes",
                },
                files={"assignment_order": ("o.pdf", support.pdf_bytes(), "application/pdf")},
            )
            link = proof_link(browser.get("/register").text)
            with httpx.Client(follow_redirects=False) as phone:
                login = _follow(phone, phone.get(link), base)
                assert login.status_code == 200, login.text[:300]
                consent = _follow(
                    phone, _submit(phone, login, login=CITIZEN["pid"], password="any"), base
                )
                done = _follow(phone, _submit(phone, consent), base)
                assert done.headers["location"].startswith(base + "/register/proof/callback")
                result = phone.get(done.headers["location"])
            if result.status_code != 200:
                node.terminate()
                pytest.fail("proofing failed; upstream said: " + node.communicate(timeout=10)[1])
            assert browser.get("/register/proof/status").json() == {"status": "completed"}
    finally:
        node.terminate()
        node.wait(timeout=10)
