"""Users: search, one user's whole record, disable and enable, a forced password reset, and
the CSV import with its preview."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.responses import Response

from admin_ui.api import ApiError
from admin_ui.desk import Desk, screen

MAX_CSV = 10 * 1024 * 1024


@screen
async def search(desk: Desk) -> Response:
    query = desk.request.query_params
    q = query.get("q", "").strip()
    found = await desk.get("/users", q=q, after=query.get("after", ""))
    return desk.render("users.html", page=found, q=q)


@screen
async def one(desk: Desk) -> Response:
    found = await desk.get(f"/users/{desk.request.path_params['user_id']}")
    return desk.render("user.html", found=found)


@screen
async def act(desk: Desk) -> Response:
    user_id, action = desk.request.path_params["user_id"], desk.request.path_params["action"]
    paths = {
        "disable": "disable",
        "enable": "enable",
        "reset-password": "reset-password",
        "sign-out": "sessions/end",
    }
    if action not in paths:
        return desk.render("error.html", 404, message=desk.t("error.not_found"))
    await desk.send("POST", f"/users/{user_id}/{paths[action]}")
    return desk.redirect(f"/users/{user_id}", "flash.user_" + action.replace("-", "_"))


@screen
async def revoke_device(desk: Desk) -> Response:
    user_id = desk.request.path_params["user_id"]
    reason = str((await desk.request.form()).get("reason", "")).strip()
    try:
        await desk.send("POST", f"/users/{user_id}/device/revoke", {"reason": reason})
    except ApiError as error:
        if error.status != 400:
            raise
        return desk.redirect(f"/users/{user_id}", "flash.reason_needed")
    return desk.redirect(f"/users/{user_id}", "flash.device_revoked")


@screen
async def import_form(desk: Desk) -> Response:
    return desk.render("import.html", result=None, csv_text="")


@screen
async def import_csv(desk: Desk) -> Response:
    """First a preview (nothing changes); the officer then confirms the same text."""
    form = await desk.request.form()
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        text = (await upload.read(MAX_CSV + 1)).decode("utf-8-sig", errors="replace")
    else:
        text = str(form.get("csv_text", ""))
    confirm = form.get("confirm") == "1"
    try:
        response = await desk.call(
            "POST",
            "/users/import",
            params={"preview": "" if confirm else "1"},
            content=text.encode(),
            content_type="text/csv; charset=utf-8",
        )
        result = response.json()
    except ApiError as error:
        if error.status != 400:
            raise
        result = {"imported": [], "errors": error.rows, "message": desk.message(error)}
        if not error.rows:
            result["errors"] = [{"line": 0, "column": error.field, "th": error.th, "en": error.en}]
    if confirm and not result["errors"]:
        return desk.redirect("/users", "flash.imported", q="")
    return desk.render(
        "import.html", 400 if result["errors"] else 200, result=result, csv_text=text
    )
