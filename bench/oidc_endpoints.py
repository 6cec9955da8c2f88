"""Throughput and latency of the OIDC endpoints, beside a bare Starlette "hello" endpoint.

Starts the IdP with uvicorn on each backend (SQLite + memory with 1 worker; PostgreSQL + Redis
with 1 and 2 workers), drives each endpoint with wrk (Debian package `wrk`) at 32 connections,
and prints requests/s, p50, p99 and the ratio to the hello endpoint measured in the same run.
It also prints the server's CPU time per request, from /proc: all its processes (the signer
included) and its event loop's thread alone. On a machine busy with other work, throughput
moves with the load; the CPU time a request costs moves much less, so compare that.

    .venv/bin/python bench/oidc_endpoints.py [--seconds 8] [--connections 32]

PostgreSQL and Redis come from SOFTTOKEN_TEST_POSTGRES_URL / SOFTTOKEN_TEST_REDIS_URL (the
same variables as the tests); a fresh database and key prefix are made and removed.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import support  # noqa: E402  (the same helpers as the tests)
from tests.backends import ProductionServers, drop_production  # noqa: E402

PORT = 8790
HELLO_PORT = 8791


@dataclass(frozen=True)
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_us: float | None = None  # the server's processes, per request
    loop_us: float | None = None  # the servers' main threads (the event loops), per request


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used so far by a server: all its processes, and their main threads."""

    total: float
    loops: float

    @classmethod
    def of(cls, pid: int) -> Cpu:
        total = loops = 0.0
        for member in _tree(pid):
            total += _cpu_seconds(Path(f"/proc/{member}/stat"))
            if not _is_signer(member):
                loops += _cpu_seconds(Path(f"/proc/{member}/task/{member}/stat"))
        return cls(total, loops)


def _tree(pid: int) -> list[int]:
    """pid and its descendants."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _cpu_seconds(stat: Path) -> float:
    """utime + stime of a process or thread; 0 once it is gone."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _is_signer(pid: int) -> bool:
    """The signer process and the forkserver that starts it (idp.domain.signer_process)."""
    try:
        return b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def wrk(
    url: str, script: Path | None, seconds: int, connections: int, server_pid: int | None = None
) -> Result:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        args[1:1] = ["-s", str(script)]
    before = Cpu.of(server_pid) if server_pid else None
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    after = Cpu.of(server_pid) if server_pid else None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    cpu_us = loop_us = None
    if before and after and requests:
        cpu_us = (after.total - before.total) / requests * 1e6
        loop_us = (after.loops - before.loops) / requests * 1e6
    p50, p99 = _percentile(out, "50%"), _percentile(out, "99%")
    return Result(url, rps, p50, p99, errors, requests, cpu_us, loop_us)


