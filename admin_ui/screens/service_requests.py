"""Service requests (manual chapter 7): record the paper form with its signed PDF, see what
processing will do, process it."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from admin_ui.api import ApiError
from admin_ui.desk import Desk, screen
from admin_ui.pdf import pdf_inline

# The form's part 3, in its order and its three groups.
REASON_GROUPS = (
    ("sr.group.app", ("forgot_pin_or_locked", "app_or_certificate_deleted", "app_other")),
    ("sr.group.existing", ("change_phone", "lost_phone", "change_email", "existing_other")),
    ("sr.group.holder", ("holder_resigned", "holder_moved", "holder_other")),
)
FIELDS = (
    "unit_code",
    "unit_name",
    "requester_name",
    "registered_email",
    "mobile",
    "division",
    "department",
    "ministry",
    "user_id",
)
HOLDER = ("name_th", "name_en", "email", "mobile")
MAX_PDF = 10 * 1024 * 1024


@screen
async def listing(desk: Desk) -> Response:
    query = desk.request.query_params
    status = query.get("status", "received")
    status = status if status in ("received", "done") else "received"
    found = await desk.get("/service-requests", status=status, after=query.get("after", ""))
    return desk.render("service_requests.html", page=found, status=status)


@screen
async def blank(desk: Desk) -> Response:
    return _form(desk, {}, None)


def _form(desk: Desk, values: dict[str, Any], error: ApiError | None) -> Response:
    return desk.form_page(
        "service_request_new.html",
        error,
        values=values,
        groups=REASON_GROUPS,
        fields=FIELDS,
        holder_fields=HOLDER,
    )


def _values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in FIELDS}
    values["user_id"] = values["user_id"].upper()
    values["reasons"] = [str(r) for r in form.getlist("reasons")]
    values["other_text"] = str(form.get("other_text", "")).strip()
    values["new_email"] = str(form.get("new_email", "")).strip()
    holder = {k: str(form.get("new_holder." + k, "")).strip() for k in HOLDER}
    values["new_holder"] = holder if any(holder.values()) else {}
    values["email_new_password"] = form.get("email_new_password") == "yes"
    values["new_password_email"] = str(form.get("new_password_email", "")).strip()
    return values


@screen
async def record(desk: Desk) -> Response:
    form = await desk.request.form()
    values = _values(form)
    upload = form.get("form_pdf")
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(MAX_PDF + 1)
            stored = await desk.call(
                "POST", "/uploads", content=data, content_type="application/pdf"
            )
            values["form_pdf_sha256"] = stored.json()["sha256"]
        recorded = await desk.send("POST", "/service-requests", values)
    except ApiError as error:
        if error.status != 400:
            raise
        return _form(desk, values, error)
    return desk.redirect(f"/service-requests/{recorded['id']}", "flash.request_recorded")


@screen
async def one(desk: Desk) -> Response:
    found = await desk.get(f"/service-requests/{desk.request.path_params['id']}")
    return desk.render("service_request.html", request=found, groups=REASON_GROUPS)


@screen
async def process(desk: Desk) -> Response:
    request_id = desk.request.path_params["id"]
    await desk.send("POST", f"/service-requests/{request_id}/process")
    return desk.redirect(f"/service-requests/{request_id}", "flash.request_processed")


@screen
async def signed_form(desk: Desk) -> Response:
    found = await desk.get(f"/service-requests/{desk.request.path_params['id']}")
    return await pdf_inline(desk, f"/uploads/{found['form_pdf_sha256']}")
