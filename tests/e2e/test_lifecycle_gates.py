"""The account lifecycle's gates at the seams between chapters: a one-time password leads to a
chosen one that keeps working, a phone pairs only after an approved registration, a revoked
device leaves no "success" behind, officers' actions tell relying parties."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.domain.accounts import set_password
from idp.domain.lifecycle import Ability, State
from idp.storage.models import Registration, User
from push_auth.errors import PushError
from tests import support
from tests.backends import Backend
from tests.e2e.test_admin_api import _token
from tests.e2e.test_device_api import Phone
from tests.live import free_port, serve
from tests.logout_receiver import LogoutReceiver
from tests.support import RelyingParty, authorize_params, pkce

API = "/admin/api/v1"


def _account(services: support.Services, user_id: str) -> object:
    with services.db.read() as session:
        return services.lifecycle.user(session, user_id)[1]


def _paired(
    app_client: TestClient, services: support.Services, user: support.Person
) -> tuple[Any, Phone]:
    """An approved registration and a paired phone (push_auth's PushAuth, the phone)."""
    support.approve_registration(services, user.user_id)
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    phone = Phone(app_client)
    assert phone.activate(push.start_activation(user.user_id).code).status_code == 201
    return push, phone


def _initial_password(services: support.Services, user_id: str) -> str:
    with services.db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return services.lifecycle.issue_initial_password(session, user, "test", actor="test")


def _change(client: TestClient, login_url: str, current: str, new: str) -> httpx.Response:
    page = client.get(login_url)
    assert "current_password" in page.text
    return client.post(
        login_url,
        data={
            "csrf_token": support.csrf_of(page.text),
            "current_password": current,
            "new_password": new,
            "confirm_password": new,
        },
    )


def test_a_one_time_password_leads_to_a_chosen_one_that_keeps_working(
    app_client: TestClient, rp: RelyingParty, services: support.Services, user: support.Person
) -> None:
    initial = _initial_password(services, user.user_id)
    login_url = app_client.get("/authorize", params=authorize_params(rp, pkce()[1])).headers[
        "location"
    ]
    first = support.submit_login(app_client, login_url, user.user_id, initial)
    assert first.status_code == 303
    chosen = "a passphrase of my own choosing"
    assert _change(app_client, login_url, initial, chosen).status_code == 200
    # the initial password worked once; the chosen one works now and every time after
    assert support.submit_login(app_client, login_url, user.user_id, initial).status_code == 401
    for _ in range(2):
        app_client.cookies.clear()
        query = support.sign_in(app_client, rp, support.Person(user.user_id, chosen), pkce()[1])
        assert "code" in query


def test_an_abandoned_one_time_password_is_spent(
    app_client: TestClient, rp: RelyingParty, services: support.Services, user: support.Person
) -> None:
    initial = _initial_password(services, user.user_id)
    login_url = app_client.get("/authorize", params=authorize_params(rp, pkce()[1])).headers[
        "location"
    ]
    assert support.submit_login(app_client, login_url, user.user_id, initial).status_code == 303
    app_client.cookies.clear()  # the forced change was never made
    login_url = app_client.get("/authorize", params=authorize_params(rp, pkce()[1])).headers[
        "location"
    ]
    assert support.submit_login(app_client, login_url, user.user_id, initial).status_code == 401


def _activate_page(client: TestClient, user: support.Person) -> httpx.Response:
    response = client.get("/activate")
    if response.status_code == 303:
        done = support.submit_login(
            client, response.headers["location"], user.user_id, user.password
        )
        response = client.get(done.headers["location"])
    return response


@pytest.mark.parametrize("status", [None, "in_progress", "waiting_approval", "rejected"])
def test_no_phone_pairs_without_an_approved_registration(
    app_client: TestClient, services: support.Services, user: support.Person, status: str | None
) -> None:
    if status is not None:
        support.approve_registration(services, user.user_id)
        with services.db.session() as session:
            for registration in session.query(Registration).filter_by(user_id=user.user_id):
                registration.status = status
    page = _activate_page(app_client, user)
    assert page.status_code == 403
    assert "/register" in page.text
    assert "data:image/svg" not in page.text
    assert app_client.get("/activate/qr.png").status_code == 404
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    with pytest.raises(PushError) as refused:
        push.start_activation(user.user_id)
    assert refused.value.code == "enrolment_not_allowed"


def test_a_code_given_before_the_registration_ended_pairs_nothing(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    support.approve_registration(services, user.user_id)
    push = app_client.app.state.ctx.push  # type: ignore[attr-defined]
    code = push.start_activation(user.user_id).code
    with services.db.session() as session:
        registration = session.query(Registration).filter_by(user_id=user.user_id).one()
        registration.status = "cancelled"
    answer = Phone(app_client).activate(code)
    assert answer.status_code == 403
    assert answer.json()["error"] == "enrolment_not_allowed"
    assert push.devices.active_for(user.user_id) is None


def test_one_phone_at_a_time_and_the_registration_records_it(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    _push, _phone = _paired(app_client, services, user)
    account = _account(services, user.user_id)
    assert account.state is State.DEVICE_ACTIVE  # type: ignore[attr-defined]
    assert not account.may(Ability.ACTIVATE)  # type: ignore[attr-defined]
    with services.db.read() as session:
        assert session.query(Registration).filter_by(user_id=user.user_id).one().status == (
            "activated"
        )
    page = _activate_page(app_client, user)
    assert page.status_code == 200
    assert "data:image/svg" not in page.text


def test_after_an_officer_revokes_the_phone_the_page_asks_to_register_again(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    _push, _phone = _paired(app_client, services, user)
    token, _officer = _token(app_client, services, ["officer"])
    revoked = app_client.post(
        f"{API}/users/{user.user_id}/device/revoke",
        json={"reason": "reported stolen"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert revoked.status_code == 200, revoked.text
    page = _activate_page(app_client, user)
    assert "สำเร็จ" not in page.text
    assert "ready" not in page.text.lower()
    assert page.status_code == 403
    assert "/register" in page.text
    assert _account(services, user.user_id).state is State.CANCELLED  # type: ignore[attr-defined]


def test_officers_actions_tell_relying_parties(backend: Backend, tmp_path: Path) -> None:
    receiver = LogoutReceiver()
    receiver_port, idp_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{idp_port}"
    app = create_app(support.make_settings(backend, tmp_path, issuer=issuer))
    services = app.state.ctx.services
    user = support.create_user(services)
    support.approve_registration(services, user.user_id)
    rp = support.create_client(
        services, backchannel_logout_uri=f"http://127.0.0.1:{receiver_port}/bcl"
    )
    with (
        serve(receiver.app, receiver_port),
        serve(app, idp_port),
        httpx.Client(base_url=issuer, follow_redirects=False) as browser,
    ):
        # an officer's token (no second lifespan: the live server runs this app)
        token, _officer = _token(TestClient(app), services, ["officer"])
        for path in ("reset-password", "sessions/end"):
            receiver.received.clear()
            verifier, challenge = support.pkce()
            code = support.sign_in(browser, rp, user, challenge, scope="openid")["code"]
            assert support.exchange(browser, rp, code, verifier).status_code == 200
            done = browser.post(
                f"{API}/users/{user.user_id}/{path}", headers={"Authorization": f"Bearer {token}"}
            )
            assert done.status_code == 200, done.text
            assert receiver.wait(), f"no back-channel logout after {path}"
            browser.cookies.clear()
            if path == "reset-password":  # the emailed password is unknown here: set one
                with services.db.session() as session:
                    record = session.get(User, user.user_id)
                    assert record is not None
                    set_password(session, record, user.password, must_change=False)


def test_certificates_last_the_configured_days(backend: Backend, tmp_path: Path) -> None:
    settings = support.make_settings(backend, tmp_path, push={"certificate_days": 3})
    with TestClient(create_app(settings), base_url=support.ISSUER) as client:
        context = client.app.state.ctx  # type: ignore[attr-defined]
        user = support.create_user(context.services)
        support.approve_registration(context.services, user.user_id)
        phone = Phone(client)
        assert phone.activate(context.push.start_activation(user.user_id).code).status_code == 201
        device = context.push.devices.get(phone.device_id)
        lifetime = device.not_after - context.services.clock.now()
        assert 2.9 < lifetime.total_seconds() / 86_400 <= 3
        assert _account(context.services, user.user_id).state is State.WARNED  # type: ignore[attr-defined]


def test_the_development_clock_moves_the_lifecycle(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    _push, _phone = _paired(app_client, services, user)
    page = app_client.get("/dev/clock")
    assert page.status_code == 200
    csrf = support.csrf_of(page.text)
    refused = app_client.post("/dev/clock", data={"csrf_token": csrf, "days": "-5"})
    assert refused.status_code == 400
    moved = app_client.post("/dev/clock", data={"csrf_token": csrf, "days": "720"})
    assert moved.status_code == 303
    assert _account(services, user.user_id).state is State.WARNED  # type: ignore[attr-defined]
    app_client.post("/dev/clock", data={"csrf_token": csrf, "days": "11"})
    assert _account(services, user.user_id).state is State.EXPIRED  # type: ignore[attr-defined]
    jobs = app_client.post("/dev/clock", data={"csrf_token": csrf, "action": "jobs"})
    assert "renewal_reminders" in jobs.text


def test_the_development_clock_is_absent_unless_enabled(backend: Backend, tmp_path: Path) -> None:
    settings = support.make_settings(backend, tmp_path, development={"movable_clock": False})
    with TestClient(create_app(settings), base_url=support.ISSUER) as client:
        assert client.get("/dev/clock").status_code == 404


def test_a_revocation_whose_second_write_was_lost_leads_to_registering_again(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    push, _phone = _paired(app_client, services, user)
    push.revoke(user.user_id, "the process died before the registration was ended", "test")
    assert _account(services, user.user_id).state is State.DEVICE_REVOKED  # type: ignore[attr-defined]
    assert _activate_page(app_client, user).status_code == 403  # no re-pairing by password
    wizard = app_client.get("/register")
    assert wizard.status_code == 200
    assert 'name="national_id"' in wizard.text  # a new attempt, at step 1


def test_a_lost_step_5_mark_does_not_let_a_revoked_user_pair_by_password(
    app_client: TestClient, services: support.Services, user: support.Person
) -> None:
    _push, _phone = _paired(app_client, services, user)
    with services.db.session() as session:  # as if the write after the phone's was lost
        session.query(Registration).filter_by(user_id=user.user_id).one().status = "approved"
    token, _officer = _token(app_client, services, ["officer"])
    revoked = app_client.post(
        f"{API}/users/{user.user_id}/device/revoke",
        json={"reason": "reported stolen"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert revoked.status_code == 200, revoked.text
    assert _account(services, user.user_id).state is State.CANCELLED  # type: ignore[attr-defined]