def _percentile(out: str, label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def lua_post(path: str, body: str, auth: tuple[str, str] | None, folder: Path) -> Path:
    script = folder / (secrets.token_hex(4) + ".lua")
    headers = 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
    if auth:
        basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers += f'wrk.headers["Authorization"] = "Basic {basic}"\n'
    script.write_text(f'wrk.method = "POST"\nwrk.path = "{path}"\nwrk.body = "{body}"\n{headers}')
    return script


def lua_bearer(path: str, token: str, folder: Path) -> Path:
    script = folder / (secrets.token_hex(4) + ".lua")
    script.write_text(f'wrk.path = "{path}"\nwrk.headers["Authorization"] = "Bearer {token}"\n')
    return script


def lua_codes(codes_file: Path, verifier: str, rp: support.RelyingParty, folder: Path) -> Path:
    basic = base64.b64encode(f"{rp.client_id}:{rp.secret}".encode()).decode()
    script = folder / "codes.lua"
    prefix = f"grant_type=authorization_code&redirect_uri={rp.redirect_uri}"
    prefix += f"&code_verifier={verifier}&code="
    script.write_text(f"""
local codes = {{}}
for line in io.lines("{codes_file}") do codes[#codes + 1] = line end
local i = 0
request = function()
  i = i + 1
  local body = "{prefix}" .. (codes[i] or "exhausted")
  return wrk.format("POST", "/token", {{["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic {basic}"}}, body)
end
""")
    return script


def start(
    args: list[str], env: dict[str, str], port: int, wait: float = 60
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("server did not start")


def uvicorn_args(app: str, port: int, workers: int, factory: bool = True) -> list[str]:
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-proxy-headers",  # as `idp serve` and the Dockerfile run it
    ]
    return args + (["--factory"] if factory else [])


def prepare(base: str, env: dict[str, str], codes: int, folder: Path) -> dict[str, object]:
    """Users, clients, a signed-in browser, tokens and a file of fresh authorization codes."""
    from idp.services import build_services
    from idp.settings import load_settings

    os.environ.update(env)
    services = build_services(load_settings())
    user = support.create_user(services)
    rp = support.create_client(
        services, grant_types=("authorization_code", "refresh_token", "client_credentials")
    )
    services.close()
    verifier, challenge = support.pkce()
    codes_file = folder / "codes.txt"
    with httpx.Client(base_url=base, follow_redirects=False) as browser:
        first = support.sign_in(browser, rp, user, challenge)
        tokens = support.exchange(browser, rp, first["code"], verifier).json()
        lines = []
        for _ in range(codes):
            params = support.authorize_params(rp, challenge, prompt="none")
            location = browser.get("/authorize", params=params).headers["location"]
            lines.append(support.query_of(location)["code"])
        codes_file.write_text("\n".join(lines) + "\n")
    return {"rp": rp, "tokens": tokens, "verifier": verifier, "codes_file": codes_file}


def measure_backend(
    label: str, env: dict[str, str], workers: int, seconds: int, connections: int, folder: Path
) -> list[Result]:
    env = {**os.environ, **env, "IDP_SERVER__WORKERS": str(workers)}
    server = start(uvicorn_args("idp.app:create_app", PORT, workers), env, PORT)
    base = f"http://127.0.0.1:{PORT}"
    try:
        data = prepare(
            base, {k: v for k, v in env.items() if k.startswith("IDP_")}, codes=4000, folder=folder
        )
        rp: support.RelyingParty = data["rp"]  # type: ignore[assignment]
        tokens: dict[str, str] = data["tokens"]  # type: ignore[assignment]
        cc = "grant_type=client_credentials&scope=gfmis"
        runs = [
            ("discovery", f"{base}/.well-known/openid-configuration", None),
            ("jwks", f"{base}/jwks", None),
            (
                "token (client_credentials)",
                f"{base}/token",
                lua_post("/token", cc, rp.basic, folder),
            ),
            (
                "introspection",
                f"{base}/introspect",
                lua_post("/introspect", "token=" + tokens["access_token"], rp.basic, folder),
            ),
            (
                "userinfo",
                f"{base}/userinfo",
                lua_bearer("/userinfo", tokens["access_token"], folder),
            ),
            (
                "token (authorization_code)",
                f"{base}/token",
                lua_codes(Path(str(data["codes_file"])), str(data["verifier"]), rp, folder),
            ),
        ]
        results = []
        for name, url, script in runs:
            duration = min(seconds, 3) if name.endswith("(authorization_code)") else seconds
            result = wrk(url, script, duration, connections, server.pid)
            results.append(dataclasses.replace(result, name=f"{label} {workers}w {name}"))
        return results
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--backend", choices=["all", "embedded", "production"], default="all")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="*",
        default=[1, 2],
        help="worker counts for PostgreSQL + Redis",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="idp-bench-"))
    master = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    common = {
        "IDP_SECURITY__MASTER_KEY": master,
        "IDP_SERVER__VAR_DIR": str(folder),
        "IDP_TOKENS__AUTHORIZATION_CODE_TTL": "600",
        "IDP_SECURITY__IP_ATTEMPTS": "100000",
    }
    hello = start(
        uvicorn_args("bench.hello:app", HELLO_PORT, 1, factory=False), dict(os.environ), HELLO_PORT
    )
    try:
        baseline = wrk(
            f"http://127.0.0.1:{HELLO_PORT}/healthz",
            None,
            args.seconds,
            args.connections,
            hello.pid,
        )
    finally:
        hello.terminate()
        hello.wait()
    results = [dataclasses.replace(baseline, name="starlette hello 1w")]
    embedded = {
        **common,
        "IDP_DATABASE__URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "IDP_STORE__URL": "memory://",
    }
    if args.backend in ("all", "embedded"):
        results += measure_backend(
            "sqlite+memory", embedded, 1, args.seconds, args.connections, folder
        )
    pg_admin = os.environ.get("SOFTTOKEN_TEST_POSTGRES_URL")
    redis_url = os.environ.get("SOFTTOKEN_TEST_REDIS_URL")
    if pg_admin and redis_url:
        database = "idp_bench_" + secrets.token_hex(4)
        prefix = f"idp-bench-{secrets.token_hex(4)}:"
        with psycopg.connect(pg_admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        url = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        production = {
            **common,
            "IDP_DATABASE__URL": f"{url}/{database}",
            "IDP_STORE__URL": redis_url,
            "IDP_STORE__KEY_PREFIX": prefix,
        }
        try:
            for workers in args.workers if args.backend != "embedded" else []:
                results += measure_backend(
                    "postgres+redis", production, workers, args.seconds, args.connections, folder
                )
        finally:
            drop_production(ProductionServers(pg_admin, redis_url, database, prefix))
    else:
        print(
            "SOFTTOKEN_TEST_POSTGRES_URL / SOFTTOKEN_TEST_REDIS_URL not set: "
            "PostgreSQL + Redis not measured",
            file=sys.stderr,
        )
    shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\n{'endpoint':<52} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x hello':>8} "
        f"{'errors':>7} {'cpu us':>8} {'loop us':>8}"
    )
    for result in results:
        print(
            f"{result.name:<52} {result.rps:>9.0f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f} "
            f"{result.rps / baseline.rps:>8.2f} {result.errors:>7} "
            f"{_us(result.cpu_us):>8} {_us(result.loop_us):>8}"
        )
    return 0


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    sys.exit(main())
