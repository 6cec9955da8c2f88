"""A user holding more than one second factor chooses one after the password (issue #12): the
choice page lists what they hold, only the chosen factor's step follows, and the session's
`acr`/`amr` come from the factors proven. Two stand-in factors play the future web
authenticator and passkey, registered as a new factor would be (README, "Adding a sign-in
factor")."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.testclient import TestClient

from idp.domain.acr import ACR_PASSWORD
from idp.login.factors import Factor, Kind
from idp.login.factors.password import PASSWORD
from idp.login.transaction import LoginTransaction
from idp.web.context import WebContext, ctx
from tests import support

HOLDERS_OF_B: set[str] = set()  # everybody holds A; B only these users
KEY_A = Factor("stand_in_a", Kind.POSSESSION, frozenset({"hwk"}), False, lambda a: True, "A")
KEY_B = Factor(
    "stand_in_b",
    Kind.INHERENCE,
    frozenset({"face"}),
    False,
    lambda account: account.user_id in HOLDERS_OF_B,
    "B",
)


@dataclass
class StandInStep:
    factor: Factor
    name = "stand_in"
    needs = (PASSWORD.name,)

    @property
    def provides(self) -> str:
        return self.factor.name

    def applies(self, request: Request, txn: LoginTransaction) -> bool:
        assert txn.user_id is not None
        return self.factor.name in ctx(request).second_factors(txn.user_id)

    async def show(self, request: Request, txn: LoginTransaction) -> Response:
        return PlainTextResponse(f"prove {self.factor.name}")

    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None:
        txn.proved(self.factor.name)
        return None


@pytest.fixture
def context(app_client: TestClient) -> WebContext:
    c: WebContext = app_client.app.state.ctx  # type: ignore[attr-defined]
    for factor in (KEY_B, KEY_A):
        c.assurance.add(factor)
        c.steps.insert(2, StandInStep(factor))  # after the password and the choice
    return c


@pytest.mark.parametrize("chosen", [KEY_A, KEY_B])
def test_the_user_chooses_one_of_their_second_factors(
    app_client: TestClient,
    context: WebContext,
    rp: support.RelyingParty,
    user: support.Person,
    chosen: Factor,
) -> None:
    HOLDERS_OF_B.add(user.user_id)
    start = app_client.get("/authorize", params=support.authorize_params(rp, support.pkce()[1]))
    login = start.headers["location"]
    choice = support.submit_login(app_client, login, user.user_id, user.password)
    assert choice.status_code == 303
    page = app_client.get(login)
    assert "ท่านต้องการยืนยันตัวตนด้วยวิธีใด" in page.text
    assert 'value="stand_in_a"' in page.text
    assert 'value="stand_in_b"' in page.text
    refused = app_client.post(
        login, data={"factor": "push_sequence", "csrf_token": support.csrf_of(page.text)}
    )
    assert refused.status_code == 400  # not held: the choice page again
    picked = app_client.post(
        login, data={"factor": chosen.name, "csrf_token": support.csrf_of(page.text)}
    )
    assert picked.status_code == 303
    assert app_client.get(login).text == f"prove {chosen.name}"  # only the chosen one
    proved = app_client.post(login, data={"csrf_token": support.csrf_of(page.text)})
    location = support.follow_to_client(app_client, proved, rp.redirect_uri)
    session = context.sso.current(_request_with(app_client))
    assert session is not None
    assert session.factors == ("password", chosen.name)
    assert session.acr == ACR_PASSWORD  # neither stand-in is bound to the sign-in
    assert "mfa" in session.amr
    assert "pwd" in session.amr
    assert set(chosen.amr) <= set(session.amr)
    assert "code=" in location


def _request_with(client: TestClient) -> Request:
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return Request({"type": "http", "headers": [(b"cookie", cookie.encode())]})


def test_one_second_factor_needs_no_choice(
    app_client: TestClient, context: WebContext, rp: support.RelyingParty
) -> None:
    user = support.create_user(context.services)  # holds A only: straight to it
    start = app_client.get("/authorize", params=support.authorize_params(rp, support.pkce()[1]))
    login = start.headers["location"]
    support.submit_login(app_client, login, user.user_id, user.password)
    assert app_client.get(login).text == "prove stand_in_a"
