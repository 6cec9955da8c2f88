"""Which claims a `claims` request adds to the scopes, and what a client may receive."""

from __future__ import annotations

from idp.domain.clients import SCOPES
from idp.login.consent import CLAIM
from idp.oidc.claims import CARRIER, beyond_scope, permitted
from idp.storage.models import Client, Consent


def _client(
    scope: str = "openid profile email phone gfmis", allowed: list[str] | None = None
) -> Client:
    return Client(client_id="rp", scope=scope, allowed_claims=allowed or [])


def test_a_client_may_receive_the_claims_of_its_registered_scopes() -> None:
    assert permitted(_client("openid email")) == {"email", "email_verified"}


def test_the_allowed_claims_list_narrows_and_verified_claims_stays_apart() -> None:
    assert permitted(_client(allowed=["email", "verified_claims"])) == {"email"}
    assert permitted(_client("openid email", ["verified_claims"])) == {"email", "email_verified"}
    assert permitted(_client("openid email", ["ministry"])) == set()


def test_beyond_scope_names_each_claim_with_its_scope() -> None:
    asked = {
        "userinfo": {"phone_number": None, "email": None, "nickname": None},
        "id_token": {"ministry": {"essential": True}, "verified_claims": {"claims": {}}},
    }
    assert beyond_scope("openid email", asked, _client()) == {
        "ministry": "gfmis",
        "phone_number": "phone",
    }
    assert beyond_scope("openid", asked, _client("openid email")) == {"email": "email"}
    assert beyond_scope("openid", None, _client()) == {}


def test_the_largest_consent_fits_its_column() -> None:
    largest = " ".join([*SCOPES, *(CLAIM + name for name in CARRIER)])
    assert len(largest) <= Consent.__table__.c.scope.type.length
