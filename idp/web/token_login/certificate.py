"""The token-key certificate a user presented: the reverse proxy verifies the TLS client
certificate and passes it on in headers, which we believe only from server.trusted_proxies."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request

from idp.web.context import WebContext
from idp.web.proxies import from_trusted_proxy


def presented_fingerprint(c: WebContext, request: Request) -> str | None:
    """SHA-256 of the client certificate the trusted proxy verified, or None."""
    settings = c.services.settings
    if not settings.token_login.enabled:
        return None
    if not from_trusted_proxy(request):
        return None  # the headers mean nothing from anyone else
    if request.headers.get(settings.token_login.verify_header) != "SUCCESS":
        return None
    raw = request.headers.get(settings.token_login.cert_header, "")
    try:
        certificate = x509.load_pem_x509_certificate(unquote(raw).encode())
    except ValueError:
        return None
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
