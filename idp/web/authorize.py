"""The authorization endpoint: validate with Authlib, then sign in, ask consent, or issue a code.

The decision is a short list of single-rule checks, in this order: the request is valid (Authlib),
the session is fresh enough (`prompt=login`, `max_age`, `acr`), the user has consented, then the
code is issued. Errors that can go back to the client are redirected with RFC 9207 `iss`; an
unknown client or an unregistered redirect_uri never redirects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from sqlalchemy.orm import Session

from idp.domain import acr
from idp.oidc.adapter import StarletteOAuth2Request
from idp.oidc.claims import parse_claims_request
from idp.oidc.models import OAuthClient, SignedInUser
from idp.oidc.server import IdPAuthorizationServer
from idp.storage.models import Consent
from idp.web.sso import SsoSession
from idp.web.transactions import LoginTransaction, Transactions


@dataclass(frozen=True)
class Redirect:
    location: str


@dataclass(frozen=True)
class ShowError:
    description: str


@dataclass(frozen=True)
class NeedLogin:
    txn: LoginTransaction


@dataclass(frozen=True)
class NeedConsent:
    txn: LoginTransaction
    client_name: str
    scopes: list[str]


@dataclass(frozen=True)
class NeedDevice:
    """The client requires the push level and this user has no Soft Token."""

    params: list[tuple[str, str]]


Outcome = Redirect | ShowError | NeedLogin | NeedConsent | NeedDevice


log = logging.getLogger(__name__)


class AuthorizationFlow:
    def __init__(
        self,
        server: IdPAuthorizationServer,
        transactions: Transactions,
        has_device: Callable[[str], bool],
    ) -> None:
        self.server = server
        self.transactions = transactions
        self._has_device = has_device
        self._issuer = server.services.settings.server.issuer

    def decide(
        self, oreq: StarletteOAuth2Request, session: SsoSession | None, txn: LoginTransaction | None
    ) -> Outcome:
        try:
            return self._decide(oreq, session, txn)
        except OAuth2Error as error:
            error.state = error.state or oreq.payload.state
            return self._error(error)
        except ValueError as exc:  # Authlib refuses to quote `"` or `\` in an error's text
            return _unquotable(exc)

    def _decide(
        self, oreq: StarletteOAuth2Request, session: SsoSession | None, txn: LoginTransaction | None
    ) -> Outcome:
        end_user, step_up = self._signed_in_user(oreq, session, txn)
        grant = self.server.get_consent_grant(oreq, end_user=end_user)
        redirect_uri = grant.redirect_uri
        self._check_claims(oreq, redirect_uri)
        client_id = oreq.payload.client_id
        if end_user is None:
            if step_up and session is not None:  # only the missing factor: the push approval
                return NeedLogin(
                    self.transactions.start(
                        oreq.params,
                        client_id,
                        user_id=session.user_id,
                        done=["password"],
                        amr=list(session.amr),
                    )
                )
            return NeedLogin(self.transactions.start(oreq.params, client_id))
        if not self._acr_satisfied(oreq, end_user.acr):
            if txn is not None:
                self.transactions.finish(txn)
            return NeedDevice(oreq.params)
        client: OAuthClient = oreq.client
        if not self._has_consent(oreq, client, end_user, txn):
            if "none" in self._prompts(oreq):
                raise ConsentRequiredError(redirect_uri=redirect_uri)
            txn = txn or self.transactions.start(oreq.params, client.get_client_id())
            return NeedConsent(txn, client.record.name, (oreq.scope or "").split())
        if txn is not None:
            self.transactions.finish(txn)
        _status, _body, headers = self.server.create_authorization_response(
            oreq, grant_user=end_user, grant=grant
        )
        return self._redirect(dict(headers)["Location"])

    def deny(self, oreq: StarletteOAuth2Request) -> Outcome:
        """The user declined: access_denied back to the client."""
        try:
            grant = self.server.get_consent_grant(oreq, end_user=None)
            raise AccessDeniedError(redirect_uri=grant.redirect_uri, state=oreq.payload.state)
        except OAuth2Error as error:
            return self._error(error)
        except ValueError as exc:
            return _unquotable(exc)

    # -- single-rule checks --------------------------------------------------------------
    @staticmethod
    def _prompts(oreq: StarletteOAuth2Request) -> set[str]:
        return set((oreq.payload.data.get("prompt") or "").split())

    def _signed_in_user(
        self, oreq: StarletteOAuth2Request, session: SsoSession | None, txn: LoginTransaction | None
    ) -> tuple[SignedInUser | None, bool]:
        """The session's user if it is good enough for this request; otherwise None, and
        whether the push step alone would make it so (step-up) rather than a full sign-in."""
        if session is None:
            return None, False
        fresh = txn is not None and (txn.authenticated_at or 0) >= txn.created
        if "login" in self._prompts(oreq) and not fresh:
            return None, False
        has_device = self._has_device(session.user_id)
        max_age = oreq.payload.data.get("max_age")
        if max_age is not None:
            if not max_age.isdigit():
                raise InvalidRequestError("'max_age' must be a non-negative integer")
            if int(time.time()) - session.auth_time > int(max_age) and not fresh:
                return None, has_device
        if has_device and session.acr != acr.ACR_PUSH and not fresh and self._wants_push(oreq):
            return None, True
        user = SignedInUser(
            session.user_id, session.auth_time, session.acr, tuple(session.amr), session.sid
        )
        return user, False

    @staticmethod
    def _essential_acr(oreq: StarletteOAuth2Request) -> list[str]:
        claims = parse_claims_request(oreq.payload.data.get("claims")) or {}
        essential = (claims.get("id_token") or {}).get("acr") or {}
        if isinstance(essential, dict) and essential.get("essential"):
            return [str(v) for v in essential.get("values") or [essential.get("value")] if v]
        return []

    def _client_minimum(self, oreq: StarletteOAuth2Request) -> str | None:
        client = self.server.query_client(oreq.payload.client_id or "")
        return client.record.min_acr if client is not None else None

    def _wants_push(self, oreq: StarletteOAuth2Request) -> bool:
        asked = (oreq.payload.data.get("acr_values") or "").split() + self._essential_acr(oreq)
        minimum = self._client_minimum(oreq)  # a client that needs more than a password
        needs_more = minimum is not None and not acr.satisfies(acr.ACR_PASSWORD, minimum)
        return acr.ACR_PUSH in asked or needs_more

    def _acr_satisfied(self, oreq: StarletteOAuth2Request, achieved: str) -> bool:
        """An essential `acr` (claims parameter) and the client's minimum refuse; acr_values
        are voluntary."""
        minimum = self._client_minimum(oreq)
        if minimum is not None and not acr.satisfies(achieved, minimum):
            return False
        wanted = self._essential_acr(oreq)
        return not wanted or any(acr.satisfies(achieved, value) for value in wanted)

    def _check_claims(self, oreq: StarletteOAuth2Request, redirect_uri: str) -> None:
        try:
            parse_claims_request(oreq.payload.data.get("claims"))
        except ValueError as exc:
            raise InvalidRequestError(str(exc), redirect_uri=redirect_uri) from exc

    def _has_consent(
        self,
        oreq: StarletteOAuth2Request,
        client: OAuthClient,
        user: SignedInUser,
        txn: LoginTransaction | None,
    ) -> bool:
        if txn is not None and txn.consented:
            return True
        if client.record.first_party:
            return True
        if "consent" in self._prompts(oreq):
            return False
        with self.server.services.db.read() as session:
            consent = session.get(Consent, (user.user_id, client.get_client_id()))
        granted = set(consent.scope.split()) if consent else set()
        return set((oreq.scope or "").split()) <= granted

    # -- responses -----------------------------------------------------------------------
    def _redirect(self, location: str) -> Redirect:
        return Redirect(add_params_to_uri(location, [("iss", self._issuer)]))

    def _error(self, error: OAuth2Error) -> Outcome:
        if error.redirect_uri:
            _status, _body, headers = error()
            return self._redirect(dict(headers)["Location"])
        return ShowError(error.description or error.error)


def _unquotable(exc: ValueError) -> Outcome:
    """A request whose bad value Authlib cannot put in its error text: the invalid-request
    page, never a 500 (and never a redirect to an unchecked redirect_uri)."""
    log.warning("authorization request refused: %s", exc)
    return ShowError("invalid_request")


def remember_consent(session: Session, user_id: str, client_id: str, scope: str) -> None:
    existing = session.get(Consent, (user_id, client_id))
    scopes = set(scope.split()) | (set(existing.scope.split()) if existing else set())
    if existing:
        existing.scope = " ".join(sorted(scopes))
        existing.granted_at = datetime.now(UTC)
    else:
        session.add(
            Consent(
                user_id=user_id,
                client_id=client_id,
                scope=" ".join(sorted(scopes)),
                granted_at=datetime.now(UTC),
            )
        )


__all__ = ["AuthorizationFlow", "LoginRequiredError", "Outcome", "remember_consent"]
