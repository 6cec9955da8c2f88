"""Relying parties (admin role): list, create, edit, rotate the secret (shown once), delete."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import Response

from admin_ui.api import ApiError
from admin_ui.desk import Desk, screen
from admin_ui.oidc import ACR_PHISHING_RESISTANT, ACR_PUSH

GRANTS = ("authorization_code", "refresh_token", "client_credentials")
SCOPES = ("openid", "profile", "email", "phone", "offline_access", "gfmis", "admin")
CLAIMS = ("verified_claims", "name", "email", "phone_number", "unit_code", "ministry")
LIFETIMES = ("access_token_ttl", "id_token_ttl", "refresh_token_ttl")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _seconds(form: FormData, name: str) -> int | str | None:
    """Empty means the deployment's lifetime; anything else goes to the API to be checked."""
    text = str(form.get(name, "")).strip()
    return None if not text else int(text) if text.isdigit() else text


def _settings(form: FormData) -> dict[str, Any]:
    return {
        "name": str(form.get("name", "")).strip(),
        "redirect_uris": _lines(str(form.get("redirect_uris", ""))),
        "post_logout_redirect_uris": _lines(str(form.get("post_logout_redirect_uris", ""))),
        "backchannel_logout_uri": str(form.get("backchannel_logout_uri", "")).strip(),
        "grant_types": [str(g) for g in form.getlist("grant_types")],
        "scope": " ".join(str(s) for s in form.getlist("scope")),
        "allowed_claims": [str(c) for c in form.getlist("allowed_claims")],
        "first_party": form.get("first_party") == "on",
        "require_pkce": form.get("require_pkce") == "on",
        "id_token_signed_response_alg": str(form.get("id_token_signed_response_alg", "RS256")),
        "min_acr": str(form.get("min_acr", "")) or None,
        **{name: _seconds(form, name) for name in LIFETIMES},
    }


def _form(desk: Desk, client: dict[str, Any], new: bool, error: ApiError | None) -> Response:
    return desk.form_page(
        "client_form.html",
        error,
        client=client,
        new=new,
        grants=GRANTS,
        scopes=SCOPES,
        claims=CLAIMS,
        auth_methods=AUTH_METHODS,
        lifetimes=LIFETIMES,
        acr_push=ACR_PUSH,
        acr_phr=ACR_PHISHING_RESISTANT,
    )


@screen
async def listing(desk: Desk) -> Response:
    return desk.render("clients.html", clients=(await desk.get("/clients"))["items"])


@screen
async def blank(desk: Desk) -> Response:
    defaults = {
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile email",
        "require_pkce": True,
        "token_endpoint_auth_method": "client_secret_basic",
        "id_token_signed_response_alg": "RS256",
    }
    return _form(desk, defaults, True, None)


@screen
async def create(desk: Desk) -> Response:
    form = await desk.request.form()
    body = {
        **_settings(form),
        "client_id": str(form.get("client_id", "")).strip(),
        "token_endpoint_auth_method": str(form.get("token_endpoint_auth_method", "")),
    }
    try:
        created = await desk.send("POST", "/clients", body)
    except ApiError as error:
        if error.status != 400:
            raise
        return _form(desk, body, True, error)
    return desk.render("client_secret.html", client=created, secret=created.get("client_secret"))


async def _current(desk: Desk, client_id: str) -> dict[str, Any] | None:
    found = [c for c in (await desk.get("/clients"))["items"] if c["client_id"] == client_id]
    return found[0] if found else None


@screen
async def edit_form(desk: Desk) -> Response:
    client = await _current(desk, desk.request.path_params["id"])
    if client is None:
        return desk.render("error.html", 404, message=desk.t("error.not_found"))
    return _form(desk, client, False, None)


@screen
async def edit(desk: Desk) -> Response:
    client_id = desk.request.path_params["id"]
    body = _settings(await desk.request.form())
    try:
        await desk.send("PATCH", f"/clients/{client_id}", body)
    except ApiError as error:
        current = await _current(desk, client_id)
        if error.status != 400 or current is None:
            raise
        return _form(desk, {**current, **body}, False, error)  # what was typed, kept
    return desk.redirect("/clients", "flash.client_saved")


@screen
async def rotate(desk: Desk) -> Response:
    client_id = desk.request.path_params["id"]
    rotated = await desk.send("POST", f"/clients/{client_id}/rotate-secret")
    return desk.render(
        "client_secret.html", client={"client_id": client_id}, secret=rotated["client_secret"]
    )


@screen
async def delete(desk: Desk) -> Response:
    client_id = desk.request.path_params["id"]
    if (await desk.request.form()).get("confirm") != client_id:
        return desk.redirect(f"/clients/{client_id}", "flash.type_to_confirm")
    await desk.send("DELETE", f"/clients/{client_id}")
    return desk.redirect("/clients", "flash.client_deleted")
