"""CIBA (OpenID Connect Client-Initiated Backchannel Authentication Core 1.0), poll and ping.

A relying party names a user (`login_hint`: the user ID, or `id_token_hint`); the user approves
on the phone they already have. Two variants:

- **binding message** (the default): the phone shows the relying party's `binding_message`
  and asks to approve only if the relying party's screen shows the same. Nothing forces the
  user to look, so, as the manual's compare mode at sign-in, it never yields the push level:
  `acr` is `ACR_PASSWORD`'s level (AAL1), `amr` says what really happened (`swk`, and how the
  phone's key was unlocked).
- **pictures**: when the request asks for the push level (`acr_values`, or the client's
  minimum), the answer carries the 4 pictures for the relying party to show and the user taps
  them on the phone, as at sign-in: the approval is bound to the relying party's screen, and
  the phone's key is unlocked by PIN, biometrics or WebAuthn user verification, so it gives
  `ACR_PUSH`.

An `auth_req_id` works once, for its client, until it expires; polls faster than `interval`
get `slow_down` (and a longer interval). A user ID that is unknown, or a user without a usable
phone, gets the same answer as any other and the same rate limit, and stays pending until it
expires. Requests live in the expiring store only: they last two minutes, and losing them
(the store restarted) only means the relying party asks again.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import httpx
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import BaseGrant, TokenEndpointMixin
from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc6749.token_endpoint import TokenEndpoint
from authlib.oauth2.rfc8628.errors import (
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from idp.domain import audit
from idp.domain.acr import ACR_PASSWORD, ACR_PUSH
from idp.domain.client_protocol import CIBA_GRANT, ProtocolOptions
from idp.domain.keys import ALGORITHMS
from idp.domain.lifecycle import Ability
from idp.domain.secrets import random_token, sha256_hex
from idp.oidc import rar, request_object
from idp.oidc.models import AuthorizationCode, OAuthClient, SignedInUser
from idp.services import Services
from idp.storage.models import User

log = logging.getLogger(__name__)

MAX_EXPIRY = 120  # a phone's challenge lives 120 s (push_auth.challenges.CHALLENGE_TTL)
INTERVAL = 5
MAX_BINDING_MESSAGE = 32
MAX_NOTIFICATION_TOKEN = 1024
REQUESTS_PER_MINUTE = 5  # per client and named user, known or not
PICTURES = "pictures"
BINDING = "binding"
PING_TIMEOUT = 5.0
KEY = "ciba:"


class Approvals(Protocol):
    """The phone, as CIBA needs it (push_auth, adapted by the host)."""

    def start(self, user_id: str, context: dict[str, Any], pictures: bool) -> Any | None:
        """A challenge on the user's usable phone (None when there is none to ask)."""
        ...

    def outcome(self, challenge_id: str) -> tuple[str, list[str], dict[str, Any] | None] | None:
        """The challenge's status, the `amr` its device reported and its signed receipt (when
        it carried authorization details), or None if gone."""
        ...


@dataclass
class CibaRequest:
    """One authentication request, as the expiring store keeps it."""

    client_id: str
    user_id: str | None  # None: nobody to ask (unknown, or no usable phone)
    scope: str
    variant: str
    binding_message: str | None
    expires: int
    interval: int
    next_poll: int
    challenge_id: str | None
    claims: dict[str, Any] | None = None
    authorization_details: list[dict[str, Any]] | None = None
    ping: str | None = None  # ping mode: the auth_req_id and token to notify with
    ping_token: str | None = None


def _ref(auth_req_id: str) -> str:
    return KEY + sha256_hex(auth_req_id)


