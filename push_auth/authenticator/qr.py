"""Reading the activation QR code: its text, a PNG file of it, or the code typed from the page."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import zxingcpp
from PIL import Image, UnidentifiedImageError

from push_auth.authenticator.state import AuthenticatorError

API_PATH = "/push/v1"
APP_ACTIVATE = "/app/activate"  # the web authenticator's page, which the QR code opens
# the code the activation page shows: secrets.token_urlsafe(18), 24 URL-safe characters
TYPED_CODE = re.compile(r"[A-Za-z0-9_-]{24}")


def read_qr(value: str, server: str | None = None) -> str:
    """The QR text, given the text itself, the path of a PNG image, or the code the page shows
    (then `server`, the IdP's or its device API's base URL, says where to activate)."""
    if _is_activation(value):
        return _same_server(value, server)
    path = Path(value)
    if not path.is_file() and TYPED_CODE.fullmatch(value):
        if server is None:
            raise AuthenticatorError(
                "a typed code needs --server with the server's address (e.g. --server https://idp.example.go.th),"
                " or scan the QR code (give its text or PNG) instead"
            )
        return "softtoken://activate?" + urlencode({"server": device_api(server), "code": value})
    if not path.is_file():
        raise AuthenticatorError("no such QR image: {path}", path=value)
    try:
        with Image.open(path) as image:
            results = zxingcpp.read_barcodes(image.convert("L"))
    except UnidentifiedImageError as exc:
        raise AuthenticatorError("not a PNG image: {path}", path=value) from exc
    texts = [r.text for r in results if _is_activation(r.text)]
    if not texts:
        raise AuthenticatorError("no Soft Token QR code in the image")
    return _same_server(texts[0], server)


def _same_server(text: str, server: str | None) -> str:
    """The QR code carries its server: a --server beside it must name the same one."""
    if server is not None and parse_activation(text)[0].rstrip("/") != device_api(server):
        raise AuthenticatorError("this QR code is for another server than --server")
    return text


def device_api(server: str) -> str:
    """The device API's base URL from --server: the IdP's base URL or the API's own."""
    base = server.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise AuthenticatorError(
            "--server must be a URL such as https://idp.example.go.th: {server}", server=server
        )
    return base if parts.path.endswith(API_PATH) else base + API_PATH


def _is_activation(text: str) -> bool:
    if text.startswith("softtoken://"):
        return True
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and parts.path.endswith(APP_ACTIVATE)


def parse_activation(text: str) -> tuple[str, str]:
    """(device API base URL, activation code) from the QR code's web address
    (https://idp…/app/activate?code=…) or softtoken://activate?server=…&code=…"""
    parts = urlsplit(text)
    query = parse_qs(parts.query)
    if parts.scheme in ("http", "https") and parts.path.endswith(APP_ACTIVATE):
        base = parts.path.removesuffix(APP_ACTIVATE)
        server = f"{parts.scheme}://{parts.netloc}{base}{API_PATH}"
    elif parts.scheme == "softtoken" and parts.netloc == "activate" and query.get("server"):
        server = query["server"][0]
    else:
        server = ""
    if not server or not query.get("code"):
        raise AuthenticatorError("not a Soft Token activation code")
    return server, query["code"][0]
