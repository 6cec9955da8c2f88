"""A relying party that accepts only pushed requests (PAR, or the FAPI 2.0 profile) sends a
user without Soft Token: the refusal's detour to registration and activation ends with
"Continue" (GET /continue), which takes the request up again as a new pushed request, so the
user lands back in the sign-in instead of a refused plain /authorize."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from idp.app import create_app
from idp.domain.acr import ACR_PUSH
from idp.domain.client_protocol import ProtocolOptions
from tests import push_support, support
from tests.backends import Backend
from tests.live import free_port, serve


def test_continue_after_the_detour_pushes_the_request_anew(
    backend: Backend, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=base))
    services = app.state.ctx.services
    user = support.create_user(services)
    support.approve_registration(services, user.user_id)  # approved, no phone yet
    rp = support.create_client(
        services, protocol=ProtocolOptions(require_pushed_authorization_requests=True)
    )
    essential = f'{{"id_token": {{"acr": {{"essential": true, "values": ["{ACR_PUSH}"]}}}}}}'
    params = support.authorize_params(rp, support.pkce()[1], claims=essential)
    with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as browser:
        pushed = browser.post("/par", data=params, auth=rp.basic).json()
        start = {"client_id": rp.client_id, "request_uri": pushed["request_uri"]}
        login = browser.get("/authorize", params=start).headers["location"]
        done = support.submit_login(browser, login, user.user_id, user.password)
        refused = browser.get(done.headers["location"])
        for _ in range(3):
            if refused.status_code != 303:
                break
            refused = browser.get(refused.headers["location"])
        assert refused.status_code == 403  # a phone is needed: the detour
        # approved, so the next step offered is activation, carrying the parked request
        detour = re.search(r'href="(/activate\?next=[^"]+)"', refused.text)
        assert detour
        assert browser.get(detour.group(1).replace("&amp;", "&")).status_code == 200
        push_support.activate(browser, user, tmp_path / "phone")
        assert services.store.get("reg-continue:" + user.user_id), "the detour was not adopted"
        activated = browser.get("/activate")
        assert 'href="/continue"' in activated.text
        back = browser.get("/continue")
        assert back.status_code == 303
        again = support.query_of(back.headers["location"])
        assert set(again) == {"client_id", "request_uri"}  # pushed anew, not a plain request
        resumed = browser.get(back.headers["location"])
        assert resumed.status_code in (302, 303)
        assert resumed.headers["location"].startswith("/login/")  # the sign-in goes on
