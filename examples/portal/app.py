"""Demo relying party: signs in through the IdP with Authlib's client and shows what it got.

Run by `make run` beside the IdP. Reads its client credentials from var/demo-portal.json.
"""

from __future__ import annotations

import html
import json
import os
import secrets
from pathlib import Path
from typing import Any

from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

CREDENTIALS = Path(os.environ.get("PORTAL_CREDENTIALS", "var/demo-portal.json"))
ended_sessions: set[str] = set()  # sids ended by back-channel logout


def page(body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='th'><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>GFMIS Portal (demo)</title><body style='font-family:sans-serif;max-width:50rem;"
        f"margin:2rem auto;padding:0 1rem'><h1>GFMIS Portal (demo)</h1>{body}</body></html>"
    )


def create_app() -> Starlette:
    config = json.loads(CREDENTIALS.read_text())
    oauth = OAuth()
    oauth.register(
        "idp",
        server_metadata_url=config["issuer"] + "/.well-known/openid-configuration",
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        client_kwargs={
            "scope": "openid profile email phone gfmis",
            "code_challenge_method": "S256",
        },
    )
    idp = oauth.create_client("idp")
    base = config["portal_url"]

    async def home(request: Request) -> Response:
        signed_in = request.session.get("user")
        if signed_in and signed_in["claims"].get("sid") in ended_sessions:
            request.session.clear()
            signed_in = None
        if not signed_in:
            return page(
                "<p>ยังไม่ได้เข้าสู่ระบบ / Not signed in.</p>"
                "<p><a href='/login'>เข้าสู่ระบบ / Sign in</a></p>"
            )
        claims = html.escape(json.dumps(signed_in["claims"], ensure_ascii=False, indent=2))
        info = html.escape(json.dumps(signed_in["userinfo"], ensure_ascii=False, indent=2))
        return page(
            f"<h2>ID token</h2><pre>{claims}</pre><h2>UserInfo</h2><pre>{info}</pre>"
            "<p><a href='/logout'>ออกจากระบบ / Sign out</a></p>"
        )

    async def login(request: Request) -> Response:
        response: Response = await idp.authorize_redirect(
            request, base + "/callback", nonce=secrets.token_urlsafe(16)
        )
        return response

    async def callback(request: Request) -> Response:
        token = await idp.authorize_access_token(request)
        userinfo = await idp.userinfo(token=token)
        request.session["user"] = {
            "claims": dict(token["userinfo"]),
            "userinfo": dict(userinfo),
            "id_token": token["id_token"],
        }
        return RedirectResponse("/")

    async def logout(request: Request) -> Response:
        user: dict[str, Any] = request.session.pop("user", None) or {}
        metadata = await idp.load_server_metadata()
        params = f"?post_logout_redirect_uri={base}/&client_id={config['client_id']}"
        if user.get("id_token"):
            params += "&id_token_hint=" + user["id_token"]
        return RedirectResponse(metadata["end_session_endpoint"] + params)

    async def backchannel_logout(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("logout_token") or "")
        metadata = await idp.load_server_metadata()
        jwks = await idp.fetch_jwk_set()
        from joserfc import jwt
        from joserfc.jwk import KeySet

        decoded = jwt.decode(token, KeySet.import_key_set(jwks))
        c = decoded.claims
        events = c.get("events", {})
        if (
            c.get("iss") != metadata["issuer"]
            or c.get("aud") not in (config["client_id"], [config["client_id"]])
            or "nonce" in c
            or "http://schemas.openid.net/event/backchannel-logout" not in events
        ):
            return PlainTextResponse("bad logout token", status_code=400)
        if sid := c.get("sid"):
            ended_sessions.add(sid)
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login),
            Route("/callback", callback),
            Route("/logout", logout),
            Route("/backchannel-logout", backchannel_logout, methods=["POST"]),
        ]
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=secrets.token_urlsafe(32),
        session_cookie="portal_session",
        same_site="lax",
    )
    return app
