"""The authorization endpoint's decision: validate with Authlib, then sign in, ask consent, or
issue a code.

The decision is a short list of single-rule checks, in this order: the request is valid
(Authlib), the session proves enough for it (idp.login.assurance, from `prompt=login`,
`max_age`, `acr_values`, an essential `acr` claim and the client's minimum), the user has
consented, then the code is issued. Errors that can go back to the client are redirected with
RFC 9207 `iss`; an unknown client or an unregistered redirect_uri never redirects.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)

from idp.domain.acr import ACR_PASSWORD, ACR_PHISHING_RESISTANT, ACR_PUSH
from idp.login.assurance import Assurance, Missing, Requirement, rank
from idp.login.consent import has_consent, remember_consent
from idp.login.sso import SsoSession
from idp.login.transaction import LoginTransaction, Transactions
from idp.oidc import rar
from idp.oidc.adapter import StarletteOAuth2Request
from idp.oidc.claims import beyond_scope, parse_claims_request
from idp.oidc.models import OAuthClient, SignedInUser
from idp.oidc.server import IdPAuthorizationServer

DPOP_JKT = re.compile(r"[A-Za-z0-9_-]{43}")


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
    claims: tuple[str, ...] = ()  # asked through the claims parameter beyond the scopes
    details: tuple[dict[str, Any], ...] = ()  # RFC 9396 authorization_details to approve


@dataclass(frozen=True)
class NeedDevice:
    """The request makes a level essential (the client's minimum, an essential `acr` claim)
    that no factor this user holds can reach: no Soft Token yet, or (`passkey`) no passkey
    for the phishing-resistant level."""

    params: list[tuple[str, str]]
    passkey: bool = False


Outcome = Redirect | ShowError | NeedLogin | NeedConsent | NeedDevice


log = logging.getLogger(__name__)


class AuthorizationFlow:
    def __init__(
        self,
        server: IdPAuthorizationServer,
        transactions: Transactions,
        assurance: Assurance,
        second_factors: Callable[[str], tuple[str, ...]],
    ) -> None:
        self.server = server
        self.transactions = transactions
        self._assurance = assurance
        self._second_factors = second_factors  # what a user holds besides the password
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
        missing = self._missing(oreq, session, txn)
        end_user = None
        if session is not None and missing is not None and not missing.needs:
            end_user = SignedInUser(
                session.user_id, session.auth_time, session.acr, tuple(session.amr), session.sid
            )
        grant = self.server.get_consent_grant(oreq, end_user=end_user)  # prompt=none, too
        redirect_uri = grant.redirect_uri
        self._check_claims(oreq, redirect_uri)
        jkt = oreq.payload.data.get("dpop_jkt")
        if jkt is not None and not DPOP_JKT.fullmatch(jkt):  # RFC 9449 §10, RFC 7638 SHA-256
            raise InvalidRequestError(
                "dpop_jkt must be a JWK SHA-256 thumbprint", redirect_uri=redirect_uri
            )
        details = self._authorization_details(oreq, redirect_uri)
        client_id = oreq.payload.client_id
        if end_user is None:
            wanted = self._assurance.wanted(self._requirement(oreq))
            if session is not None and missing is not None and missing.keep:
                return NeedLogin(  # a step-up proves only what is missing
                    self.transactions.start(
                        oreq.params,
                        client_id,
                        user_id=session.user_id,
                        factors_done=list(missing.keep),
                        session_sid=session.sid,
                        wanted_acr=wanted,
                    )
                )
            return NeedLogin(self.transactions.start(oreq.params, client_id, wanted_acr=wanted))
        if missing is not None and missing.refused:
            if txn is not None:
                self.transactions.finish(txn)
            if "none" in self._prompts(oreq):  # no page may be shown: back to the client
                raise InteractionRequiredError(redirect_uri=redirect_uri)
            requirement = self._requirement(oreq)
            mandatory = [*requirement.essential, requirement.minimum or ""]
            return NeedDevice(oreq.params, passkey=ACR_PHISHING_RESISTANT in mandatory)
        client: OAuthClient = oreq.client
        if not self._has_consent(oreq, client, end_user, txn):
            if "none" in self._prompts(oreq):
                raise ConsentRequiredError(redirect_uri=redirect_uri)
            txn = txn or self.transactions.start(oreq.params, client.get_client_id())
            extra = tuple(self._claims_beyond_scope(oreq.scope or "", oreq.payload.data, client))
            scopes = (oreq.scope or "").split()
            return NeedConsent(txn, client.record.name, scopes, extra, tuple(details or ()))
        if txn is not None:
            self.transactions.finish(txn)
            if receipt := txn.extra.get("approval_receipt"):  # for this code's token response
                end_user = replace(end_user, approval_receipt=receipt)
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

    def _missing(
        self, oreq: StarletteOAuth2Request, session: SsoSession | None, txn: LoginTransaction | None
    ) -> Missing | None:
        """What the session lacks for this request (None: there is no session)."""
        if session is None:
            return None
        return self._assurance.missing(
            session.proven,
            self._requirement(oreq),
            self._second_factors(session.user_id),
            int(time.time()),
            just_signed_in=txn is not None and txn.fresh,
        )

    def _requirement(self, oreq: StarletteOAuth2Request) -> Requirement:
        """What this request asks of the sign-in, for idp.login.assurance to judge."""
        data = oreq.payload.data
        max_age = data.get("max_age")
        if max_age is not None and not max_age.isdigit():
            raise InvalidRequestError("'max_age' must be a non-negative integer")
        minimum = self._client_minimum(oreq)
        details = bool(data.get("authorization_details"))
        if details and rank(minimum or ACR_PASSWORD) < rank(ACR_PUSH):
            minimum = ACR_PUSH  # what is approved is approved on the phone, each time
        return Requirement(
            asked=tuple((data.get("acr_values") or "").split()),
            essential=tuple(self._essential_acr(oreq)),
            minimum=minimum,
            max_age=int(max_age) if max_age is not None else None,
            fresh="login" in self._prompts(oreq) or details,
        )

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

    def _check_claims(self, oreq: StarletteOAuth2Request, redirect_uri: str) -> None:
        try:
            parse_claims_request(oreq.payload.data.get("claims"))
        except ValueError as exc:
            raise InvalidRequestError(str(exc), redirect_uri=redirect_uri) from exc

    def _authorization_details(
        self, oreq: StarletteOAuth2Request, redirect_uri: str
    ) -> list[dict[str, Any]] | None:
        client = self.server.query_client(oreq.payload.client_id or "")
        raw = oreq.payload.data.get("authorization_details")
        schema_dir = self.server.services.settings.authorization_details.schema_dir
        return rar.parse(raw, client.record.protocol if client else None, schema_dir, redirect_uri)

    def _has_consent(
        self,
        oreq: StarletteOAuth2Request,
        client: OAuthClient,
        user: SignedInUser,
        txn: LoginTransaction | None,
    ) -> bool:
        if txn is not None and txn.consented:
            return True
        if oreq.payload.data.get("authorization_details"):
            return False  # each approval is asked, never remembered (RFC 9396 §8)
        if client.record.first_party:
            return True
        if "consent" in self._prompts(oreq):
            return False
        db = self.server.services.db
        scope = oreq.scope or ""
        claims = self._claims_beyond_scope(scope, oreq.payload.data, client)
        return has_consent(db, user.user_id, client.get_client_id(), scope, claims)

    def remember_consent(self, user_id: str, txn: LoginTransaction) -> None:
        """The user allowed what this sign-in's client asks (the consent page's answer)."""
        db = self.server.services.db
        scope = txn.param("scope") or ""
        client = self.server.query_client(txn.client_id)
        params = {"claims": txn.param("claims")}
        claims = self._claims_beyond_scope(scope, params, client) if client else {}
        remember_consent(db, user_id, txn.client_id, scope, claims)

    @staticmethod
    def _claims_beyond_scope(
        scope: str, params: Mapping[str, str | None], client: OAuthClient
    ) -> dict[str, str]:
        """What the `claims` parameter (OIDC Core §5.5) asks beyond the scopes, within what
        the client may receive: consent covers these too."""
        try:
            claims_request = parse_claims_request(params.get("claims"))
        except ValueError:
            return {}  # refused before consent is asked (_check_claims)
        return beyond_scope(scope, claims_request, client.record)

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


__all__ = ["AuthorizationFlow", "LoginRequiredError", "Outcome"]
