"""The forced password change: rules shown and enforced, every session ended, sign in again."""

from __future__ import annotations

from starlette.testclient import TestClient

from idp.storage.models import User
from tests import support
from tests.support import RelyingParty, authorize_params, pkce, query_of


def _forced_user(services: support.Services) -> support.Person:
    person = support.create_user(services, must_change_password=True)
    return person


def _change_page(client: TestClient, rp: RelyingParty, user: support.Person) -> str:
    response = client.get("/authorize", params=authorize_params(rp, pkce()[1]))
    login_url = response.headers["location"]
    done = support.submit_login(client, login_url, user.user_id, user.password)
    page = client.get(done.headers["location"])
    assert "current_password" in page.text
    return login_url


def _change(
    client: TestClient, login_url: str, current: str, new: str, confirm: str | None = None
) -> object:
    page = client.get(login_url)
    return client.post(
        login_url,
        data={
            "csrf_token": support.csrf_of(page.text),
            "current_password": current,
            "new_password": new,
            "confirm_password": confirm if confirm is not None else new,
        },
    )


def test_forced_change_then_sign_in_again(
    app_client: TestClient, rp: RelyingParty, services: support.Services
) -> None:
    user = _forced_user(services)
    login_url = _change_page(app_client, rp, user)
    assert (
        _change(app_client, login_url, "wrong password!", "a brand new passphrase").status_code
        == 400
    )  # type: ignore[attr-defined]
    common = _change(app_client, login_url, user.password, "qwerty123456")
    assert common.status_code == 400  # type: ignore[attr-defined]
    assert "ทั่วไป" in common.text  # type: ignore[attr-defined]
    mismatch = _change(app_client, login_url, user.password, "a brand new passphrase", "other")
    assert mismatch.status_code == 400  # type: ignore[attr-defined]
    done = _change(app_client, login_url, user.password, "a brand new passphrase")
    assert done.status_code == 200  # type: ignore[attr-defined]
    assert "Login เข้าระบบใหม่" in done.text  # type: ignore[attr-defined]
    # the sign-in starts over: the old password no longer works, the new one does
    again = support.submit_login(app_client, login_url, user.user_id, user.password)
    assert again.status_code == 401
    again = support.submit_login(app_client, login_url, user.user_id, "a brand new passphrase")
    assert again.status_code == 303
    result = support.follow_to_client(app_client, again, rp.redirect_uri)
    assert "code" in query_of(result)
    with services.db.read() as session:
        record = session.get(User, user.user_id)
        assert record is not None
        assert record.must_change_password is False


def test_change_ends_every_other_session(
    app_client: TestClient, rp: RelyingParty, services: support.Services
) -> None:
    user = _forced_user(services)
    login_url = _change_page(app_client, rp, user)
    other = TestClient(app_client.app, base_url=support.ISSUER, follow_redirects=False)
    # another browser that signed in earlier, with a session of its own (no second lifespan)
    with services.db.session() as session:
        record = session.get(User, user.user_id)
        assert record is not None
        record.must_change_password = False
    support.sign_in(other, rp, user, pkce()[1])
    with services.db.session() as session:
        record = session.get(User, user.user_id)
        assert record is not None
        record.must_change_password = True
    assert (
        _change(app_client, login_url, user.password, "another fine passphrase").status_code == 200
    )  # type: ignore[attr-defined]
    silent = other.get("/authorize", params=authorize_params(rp, pkce()[1], prompt="none"))
    assert query_of(silent.headers["location"])["error"] == "login_required"


def test_last_five_passwords_cannot_return(
    app_client: TestClient, rp: RelyingParty, services: support.Services
) -> None:
    user = _forced_user(services)
    login_url = _change_page(app_client, rp, user)
    assert _change(app_client, login_url, user.password, "first new passphrase").status_code == 200  # type: ignore[attr-defined]
    with services.db.session() as session:
        record = session.get(User, user.user_id)
        assert record is not None
        record.must_change_password = True  # as after a reset
    renewed = support.Person(user.user_id, "first new passphrase")
    login_url = _change_page(app_client, rp, renewed)
    reused = _change(app_client, login_url, renewed.password, user.password)
    assert reused.status_code == 400  # type: ignore[attr-defined]
    assert "5" in reused.text  # type: ignore[attr-defined]
