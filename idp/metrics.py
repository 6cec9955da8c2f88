"""Prometheus metrics (prometheus-client), for every process of one server.

`idp serve` with several workers sets PROMETHEUS_MULTIPROC_DIR before they start (and empties
it): each process then writes its values to files there and a scrape of any process adds them
up (idp.web.metrics). Without it (one process, the tests) the values live in the process.

Labels carry only what is bounded and impersonal: a route's template (never the raw path, which
holds user IDs, codes and transaction IDs), a method from a fixed list, the status code, a
sign-in step and outcome, a job's name. This module imports nothing of idp: any layer may count.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from collections.abc import MutableMapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, multiprocess

# Read when prometheus-client is imported, as it does: the two must agree.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUEST_SECONDS = Histogram(
    "idp_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status (its _count: requests)",
    ["route", "method", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SIGNIN = Counter(
    "idp_signin_total",
    "Sign-in funnel: password ok/wrong/locked; push sent/approved/denied/not_me/expired/"
    "superseded/failed; renewal issued/renewed",
    ["step", "outcome"],
)
JOB_RUNS = Counter(
    "idp_job_runs_total", "Scheduled job runs, by job and outcome", ["job", "outcome"]
)
DEPENDENCY_ERRORS = Counter(
    "idp_dependency_errors_total",
    "Requests answered 503 because a dependency failed (database or store)",
    ["dependency"],
)
LONG_POLLS = Gauge(
    "idp_push_long_polls_active",
    "Device long-polls waiting for a challenge",
    multiprocess_mode="livesum",
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# (root path, route path or a marker, a mount?, method, status) -> the histogram's child: one
# dict look-up a request once warm. Bounded: the app's routes, METHODS, the statuses it answers.
_children: dict[tuple[str, str, bool, str, int], Any] = {}


def observe_request(
    scope: MutableMapping[str, Any], status: int, seconds: float, refused: bool
) -> None:
    """Count one HTTP request against its route's template (set by Starlette's router)."""
    route = None if refused else scope.get("route")
    root = scope.get("root_path", "")
    if route is None:
        path, mount = "refused" if refused else "unmatched", False
    else:
        path, mount = route.path, not hasattr(route, "endpoint")
    method = scope["method"]
    key = (root, path, mount, method, status)
    child = _children.get(key)
    if child is None:
        if route is None:
            template = path
        elif mount:  # a mount that answered itself (static files, its 404)
            template = (root or path) + "/*"
        else:
            template = root + path
        child = _children[key] = REQUEST_SECONDS.labels(
            template, method if method in METHODS else "other", str(status)
        )
    child.observe(seconds)


PASSWORD_OUTCOMES = {"success": "ok", "failure": "wrong", "locked": "locked"}
# push_auth's events (idp.push_wiring.AuditEvents) -> the funnel's (step, outcome)
PUSH_EVENTS = {
    "push.challenge": ("push", "sent"),
    "push.approve": ("push", "approved"),
    "push.deny": ("push", "denied"),
    "push.not_me": ("push", "not_me"),
    "push.wrong_pictures": ("push", "failed"),
    "device.renewal_issued": ("renewal", "issued"),
    "device.certificate_renewed": ("renewal", "renewed"),
}


def signin(step: str, outcome: str) -> None:
    SIGNIN.labels(step, outcome).inc()


def audited(action: str, outcome: str, detail: dict[str, Any]) -> None:
    """Count an audited event of the funnel (idp.domain.audit.record; others are ignored):
    the password step, and push_auth's events (the device API's and the challenges')."""
    if action == "login.password":
        signin("password", PASSWORD_OUTCOMES.get(outcome, "other"))
    elif action == "push.unanswered":
        signin("push", "expired" if detail.get("reason") == "expired" else "superseded")
    else:
        found = PUSH_EVENTS.get(action)
        if found is not None:
            signin(*found)


def dependency_error(exc: BaseException) -> None:
    """A request answered 503 because the database or the expiring store failed."""
    database = type(exc).__module__.startswith("sqlalchemy")
    DEPENDENCY_ERRORS.labels("database" if database else "store").inc()


def prepare_multiprocess(workers: int | None) -> str | None:
    """Before `idp serve` starts several workers: the directory where each writes its values,
    emptied of an earlier run's (PROMETHEUS_MULTIPROC_DIR if given, else a temporary one removed
    at exit). The workers inherit the variable; one process needs none."""
    if not workers or workers <= 1:
        return None
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        path = tempfile.mkdtemp(prefix="idp-metrics-")
        atexit.register(shutil.rmtree, path, True)
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


_LIVE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


def forget_dead_processes(path: str) -> None:
    """Drop the live gauges of worker processes that are gone (killed, restarted by uvicorn):
    a scrape then sums the living only. Counters and histograms keep their totals."""
    dead = set()
    for name in os.listdir(path):
        match = _LIVE_FILE.match(name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.add(pid)
        except PermissionError:
            pass  # alive, another user's
    for pid in dead:
        multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
