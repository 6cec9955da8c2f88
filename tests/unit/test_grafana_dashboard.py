"""The Grafana dashboard (deploy/grafana/softtoken-idp.json) asks only for metrics we export."""

from __future__ import annotations

import json
import re
from pathlib import Path

from idp import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "softtoken-idp.json"
OUTBOX = {"idp_outbox_messages", "idp_outbox_oldest_age_seconds"}  # read at scrape time


def test_every_query_names_an_exported_metric() -> None:
    exported = set(OUTBOX)
    for metric in (metrics.REQUEST_SECONDS, metrics.SIGNIN, metrics.JOB_RUNS):
        exported.add(metric._name + ("_total" if metric._type == "counter" else ""))
    exported |= {metrics.DEPENDENCY_ERRORS._name + "_total", metrics.LONG_POLLS._name}
    histogram = metrics.REQUEST_SECONDS._name
    exported |= {histogram + "_bucket", histogram + "_count", histogram + "_sum"}
    dashboard = json.loads(DASHBOARD.read_text())
    titles = set()
    for panel in dashboard["panels"]:
        titles.add(panel["title"])
        for target in panel["targets"]:
            names = set(re.findall(r"\bidp_[a-z_]+", target["expr"]))
            assert names, panel["title"]
            assert names <= exported, (panel["title"], names - exported)
    assert len(titles) == len(dashboard["panels"])
