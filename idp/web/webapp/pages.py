"""The web authenticator's shell page, manifest, service worker and cancellation.

One page serves /app, /app/activate and /app/approve: its script (static/app/app.js) shows the
step the phone is at. Its texts come from the catalogs (Thai first, English by the switch).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idp.domain.lifecycle import NotAllowed
from idp.domain.self_service import CANCEL_REASONS
from idp.oidc.adapter import origin_of
from idp.web.context import ctx
from push_auth import pictures
from push_auth.errors import PushError
from push_auth.webapp.api import json_body
from push_auth.webapp.device_key import Purpose

STATIC = Path(__file__).resolve().parent.parent / "static" / "app"
NO_STORE = {"Cache-Control": "no-store"}
TEXTS = (  # what the script says, by key (English msgids, translated per page)
    "Activate Soft Token on this phone",
    "This phone is not yet your Soft Token.",
    "On your computer, sign in and open the Soft Token activation page, then scan its QR code"
    " with this phone's camera.",
    "Activate",
    "Activating… confirm with your face, fingerprint or screen lock.",
    "Soft Token is active on this phone.",
    "Waiting for sign-in requests…",
    "Allow notifications",
    "Notifications are on.",
    "Notifications are not available in this browser: keep this app open to receive requests.",
    "Sign-in request",
    "Tap the pictures shown on your computer, in order.",
    "Approve",
    "Clear",
    "Deny this request",
    "It wasn't me",
    "Approved. You can return to your computer.",
    "Denied.",
    "Reported. Requests to this phone are suspended until an officer contacts you.",
    "The pictures did not match. Start the sign-in again on your computer.",
    "The request has expired.",
    "Renew Soft Token",
    "Renewed until",
    "Cancel Soft Token",
    "Why are you cancelling?",
    "Cancel Soft Token on this phone? You will need to register again to sign in.",
    "Soft Token was cancelled. Register again at",
    "Soft Token on this phone is no longer valid.",
    "Something went wrong. Please try again.",
    "Relying party",
    "Time",
    "IP address",
    "Browser",
    "Code",
    "Valid until",
    "Confirm with your face, fingerprint or screen lock.",
    "This browser cannot hold a Soft Token key (WebAuthn with a screen lock is needed).",
)


async def app_page(request: Request) -> Response:
    """The shell: the same page at /app, /app/activate?code=… and /app/approve?cid=…"""
    c = ctx(request)
    locale = c.render.locale(request)
    gettext = c.render.catalogs.gettext(locale)
    texts = {key: gettext(key) for key in TEXTS}
    reasons = {key: message.text(locale) for key, message in CANCEL_REASONS.items()}
    names = [
        {"id": p.id, "name": p.th if locale == "th" else p.en, "words": p.words(locale)}
        for p in pictures.all_pictures()
    ]
    return c.render.page(
        request,
        "webapp/app.html",
        texts_json=_script_json(texts),
        reasons=reasons,
        pictures_json=_script_json(names),
        register_url=c.services.settings.server.issuer + "/register",
    )


async def manifest(request: Request) -> Response:
    c = ctx(request)
    locale = c.render.locale(request)
    gettext = c.render.catalogs.gettext(locale)
    body = {
        "name": gettext("Soft Token for New GFMIS Thai"),
        "short_name": "Soft Token",
        "lang": locale,
        "start_url": "/app",
        "scope": "/app",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f3b6e",
        "icons": [
            {"src": "/static/app/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/app/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "/static/app/icon.svg",
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any maskable",
            },
        ],
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


async def service_worker(request: Request) -> Response:
    """Served at /app/sw.js so that its scope is /app (the shell and its requests)."""
    return Response(
        (STATIC / "sw.js").read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/app"},
    )


async def cancel(request: Request) -> Response:
    """Manual chapter 5 from the phone: the credential signs the cancellation's challenge,
    then the account's own cancellation runs (device revoked, registration ended, every session
    ended and relying parties told, an email)."""
    c = ctx(request)
    try:
        data = await json_body(request)
        reason = data.get("reason")
        if reason not in CANCEL_REASONS:
            raise PushError("invalid_reason", "choose a reason", 400)
        device = await run_in_threadpool(
            c.push.web.authorize, data.get("device_id"), Purpose.CANCEL, data.get("credential")
        )
    except PushError as refused:
        return JSONResponse(refused.body(), status_code=refused.status, headers=NO_STORE)
    origin = origin_of(request)
    try:
        await run_in_threadpool(c.accounts.cancel_soft_token, device.user_id, reason, origin)
    except NotAllowed as refused:
        body = {
            "error": "not_allowed",
            "error_description": refused.message.en,
            "error_description_th": refused.message.th,
        }
        return JSONResponse(body, status_code=409, headers=NO_STORE)
    await c.back_channel.sign_out_everywhere(device.user_id, "soft_token_cancelled", origin)
    return JSONResponse({"status": "cancelled"}, headers=NO_STORE)


def _script_json(value: Any) -> str:
    """JSON safe inside <script type="application/json"> (no "</" can end the element)."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")