class CibaRequests:
    """Starting requests (the backchannel authentication endpoint) and redeeming them (the
    token endpoint's CIBA grant); pinging clients in ping mode when the phone has answered."""

    def __init__(
        self,
        services: Services,
        approvals: Approvals,
        query_client: Callable[[str], Any],
        fetch_jwks: request_object.KeyFetcher,
    ) -> None:
        self._s = services
        self._approvals = approvals
        self._query_client = query_client
        self._fetch_jwks = fetch_jwks

    # -- the backchannel authentication endpoint ---------------------------------------------
    def start(
        self, client: OAuthClient, params: Mapping[str, str], ip: str | None
    ) -> dict[str, Any]:
        options = ProtocolOptions.of(client.record.protocol)
        mode = options.backchannel_token_delivery_mode
        if not client.check_grant_type(CIBA_GRANT) or mode is None:
            raise UnauthorizedClientError("this client is not registered for CIBA")
        if params.get("request"):
            params = self._signed(client, params["request"])
        elif options.backchannel_authentication_request_signing_alg:
            raise InvalidRequestError("this client must sign its authentication requests")
        scope = client.get_allowed_scope(params.get("scope", ""))  # beyond the client's: left out
        if "openid" not in scope.split():
            raise InvalidScopeError("the scope must include openid")
        if params.get("user_code"):
            raise _error("missing_user_code", "user codes are not supported")
        hint = self._hint(params)
        schema_dir = self._s.settings.authorization_details.schema_dir
        details = rar.parse(params.get("authorization_details"), client.record.protocol, schema_dir)
        message = _binding_message(params.get("binding_message"))
        variant = self._variant(client, params)
        if variant == BINDING and message is None:
            raise InvalidRequestError(
                "binding_message is required (or ask for the push acr to use pictures)"
            )
        expires_in = _expiry(params.get("requested_expiry"))
        ping_token = params.get("client_notification_token")
        if mode == "ping" and not (ping_token and len(ping_token) <= MAX_NOTIFICATION_TOKEN):
            raise InvalidRequestError("client_notification_token is required in ping mode")
        self._limit(client.get_client_id(), hint)
        user_id = self._user(hint)
        auth_req_id = secrets.token_urlsafe(32)
        now = int(time.time())
        context = {
            "client": client.get_client_id(),
            "client_name": client.record.name,
            "time": now,
            "binding_message": message,
            "ciba": _ref(auth_req_id),
        }
        if details:  # shown, and signed by the device: the receipt (push_auth.receipts)
            context["details"] = rar.summary(details, "th")
            context["details_en"] = rar.summary(details, "en")
            context["authorization_details"] = details
            context["details_sha256"] = rar.digest(details)
        challenge = (
            self._approvals.start(user_id, context, variant == PICTURES) if user_id else None
        )
        record = CibaRequest(
            client_id=client.get_client_id(),
            user_id=user_id if challenge is not None else None,
            scope=scope,
            variant=variant,
            binding_message=message,
            expires=now + expires_in,
            interval=INTERVAL,
            next_poll=now,
            challenge_id=challenge.challenge_id if challenge is not None else None,
            authorization_details=details,
            ping=auth_req_id if mode == "ping" else None,
            ping_token=ping_token if mode == "ping" else None,
        )
        self._s.store.put(_ref(auth_req_id), asdict(record), expires_in + 60)
        self._audit(
            "ciba.request",
            user_id or "unknown",
            client=client.get_client_id(),
            reached=challenge is not None,
            variant=variant,
            ip=ip,
        )
        answer: dict[str, Any] = {
            "auth_req_id": auth_req_id,
            "expires_in": expires_in,
            "interval": INTERVAL,
        }
        if variant == PICTURES:  # unknown users get pictures too: the same answer
            shown = challenge.pictures if challenge is not None else _random_pictures()
            answer["pictures"] = [self._picture(p) for p in shown]
        return answer

    def _signed(self, client: OAuthClient, value: str) -> dict[str, str]:
        """CIBA Core §7.1.1: the parameters of a request signed by the client (its registered
        keys, as for request objects), with `iat`, `nbf` and a `jti` used once."""
        issuer = self._s.settings.server.issuer
        try:
            params = dict(request_object.verify(value, client, issuer, self._fetch_jwks))
        except OAuth2Error as refused:
            description = refused.description or "the signed request is invalid"
            raise InvalidRequestError(description) from refused
        claims = json.loads(_b64url_decode(value.split(".")[1]))  # verified just now
        if not all(isinstance(claims.get(name), int) for name in ("iat", "nbf")):
            raise InvalidRequestError("a signed authentication request needs iat and nbf")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= 128:
            raise InvalidRequestError("a signed authentication request needs a jti")
        key = f"ciba-jti:{client.get_client_id()}:{sha256_hex(jti)}"
        if not self._s.store.add(key, {}, request_object.MAX_LIFETIME + 60):
            raise InvalidRequestError("this signed authentication request was already used")
        return params

    def _hint(self, params: Mapping[str, str]) -> str:
        """The user the request names: exactly one hint."""
        given = [n for n in ("login_hint", "id_token_hint", "login_hint_token") if params.get(n)]
        if len(given) != 1:
            raise InvalidRequestError("give exactly one of login_hint, id_token_hint")
        if given[0] == "login_hint_token":
            raise InvalidRequestError("login_hint_token is not supported: use login_hint")
        if given[0] == "login_hint":
            hint = params["login_hint"].strip()
            if not 0 < len(hint) <= 64:
                raise InvalidRequestError("login_hint must be a user ID")
            return hint
        return self._id_token_subject(params["id_token_hint"])

    def _id_token_subject(self, token: str) -> str:
        """The `sub` of an ID token this server signed (an expired one will do: it only names
        the user, as CIBA Core §7.1 allows)."""
        keys = KeySet.import_key_set({"keys": self._s.keys.snapshot().published})
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except (JoseError, ValueError) as exc:
            raise InvalidRequestError("id_token_hint is not an ID token of this server") from exc
        if decoded.claims.get("iss") != self._s.settings.server.issuer:
            raise InvalidRequestError("id_token_hint is not an ID token of this server")
        return str(decoded.claims.get("sub", ""))

    def _variant(self, client: OAuthClient, params: Mapping[str, str]) -> str:
        wanted = set((params.get("acr_values") or "").split())
        if client.record.min_acr and client.record.min_acr not in (ACR_PASSWORD, ACR_PUSH):
            raise InvalidRequestError("this client's minimum level cannot be reached by CIBA")
        if client.record.min_acr == ACR_PUSH or ACR_PUSH in wanted:
            return PICTURES
        return BINDING

    def _limit(self, client_id: str, hint: str) -> None:
        key = f"ciba-rate:{client_id}:{sha256_hex(hint)}"
        if self._s.store.increment(key, 60) > REQUESTS_PER_MINUTE:
            raise _error("slow_down", "too many requests for this user: wait a minute", 429)

    def _user(self, hint: str) -> str | None:
        """The user, if the lifecycle lets them sign in now (else nobody to ask)."""
        with self._s.db.read() as session:
            user = session.get(User, hint)
            if user is None:
                return None
            account = self._s.lifecycle.account(session, user)
            return user.user_id if account.may(Ability.SIGN_IN) else None

    def _picture(self, picture_id: int) -> dict[str, Any]:
        from push_auth.pictures import all_pictures  # the names the phone shows

        picture = all_pictures()[picture_id]
        url = f"{self._s.settings.server.issuer}/push/v1/pictures/{picture_id:02d}.svg"
        return {"id": picture_id, "th": picture.th, "en": picture.en, "url": url}

    # -- the token endpoint --------------------------------------------------------------------
    def redeem(self, auth_req_id: str, client: OAuthClient) -> tuple[SignedInUser, str]:
        """The user who approved and the scope, once; otherwise the error the client should
        see now."""
        ref = _ref(auth_req_id)
        raw = self._s.store.get(ref) if len(auth_req_id) <= 128 else None
        if raw is None:
            raise InvalidGrantError("unknown or used auth_req_id")
        record = CibaRequest(**raw)
        if record.client_id != client.get_client_id():
            raise InvalidGrantError("auth_req_id was issued to another client")
        now = int(time.time())
        if now >= record.expires:
            self._s.store.delete(ref)
            raise ExpiredTokenError()
        if now < record.next_poll:
            record.interval += INTERVAL
            record.next_poll = now + record.interval
            self._s.store.put(ref, asdict(record), record.expires - now + 60)
            raise SlowDownError()
        record.next_poll = now + record.interval
        outcome = self._approvals.outcome(record.challenge_id) if record.challenge_id else None
        status, reported, receipt = outcome or ("pending", [], None)
        if status == "pending":
            self._s.store.put(ref, asdict(record), record.expires - now + 60)
            raise AuthorizationPendingError()
        if self._s.store.consume(ref) is None:  # another poll redeemed it meanwhile
            raise InvalidGrantError("unknown or used auth_req_id")
        assert record.user_id is not None
        if status == "expired":
            raise ExpiredTokenError()
        if status != "approved":
            self._audit("ciba.denied", record.user_id, client=record.client_id, status=status)
            raise AccessDeniedError()
        if self._user(record.user_id) is None:  # disabled or locked meanwhile
            raise AccessDeniedError()
        methods = sorted({"swk", *reported})
        bound = record.variant == PICTURES and bool(reported)
        acr = ACR_PUSH if bound else ACR_PASSWORD
        if bound:
            methods = sorted({*methods, "mfa"})
        self._audit("ciba.approved", record.user_id, client=record.client_id, acr=acr)
        user = SignedInUser(
            record.user_id,
            now,
            acr,
            tuple(methods),
            None,
            random_token(24),
            record.authorization_details,
            receipt,
        )
        return user, record.scope

    # -- ping ----------------------------------------------------------------------------------
    def answered(self, challenge: Any) -> None:
        """push_auth's listener: a ping-mode client learns that its request was answered."""
        ref = challenge.context.get("ciba") if isinstance(challenge.context, dict) else None
        raw = self._s.store.get(str(ref)) if ref else None
        if raw is None:
            return
        record = CibaRequest(**raw)
        if record.ping is None or record.ping_token is None:
            return
        client = self._query_client(record.client_id)
        options = ProtocolOptions.of(client.record.protocol) if client else None
        endpoint = options.backchannel_client_notification_endpoint if options else None
        if endpoint:
            threading.Thread(
                target=_ping,
                args=(endpoint, record.ping_token, record.ping),
                name="ciba-ping",
                daemon=True,
            ).start()

    def _audit(self, action: str, subject: str, **detail: Any) -> None:
        actor = str(detail.get("client") or "ciba")
        with self._s.db.session() as session:
            audit.record(session, action, actor=actor, subject=subject, **detail)


