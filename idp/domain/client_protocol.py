"""A client's protocol options beyond the core registration (issue #14), kept together in the
client's `protocol` column: pushed and signed requests, sender-constrained tokens, CIBA,
Rich Authorization Requests, and the FAPI 2.0 profile that turns several on at once.

Names are the registration metadata's (RFC 9126 `require_pushed_authorization_requests`,
RFC 9449 `dpop_bound_access_tokens`, RFC 9101 `require_signed_request_object`, CIBA Core §4
`backchannel_*`, RFC 9396 `authorization_details_types`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

from idp.domain.errors import Message, UserFacingError

FAPI2 = "fapi2"  # FAPI 2.0 Security Profile
PROFILES = (FAPI2,)
DELIVERY_MODES = ("poll", "ping")
REQUEST_SIGNING_ALGS = ("ES256", "PS256", "RS256")
AUTHORIZATION_DETAILS_TYPES = ("gfmis_payment",)  # the types this deployment knows
CIBA_GRANT = "urn:openid:params:grant-type:ciba"


@dataclass(frozen=True)
class ProtocolOptions:
    require_pushed_authorization_requests: bool = False
    dpop_bound_access_tokens: bool = False
    require_signed_request_object: bool = False
    profile: str | None = None
    backchannel_token_delivery_mode: str | None = None
    backchannel_client_notification_endpoint: str | None = None
    backchannel_authentication_request_signing_alg: str | None = None
    authorization_details_types: tuple[str, ...] = ()

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def of(cls, stored: Mapping[str, Any] | None) -> ProtocolOptions:
        """The options as stored (a client registered before they existed has none)."""
        values = {k: v for k, v in (stored or {}).items() if k in cls.names()}
        if "authorization_details_types" in values:
            values["authorization_details_types"] = tuple(values["authorization_details_types"])
        return cls(**values)

    @classmethod
    def parse(cls, body: Mapping[str, Any], base: ProtocolOptions | None = None) -> ProtocolOptions:
        """The options a registration or change names (others kept from `base`), with their
        types checked; `validate` checks the values."""
        values: dict[str, Any] = {}
        for name in cls.names():
            if name not in body:
                continue
            value = body[name]
            default = getattr(cls(), name)
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise _invalid(Message("{name} must be a boolean", name=name), name)
            elif isinstance(default, tuple):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise _invalid(Message("{name} must be a list of strings", name=name), name)
                value = tuple(value)
            elif value is not None and not isinstance(value, str):
                raise _invalid(Message("{name} must be a string", name=name), name)
            values[name] = default if value in ("", None) else value
        return replace(base or cls(), **values)

    def as_stored(self) -> dict[str, Any]:
        stored = asdict(self)
        stored["authorization_details_types"] = list(self.authorization_details_types)
        return stored

    def effective(self) -> ProtocolOptions:
        """With the profile's requirements applied (FAPI 2.0: PAR and DPoP)."""
        if self.profile == FAPI2:
            return replace(
                self, require_pushed_authorization_requests=True, dpop_bound_access_tokens=True
            )
        return self


def validate(options: ProtocolOptions, grant_types: tuple[str, ...], auth_method: str) -> None:
    """The rules of these options, beside the client's own (idp.domain.clients.validate)."""
    if options.profile is not None and options.profile not in PROFILES:
        raise _invalid(Message("unsupported profile (fapi2)"), "profile")
    if options.profile == FAPI2 and auth_method != "private_key_jwt":
        raise _invalid(
            Message("the FAPI 2.0 profile needs private_key_jwt client authentication"),
            "profile",
        )
    if unknown := set(options.authorization_details_types) - set(AUTHORIZATION_DETAILS_TYPES):
        raise _invalid(
            Message("unknown authorization_details types {types}", types=sorted(unknown)),
            "authorization_details_types",
        )
    _validate_ciba(options, grant_types, auth_method)


def _validate_ciba(
    options: ProtocolOptions, grant_types: tuple[str, ...], auth_method: str
) -> None:
    mode = options.backchannel_token_delivery_mode
    if CIBA_GRANT not in grant_types:
        if mode is not None:
            raise _invalid(
                Message("backchannel_token_delivery_mode needs the CIBA grant type"),
                "backchannel_token_delivery_mode",
            )
        return
    if mode not in DELIVERY_MODES:
        raise _invalid(
            Message("backchannel_token_delivery_mode must be poll or ping"),
            "backchannel_token_delivery_mode",
        )
    if auth_method == "none":
        raise _invalid(Message("a public client cannot use CIBA"), "grant_types")
    endpoint = options.backchannel_client_notification_endpoint
    if mode == "ping":
        parts = urlsplit(endpoint or "")
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise _invalid(
                Message("ping mode needs an https backchannel_client_notification_endpoint"),
                "backchannel_client_notification_endpoint",
            )
        if len(endpoint or "") > 500:
            raise _invalid(
                Message("the URL is too long"), "backchannel_client_notification_endpoint"
            )
    alg = options.backchannel_authentication_request_signing_alg
    if alg is not None and alg not in REQUEST_SIGNING_ALGS:
        raise _invalid(
            Message("backchannel_authentication_request_signing_alg must be ES256, PS256 or RS256"),
            "backchannel_authentication_request_signing_alg",
        )


def _invalid(message: Message, field: str) -> UserFacingError:
    return UserFacingError(message, field)
