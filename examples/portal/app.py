"""Demo relying party: a GFMIS-like portal that signs in through the IdP (Authlib's client) and
uses what a real one would.

- `/`: who is signed in (name, unit, the sign-in level and methods in words, when the Soft
  Token certificate expires from the `softtoken_expires_at` claim, with a "renew soon" hint in
  the renewal window), raw tokens only behind a "details" toggle;
- `/step-up`: sign in again at the push level (`acr_values` and `max_age=0`: the IdP asks for a
  fresh approval on the phone, the password kept);
- `/payment`: approve a payment: CIBA (the IdP's `/bc-authorize`, the picture variant) carrying
  a `gfmis_payment` (RFC 9396 authorization details); the page shows the pictures to tap and
  polls the token endpoint until the phone answered; the token response's approval receipt is
  kept;
- `/logout` (RP-initiated) and `/backchannel-logout`; `/language/th|en`.

Run by `make run` beside the IdP; reads its client credentials from var/demo-portal.json. Its
sessions live in memory (a demo). It links the IdP's look.css: the project's one look.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
from authlib.integrations.starlette_client import OAuth
from jinja2 import Environment, FileSystemLoader, select_autoescape
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from examples.portal import words
from idp.domain.acr import ACR_PUSH
from idp.oidc import rar

HERE = Path(__file__).resolve().parent
CREDENTIALS = Path(os.environ.get("PORTAL_CREDENTIALS", "var/demo-portal.json"))
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
PENDING = ("authorization_pending", "slow_down")
PAYMENT: dict[str, str] = {
    "type": "gfmis_payment",
    "amount": "125000.00",
    "currency": "THB",
    "payee_name": "บริษัท ก่อสร้างดี จำกัด",
    "payee_account": "xxx-x-x1234-x",
    "payee_bank": "ธนาคารกรุงไทย",
    "purpose": "ค่าก่อสร้างอาคารเรียน งวดที่ 2",
}
ended_sessions: set[str] = set()  # sids ended by back-channel logout


def make_templates(config: dict[str, str]) -> Environment:
    """The portal's pages, with the IdP's look and the words and formatters they use."""
    templates = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"])
    )
    templates.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    templates.globals.update(
        look_css=config["issuer"] + "/static/look.css",
        acr_words=words.acr_words,
        amr_words=words.amr_words,
        when=words.when,
        expiry_day=words.expiry_day,
        days_left=words.days_left,
        renewal_window=int(config.get("renewal_warning_days", words.RENEWAL_WINDOW_DAYS)),
        summary=rar.summary,  # a payment's lines, as the IdP's consent page and phone show them
    )
    return templates


def create_app(config: dict[str, str] | None = None) -> Starlette:
    config = config or json.loads(CREDENTIALS.read_text())
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
    client_auth = (config["client_id"], config["client_secret"])
    templates = make_templates(config)
    visits: dict[str, dict[str, Any]] = {}  # the portal's own sessions, by the cookie's key

    def visit(request: Request) -> dict[str, Any]:
        key = request.session.get("key")
        if key not in visits:
            key = secrets.token_urlsafe(16)
            request.session["key"] = key
            visits[key] = {}
        return visits[key]

    def page(request: Request, template: str, **context: Any) -> HTMLResponse:
        state = visit(request)
        locale = state.get("locale", "th")
        body = templates.get_template(template).render(
            t=words.translator(locale),
            locale=locale,
            flash=state.pop("flash", None),
            user=state.get("user"),
            **context,
        )
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})

    async def verified(token: str) -> dict[str, Any]:
        """An ID token or logout token of our IdP, for us: its claims."""
        metadata = await idp.load_server_metadata()
        keys = KeySet.import_key_set(await idp.fetch_jwk_set())
        claims = dict(jwt.decode(token, keys).claims)
        audience = claims.get("aud")
        if claims.get("iss") != metadata["issuer"] or config["client_id"] not in (
            audience if isinstance(audience, list) else [audience]
        ):
            raise ValueError("not a token of our IdP for us")
        if claims.get("exp", time.time()) < time.time() - 60:
            raise ValueError("an expired token")
        return claims

    async def home(request: Request) -> Response:
        state = visit(request)
        user = state.get("user")
        if user and user["claims"].get("sid") in ended_sessions:
            state.pop("user")
            state["flash"] = "ended"
            user = None
        return page(request, "home.html", payment=PAYMENT)

    async def login(request: Request) -> Response:
        visit(request)["step_up"] = False
        response: Response = await idp.authorize_redirect(
            request, base + "/callback", nonce=secrets.token_urlsafe(16)
        )
        return response

    async def step_up(request: Request) -> Response:
        visit(request)["step_up"] = True
        response: Response = await idp.authorize_redirect(
            request,
            base + "/callback",
            nonce=secrets.token_urlsafe(16),
            acr_values=ACR_PUSH,
            max_age=0,  # a fresh approval now, whatever the IdP's session already has
        )
        return response

    async def callback(request: Request) -> Response:
        token = await idp.authorize_access_token(request)
        state = visit(request)
        state["user"] = {
            "claims": dict(token["userinfo"]),
            "userinfo": dict(await idp.userinfo(token=token)),
            "id_token": token["id_token"],
        }
        if state.pop("step_up", False):
            reached = token["userinfo"].get("acr") == ACR_PUSH
            state["flash"] = "stepped_up" if reached else "not_stepped_up"
        return RedirectResponse("/", status_code=303)

    async def payment(request: Request) -> Response:
        """The payment's state: the phone's answer, polled at the token endpoint when the
        interval the IdP asked for has passed (the page reloads itself every 5 s)."""
        state = visit(request)
        if not state.get("user"):
            return RedirectResponse("/", status_code=303)
        asked = state.get("payment")
        if asked and asked["status"] == "pending" and time.time() >= asked["next_poll"]:
            await poll(asked)
        return page(request, "payment.html", asked=asked, payment=PAYMENT)

    async def send_payment(request: Request) -> Response:
        state = visit(request)
        user = state.get("user")
        if not user:
            return RedirectResponse("/", status_code=303)
        details = [{**PAYMENT, "document_number": f"3100-2569-{secrets.randbelow(10**4):04d}"}]
        metadata = await idp.load_server_metadata()
        async with httpx.AsyncClient(timeout=15) as http:
            answer = await http.post(
                metadata["backchannel_authentication_endpoint"],
                data={
                    "scope": "openid",
                    "id_token_hint": user["id_token"],  # the user signed in here
                    "acr_values": ACR_PUSH,  # the picture variant: bound to this screen
                    "authorization_details": json.dumps(details, ensure_ascii=False),
                },
                auth=client_auth,
            )
        body = answer.json()
        asked: dict[str, Any] = {"details": details[0], "status": "pending"}
        if answer.status_code != 200:
            asked.update(status="refused", error=body.get("error_description") or body["error"])
        else:
            interval = int(body.get("interval", 5))
            asked.update(
                auth_req_id=body["auth_req_id"],
                pictures=body.get("pictures", []),
                interval=interval,
                next_poll=time.time() + interval,  # the phone cannot have answered yet
            )
        state["payment"] = asked
        return RedirectResponse("/payment", status_code=303)

    async def poll(asked: dict[str, Any]) -> None:
        metadata = await idp.load_server_metadata()
        async with httpx.AsyncClient(timeout=15) as http:
            answer = await http.post(
                metadata["token_endpoint"],
                data={"grant_type": CIBA_GRANT, "auth_req_id": asked["auth_req_id"]},
                auth=client_auth,
            )
        body = answer.json()
        if answer.status_code == 200:
            claims = await verified(body["id_token"])
            asked.update(
                status="approved",
                acr=claims.get("acr"),
                amr=claims.get("amr"),
                auth_time=claims.get("auth_time"),
                granted=body.get("authorization_details"),
                receipt=body.get("approval_receipt"),
                id_token=claims,
            )
        elif body.get("error") in PENDING:  # CIBA Core §11: slow_down adds 5 s
            asked["interval"] += 5 if body["error"] == "slow_down" else 0
            asked["next_poll"] = time.time() + asked["interval"]
        else:
            error = body.get("error")
            asked["status"] = error if error in ("access_denied", "expired_token") else "refused"
            asked["error"] = body.get("error_description") or error

    async def forget_payment(request: Request) -> Response:
        visit(request).pop("payment", None)
        return RedirectResponse("/payment", status_code=303)

    async def language(request: Request) -> Response:
        locale = request.path_params["locale"]
        visit(request)["locale"] = locale if locale in ("th", "en") else "th"
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        user: dict[str, Any] = visit(request).pop("user", None) or {}
        metadata = await idp.load_server_metadata()
        params = f"?post_logout_redirect_uri={base}/&client_id={config['client_id']}"
        if user.get("id_token"):
            params += "&id_token_hint=" + user["id_token"]
        return RedirectResponse(metadata["end_session_endpoint"] + params)

    async def backchannel_logout(request: Request) -> Response:
        form = await request.form()
        try:
            claims = await verified(str(form.get("logout_token") or ""))
        except (JoseError, ValueError):
            return PlainTextResponse("bad logout token", status_code=400)
        if "nonce" in claims or LOGOUT_EVENT not in claims.get("events", {}):
            return PlainTextResponse("bad logout token", status_code=400)
        if sid := claims.get("sid"):
            ended_sessions.add(sid)
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login),
            Route("/step-up", step_up),
            Route("/callback", callback),
            Route("/payment", payment),
            Route("/payment", send_payment, methods=["POST"]),
            Route("/payment/new", forget_payment, methods=["POST"]),
            Route("/language/{locale}", language),
            Route("/logout", logout),
            Route("/backchannel-logout", backchannel_logout, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=secrets.token_urlsafe(32),
        session_cookie="portal_session",
        same_site="lax",
    )
    return app
