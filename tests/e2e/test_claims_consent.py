"""Consent for the `claims` parameter (OIDC Core §5.5): claims asked without their scope are
shown on the consent page in Thai and English, released only once the user allows them, and
remembered consent covers a later request only if it covered those claims."""

from __future__ import annotations

import json

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from tests import support
from tests.support import Person, RelyingParty, authorize_params, exchange, pkce, query_of

ASK_PHONE_AND_MINISTRY = json.dumps(
    {
        "userinfo": {"phone_number": {"essential": True}},
        "id_token": {"ministry": {"values": ["กระทรวงการคลัง"]}},
    }
)


def _third_party(services: support.Services, **spec: object) -> RelyingParty:
    return support.create_client(services, first_party=False, **spec)


def _consent_page(
    client: TestClient, rp: RelyingParty, user: Person, challenge: str, **extra: str
) -> httpx.Response:
    """Authorize (signing in when needed) up to the consent page."""
    response = client.get("/authorize", params=authorize_params(rp, challenge, **extra))
    if response.headers.get("location", "").startswith("/login/"):
        response = support.submit_login(
            client, response.headers["location"], user.user_id, user.password
        )
        response = client.get(response.headers["location"])
    assert response.status_code == 200, (response.status_code, response.headers)
    return response


def _answer(client: TestClient, page: httpx.Response, decision: str) -> dict[str, str]:
    action = page.text.split('<form method="post" action="')[1].split('"')[0]
    answer = client.post(
        action, data={"decision": decision, "csrf_token": support.csrf_of(page.text)}
    )
    return query_of(answer.headers["location"])


def _items(page: httpx.Response) -> list[str]:
    listed = page.text.split('<ul class="scopes">')[1].split("</ul>")[0]
    return [item.split(">", 1)[1].split("</li>")[0] for item in listed.split("<li")[1:]]


def test_consent_page_shows_the_claims_asked_beyond_the_scopes_in_thai_and_english(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = _third_party(services)
    _verifier, challenge = pkce()
    thai = _consent_page(
        app_client, rp, user, challenge, scope="openid", claims=ASK_PHONE_AND_MINISTRY
    )
    assert _items(thai) == ["ยืนยันตัวตนของท่าน", "กระทรวง", "หมายเลขโทรศัพท์มือถือ"]
    english = app_client.get(
        "/authorize",
        params={**authorize_params(rp, challenge, scope="openid"), "lang": "en"}
        | {"claims": ASK_PHONE_AND_MINISTRY},
    )
    assert _items(english) == ["Confirm who you are", "Your ministry", "Your mobile number"]


def test_allowed_claims_are_released_after_consent(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = _third_party(services)
    verifier, challenge = pkce()
    page = _consent_page(
        app_client, rp, user, challenge, scope="openid", claims=ASK_PHONE_AND_MINISTRY
    )
    tokens = exchange(app_client, rp, _answer(app_client, page, "allow")["code"], verifier).json()
    info = app_client.get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert set(info.json()) == {"sub", "phone_number"}
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    assert "ministry" in jwt.decode(tokens["id_token"], keys).claims


def test_denied_consent_releases_nothing(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = _third_party(services)
    page = _consent_page(
        app_client, rp, user, pkce()[1], scope="openid", claims=ASK_PHONE_AND_MINISTRY
    )
    answer = _answer(app_client, page, "deny")
    assert answer["error"] == "access_denied"
    assert "code" not in answer


def test_claims_the_client_may_not_receive_are_neither_shown_nor_released(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = _third_party(services, scope="openid email phone", allowed_claims=("email", "ministry"))
    claims = json.dumps(
        {"userinfo": {"phone_number": None, "email": None, "ministry": None, "nickname": None}}
    )
    verifier, challenge = pkce()
    page = _consent_page(app_client, rp, user, challenge, scope="openid", claims=claims)
    assert _items(page) == ["ยืนยันตัวตนของท่าน", "อีเมล"]  # phone: not allowed; ministry: no gfmis
    tokens = exchange(app_client, rp, _answer(app_client, page, "allow")["code"], verifier).json()
    info = app_client.get(
        "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
    )
    assert set(info.json()) == {"sub", "email"}


def test_remembered_consent_covers_a_later_request_only_for_the_claims_it_covered(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = _third_party(services)
    page = _consent_page(
        app_client, rp, user, pkce()[1], scope="openid", claims=ASK_PHONE_AND_MINISTRY
    )
    assert "code" in _answer(app_client, page, "allow")
    silent = {"scope": "openid", "prompt": "none"}
    same = app_client.get(
        "/authorize",
        params=authorize_params(rp, pkce()[1], claims=ASK_PHONE_AND_MINISTRY, **silent),
    )
    assert "code" in query_of(same.headers["location"])
    fewer = json.dumps({"userinfo": {"phone_number": None}})
    subset = app_client.get(
        "/authorize", params=authorize_params(rp, pkce()[1], claims=fewer, **silent)
    )
    assert "code" in query_of(subset.headers["location"])
    more = json.dumps({"userinfo": {"phone_number": None, "email": None}})
    refused = app_client.get(
        "/authorize", params=authorize_params(rp, pkce()[1], claims=more, **silent)
    )
    assert query_of(refused.headers["location"])["error"] == "consent_required"
    asked = _consent_page(app_client, rp, user, pkce()[1], scope="openid", claims=more)
    assert _items(asked) == ["ยืนยันตัวตนของท่าน", "อีเมล", "หมายเลขโทรศัพท์มือถือ"]


def test_a_consented_scope_covers_its_claims_and_a_consented_claim_not_its_scope(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = _third_party(services)
    page = _consent_page(app_client, rp, user, pkce()[1], scope="openid phone")
    assert "code" in _answer(app_client, page, "allow")
    silent = {"scope": "openid", "prompt": "none"}
    by_claim = json.dumps({"id_token": {"phone_number_verified": None}})
    covered = app_client.get(
        "/authorize", params=authorize_params(rp, pkce()[1], claims=by_claim, **silent)
    )
    assert "code" in query_of(covered.headers["location"])
    page = _consent_page(
        app_client, rp, user, pkce()[1], scope="openid", claims=ASK_PHONE_AND_MINISTRY
    )
    # asked again for the ministry; the page lists the whole request, as it does its scopes
    assert _items(page) == ["ยืนยันตัวตนของท่าน", "กระทรวง", "หมายเลขโทรศัพท์มือถือ"]
    assert "code" in _answer(app_client, page, "allow")
    whole_scope = app_client.get(
        "/authorize", params=authorize_params(rp, pkce()[1], scope="openid gfmis", prompt="none")
    )
    assert query_of(whole_scope.headers["location"])["error"] == "consent_required"


def test_prompt_consent_shows_the_claims_again(
    app_client: TestClient, services: support.Services, user: Person
) -> None:
    rp = _third_party(services)
    page = _consent_page(
        app_client, rp, user, pkce()[1], scope="openid", claims=ASK_PHONE_AND_MINISTRY
    )
    assert "code" in _answer(app_client, page, "allow")
    again = _consent_page(
        app_client,
        rp,
        user,
        pkce()[1],
        scope="openid",
        claims=ASK_PHONE_AND_MINISTRY,
        prompt="consent",
    )
    assert _items(again) == ["ยืนยันตัวตนของท่าน", "กระทรวง", "หมายเลขโทรศัพท์มือถือ"]
