"""RFC 9126 (PAR): pushed authorization requests, and the front door of /authorize that
reads a pushed `request_uri` or a signed `request` (RFC 9101, idp.oidc.request_object).

`POST /par` authenticates the client as the token endpoint does, checks the request as
/authorize would (Authlib's validation: client, redirect_uri, response_type, scope, PKCE,
prompt; then `claims` and `max_age`), and keeps it in the expiring store for PAR_TTL seconds
under an unguessable `urn:ietf:params:oauth:request_uri:…` (256 bits; the store's key is its
hash). /authorize takes it once, for the client that pushed it; every other parameter of the
query but client_id is ignored (RFC 9126 §4). A client whose options require PAR (its own
switch or the FAPI 2.0 profile) is refused at /authorize without one, and a client that
requires signed request objects is refused without one, at either endpoint.

Errors at /authorize about these parameters are shown on the error page, never redirected:
the redirect_uri of a request that could not be read is not known to be the client's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError

from idp.domain.client_protocol import FAPI2, ProtocolOptions
from idp.domain.secrets import random_token, sha256_hex
from idp.oidc import rar, request_object
from idp.oidc.adapter import StarletteOAuth2Request
from idp.oidc.claims import parse_claims_request
from idp.oidc.models import OAuthClient, SignedInUser
from idp.oidc.request_object import InvalidRequestUri, RequestUriNotSupported

if TYPE_CHECKING:
    from idp.oidc.server import IdPAuthorizationServer

PAR_TTL = 60  # seconds (RFC 9126 §2.2: short; the browser goes to /authorize at once)
URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
ENDPOINT = "pushed_authorization_request"
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CLIENT_AUTH_PARAMS = ("client_secret", "client_assertion", "client_assertion_type")
SINGLE = ("request", "request_uri", "client_id")
# validation before anyone signs in: prompt=none is judged later, at /authorize
_SOMEONE = SignedInUser("", 0, "", ())

Reply = tuple[int, Any, list[tuple[str, str]]]


def options_of(client: OAuthClient) -> ProtocolOptions:
    """The client's protocol options with its profile's requirements applied."""
    return ProtocolOptions.of(client.record.protocol).effective()


def store_key(request_uri: str) -> str:
    return "par:" + sha256_hex(request_uri)


class PushedRequests:
    def __init__(self, server: IdPAuthorizationServer) -> None:
        self.server = server
        self._store = server.services.store
        self._issuer = server.services.settings.server.issuer

    # -- POST /par ---------------------------------------------------------------------
    def push(self, oreq: StarletteOAuth2Request, form: list[tuple[str, str]]) -> Reply:
        """The endpoint's answer: 201 with the request_uri, or an OAuth error (JSON)."""
        try:
            client: OAuthClient = self.server.authenticate_client(oreq, AUTH_METHODS, ENDPOINT)
            params = self._pushed_params(client, form)
            self.validate(self._authorization_request(oreq, params))
        except OAuth2Error as error:
            return _error_reply(error)
        request_uri = self.keep(client.get_client_id(), params)
        return 201, {"request_uri": request_uri, "expires_in": PAR_TTL}, []

    def keep(self, client_id: str, params: list[tuple[str, str]]) -> str:
        """Store a checked request for `client_id` under a new request_uri (also for a request
        this server takes up again after a detour, on the client's behalf)."""
        request_uri = URN_PREFIX + random_token(32)
        record = {"client_id": client_id, "params": params}
        self._store.put(store_key(request_uri), record, PAR_TTL)
        return request_uri

    def _pushed_params(
        self, client: OAuthClient, form: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        client_id = client.get_client_id()
        _single(form)
        names = {name for name, _ in form}
        if "request_uri" in names:
            raise InvalidRequestError("request_uri cannot be pushed")
        if any(v != client_id for k, v in form if k == "client_id"):
            raise InvalidRequestError("client_id is not the authenticated client")
        options = options_of(client)
        if "request" in names:
            value = next(v for k, v in form if k == "request")
            params = self._verify(value, client)
        elif options.require_signed_request_object:
            raise InvalidRequestError("this client must send a signed request object")
        else:
            rest = [(k, v) for k, v in form if k not in (*CLIENT_AUTH_PARAMS, "client_id")]
            params = [("client_id", client_id), *rest]
        if options.profile == FAPI2 and not any(k == "redirect_uri" for k, _ in params):
            raise InvalidRequestError("the FAPI 2.0 profile requires redirect_uri")
        return params

    def validate(self, authz: StarletteOAuth2Request) -> None:
        """The checks /authorize makes of a request before anyone signs in; raises
        OAuth2Error."""
        self.server.get_consent_grant(authz, end_user=_SOMEONE)
        data = authz.payload.data
        try:
            parse_claims_request(data.get("claims"))
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from exc
        max_age = data.get("max_age")
        if max_age is not None and not max_age.isdigit():
            raise InvalidRequestError("'max_age' must be a non-negative integer")
        client = self.server.query_client(authz.payload.client_id or "")
        schema_dir = self.server.services.settings.authorization_details.schema_dir
        protocol = client.record.protocol if client else None
        rar.parse(data.get("authorization_details"), protocol, schema_dir)  # RFC 9396 §5

    # -- GET /authorize ------------------------------------------------------------------
    def resolve(self, oreq: StarletteOAuth2Request) -> StarletteOAuth2Request:
        """The authorization request to decide: the pushed one for a request_uri, the signed
        one for a request object, else the request as it came. Raises OAuth2Error (shown on
        the error page) for a request these rules refuse."""
        _single(oreq.params)
        data = oreq.payload.data
        client_id = data.get("client_id")
        client = self.server.query_client(client_id) if client_id else None
        request_uri, signed = data.get("request_uri"), data.get("request")
        if request_uri is not None and signed is not None:
            raise InvalidRequestError("send request or request_uri, not both")
        if (request_uri is not None or signed is not None) and client is None:
            raise InvalidRequestError("client_id is missing or unknown")
        if client is None:
            return oreq  # Authlib refuses it as usual (never a redirect)
        if request_uri is not None:
            return self._authorization_request(oreq, self._take(client, request_uri))
        options = options_of(client)
        if options.require_pushed_authorization_requests:
            raise InvalidRequestError("this client must push its authorization requests (PAR)")
        if signed is not None:
            return self._authorization_request(oreq, self._verify(signed, client))
        if options.require_signed_request_object:
            raise InvalidRequestError("this client must send a signed request object")
        return oreq

    def _take(self, client: OAuthClient, request_uri: str) -> list[tuple[str, str]]:
        """The pushed request, once, for the client that pushed it."""
        if not request_uri.startswith(URN_PREFIX):
            raise RequestUriNotSupported("only request_uri values from the PAR endpoint")
        key = store_key(request_uri)
        record = self._store.get(key)
        if record is None or record.get("client_id") != client.get_client_id():
            raise InvalidRequestUri("the request_uri is unknown, used, expired or another's")
        if self._store.consume(key) is None:  # taken meanwhile by another request
            raise InvalidRequestUri("the request_uri is unknown, used, expired or another's")
        return [(str(k), str(v)) for k, v in record["params"]]

    def _verify(self, value: str, client: OAuthClient) -> list[tuple[str, str]]:
        fetch = self.server.fetch_jwks
        return request_object.verify(value, client, self._issuer, fetch)

    def _authorization_request(
        self, oreq: StarletteOAuth2Request, params: list[tuple[str, str]]
    ) -> StarletteOAuth2Request:
        return StarletteOAuth2Request(
            method="GET",
            uri=self._issuer + "/authorize",
            headers=oreq.headers,
            query=params,
            form=[],
            origin=oreq.origin,
        )


def _single(params: list[tuple[str, str]]) -> None:
    for name in SINGLE:
        if sum(1 for k, _ in params if k == name) > 1:
            raise InvalidRequestError(f"'{name}' is repeated")


def _error_reply(error: OAuth2Error) -> Reply:
    """An OAuth error as JSON: never a redirect (the pushing client is on the back channel)."""
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    headers = [(k, v) for k, v in error.get_headers() if k.lower() == "www-authenticate"]
    return error.status_code or 400, body, headers