def _ping(endpoint: str, token: str, auth_req_id: str) -> None:
    """CIBA Core §10.2: POST {"auth_req_id"} with the client's notification token; tried
    three times, then left (the client can still poll)."""
    for attempt in range(3):
        try:
            answer = httpx.post(
                endpoint,
                json={"auth_req_id": auth_req_id},
                headers={"Authorization": "Bearer " + token},
                timeout=PING_TIMEOUT,
            )
            if answer.status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5 * 2**attempt)
    log.warning("the CIBA ping to %s was not delivered", endpoint)


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _binding_message(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > MAX_BINDING_MESSAGE or not value.isprintable():
        raise _error(
            "invalid_binding_message",
            f"binding_message must be at most {MAX_BINDING_MESSAGE} printable characters",
        )
    return value


def _expiry(value: str | None) -> int:
    if value is None or value == "":
        return MAX_EXPIRY
    if not value.isdigit() or not 0 < int(value) <= 3600:
        raise InvalidRequestError("requested_expiry must be a positive number of seconds")
    return min(int(value), MAX_EXPIRY)


def _random_pictures() -> list[int]:
    from push_auth.pictures import random_sequence

    return random_sequence()


def _error(code: str, description: str, status: int = 400) -> OAuth2Error:
    error = OAuth2Error(description=description, status_code=status)
    error.error = code
    return error


class BackchannelAuthentication(TokenEndpoint):  # type: ignore[misc]
    """POST /bc-authorize: the client authenticated as at the token endpoint."""

    ENDPOINT_NAME = "backchannel_authentication"
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]  # noqa: RUF012

    def __init__(self, server: Any, requests: CibaRequests) -> None:
        super().__init__(server)
        self._requests = requests

    def create_endpoint_response(self, request: Any) -> tuple[int, Any, list[tuple[str, str]]]:
        client = self.authenticate_endpoint_client(request)
        ip = getattr(request, "remote_addr", None)
        body = self._requests.start(client, request.payload.data, ip)
        return 200, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


