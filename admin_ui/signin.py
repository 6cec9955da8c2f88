"""Signing officers in and out through idp, and the language switch."""

from __future__ import annotations

import logging
import secrets
import time

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_ui.api import ApiError
from admin_ui.desk import Desk, local_path
from admin_ui.oidc import SignInFailed

log = logging.getLogger(__name__)


async def login(request: Request) -> Response:
    desk = Desk.of(request)
    max_age = request.query_params.get("max_age", "")
    login_state, url = await desk.office.rp.start(int(max_age) if max_age.isdigit() else None)
    next_path = local_path(request.query_params.get("next", ""), desk.office.settings.cookie_path)
    desk.session["login"] = {**login_state, "next": next_path}
    desk.dirty = True
    return desk.finish(RedirectResponse(url, status_code=303))


async def callback(request: Request) -> Response:
    desk = Desk.of(request)
    login_state = desk.session.pop("login", None) or {}
    desk.dirty = True
    try:
        signed_in = await desk.office.rp.finish(dict(request.query_params), login_state)
        me = await desk.office.api.get(signed_in.tokens.access_token, "/me", desk.origin)
    except SignInFailed as failure:
        log.warning("back-office sign-in refused: %s", failure)
        return desk.render("error.html", 400, message=desk.t("error.sign_in"))
    except ApiError as error:
        status = 403 if error.status == 403 else 400
        return desk.render("error.html", status, message=desk.message(error))
    except httpx.HTTPError:
        log.exception("back-office sign-in: the IdP could not be reached")
        return desk.render("error.html", 502, message=desk.t("error.unreachable"))
    locale = desk.session.get("locale")
    desk.session.clear()
    desk.session.update(
        {
            "token": signed_in.tokens.access_token,
            "expires_at": signed_in.tokens.expires_at,
            "refresh": signed_in.tokens.refresh_token,
            "id_token": signed_in.id_token,
            "user_id": signed_in.user_id,
            "name": me["name_th"] if (locale or "th") == "th" else me["name_en"],
            "roles": me["roles"],
            "csrf": secrets.token_urlsafe(24),
            "locale": locale,
            "_exp": int(time.time()) + int(desk.office.settings.session_hours * 3600),
        }
    )
    flash = login_state.get("next") and "flash.signed_in_again"
    if flash:
        desk.session["flash"] = flash
    return desk.finish(RedirectResponse(login_state.get("next") or desk.url("/"), status_code=303))


async def logout(request: Request) -> Response:
    desk = Desk.of(request)
    form = await request.form()
    if not desk.csrf_ok(form):
        return desk.render("error.html", 400, message=desk.t("error.csrf"))
    response = RedirectResponse(
        await desk.office.rp.logout_url(str(desk.session.get("id_token", ""))), status_code=303
    )
    desk.office.sessions.clear(response)
    return response


async def language(request: Request) -> Response:
    desk = Desk.of(request)
    choice = request.path_params["locale"]
    if choice in ("th", "en"):
        desk.session["locale"] = choice
        desk.dirty = True
    back = local_path(request.query_params.get("next", ""), desk.office.settings.cookie_path)
    return desk.finish(RedirectResponse(back or desk.url("/"), status_code=303))


async def signed_out(request: Request) -> Response:
    return Desk.of(request).render("signed_out.html")
