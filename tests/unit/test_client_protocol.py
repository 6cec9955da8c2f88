"""A client's protocol options: typed parsing, the rules of each, the FAPI 2.0 profile."""

from __future__ import annotations

import pytest

from idp.domain.client_protocol import CIBA_GRANT, FAPI2, ProtocolOptions, validate
from idp.domain.errors import UserFacingError

CODE = ("authorization_code", "refresh_token")


def _refused(options: ProtocolOptions, grants: tuple[str, ...] = CODE, auth: str = "x") -> str:
    with pytest.raises(UserFacingError) as refused:
        validate(options, grants, auth)
    return str(refused.value.field)


def test_parsing_keeps_what_is_not_named_and_checks_types() -> None:
    base = ProtocolOptions(require_pushed_authorization_requests=True)
    changed = ProtocolOptions.parse({"dpop_bound_access_tokens": True}, base=base)
    assert changed.require_pushed_authorization_requests
    assert changed.dpop_bound_access_tokens
    assert ProtocolOptions.of(changed.as_stored()) == changed
    assert ProtocolOptions.of(None) == ProtocolOptions()
    with pytest.raises(UserFacingError):
        ProtocolOptions.parse({"dpop_bound_access_tokens": "yes"})
    with pytest.raises(UserFacingError):
        ProtocolOptions.parse({"authorization_details_types": "gfmis_payment"})


def test_the_fapi2_profile_turns_on_par_and_dpop_and_needs_private_key_jwt() -> None:
    options = ProtocolOptions(profile=FAPI2)
    assert options.effective().require_pushed_authorization_requests
    assert options.effective().dpop_bound_access_tokens
    assert _refused(options, auth="client_secret_basic") == "profile"
    validate(options, CODE, "private_key_jwt")
    assert _refused(ProtocolOptions(profile="fapi1")) == "profile"


def test_ciba_needs_its_grant_a_mode_and_for_ping_an_endpoint() -> None:
    ciba = (*CODE, CIBA_GRANT)
    poll = ProtocolOptions(backchannel_token_delivery_mode="poll")
    assert _refused(poll) == "backchannel_token_delivery_mode"  # without the grant
    validate(poll, ciba, "client_secret_basic")
    assert _refused(ProtocolOptions(), ciba) == "backchannel_token_delivery_mode"
    assert _refused(poll, ciba, "none") == "grant_types"
    ping = ProtocolOptions(backchannel_token_delivery_mode="ping")
    assert _refused(ping, ciba) == "backchannel_client_notification_endpoint"
    plain = ProtocolOptions(
        backchannel_token_delivery_mode="ping",
        backchannel_client_notification_endpoint="http://rp.example/ping",
    )
    assert _refused(plain, ciba) == "backchannel_client_notification_endpoint"
    validate(
        ProtocolOptions(
            backchannel_token_delivery_mode="ping",
            backchannel_client_notification_endpoint="https://rp.example/ping",
            backchannel_authentication_request_signing_alg="ES256",
        ),
        ciba,
        "private_key_jwt",
    )


def test_only_known_authorization_details_types() -> None:
    validate(ProtocolOptions(authorization_details_types=("gfmis_payment",)), CODE, "x")
    refused = ProtocolOptions(authorization_details_types=("payment_initiation",))
    assert _refused(refused) == "authorization_details_types"
