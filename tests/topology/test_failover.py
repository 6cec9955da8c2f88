"""The production shape on loopback (issue #15): a real nginx (deploy/nginx/idp.conf.template,
TLS from a test CA) in front of two `idp serve` processes, PostgreSQL primary + streaming
standby (one multi-host URL, target_session_attrs=read-write), Redis master + replica + three
Sentinels, a loopback SMTP server. Sign-ins with push run continuously through nginx (the
browser flow: authorize, password, the push page, the reference authenticator approves over
real HTTP, the code, the token), and the parts fail in turn: one IdP process is killed, the
Redis master is killed, PostgreSQL is restarted, then the primary is stopped and the standby
promoted. Every
status any request got is counted per fault; never a 500, a revoked token never active."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import update

from idp.mail.messages import MessageRenderer
from idp.mail.outbox import CLAIM_SECONDS, enqueue
from idp.services import build_services
from idp.storage.models import OutboxMessage
from push_auth.authenticator.client import Authenticator
from push_auth.authenticator.qr import read_qr
from push_auth.authenticator.state import Home
from tests import push_support, support
from tests.backends import ProductionServers, production, require_production
from tests.deploy.nginx_support import PROXY_SOURCE, nginx
from tests.deploy.test_nginx_topology import IDP
from tests.e2e.test_token_login import _tls, make_pki, nginx_binary
from tests.faults.test_postgres_standby import _caught_up, multi_host_url
from tests.faults.test_redis_sentinel import _jti
from tests.faults.throwaway import SENTINEL_SERVICE, ThrowawayPostgres, throwaway_sentinels
from tests.live import free_port
from tests.smtp import Inbox, smtp_mail, smtp_server

__all__ = ["nginx_binary"]

pytestmark = pytest.mark.timeout(240)

LOAD_THREADS = 2
MAX_SIGN_INS = 400  # the load is bounded in count as well as in time
RECOVERED_WITHIN = 15.0  # seconds from the fault to the first whole sign-in after it
MAILS = 5  # per batch: just before the PostgreSQL restart, before the switch, after it
PHASES = ("before", "idp-kill", "redis-failover", "postgres-restart", "postgres-switch", "after")


class _Process:
    """`idp serve` as an operator runs it (as tests.deploy.test_nginx_topology does), which the
    test may kill."""

    def __init__(self, port: int, config: Path, log: Path) -> None:
        self.port, self.config, self.log = port, config, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "IDP_CONFIG": str(self.config), "IDP_SERVER__PORT": str(self.port)}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(IDP), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + 60  # a loaded machine imports slowly
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("idp serve stopped: " + self.log.read_text()[-3000:])
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("idp serve did not start: " + self.log.read_text()[-3000:])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@dataclasses.dataclass
class _SignIn:
    phase: str
    started: float
    ended: float
    ok: bool
    error: str = ""


class _Load:
    """Threads signing in with push through nginx, one sign-in after another, until stopped or
    MAX_SIGN_INS; every response's status counted under the phase (fault) it came in."""

    def __init__(
        self,
        proxy: str,
        verify: Any,
        rp: support.RelyingParty,
        people: list[tuple[support.Person, Authenticator]],
        revoked: str,
    ) -> None:
        self.phase = "before"
        self.statuses: dict[str, Counter[int]] = {}
        self.sign_ins: list[_SignIn] = []
        self.revoked_accepted = 0
        self._proxy, self._verify, self._rp, self._revoked = proxy, verify, rp, revoked
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [  # one user (and phone) per thread: one sign-in at a time each
            threading.Thread(target=self._run, args=pair) for pair in people
        ]

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def count(self, response: httpx.Response) -> None:
        with self._lock:
            self.statuses.setdefault(self.phase, Counter())[response.status_code] += 1

    def _run(self, user: support.Person, phone: Authenticator) -> None:
        hooks = {"response": [self.count]}
        with httpx.Client(
            base_url=self._proxy, verify=self._verify, timeout=20, event_hooks=hooks
        ) as browser:
            while not self._stop.is_set():
                with self._lock:
                    if len(self.sign_ins) >= MAX_SIGN_INS:
                        return
                started = time.monotonic()
                try:
                    self._sign_in(browser, user, phone)
                    ok, error = True, ""
                except Exception as exc:  # a failed sign-in is counted, the load goes on
                    ok, error = False, f"{type(exc).__name__}: {exc}"[:200]
                    time.sleep(0.1)
                browser.cookies.clear()
                with self._lock:
                    # under the phase it ended in: the fault that failed it
                    self.sign_ins.append(_SignIn(self.phase, started, time.monotonic(), ok, error))

    def _sign_in(self, browser: httpx.Client, user: support.Person, phone: Authenticator) -> None:
        tokens = _push_sign_in(browser, self._rp, user, phone)
        answer = browser.post("/introspect", auth=self._rp.basic, data={"token": self._revoked})
        if answer.status_code == 200 and answer.json()["active"]:
            with self._lock:
                self.revoked_accepted += 1
        fresh = browser.post(
            "/introspect", auth=self._rp.basic, data={"token": tokens["access_token"]}
        )
        assert fresh.status_code == 200, fresh.status_code
        assert fresh.json()["active"], "a fresh token not active"

    def first_ok_after(self, moment: float) -> float | None:
        with self._lock:
            ends = [s.ended for s in self.sign_ins if s.ok and s.started >= moment]
        return min(ends) - moment if ends else None


