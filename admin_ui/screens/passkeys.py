"""A user's passkeys on the user page: rename one, or remove one (a lost laptop, say) after the
officer ticks a confirmation. The admin API does the change, audits it with the officer and
emails the user (idp.admin_api.passkeys); the page lists them (admin_ui.screens.users.one)."""

from __future__ import annotations

from starlette.responses import Response

from admin_ui.api import ApiError
from admin_ui.desk import Desk, screen


def _target(desk: Desk) -> tuple[str, str]:
    params = desk.request.path_params
    return str(params["user_id"]), str(params["credential_id"])


@screen
async def rename(desk: Desk) -> Response:
    user_id, credential_id = _target(desk)
    name = str((await desk.request.form()).get("name", "")).strip()
    try:
        await desk.send("PATCH", f"/users/{user_id}/passkeys/{credential_id}", {"name": name})
    except ApiError as error:
        if error.status != 400:
            raise
        return desk.redirect(f"/users/{user_id}", "flash.passkey_name_needed")
    return desk.redirect(f"/users/{user_id}", "flash.passkey_renamed")


@screen
async def remove(desk: Desk) -> Response:
    user_id, credential_id = _target(desk)
    if (await desk.request.form()).get("confirm") != "yes":
        return desk.redirect(f"/users/{user_id}", "flash.passkey_confirm_needed")
    await desk.send("DELETE", f"/users/{user_id}/passkeys/{credential_id}")
    return desk.redirect(f"/users/{user_id}", "flash.passkey_removed")
