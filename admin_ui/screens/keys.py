"""Token signing keys (admin role): which are next, active and retired; rotate them."""

from __future__ import annotations

from starlette.responses import Response

from admin_ui.desk import Desk, screen


@screen
async def listing(desk: Desk) -> Response:
    return desk.render("keys.html", keys=(await desk.get("/keys"))["items"])


@screen
async def rotate(desk: Desk) -> Response:
    await desk.send("POST", "/keys/rotate")
    return desk.redirect("/keys", "flash.keys_rotated")