class CibaGrant(BaseGrant, TokenEndpointMixin):  # type: ignore[misc]
    """grant_type=urn:openid:params:grant-type:ciba with the auth_req_id (poll and ping)."""

    GRANT_TYPE = CIBA_GRANT
    TOKEN_ENDPOINT_AUTH_METHODS = BackchannelAuthentication.CLIENT_AUTH_METHODS

    def validate_token_request(self) -> None:
        auth_req_id = self.request.payload.data.get("auth_req_id")
        if not auth_req_id:
            raise InvalidRequestError("auth_req_id is missing")
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("this client is not registered for CIBA")
        requests: CibaRequests = self.server.ciba
        user, scope = requests.redeem(str(auth_req_id), client)
        self.request.user = user
        self.request.client = client
        self.request.authorization_code = AuthorizationCode(  # what the ID token reads
            client_id=client.get_client_id(),
            redirect_uri="",
            scope=scope,
            user_id=user.user_id,
            auth_time=user.auth_time,
            acr=user.acr,
            amr=list(user.amr),
            sid=None,
            grant_id=user.grant_id or random_token(24),
        )
        self.request.payload.data["scope"] = scope

    @hooked  # type: ignore[untyped-decorator]
    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        client = self.request.client
        scope = self.request.authorization_code.scope
        token = self.generate_token(
            user=self.request.user,
            scope=scope,
            include_refresh_token=client.check_grant_type("refresh_token"),
        )
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
