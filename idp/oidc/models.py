"""Authlib's model interfaces over our records: clients, codes, refresh tokens, signed-in users."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import scope_to_list

from idp.domain.secrets import same_digest
from idp.storage.models import Client


@dataclass(frozen=True)
class SignedInUser:
    """The resource owner as a grant sees it: who, and how they authenticated."""

    user_id: str
    auth_time: int
    acr: str
    amr: tuple[str, ...]
    sid: str | None = None
    grant_id: str | None = None
    authorization_details: list[dict[str, Any]] | None = None  # RFC 9396: what was approved
    approval_receipt: dict[str, Any] | None = None  # the device's signature over them

    def get_user_id(self) -> str:
        return self.user_id


class OAuthClient(ClientMixin):  # type: ignore[misc]
    def __init__(self, record: Client) -> None:
        self.record = record
        self.client_id = record.client_id
        self.id_token_signed_response_alg = record.id_token_signed_response_alg

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.record.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.record.scope.split())
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.record.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.record.secret_hash
        return stored is not None and same_digest(client_secret, stored)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.record.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.record.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.record.grant_types

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": self.record.post_logout_redirect_uris}

    @property
    def is_public(self) -> bool:
        return self.record.token_endpoint_auth_method == "none"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    """A code record as kept in the expiring store."""

    client_id: str
    redirect_uri: str
    scope: str
    user_id: str
    auth_time: int
    acr: str
    amr: list[str]
    sid: str | None
    grant_id: str
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    claims: dict[str, Any] | None = None
    authorization_details: list[dict[str, Any]] | None = None
    approval_receipt: dict[str, Any] | None = None
    dpop_jkt: str | None = None  # RFC 9449 §10: the key the code may be exchanged with

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str:
        return self.acr

    def get_amr(self) -> list[str]:
        return self.amr

    def signed_in_user(self) -> SignedInUser:
        return SignedInUser(
            self.user_id,
            self.auth_time,
            self.acr,
            tuple(self.amr),
            self.sid,
            self.grant_id,
            self.authorization_details,
            self.approval_receipt,
        )


@dataclass
class RefreshTokenRecord(TokenMixin):  # type: ignore[misc]
    token_hash: str
    client_id: str
    user_id: str
    scope: str
    grant_id: str
    expires_at: int
    user: SignedInUser | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def check_client(self, client: OAuthClient) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, self.expires_at - int(time.time()))

    def is_expired(self) -> bool:
        return self.expires_at <= int(time.time())

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> SignedInUser | None:
        return self.user

    def get_client_id(self) -> str:
        return self.client_id