def _activate(
    browser: httpx.Client, user: support.Person, home: Path, verify: Any
) -> Authenticator:
    """push_support.activate, through nginx (the phone trusts the test CA)."""
    push_support.sign_in_to(browser, "/activate", user)
    png = home.parent / f"{home.name}-qr.png"
    png.write_bytes(browser.get("/activate/qr.png").content)
    phone = Authenticator(Home(home), httpx.Client(verify=verify, timeout=30))
    phone.activate(read_qr(str(png)), push_support.PIN)
    browser.cookies.clear()
    return phone


def _push_sign_in(
    browser: httpx.Client,
    rp: support.RelyingParty,
    user: support.Person,
    phone: Authenticator,
) -> Any:
    """One sign-in with push, as a user makes it; the tokens."""
    verifier, challenge = support.pkce()
    login_url, page = push_support.push_page(browser, rp, user, challenge)
    assert page.status_code == 200, page.status_code
    pictures = push_support.shown_pictures(page.text)
    assert pictures, "no push page"
    claims = phone.pending(wait=5)
    assert claims is not None, "no challenge for the phone"
    phone.approve(push_support.PIN, pictures)
    result = push_support.finish_push(browser, login_url, page, rp.redirect_uri)
    tokens = support.exchange(browser, rp, result["code"], verifier)
    assert tokens.status_code == 200, tokens.status_code
    browser.cookies.clear()
    return tokens.json()


