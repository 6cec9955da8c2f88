"""Officers (admin role): who has which back-office role; grant and revoke."""

from __future__ import annotations

from starlette.responses import Response

from admin_ui.desk import Desk, screen

ROLES = ("officer", "admin", "auditor")


@screen
async def listing(desk: Desk) -> Response:
    found = await desk.get("/officers", after=desk.request.query_params.get("after", ""))
    return desk.render("officers.html", page=found, all_roles=ROLES)


@screen
async def change(desk: Desk) -> Response:
    form = await desk.request.form()
    user_id = str(form.get("user_id", "")).strip().upper()
    role = str(form.get("role", ""))
    grant = desk.request.path_params["change"] == "grant"
    await desk.send("PUT" if grant else "DELETE", f"/officers/{user_id}/roles", {"role": role})
    return desk.redirect("/officers", "flash.role_granted" if grant else "flash.role_revoked")
