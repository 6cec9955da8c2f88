"""Push latency: from the accepted password to the device's long-poll returning the challenge,
and the server time to verify a signed approval. PostgreSQL + Redis, one uvicorn worker.

    .venv/bin/python bench/push_latency.py [--rounds 200]

Needs SOFTTOKEN_TEST_POSTGRES_URL and SOFTTOKEN_TEST_REDIS_URL (as the tests); makes and removes
its own database and key prefix.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.oidc_endpoints import start, uvicorn_args  # noqa: E402
from tests import push_support, support  # noqa: E402

PORT = 8792


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, values_ms: list[float], seconds: float) -> None:
    print(
        f"{name:<58} n={len(values_ms):<5} {len(values_ms) / seconds:8.1f}/s  "
        f"p50 {percentile(values_ms, 0.5):7.2f} ms  p99 {percentile(values_ms, 0.99):7.2f} ms  "
        f"max {max(values_ms):7.2f} ms"
    )


def end_to_end(base: str, rounds: int, folder: Path) -> list[float]:
    from idp.services import build_services
    from idp.settings import load_settings

    services = build_services(load_settings())
    user, rp = support.create_user(services), support.create_client(services)
    support.approve_registration(services, user.user_id)
    services.close()
    latencies = []
    with httpx.Client(base_url=base, follow_redirects=False) as browser:
        phone = push_support.activate(browser, user, folder / "phone")
        for _ in range(rounds):
            browser.cookies.clear()
            response = browser.get(
                "/authorize", params=support.authorize_params(rp, support.pkce()[1])
            )
            login_url = response.headers["location"]
            page = browser.get(login_url)
            got: list[float] = []
            poller = threading.Thread(
                target=lambda got=got: (phone.pending(wait=10), got.append(time.perf_counter()))
            )
            poller.start()
            time.sleep(0.05)  # the phone is waiting before the user types the password
            done = browser.post(
                login_url,
                data={
                    "username": user.user_id,
                    "password": user.password,
                    "csrf_token": support.csrf_of(page.text),
                },
            )
            accepted = time.perf_counter()
            push_page = browser.get(done.headers["location"])
            poller.join(timeout=15)
            latencies.append((got[0] - accepted) * 1000)
            phone.approve(push_support.PIN, push_support.shown_pictures(push_page.text))
    return latencies


def verification(rounds: int) -> list[float]:
    """In-process: authenticate + answer a signed approval (what POST /challenges/{cid} does)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from idp.push_wiring import build_push
    from idp.services import build_services
    from idp.settings import load_settings
    from push_auth import protocol
    from push_auth.authenticator.client import _csr, _public_pem

    services = build_services(load_settings())
    push = build_push(services)
    user = support.create_user(services)
    support.approve_registration(services, user.user_id)
    key, poll = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    code = push.start_activation(user.user_id).code
    audience = push.config.audience
    path = "/push/v1/activate"
    token = protocol.sign(
        key,
        {
            "aud": audience,
            "iat": int(time.time()),
            "jti": secrets.token_hex(12),
            "htm": "POST",
            "htu": path,
            "code": code,
            "csr": _csr(key),
            "poll_key": _public_pem(poll),
        },
        protocol.REQUEST_TYP,
    )
    device_id = push.activate(token, path)["device_id"]
    timings = []
    for _ in range(rounds):
        challenge = push.start_challenge(user.user_id, {})
        answer_path = f"/push/v1/challenges/{challenge.challenge_id}"
        signed = protocol.sign(
            key,
            {
                "aud": audience,
                "iat": int(time.time()),
                "jti": secrets.token_hex(12),
                "htm": "POST",
                "htu": answer_path,
                "cid": challenge.challenge_id,
                "action": "approve",
                "pictures": challenge.pictures,
                "amr": ["pin"],
            },
            protocol.REQUEST_TYP,
            kid=device_id,
        )
        started = time.perf_counter()
        device, claims = push.authenticate(
            signed, "POST", answer_path, allow_expired=True, poll_key_allowed=True
        )
        result = push.answer(device, challenge.challenge_id, claims)
        timings.append((time.perf_counter() - started) * 1000)
        assert result.status == "approved"
    services.close()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    pg_admin = os.environ.get("SOFTTOKEN_TEST_POSTGRES_URL")
    redis_url = os.environ.get("SOFTTOKEN_TEST_REDIS_URL")
    if not pg_admin or not redis_url:
        print("set SOFTTOKEN_TEST_POSTGRES_URL and SOFTTOKEN_TEST_REDIS_URL", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="idp-push-bench-"))
    database, prefix = "idp_bench_" + secrets.token_hex(4), f"idp-bench-{secrets.token_hex(4)}:"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    base = f"http://127.0.0.1:{PORT}"
    env = {
        "IDP_SERVER__ISSUER": base,
        "IDP_DATABASE__URL": f"{url}/{database}",
        "IDP_STORE__URL": redis_url,
        "IDP_STORE__KEY_PREFIX": prefix,
        "IDP_SERVER__VAR_DIR": str(folder),
        "IDP_SECURITY__MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    os.environ.update(env)
    server = start(uvicorn_args("idp.app:create_app", PORT, 1), dict(os.environ), PORT)
    try:
        started = time.perf_counter()
        latencies = end_to_end(base, args.rounds, folder)
        report(
            "password accepted -> device long-poll returns (HTTP)",
            latencies,
            time.perf_counter() - started,
        )
        started = time.perf_counter()
        timings = verification(args.rounds * 5)
        report(
            "verify a signed approval (authenticate + answer, in-process)",
            timings,
            time.perf_counter() - started,
        )
        print(f"mean verify {statistics.mean(timings):.2f} ms")
    finally:
        server.terminate()
        server.wait(timeout=20)
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
