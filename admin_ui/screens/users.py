"""Users: search, one user's whole record with its lifecycle state, disable and enable, and the
actions the account's lifecycle allows in that state (lift a "not me" suspension, revoke the
device, a forced password reset, the assignment order on file), and the user's passkeys
(changed in admin_ui.screens.passkeys); the CSV import with its preview and the rule of every
column."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.responses import Response

from admin_ui.api import ApiError
from admin_ui.desk import Desk, screen

MAX_CSV = 10 * 1024 * 1024
# The import file's columns (idp.domain.users.COLUMNS), whether each must be in the file, and
# its rule (text "import.rule.<column>").
IMPORT_COLUMNS = (
    ("user_id", True),
    ("name_th", True),
    ("name_en", True),
    ("email", True),
    ("mobile", True),
    ("unit_code", True),
    ("unit_name", True),
    ("division", True),
    ("department", True),
    ("ministry", True),
    ("initial_password", True),
    ("legacy_cert_fingerprint", False),
    ("assignment_order_on_file", False),
)


@screen
async def search(desk: Desk) -> Response:
    query = desk.request.query_params
    q = query.get("q", "").strip()
    found = await desk.get("/users", q=q, after=query.get("after", ""))
    return desk.render("users.html", page=found, q=q)


@screen
async def one(desk: Desk) -> Response:
    user_id = desk.request.path_params["user_id"]
    found = await desk.get(f"/users/{user_id}")
    passkeys = (await desk.get(f"/users/{user_id}/passkeys"))["items"]
    return desk.render("user.html", found=found, passkeys=passkeys)


@screen
async def act(desk: Desk) -> Response:
    user_id, action = desk.request.path_params["user_id"], desk.request.path_params["action"]
    if action == "lift-suspension":
        return await _lift_suspension(desk, user_id)
    if action == "assignment-order":
        return await _assignment_order(desk, user_id)
    paths = {
        "disable": "disable",
        "enable": "enable",
        "reset-password": "reset-password",
        "sign-out": "sessions/end",
    }
    if action not in paths:
        return desk.render("error.html", 404, message=desk.t("error.not_found"))
    try:
        await desk.send("POST", f"/users/{user_id}/{paths[action]}")
    except ApiError as error:
        return _refused(desk, error)
    return desk.redirect(f"/users/{user_id}", "flash.user_" + action.replace("-", "_"))


def _refused(desk: Desk, error: ApiError) -> Response:
    """The lifecycle does not allow it in the account's state (the page was out of date)."""
    if error.status != 409:
        raise error
    return desk.render("error.html", 409, message=desk.message(error))


async def _lift_suspension(desk: Desk, user_id: str) -> Response:
    """After "not me": the officer has called the user and notes what the call established."""
    note = str((await desk.request.form()).get("note", "")).strip()
    try:
        await desk.send("POST", f"/users/{user_id}/device/lift-suspension", {"note": note})
    except ApiError as error:
        if error.status == 400:
            return desk.redirect(f"/users/{user_id}", "flash.note_needed")
        return _refused(desk, error)
    return desk.redirect(f"/users/{user_id}", "flash.suspension_lifted")


async def _assignment_order(desk: Desk, user_id: str) -> Response:
    on_file = (await desk.request.form()).get("on_file") == "1"
    try:
        await desk.send("POST", f"/users/{user_id}/assignment-order", {"on_file": on_file})
    except ApiError as error:
        return _refused(desk, error)
    return desk.redirect(
        f"/users/{user_id}", "flash.order_marked" if on_file else "flash.order_unmarked"
    )


@screen
async def revoke_device(desk: Desk) -> Response:
    user_id = desk.request.path_params["user_id"]
    reason = str((await desk.request.form()).get("reason", "")).strip()
    try:
        await desk.send("POST", f"/users/{user_id}/device/revoke", {"reason": reason})
    except ApiError as error:
        if error.status != 400:
            return _refused(desk, error)
        return desk.redirect(f"/users/{user_id}", "flash.reason_needed")
    return desk.redirect(f"/users/{user_id}", "flash.device_revoked")


@screen
async def import_form(desk: Desk) -> Response:
    return desk.render("import.html", result=None, csv_text="", columns=IMPORT_COLUMNS)


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
        "import.html",
        400 if result["errors"] else 200,
        result=result,
        csv_text=text,
        columns=IMPORT_COLUMNS,
    )
