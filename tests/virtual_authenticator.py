"""Chromium's virtual WebAuthn authenticator (DevTools Protocol `WebAuthn` domain): a phone's
platform authenticator (internal transport, resident keys, user verification) or a security
key, in one browser context, for the web authenticator's and the passkeys' browser tests.

WebAuthn needs an RP ID that is a domain: those tests serve the IdP as http://localhost:PORT
(a secure context); tests.chromium maps localhost to 127.0.0.1 for the browser.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import CDPSession, Page


@dataclass
class VirtualAuthenticator:
    """One virtual authenticator attached to a page's browser context."""

    cdp: CDPSession
    authenticator_id: str

    def credentials(self) -> list[dict[str, Any]]:
        """The credentials it holds (credentialId, rpId, userHandle, signCount, privateKey)."""
        ask = {"authenticatorId": self.authenticator_id}
        answer = self.cdp.send("WebAuthn.getCredentials", ask)
        return list(answer["credentials"])

    def user_verified(self, verified: bool) -> None:
        """Whether the next ceremonies pass user verification (the phone's Face ID or PIN)."""
        self.cdp.send(
            "WebAuthn.setUserVerified",
            {"authenticatorId": self.authenticator_id, "isUserVerified": verified},
        )

    def remove(self) -> None:
        self.cdp.send(
            "WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.authenticator_id}
        )


def platform_authenticator(page: Page, *, user_verification: bool = True) -> VirtualAuthenticator:
    """A phone's or computer's own authenticator: internal transport, resident keys, user
    verification that succeeds unless `user_verification` is False (presence is automatic)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    answer = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": user_verification,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return VirtualAuthenticator(cdp, str(answer["authenticatorId"]))


def b64url(data: str) -> str:
    """A credential ID as the DevTools Protocol gives it (base64) in base64url, as stored."""
    return base64.urlsafe_b64encode(base64.b64decode(data)).rstrip(b"=").decode()