def _claims_expire(services: Any, addresses: list[str]) -> int:
    """Time passes for the outbox: a claim committed just as the primary stopped (the sender
    never heard the answer) expires now instead of after CLAIM_SECONDS; how many there were."""
    with services.db.session() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.to_address.in_(addresses), OutboxMessage.status == "sending")
            .values(claimed_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _mails(services: Any, batch: str) -> list[str]:
    """MAILS emails in the outbox (one transaction), sent by whichever process claims them."""
    addresses = [f"topology-{batch}-{n}@example.go.th" for n in range(MAILS)]
    with services.db.session() as session:
        for to in addresses:
            enqueue(
                session,
                MessageRenderer(),
                "email_otp",
                to,
                otp="246810",
                expires_th="-",
                expires_en="-",
            )
    return addresses


def _config(
    path: Path,
    settings: Any,
    issuer: str,
    tmp: Path,
    database_url: str,
    smtp: int,
    sentinels: list[str],
) -> None:
    path.write_text(
        f"""
[server]
issuer = "{issuer}"
host = "127.0.0.1"
trusted_proxies = ["{PROXY_SOURCE}"]
var_dir = "{tmp}"
[database]
url = "{database_url}"
[store]
sentinels = {sentinels!r}
sentinel_service = "{SENTINEL_SERVICE}"
key_prefix = "{settings.store.key_prefix}"
[security]
master_key = "{support.MASTER_KEY}"
[jobs]
enabled = false
[mail]
transport = "smtp"
host = "127.0.0.1"
port = {smtp}
security = "none"
poll_seconds = 0.2
retry_base_seconds = 1
""".replace("'", '"')
    )


def test_the_topology_survives_its_parts_failing_in_turn(
    production_servers: ProductionServers | str, tmp_path: Path, nginx_binary: str
) -> None:
    servers = require_production(production_servers)
    began = time.monotonic()
    pki = make_pki(tmp_path)
    verify = _tls(pki)
    port_a, port_b, proxy_port, smtp_port = free_port(), free_port(), free_port(), free_port()
    issuer = f"https://127.0.0.1:{proxy_port}"
    inbox = Inbox()
    smtp = smtp_server(inbox, smtp_port)
    primary = ThrowawayPostgres()
    standby: ThrowawayPostgres | None = None
    processes: list[_Process] = []
    figures: list[str] = []
    try:
        primary.start()
        standby = ThrowawayPostgres(primary)
        standby.start()
        with throwaway_sentinels(tmp_path / "redis") as cluster:
            database_url = multi_host_url(primary, standby)
            backend = dataclasses.replace(
                production(servers),
                database_url=database_url,
                run_prefix=servers.run_prefix + "topology:",
            )
            sentinel_store = {
                "url": "memory://",
                "sentinels": cluster.addresses,
                "sentinel_service": SENTINEL_SERVICE,
            }
            settings = support.make_settings(
                backend,
                tmp_path,
                issuer=issuer,
                store=sentinel_store,
                mail=smtp_mail(smtp_port),
                server={"trusted_proxies": [PROXY_SOURCE]},
            )
            config = tmp_path / "idp.toml"
            _config(config, settings, issuer, tmp_path, database_url, smtp_port, cluster.addresses)
            services = build_services(settings)  # migrated once, before the processes start
            try:
                users = [support.create_user(services) for _ in range(LOAD_THREADS)]
                for user in users:
                    support.approve_registration(services, user.user_id)
                rp = support.create_client(services)
                processes = [
                    _Process(port, config, tmp_path / f"idp-{name}.log")
                    for name, port in (("a", port_a), ("b", port_b))
                ]
                for process in processes:
                    process.start()
                for process in processes:
                    process.wait_ready()
                with (
                    nginx(nginx_binary, tmp_path, pki, [port_a, port_b], proxy_port) as proxy,
                    httpx.Client(base_url=proxy, verify=verify, follow_redirects=False) as browser,
                ):
                    # The phone, activated through nginx; a token revoked before any fault,
                    # whose marker the replica then loses (as test_redis_sentinel does).
                    people = [
                        (user, _activate(browser, user, tmp_path / f"phone-{n}", verify))
                        for n, user in enumerate(users)
                    ]
                    revoked = _push_sign_in(browser, rp, *people[0])["access_token"]
                    assert browser.post(
                        "/revoke", auth=rp.basic, data={"token": revoked}
                    ).is_success

                    with _Load(proxy, verify, rp, people, revoked) as load:
                        time.sleep(2.0)

                        # 1. One IdP process dies (SIGKILL): the other carries on.
                        load.phase = "idp-kill"
                        killed = time.monotonic()
                        processes[0].kill()
                        time.sleep(3.0)
                        idp_recovery = load.first_ok_after(killed)
                        idp_window = (killed, time.monotonic())
                        processes[0].start()
                        processes[0].wait_ready()
                        time.sleep(1.0)

                        # 2. The Redis master dies; the Sentinels promote the replica, which
                        # lacks the revocation's marker.
                        load.phase = "redis-failover"
                        marker = settings.store.key_prefix + "revoked-at:" + _jti(revoked)
                        with redis.Redis(port=cluster.master.port) as master:
                            assert master.wait(1, 5000) >= 1
                        with redis.Redis(port=cluster.replica.port) as replica:
                            replica.config_set("replica-read-only", "no")
                            replica.delete(marker)
                            replica.config_set("replica-read-only", "yes")
                        killed = time.monotonic()
                        cluster.master.kill()
                        promotion = cluster.wait_for_promotion()
                        _wait_for(load, killed)
                        redis_recovery = load.first_ok_after(killed)

                        # 3. PostgreSQL stops and starts again on its data (a restart, as for
                        # an upgrade): 503s while it is down, the pools reconnect after; emails
                        # enqueued just before are sent once.
                        load.phase = "postgres-restart"
                        restart_batch = _mails(services, "restart")
                        stopped = time.monotonic()
                        primary.stop()
                        time.sleep(2.0)
                        primary.start()
                        _wait_for(load, stopped)
                        restart_recovery = load.first_ok_after(stopped)

                        # 4. Emails in the outbox; the PostgreSQL primary stops, the standby
                        # is promoted; more emails after.
                        load.phase = "postgres-switch"
                        first_batch = _mails(services, "before")
                        _caught_up(primary, standby)
                        stopped = time.monotonic()
                        primary.stop()
                        time.sleep(1.0)
                        standby.promote()
                        _wait_for(load, stopped)
                        pg_recovery = load.first_ok_after(stopped)
                        second_batch = _mails(services, "after")
                        load.phase = "after"
                        time.sleep(2.0)
                    addresses = restart_batch + first_batch + second_batch
                    inbox.wait_for(len(addresses), timeout=10)
                    stranded = _claims_expire(services, addresses)
                    inbox.wait_for(len(addresses), timeout=10)
                    time.sleep(1.0)  # a sender that forgot it sent one would send it again now
                    after = browser.post("/introspect", auth=rp.basic, data={"token": revoked})
            finally:
                services.close()
                for process in processes:
                    process.stop()
    finally:
        smtp.stop()
        if standby is not None:
            standby.remove()
        primary.remove()

    received = Counter(str(m["To"]) for m in inbox.messages)
    per_phase = Counter((s.phase, s.ok) for s in load.sign_ins)
    for phase in PHASES:
        statuses = dict(sorted(load.statuses.get(phase, Counter()).items()))
        figures.append(
            f"  {phase:16} sign-ins ok {per_phase[(phase, True)]:3}, failed "
            f"{per_phase[(phase, False)]:2}; requests by status {statuses}"
        )
    figures.append(
        f"  recovery (fault to the first whole sign-in after it): IdP kill "
        f"{_s(idp_recovery)}, Redis {_s(redis_recovery)} (Sentinel promoted in "
        f"{promotion:.1f} s), PostgreSQL restart {_s(restart_recovery)}, PostgreSQL switch "
        f"{_s(pg_recovery)}"
    )
    figures.append(
        f"  emails: {len(addresses)} enqueued, {sum(received[a] == 1 for a in addresses)} "
        f"received exactly once, {sum(received[a] > 1 for a in addresses)} twice or more, "
        f"{sum(received[a] == 0 for a in addresses)} lost ({stranded} claimed in a commit "
        f"whose answer the switch cut off: sent once their {CLAIM_SECONDS} s claim expired)"
    )
    figures.append(f"  revoked token accepted: {load.revoked_accepted} times")
    figures.append(f"  test run {time.monotonic() - began:.1f} s")
    print("\nTopology under faults (sign-ins with push through nginx):\n" + "\n".join(figures))
    # The sign-ins lost to the IdP kill: those in flight when it died and any started while it
    # was down (nginx sends those to the other process).
    killed, restarted = idp_window
    lost = [s for s in load.sign_ins if not s.ok and killed <= s.ended and s.started < restarted]
    print(f"  sign-ins lost to the IdP kill: {len(lost)} (at most one in flight per user)")
    for failure in [s for s in load.sign_ins if not s.ok][:3]:
        print(f"  e.g. failed in {failure.phase}: {failure.error[:120]!r}")

    every = Counter[int]()
    for counter in load.statuses.values():
        every.update(counter)
    assert 500 not in every, every
    assert all(code < 500 or code in (502, 503) for code in every), every
    assert load.statuses["before"].get(502, 0) == 0
    assert len(lost) <= LOAD_THREADS, lost  # only the ones in flight
    assert 503 not in load.statuses.get("idp-kill", Counter())
    for phase in PHASES[1:]:
        assert per_phase[(phase, True)] > 0, f"no sign-in succeeded in {phase}"
    assert per_phase[("after", False)] == 0
    assert 502 not in load.statuses.get("after", Counter())
    for recovery in (idp_recovery, redis_recovery, restart_recovery, pg_recovery):
        assert recovery is not None
        assert recovery < RECOVERED_WITHIN
    assert load.revoked_accepted == 0
    assert after.status_code == 200
    assert after.json() == {"active": False}
    assert all(received[a] == 1 for a in addresses), received


def _wait_for(load: _Load, moment: float) -> None:
    """Until a whole sign-in started after `moment` has succeeded (or RECOVERED_WITHIN)."""
    deadline = time.monotonic() + RECOVERED_WITHIN + 5
    while load.first_ok_after(moment) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # a little more load on the recovered part


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"
