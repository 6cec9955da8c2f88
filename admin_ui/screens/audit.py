"""The audit log: filter by user, officer, event, outcome and time; export as CSV."""

from __future__ import annotations

from starlette.responses import Response

from admin_ui.desk import Desk, screen

FILTERS = ("user", "officer", "action", "outcome", "since", "until")


def _filters(desk: Desk) -> dict[str, str]:
    query = desk.request.query_params
    return {name: query.get(name, "").strip() for name in FILTERS}


@screen
async def log(desk: Desk) -> Response:
    filters = _filters(desk)
    found = await desk.get("/audit", after=desk.request.query_params.get("after", ""), **filters)
    return desk.render("audit.html", page=found, filters=filters)


@screen
async def export(desk: Desk) -> Response:
    found = await desk.call("GET", "/audit.csv", params=_filters(desk))
    return desk.finish(
        Response(
            found.content,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": found.headers.get(
                    "content-disposition", 'attachment; filename="audit.csv"'
                ),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )
    )
