"""The registrations queue: filter and search, one registration beside the user record and
the proofing result, the assignment order inline, approve or reject with a reason."""

from __future__ import annotations

from starlette.responses import Response

from admin_ui.api import ApiError
from admin_ui.desk import Desk, screen
from admin_ui.pdf import pdf_inline

STATUSES = ("waiting_approval", "in_progress", "approved", "rejected", "activated", "cancelled")


@screen
async def queue(desk: Desk) -> Response:
    query = desk.request.query_params
    status = query.get("status", "waiting_approval")
    status = status if status in STATUSES else "waiting_approval"
    found = await desk.get(
        "/registrations", status=status, q=query.get("q", ""), after=query.get("after", "")
    )
    return desk.render(
        "registrations.html", page=found, status=status, statuses=STATUSES, q=query.get("q", "")
    )


@screen
async def one(desk: Desk) -> Response:
    return await _show(desk)


async def _show(desk: Desk, error: ApiError | None = None, reason: str = "") -> Response:
    registration_id = desk.request.path_params["id"]
    detail = await desk.get(f"/registrations/{registration_id}")
    return desk.form_page("registration.html", error, detail=detail, reason=reason)


@screen
async def decide(desk: Desk) -> Response:
    registration_id = desk.request.path_params["id"]
    decision = desk.request.path_params["decision"]
    reason = str((await desk.request.form()).get("reason", "")).strip()
    try:
        after = await desk.send(
            "POST", f"/registrations/{registration_id}/{decision}", {"reason": reason}
        )
    except ApiError as error:
        if error.status != 400:
            raise
        return await _show(desk, error, reason)
    flash = {"approved": "flash.approved", "rejected": "flash.rejected"}.get(
        after["status"],
        "flash.approved_first",  # four eyes: waiting for a second officer
    )
    return desk.redirect("/registrations", flash)


@screen
async def assignment_order(desk: Desk) -> Response:
    registration_id = desk.request.path_params["id"]
    return await pdf_inline(desk, f"/registrations/{registration_id}/assignment-order")
