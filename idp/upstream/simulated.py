"""A simulated Pao Tang-style identity provider for development and tests (localhost only).

A small but real OpenID provider under /dev/upstream: discovery, JWKS, an authorization page
listing test citizens to choose from, a consent page, a token endpoint (client_secret_basic,
PKCE S256) issuing ES256 ID tokens, and userinfo. It is mounted only when
`upstream.simulated = true`, which the settings refuse unless the issuer is a localhost URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import time
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from idp.domain.secrets import random_token
from idp.storage.expiring import ExpiringStore
from idp.upstream.citizens import CITIZENS, by_pid
from idp.upstream.keys import derived_ec_key, public_jwks

PATH = "/dev/upstream"
CODE_TTL = 120


def _page(title: str, body: str) -> HTMLResponse:
    """A page of the simulated app, styled as a phone app (the project's look.css, then
    upstream.css): an app bar, the content, the buttons at the bottom."""
    return HTMLResponse(
        "<!doctype html><html lang='th'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta name='theme-color' content='#1f4fd1'>"
        f"<title>{html.escape(title)} · เป๋าตัง (จำลอง)</title>"
        "<link rel='stylesheet' href='/static/look.css'>"
        "<link rel='stylesheet' href='/static/upstream.css'></head>"
        "<body class='app'><div class='screen'><header class='appbar'>"
        "<span class='logo' aria-hidden='true'>ป</span>"
        "<span class='app-name'>เป๋าตัง <small>แอปจำลองสำหรับทดสอบ / simulated</small></span>"
        f"</header><main><h1>{html.escape(title)}</h1>{body}</main></div></body></html>"
    )


class SimulatedUpstream:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        seed: bytes,
        store: ExpiringStore,
        client_public_key: ECKey | None = None,
    ) -> None:
        self.issuer = issuer + PATH
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = derived_ec_key(seed)
        self.kid = self.key.thumbprint()
        self.store = store
        self.client_public_key = client_public_key  # private_key_jwt, when configured

    def routes(self) -> list[Route]:
        return [
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize),
            Route("/authorize", self.choose, methods=["POST"]),
            Route("/token", self.token, methods=["POST"]),
        ]

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["ES256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "scopes_supported": ["openid", "pid", "profile", "address", "ial"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(public_jwks(self.key))

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        if params.get("client_id") != self.client_id or not params.get("redirect_uri"):
            return _page("ผิดพลาด", "<p><span lang='en'>Unknown client</span> / ไม่รู้จักระบบที่ขอ</p>")
        hidden = "".join(
            f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
            for k, v in params.items()
        )
        options = "".join(
            f"<label class='citizen'><input type='radio' name='pid' value='{c['pid']}' required>"
            f"<span><strong>{html.escape(c['name'])}</strong>"
            f"<span class='pid'>{c['pid']}</span></span></label>"
            for c in CITIZENS
        )
        body = (
            f"<form method='post'>{hidden}<fieldset class='citizens'>"
            f"<legend>เลือกประชาชนทดสอบ / <span lang='en'>choose a test citizen</span></legend>"
            f"{options}</fieldset>"
            "<section class='consent'><h2>ขอความยินยอม / <span lang='en'>Consent</span></h2>"
            "<p><strong lang='en'>New GFMIS Thai</strong> ขอรับข้อมูลของท่านจาก"
            "<span class='words'>เป๋าตัง</span>:</p>"
            "<ul><li>เลขประจำตัวประชาชน</li><li>ชื่อ-นามสกุล</li><li>ที่อยู่</li><li>วันเกิด</li>"
            "</ul><p lang='en'>consent to share your data</p></section>"
            "<div class='buttons'><button name='decision' value='allow'>"
            "ยินยอม / <span lang='en'>Allow</span></button>"
            "<button name='decision' value='deny' formnovalidate class='ghost'>"
            "ไม่ยินยอม / <span lang='en'>Deny</span></button></div></form>"
        )
        return _page("ยืนยันตัวตน", body)

    async def choose(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        redirect_uri, state = form.get("redirect_uri", ""), form.get("state", "")
        if form.get("client_id") != self.client_id or not redirect_uri.startswith("http"):
            return _page("ผิดพลาด", "<p><span lang='en'>Unknown client</span> / ไม่รู้จักระบบที่ขอ</p>")
        if form.get("decision") != "allow" or by_pid(form.get("pid", "")) is None:
            query = urlencode({"error": "access_denied", "state": state})
            return RedirectResponse(f"{redirect_uri}?{query}", status_code=303)
        code = random_token(24)
        self.store.put(
            "upstream-code:" + code,
            {
                "pid": form["pid"],
                "nonce": form.get("nonce"),
                "redirect_uri": redirect_uri,
                "challenge": form.get("code_challenge"),
            },
            CODE_TTL,
        )
        query = urlencode({"code": code, "state": state, "iss": self.issuer})
        return RedirectResponse(f"{redirect_uri}?{query}", status_code=303)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not (
            self._client_ok(request.headers.get("authorization", "")) or self._assertion_ok(form)
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.store.consume("upstream-code:" + form.get("code", ""))
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = form.get("code_verifier", "")
        challenge = create_s256_code_challenge(verifier)
        if not grant.get("challenge") or challenge != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        citizen = by_pid(grant["pid"])
        assert citizen is not None
        return JSONResponse(
            {
                "access_token": random_token(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(citizen, grant),
            },
            headers={"Cache-Control": "no-store"},
        )

    def id_token(self, citizen: dict[str, Any], grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "sub": hashlib.sha256(b"pairwise:" + citizen["pid"].encode()).hexdigest()[:32],
            **citizen,
        }
        if grant.get("nonce"):
            claims["nonce"] = grant["nonce"]
        return jwt.encode({"alg": "ES256", "kid": self.kid}, claims, self.key)

    def _assertion_ok(self, form: dict[str, str]) -> bool:
        """private_key_jwt: an assertion signed by the client's key, for this token endpoint."""
        if self.client_public_key is None or not form.get("client_assertion"):
            return False
        try:
            token = jwt.decode(
                form["client_assertion"], self.client_public_key, algorithms=["ES256"]
            )
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.client_id},
                sub={"essential": True, "value": self.client_id},
                aud={"essential": True, "values": [self.issuer, self.issuer + "/token"]},
                exp={"essential": True},
                jti={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError):
            return False
        return self.store.add("upstream-jti:" + str(token.claims["jti"]), {}, 600)

    def _client_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            client_id, _, secret = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return client_id == self.client_id and hmac.compare_digest(secret, self.client_secret)
