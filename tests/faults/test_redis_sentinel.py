"""Redis through Sentinel under a running IdP (issue #15, item 1): the master is killed, the
Sentinels promote the replica, and the same IdP (no restart) carries on: revoked tokens stay
refused, new tokens introspect, a challenge wakes the phone's long-poll again. While no master
answers, requests get the usual 503 (JSON for the APIs, the Thai/English page), never a 500.

A master, a replica and three Sentinels of the test's own, on free loopback ports."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from idp.app import create_app
from push_auth.authenticator.client import Authenticator
from tests import push_support, support
from tests.backends import ProductionServers, own_database, production, require_production
from tests.faults.throwaway import SENTINEL_SERVICE, throwaway_sentinels
from tests.live import free_port, serve

pytestmark = pytest.mark.timeout(120)

WOKEN_WITHIN = 4.0  # seconds; a waiter re-checks on its own every 5 s, so this is pub/sub


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _password_tokens(browser: httpx.Client, rp: support.RelyingParty, user: Any) -> Any:
    verifier, challenge = support.pkce()
    code = support.sign_in(browser, rp, user, challenge)["code"]
    tokens = support.exchange(browser, rp, code, verifier).json()
    browser.cookies.clear()
    return tokens


def _push_tokens(
    browser: httpx.Client, phone: Authenticator, rp: support.RelyingParty, user: Any
) -> tuple[float, Any]:
    """A sign-in approved on the phone, whose long-poll was waiting before the challenge
    existed; how long the wake-up took, and the tokens."""
    got: list[object] = []
    poller = threading.Thread(target=lambda: got.append(phone.pending(wait=20)))
    poller.start()
    time.sleep(0.5)  # the long-poll is listening
    verifier, challenge = support.pkce()
    started = time.monotonic()
    login_url, page = push_support.push_page(browser, rp, user, challenge)
    poller.join(timeout=25)
    woken = time.monotonic() - started
    assert got, "the long-poll did not return"
    assert got[0] is not None, "the long-poll returned no challenge"
    phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
    result = push_support.finish_push(browser, login_url, page, rp.redirect_uri)
    tokens = support.exchange(browser, rp, result["code"], verifier).json()
    browser.cookies.clear()
    return woken, tokens


def test_a_sentinel_failover_under_a_running_idp(
    production_servers: ProductionServers | str, tmp_path: Path
) -> None:
    servers = require_production(production_servers)
    began = time.monotonic()
    with (
        throwaway_sentinels(tmp_path / "redis") as cluster,
        own_database(production(servers), tmp_path) as backend,
    ):
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        sentinel_store = {
            "url": "memory://",  # the Sentinel form instead of a URL
            "sentinels": cluster.addresses,
            "sentinel_service": SENTINEL_SERVICE,
        }
        settings = support.make_settings(backend, tmp_path, issuer=issuer, store=sentinel_store)
        assert settings.store.kind == "sentinel"
        app = create_app(settings)
        with serve(app, port), httpx.Client(base_url=issuer, follow_redirects=False) as browser:
            context = app.state.ctx
            services = context.services
            user, rp = support.create_user(services), support.create_client(services)

            def active(token: str) -> bool:
                answer = browser.post("/introspect", auth=rp.basic, data={"token": token})
                assert answer.status_code == 200, answer.text
                return bool(answer.json()["active"])

            revoked = _password_tokens(browser, rp, user)
            live = _password_tokens(browser, rp, user)
            assert browser.post(
                "/revoke", auth=rp.basic, data={"token": revoked["access_token"]}
            ).is_success
            with redis.Redis(port=cluster.master.port) as master:
                assert master.wait(1, 5000) >= 1  # the replica has the revocation marker
            # The master dies before the revocation reaches the replica: the replica keeps the
            # "loaded" marker but not the revocation's (a writable replica's own writes are not
            # replicated, and nothing flows back to the master).
            marker = settings.store.key_prefix + "revoked-at:" + _jti(revoked["access_token"])
            with redis.Redis(port=cluster.replica.port) as replica:
                replica.config_set("replica-read-only", "no")
                assert replica.delete(marker) == 1
                replica.config_set("replica-read-only", "yes")
                assert replica.exists(settings.store.key_prefix + "revocations-loaded")
            assert not active(revoked["access_token"])
            assert active(live["access_token"])

            support.approve_registration(services, user.user_id)
            phone = push_support.activate(browser, user, tmp_path / "phone")
            browser.cookies.clear()
            woken, before = _push_tokens(browser, phone, rp, user)
            assert woken < WOKEN_WITHIN
            assert active(before["access_token"])

            cluster.master.kill()  # SIGKILL: the Sentinels need a second to notice
            killed = time.monotonic()
            api = browser.post("/introspect", auth=rp.basic, data={"token": live["access_token"]})
            assert api.status_code == 503, api.text
            assert api.headers["retry-after"]
            assert api.json()["error"] == "temporarily_unavailable"
            assert api.json()["request_id"] == api.headers["x-request-id"]
            page = browser.get("/authorize", params=support.authorize_params(rp, support.pkce()[1]))
            assert page.status_code == 503, page.text[:300]
            assert "ไม่พร้อมให้บริการชั่วคราว" in page.text
            assert page.headers["x-request-id"] in page.text
            assert browser.get("/readyz").status_code == 503

            promotion = cluster.wait_for_promotion()
            statuses: set[int] = set()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the first requests after the promotion
                answer = browser.post(
                    "/introspect", auth=rp.basic, data={"token": revoked["access_token"]}
                )
                statuses.add(answer.status_code)
                if answer.status_code == 200:
                    assert answer.json()["active"] is False  # never accepted, not even once
                    break
                time.sleep(0.1)
            assert statuses <= {200, 503}, statuses  # never a 500
            assert 200 in statuses
            recovered = time.monotonic() - killed

            # still revoked on the new master, which lacked its marker: loaded again from
            # PostgreSQL before any token was believed
            assert not active(revoked["access_token"])
            answer = browser.get("/userinfo", headers=_bearer(revoked["access_token"]))
            assert answer.status_code == 401, answer.text
            assert active(live["access_token"])
            assert active(before["access_token"])
            assert browser.get("/readyz").status_code == 200

            wakeup = context.push.wakeup
            deadline = time.monotonic() + 10
            while wakeup.subscriptions < 2 and time.monotonic() < deadline:
                time.sleep(0.1)  # the listener subscribes again on the new master
            assert wakeup.subscriptions >= 2
            woken, after = _push_tokens(browser, phone, rp, user)
            assert woken < WOKEN_WITHIN
            assert active(after["access_token"])
            assert browser.post(
                "/revoke", auth=rp.basic, data={"token": after["access_token"]}
            ).is_success
            assert not active(after["access_token"])
    print(
        f"\nSentinel failover: promoted after {promotion:.1f} s, first 200 after "
        f"{recovered:.1f} s from the kill; test {time.monotonic() - began:.1f} s"
    )
