"""The dashboard: open "not me" alerts, pending work, registrations and sign-ins per day,
expiring certificates."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from admin_ui.charts import bar_chart, days_back
from admin_ui.desk import Desk, screen


@screen
async def dashboard(desk: Desk) -> Response:
    numbers = await desk.get("/dashboard")
    today = datetime.now(UTC).date()
    charts = [
        bar_chart(days_back(numbers[key], today), desk.t("dashboard." + key), desk.locale)
        for key in ("registrations_per_day", "sign_ins_per_day")
    ]
    # users whose Soft Token is suspended after "not me": for those who may act on them
    works = bool(desk.roles & {"officer", "admin"})
    alerts = (await desk.get("/alerts"))["items"] if works else []
    return desk.render("dashboard.html", numbers=numbers, charts=charts, alerts=alerts)
