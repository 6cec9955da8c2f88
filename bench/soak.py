"""Soak: N minutes of mixed traffic on `idp serve --workers 2` (PostgreSQL + Redis), watching RSS.

Not a test and not in CI. wrk (Debian package `wrk`) drives a mix of discovery, JWKS, token
(client_credentials), introspection and userinfo in rounds of --round seconds; beside it, threads
sign in continuously with password + push (the reference authenticator approves each challenge)
and exchange the code. Every --sample seconds the resident memory (RSS) of each process of the
server is read (psutil when installed, else VmRSS in /proc/<pid>/status). At the end it prints
throughput and latency per round, the sign-ins' latency, and the memory curve: RSS after the
warm-up against RSS at the end, and whether every later sample stayed within 10 % of the first.

    .venv/bin/python bench/soak.py [--minutes 30] [--warmup 60] [--connections 16]
    .venv/bin/python bench/soak.py --minutes 1 --connections 0 --signers 4   # CPU per sign-in

PostgreSQL and Redis come from SOFTTOKEN_TEST_POSTGRES_URL / SOFTTOKEN_TEST_REDIS_URL (the same
variables as the tests); a fresh database and key prefix are made and removed afterwards.
wrk saturates the server: the figures are a ceiling on this machine, not a target load.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.oidc_endpoints import Cpu, _percentile, _tree, start  # noqa: E402
from tests import push_support, support  # noqa: E402
from tests.backends import ProductionServers, drop_production  # noqa: E402

PORT = 8793
TOLERANCE = 0.10


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process in KiB; None once it is gone."""
    try:
        import psutil  # type: ignore[import-untyped]

        return int(psutil.Process(pid).memory_info().rss // 1024)
    except ImportError:
        pass
    except Exception:  # psutil.NoSuchProcess and friends
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def role(pid: int) -> str:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "forkserver" in cmdline:  # the signer's forkserver, or the signer it started
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            parent = Path(f"/proc/{ppid}/cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            return "forkserver"
        return "signer" if b"forkserver" in parent else "forkserver"
    if "multiprocessing" in cmdline or "spawn" in cmdline:
        return "worker"
    return "supervisor"


@dataclass
class Memory:
    """RSS samples per process of the server's tree: {pid: [(seconds since start, KiB)]}."""

    started: float
    samples: dict[int, list[tuple[float, int]]] = field(default_factory=dict)
    roles: dict[int, str] = field(default_factory=dict)

    def sample(self, root: int) -> None:
        now = time.monotonic() - self.started
        for pid in _tree(root):
            kib = rss_kib(pid)
            if kib is not None:
                self.roles.setdefault(pid, role(pid))
                self.samples.setdefault(pid, []).append((now, kib))


@dataclass
class SignIns:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def sign_in_loop(
    base: str,
    user: support.Person,
    rp: support.RelyingParty,
    home: Path,
    stop: threading.Event,
    out: SignIns,
) -> None:
    """Password + push, approved on the reference authenticator, code exchanged; again."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as browser:
        phone = push_support.activate(browser, user, home)
        while not stop.is_set():
            started = time.perf_counter()
            try:
                browser.cookies.clear()
                verifier, challenge = support.pkce()
                login_url, page = push_support.push_page(browser, rp, user, challenge)
                phone.pending(wait=10)
                phone.approve(push_support.PIN, push_support.shown_pictures(page.text))
                query = push_support.finish_push(browser, login_url, page, rp.redirect_uri)
                tokens = support.exchange(browser, rp, query["code"], verifier)
                assert tokens.status_code == 200, tokens.text
                with out.lock:
                    out.latencies_ms.append((time.perf_counter() - started) * 1000)
            except Exception as error:  # counted and reported, the soak goes on
                with out.lock:
                    out.errors.append(f"{type(error).__name__}: {error}"[:200])
                time.sleep(1)


def mix_script(folder: Path, rp: support.RelyingParty, access_token: str) -> Path:
    """A wrk script that cycles through the five requests."""
    basic = base64.b64encode(f"{rp.client_id}:{rp.secret}".encode()).decode()
    form = "application/x-www-form-urlencoded"
    script = folder / "mix.lua"
    script.write_text(f"""
local form = {{["Content-Type"] = "{form}", ["Authorization"] = "Basic {basic}"}}
local bearer = {{["Authorization"] = "Bearer {access_token}"}}
local requests = {{
  wrk.format("GET", "/.well-known/openid-configuration"),
  wrk.format("GET", "/jwks"),
  wrk.format("POST", "/token", form, "grant_type=client_credentials&scope=gfmis"),
  wrk.format("POST", "/introspect", form, "token={access_token}"),
  wrk.format("GET", "/userinfo", bearer),
}}
local i = 0
request = function()
  i = i + 1
  return requests[(i % #requests) + 1]
end
""")
    return script


@dataclass(frozen=True)
class Round:
    at: float
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float


def wrk_round(url: str, script: Path, seconds: int, connections: int, at: float) -> Round:
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"Socket errors: .*?(\d+) timeout", out))
    return Round(at, requests, seconds, errors, _percentile(out, "50%"), _percentile(out, "99%"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def report(
    rounds: list[Round],
    sign_ins: SignIns,
    memory: Memory,
    seconds: float,
    warmup: int,
    minutes: float,
    cpu_seconds: float,
) -> None:
    requests = sum(r.requests for r in rounds)
    print(f"\nsoak: {minutes:g} min, idp serve --workers 2, PostgreSQL + Redis")
    print(
        f"server CPU (all its processes): {cpu_seconds:.0f} s in {seconds:.0f} s "
        f"({cpu_seconds / seconds:.2f} cores)"
    )
    if not rounds:
        done = sign_ins.latencies_ms
        if done:
            print(f"CPU per sign-in (no other traffic): {cpu_seconds / len(done) * 1000:.0f} ms")
    else:
        print(
            f"mixed traffic (discovery, JWKS, token client_credentials, introspection, userinfo): "
            f"{requests} requests, {requests / seconds:.0f} req/s, errors "
            f"{sum(r.errors for r in rounds)}; p50 per round median "
            f"{statistics.median(r.p50_ms for r in rounds):.2f} ms, p99 per round median "
            f"{statistics.median(r.p99_ms for r in rounds):.2f} ms, worst round p99 "
            f"{max(r.p99_ms for r in rounds):.2f} ms"
        )
    done = sign_ins.latencies_ms
    print(
        f"sign-ins (password + push approved + code exchanged): {len(done)} "
        f"({len(done) / seconds * 60:.1f}/min), p50 {percentile(done, 0.5):.0f} ms, "
        f"p99 {percentile(done, 0.99):.0f} ms, errors {len(sign_ins.errors)}"
    )
    for error in sorted(set(sign_ins.errors))[:5]:
        print(f"  {error}")
    print(f"\nmemory (RSS, MiB) after the {warmup} s warm-up vs at the end:")
    for pid, samples in sorted(memory.samples.items()):
        after = [kib for at, kib in samples if at >= warmup]
        if not after:
            continue
        base, end, peak = after[0], after[-1], max(after)
        flat = all(abs(kib - base) <= TOLERANCE * base for kib in after)
        curve = " ".join(f"{kib / 1024:.0f}" for _, kib in samples[:: max(1, len(samples) // 12)])
        print(
            f"  pid {pid:<7} {memory.roles[pid]:<18} {base / 1024:7.1f} -> {end / 1024:7.1f} "
            f"(peak {peak / 1024:.1f}, {100 * (end - base) / base:+.1f} %) "
            f"{'within 10 %' if flat else 'NOT within 10 %'}"
        )
        print(f"      curve: {curve}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warmup", type=int, default=60, help="seconds before the RSS baseline")
    parser.add_argument(
        "--connections", type=int, default=16, help="wrk's; 0: sign-ins alone (their CPU cost)"
    )
    parser.add_argument("--signers", type=int, default=2, help="threads signing in with push")
    parser.add_argument("--round", type=int, default=30, help="seconds per wrk round")
    parser.add_argument("--sample", type=int, default=5, help="seconds between RSS samples")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    pg_admin = os.environ.get("SOFTTOKEN_TEST_POSTGRES_URL")
    redis_url = os.environ.get("SOFTTOKEN_TEST_REDIS_URL")
    if not pg_admin or not redis_url:
        print("set SOFTTOKEN_TEST_POSTGRES_URL and SOFTTOKEN_TEST_REDIS_URL", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="idp-soak-"))
    database, prefix = "idp_soak_" + secrets.token_hex(4), f"idp-soak-{secrets.token_hex(4)}:"
    with psycopg.connect(pg_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    base = f"http://127.0.0.1:{PORT}"
    total = int(args.minutes * 60)
    env = {
        "IDP_SERVER__ISSUER": base,
        "IDP_SERVER__PORT": str(PORT),
        "IDP_DATABASE__URL": f"{url}/{database}",
        "IDP_STORE__URL": redis_url,
        "IDP_STORE__KEY_PREFIX": prefix,
        "IDP_SERVER__VAR_DIR": str(folder),
        "IDP_SECURITY__MASTER_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "IDP_SECURITY__IP_ATTEMPTS": "1000000",
        "IDP_TOKENS__ACCESS_TOKEN_TTL": str(min(86400, total + 900)),
    }
    os.environ.update(env)
    server = None
    stop = threading.Event()
    try:
        server = start(
            [str(Path(sys.executable).parent / "idp"), "serve", "--workers", "2"],
            dict(os.environ),
            PORT,
        )
        from idp.services import build_services
        from idp.settings import load_settings

        services = build_services(load_settings())
        rp = support.create_client(
            services, grant_types=("authorization_code", "refresh_token", "client_credentials")
        )
        users = [support.create_user(services) for _ in range(max(1, args.signers))]
        for user in users:
            support.approve_registration(services, user.user_id)
        services.close()
        reader = support.create_user(services)  # password only: the bearer for userinfo
        services.close()
        with httpx.Client(base_url=base, follow_redirects=False) as browser:
            verifier, challenge = support.pkce()
            code = support.sign_in(browser, rp, reader, challenge)["code"]
            access_token = support.exchange(browser, rp, code, verifier).json()["access_token"]
        script = mix_script(folder, rp, access_token)

        started = time.monotonic()
        memory = Memory(started)
        sign_ins = SignIns()
        threads = [
            threading.Thread(
                target=sign_in_loop,
                args=(base, user, rp, folder / f"phone{n}", stop, sign_ins),
                daemon=True,
            )
            for n, user in enumerate(users)
        ]

        def sampler() -> None:
            while not stop.is_set():
                memory.sample(server.pid)
                stop.wait(args.sample)

        threads.append(threading.Thread(target=sampler, daemon=True))
        for thread in threads:
            thread.start()
        rounds: list[Round] = []
        cpu_before = Cpu.of(server.pid).total
        while (elapsed := time.monotonic() - started) < total:
            seconds = max(1, min(args.round, int(total - elapsed)))
            if args.connections == 0:  # sign-ins alone: their CPU cost
                time.sleep(seconds)
                print(f"{elapsed:6.0f} s  sign-ins {len(sign_ins.latencies_ms)}", flush=True)
                continue
            rounds.append(wrk_round(base + "/", script, seconds, args.connections, elapsed))
            print(
                f"{elapsed:6.0f} s  {rounds[-1].requests / seconds:7.0f} req/s  "
                f"p50 {rounds[-1].p50_ms:6.2f} ms  p99 {rounds[-1].p99_ms:7.2f} ms  "
                f"errors {rounds[-1].errors}  sign-ins {len(sign_ins.latencies_ms)}",
                flush=True,
            )
        memory.sample(server.pid)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        cpu = Cpu.of(server.pid).total - cpu_before
        seconds = time.monotonic() - started
        report(rounds, sign_ins, memory, seconds, args.warmup, args.minutes, cpu)
        return 0 if not sign_ins.errors and all(r.errors == 0 for r in rounds) else 1
    finally:
        stop.set()
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_production(ProductionServers(pg_admin, redis_url, database, prefix))
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
