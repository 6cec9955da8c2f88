"""The admin API with 1,000,000 users in PostgreSQL: search by user ID and by national ID, the
first page and a page in the middle of the users list (keyset pagination).  Prints the time
per request  as the HTTP round
trip on loopback through uvicorn (an upper bound of the server time).

    .venv/bin/python bench/admin_users.py [--users 1000000] [--rounds 50]

Needs SOFTTOKEN_TEST_POSTGRES_URL (and SOFTTOKEN_TEST_REDIS_URL); makes and drops its database.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.oidc_endpoints import start, uvicorn_args  # noqa: E402
from idp.domain.national_id import with_check_digit  # noqa: E402

PORT = 8793


def load_users(conninfo: str, count: int) -> None:
    """COPY the users and one approved registration each (national IDs for the search)."""
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY users (user_id, name_th, name_en, email, mobile, unit_code, unit_name,"
            " division, department, ministry, must_change_password, roles, disabled,"
            " assignment_order_on_file, created_at, updated_at) FROM STDIN"
        ) as copy:
            for n in range(count):
                user_id = f"T{n:014d}"
                copy.write_row(
                    (
                        user_id,
                        f"ผู้ใช้ทดสอบ {n}",
                        f"Test User {n}",
                        f"u{n}@example.go.th",
                        "0812345678",
                        "0500500000",
                        "กองคลัง",
                        "กองคลัง",
                        "กรมตัวอย่าง",
                        "กระทรวงการคลัง",
                        False,
                        "[]",
                        False,
                        True,
                        "2026-01-01T00:00:00Z",
                        "2026-01-01T00:00:00Z",
                    )
                )
        with cur.copy(
            "COPY registrations (id, user_id, attempt, status, national_id, created_at,"
            " updated_at) FROM STDIN"
        ) as copy:
            for n in range(count):
                copy.write_row(
                    (
                        f"r{n:020d}",
                        f"T{n:014d}",
                        1,
                        "activated",
                        with_check_digit(f"{1_000_000_000_00 + n:012d}"),
                        "2026-01-01T00:00:00Z",
                        "2026-01-01T00:00:00Z",
                    )
                )
        conn.commit()
        cur.execute("ANALYZE users")
        cur.execute("ANALYZE registrations")
        conn.commit()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    pg_admin = os.environ.get("SOFTTOKEN_TEST_POSTGRES_URL")
    redis_url = os.environ.get("SOFTTOKEN_TEST_REDIS_URL")
    if not pg_admin or not redis_url:
        print("set SOFTTOKEN_TEST_POSTGRES_URL and SOFTTOKEN_TEST_REDIS_URL", file=sys.stderr)
        return 2
    database, prefix = "idp_bench_" + secrets.token_hex(4), f"idp-bench-{secrets.token_hex(4)}:"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    base_url = pg_admin.rsplit("/", 1)[0]
    folder = Path(tempfile.mkdtemp(prefix="idp-admin-bench-"))
    env = {
        "IDP_SERVER__ISSUER": f"http://127.0.0.1:{PORT}",
        "IDP_DATABASE__URL": f"{base_url.replace('postgresql://', 'postgresql+psycopg://')}/{database}",
        "IDP_STORE__URL": redis_url,
        "IDP_STORE__KEY_PREFIX": prefix,
        "IDP_SERVER__VAR_DIR": str(folder),
        "IDP_JOBS__ENABLED": "false",
        "IDP_SECURITY__MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    os.environ.update(env)
    try:
        from idp.domain.acr import ACR_PUSH
        from idp.oidc.models import OAuthClient, SignedInUser
        from idp.oidc.tokens import TokenService
        from idp.services import build_services
        from idp.settings import load_settings
        from idp.storage.models import Client, User
        from tests import support

        services = build_services(load_settings())  # migrate
        started = time.perf_counter()
        load_users(f"{base_url}/{database}", args.users)
        print(f"loaded {args.users:,} users in {time.perf_counter() - started:.0f} s")
        officer = support.create_user(services)
        client_id = support.create_client(services, scope="openid admin").client_id
        with services.db.session() as session:
            user = session.get(User, officer.user_id)
            assert user is not None
            user.roles = ["officer"]
            record = session.get(Client, client_id)
            assert record is not None
        signed_in = SignedInUser(officer.user_id, int(time.time()), ACR_PUSH, ("pwd", "mfa"))
        token = TokenService(services).generate(
            "authorization_code", OAuthClient(record), signed_in, "openid admin"
        )["access_token"]
        services.close()
        server = start(uvicorn_args("idp.app:create_app", PORT, 1), dict(os.environ), PORT)
        middle = f"T{args.users // 2:014d}"
        cursor = base64.urlsafe_b64encode(f'["{middle}"]'.encode()).decode().rstrip("=")
        cases = {
            "search by user ID": {"q": f"T{args.users - 7:014d}"},
            "search by national ID": {"q": with_check_digit(f"{1_000_000_000_00 + 4242:012d}")},
            "users list, first page (50)": {"limit": "50"},
            "users list, middle page (50)": {"limit": "50", "after": cursor},
        }
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{PORT}", headers={"Authorization": "Bearer " + token}
            ) as client:
                for name, params in cases.items():
                    for _ in range(3):  # warm the connection pool and prepared statements
                        client.get("/admin/api/v1/users", params=params)
                    timings = []
                    for _ in range(args.rounds):
                        t0 = time.perf_counter()
                        response = client.get("/admin/api/v1/users", params=params)
                        timings.append((time.perf_counter() - t0) * 1000)
                        assert response.status_code == 200, response.text
                        assert response.json()["items"], name
                    print(
                        f"{name:<32} p50 {percentile(timings, 0.5):7.2f} ms  "
                        f"p99 {percentile(timings, 0.99):7.2f} ms  "
                        f"mean {statistics.mean(timings):7.2f} ms  (HTTP round trip, "
                        f"including the audit row of each call)"
                    )
        finally:
            server.terminate()
            server.wait(timeout=20)
    finally:
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        client_redis = redis.Redis.from_url(redis_url)
        for key in client_redis.scan_iter(match=prefix + "*", count=1000):
            client_redis.delete(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
