"""Reading the activation QR code: its text, or a PNG file of it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import zxingcpp
from PIL import Image

from push_auth.authenticator.state import AuthenticatorError


def read_qr(value: str) -> str:
    """The QR text, given the text itself or the path of a PNG image."""
    if value.startswith("softtoken://"):
        return value
    path = Path(value)
    if not path.is_file():
        raise AuthenticatorError("ไม่พบไฟล์ QR / no such QR image: " + value)
    with Image.open(path) as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    texts = [r.text for r in results if r.text.startswith("softtoken://")]
    if not texts:
        raise AuthenticatorError(
            "ไม่พบ QR ของ Soft Token ในภาพ / no Soft Token QR code in the image"
        )
    return texts[0]


def parse_activation(text: str) -> tuple[str, str]:
    """(device API base URL, activation code) from softtoken://activate?server=…&code=…"""
    parts = urlsplit(text)
    query = parse_qs(parts.query)
    if parts.scheme != "softtoken" or parts.netloc != "activate" or not query.get("code"):
        raise AuthenticatorError("QR นี้ไม่ใช่ของ Soft Token / not a Soft Token activation code")
    return query["server"][0], query["code"][0]
