"""Passkeys as a second factor (issue #13, item 4), on both backends, with a software
authenticator (tests.passkey_support): registration, a sign-in that reaches the
phishing-resistant acr, the choice of factor by the level asked, and every refusal of an
assertion — shown in Thai and English, audited, and changing nothing."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import time
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from idp.domain.acr import ACR_PASSWORD, ACR_PHISHING_RESISTANT, ACR_PUSH
from idp.domain.audit import Origin
from idp.login.factors.passkey import EXPIRED, NO_SOFT_TOKEN, PasskeyRefused
from idp.storage.models import AuditEvent, OutboxMessage, Passkey
from idp.web.context import WebContext
from tests import support
from tests.backends import Backend
from tests.e2e.test_device_api import Phone
from tests.passkey_support import SoftPasskey, challenge_of

ORIGIN = support.ISSUER  # http://localhost: the RP ID is "localhost"
HERE = Origin("127.0.0.1", "test")


@pytest.fixture
def c(app_client: TestClient) -> WebContext:
    context: WebContext = app_client.app.state.ctx
    return context


def _give_phone(app_client: TestClient, c: WebContext, user_id: str) -> Phone:
    """Registration approved and a phone activated: an active Soft Token, as passkeys need."""
    support.approve_registration(c.services, user_id)
    phone = Phone(app_client)
    assert phone.activate(c.push.start_activation(user_id).code).status_code == 201
    return phone


@pytest.fixture
def phone(app_client: TestClient, c: WebContext, user: support.Person) -> Phone:
    """The `user`'s active Soft Token: passkeys count only beside it."""
    return _give_phone(app_client, c, user.user_id)


def _register(c: WebContext, user: support.Person, name: str = "") -> SoftPasskey:
    soft = SoftPasskey(ORIGIN, "localhost")
    options = c.passkeys.registration_options(user.user_id, "Test")
    c.passkeys.register(user.user_id, soft.create(options), name, HERE)
    return soft


def _refusals(c: WebContext, user_id: str) -> list[str]:
    with c.services.db.read() as session:
        rows = session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject == user_id, AuditEvent.action == "passkey.refused"
            )
        )
        return [str(row.detail.get("reason")) for row in rows]


def _mails(session: Session, user: support.Person) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "passkey_changed",
                OutboxMessage.to_address == f"{user.user_id.lower()}@example.go.th",
            )
        )
    )


def _options_of(page: str) -> str:
    found = re.search(r'data-options="([^"]+)"', page)
    assert found, page[:500]
    return html.unescape(found.group(1))


def _after_password(
    client: TestClient, rp: support.RelyingParty, user: support.Person, **extra: str
) -> tuple[str, httpx.Response, str]:
    """(login URL, the page that follows the password, the PKCE verifier)."""
    verifier, challenge = support.pkce()
    start = client.get("/authorize", params=support.authorize_params(rp, challenge, **extra))
    login = start.headers["location"]
    support.submit_login(client, login, user.user_id, user.password)
    return login, client.get(login), verifier


def _at_passkey_step(
    client: TestClient, rp: support.RelyingParty, user: support.Person, **extra: str
) -> tuple[str, str, str]:
    """(login URL, the page, the PKCE verifier) once the password is in and, for a user
    offered both the phone and a passkey, the passkey chosen."""
    login, page, verifier = _after_password(client, rp, user, **extra)
    assert page.status_code == 200, page.text[:500]
    if 'name="factor"' in page.text:
        data = {"csrf_token": support.csrf_of(page.text), "factor": "passkey"}
        assert client.post(login, data=data).status_code == 303
        page = client.get(login)
        assert page.status_code == 200, page.text[:500]
    return login, page.text, verifier


def _answer(client: TestClient, login: str, page: str, credential: str) -> httpx.Response:
    return client.post(login, data={"csrf_token": support.csrf_of(page), "credential": credential})


@pytest.mark.usefixtures("phone")
def test_a_registered_passkey_signs_in_at_the_phishing_resistant_level(
    app_client: TestClient, c: WebContext, user: support.Person
) -> None:
    soft = _register(c, user)
    with c.services.db.read() as session:
        row = session.get(Passkey, soft.credential_id)
        assert row is not None
        assert row.user_id == user.user_id
        assert row.name.startswith("Passkey 1 ")  # the default: how many, and the day
        assert row.transports == ["internal"]
        assert row.sign_count == 0
        assert row.aaguid == "00000000-0000-0000-0000-000000000000"
        assert (row.backup_eligible, row.backed_up) == (False, False)
        assert len(_mails(session, user)) == 1
    rp = support.create_client(c.services, min_acr=ACR_PHISHING_RESISTANT)
    login, page, verifier = _at_passkey_step(app_client, rp, user)
    assert "เข้าสู่ระบบด้วยพาสคีย์" in page
    credential = soft.get(challenge_of(_options_of(page)))
    done = _answer(app_client, login, page, credential)
    query = support.query_of(support.follow_to_client(app_client, done, rp.redirect_uri))
    tokens = support.exchange(app_client, rp, query["code"], verifier).json()
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    claims = jwt.decode(tokens["id_token"], keys).claims
    assert claims["acr"] == ACR_PHISHING_RESISTANT
    assert claims["amr"] == ["hwk", "mfa", "pwd", "user"]
    with c.services.db.read() as session:
        used = session.get(Passkey, soft.credential_id)
        assert used is not None
        assert used.sign_count == 1
        assert used.last_used_at is not None


def _refused(
    app_client: TestClient,
    c: WebContext,
    user: support.Person,
    credential: str,
    login: str,
    page: str,
    reason: str,
    shown: str,
) -> None:
    answer = _answer(app_client, login, page, credential)
    assert answer.status_code == 400
    assert shown in answer.text
    assert 'role="alert"' in answer.text
    assert _refusals(c, user.user_id)[-1] == reason
    with c.services.db.read() as session:
        assert (
            session.scalar(select(Passkey.sign_count).where(Passkey.user_id == user.user_id)) == 0
        )


@pytest.mark.usefixtures("phone")
@pytest.mark.parametrize(
    ("knobs", "reason", "shown"),
    [
        ({"uv": False}, "user_not_verified", "ยืนยันตัวท่านบนอุปกรณ์"),
        ({"origin": "http://evil.example"}, "origin_mismatch", "เว็บไซต์อื่น"),
        ({"rp_id": "evil.example"}, "rp_id_mismatch", "เว็บไซต์อื่น"),
        ({"tamper": True}, "signature_invalid", "ตรวจสอบคำตอบของพาสคีย์ไม่ผ่าน"),
    ],
)
def test_a_wrong_assertion_is_refused_with_a_message_and_audited(
    app_client: TestClient,
    c: WebContext,
    user: support.Person,
    rp: support.RelyingParty,
    knobs: dict[str, object],
    reason: str,
    shown: str,
) -> None:
    soft = _register(c, user)
    login, page, _verifier = _at_passkey_step(app_client, rp, user)
    credential = soft.get(challenge_of(_options_of(page)), **knobs)
    _refused(app_client, c, user, credential, login, page, reason, shown)


@pytest.mark.usefixtures("phone")
def test_an_assertion_for_another_challenge_is_refused(
    app_client: TestClient, c: WebContext, user: support.Person, rp: support.RelyingParty
) -> None:
    soft = _register(c, user)
    login, page, _verifier = _at_passkey_step(app_client, rp, user)
    other, _options = c.passkeys.sign_in_options(user.user_id)  # a challenge of ours, not this one
    credential = soft.get(other)
    _refused(
        app_client, c, user, credential, login, page, "challenge_mismatch", "ไม่ใช่ของการเข้าสู่ระบบครั้งนี้"
    )


@pytest.mark.usefixtures("phone")
def test_a_credential_of_another_user_is_refused(
    app_client: TestClient, c: WebContext, user: support.Person, rp: support.RelyingParty
) -> None:
    _register(c, user)
    other = support.create_user(c.services)
    _give_phone(app_client, c, other.user_id)
    theirs = _register(c, other)
    login, page, _verifier = _at_passkey_step(app_client, rp, user)
    credential = theirs.get(challenge_of(_options_of(page)))
    _refused(
        app_client,
        c,
        user,
        credential,
        login,
        page,
        "credential_of_another",
        "ไม่ได้ลงทะเบียนไว้กับบัญชีนี้",
    )


@pytest.mark.usefixtures("phone")
def test_a_replayed_assertion_is_refused(
    app_client: TestClient, c: WebContext, user: support.Person, rp: support.RelyingParty
) -> None:
    """Replayed in a new sign-in (another challenge), or to the same challenge (spent), or
    signed again with a counter that does not move (a cloned authenticator)."""
    soft = _register(c, user)
    challenge, _options = c.passkeys.sign_in_options(user.user_id)
    used = soft.get(challenge)
    assert c.passkeys.sign_in(user.user_id, challenge, used, HERE) == {"hwk"}
    with pytest.raises(PasskeyRefused) as spent:
        c.passkeys.sign_in(user.user_id, challenge, used, HERE)
    assert spent.value.message == EXPIRED
    login, page, _verifier = _at_passkey_step(app_client, rp, user)
    answer = _answer(app_client, login, page, used)
    assert answer.status_code == 400
    assert "ไม่ใช่ของการเข้าสู่ระบบครั้งนี้" in answer.text
    page = answer.text
    cloned = soft.get(challenge_of(_options_of(page)), count=1)
    again = _answer(app_client, login, page, cloned)
    assert "ตัวนับการใช้งานของพาสคีย์ไม่เพิ่มขึ้น" in again.text
    assert _refusals(c, user.user_id) == [
        "challenge_unknown",
        "challenge_mismatch",
        "sign_count_regression",
    ]
    with c.services.db.read() as session:
        assert (
            session.scalar(select(Passkey.sign_count).where(Passkey.user_id == user.user_id)) == 1
        )


def test_registration_needs_a_phone_user_verification_and_this_site(
    app_client: TestClient, c: WebContext, user: support.Person
) -> None:
    with pytest.raises(PasskeyRefused):  # no active Soft Token
        c.passkeys.registration_options(user.user_id, "Test")
    _give_phone(app_client, c, user.user_id)
    ceremonies = c.passkeys
    for knobs in ({"uv": False}, {"origin": "http://evil.example"}):
        options = ceremonies.registration_options(user.user_id, "Test")
        with pytest.raises(PasskeyRefused):
            ceremonies.register(
                user.user_id,
                SoftPasskey(ORIGIN, "localhost").create(options, **knobs),
                "",
                HERE,
            )
    soft = _register(c, user, "My laptop")
    options = json.loads(ceremonies.registration_options(user.user_id, "Test"))
    assert [d["id"] for d in options["excludeCredentials"]] == [soft.credential_id]
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["rp"]["id"] == "localhost"
    with pytest.raises(PasskeyRefused):  # the same authenticator again
        ceremonies.register(user.user_id, soft.create(json.dumps(options)), "", HERE)
    with c.services.db.read() as session:
        names = session.scalars(select(Passkey.name).where(Passkey.user_id == user.user_id))
        assert list(names) == ["My laptop"]
        actions = session.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.subject == user.user_id, AuditEvent.action == "passkey.add"
            )
        )
        assert sorted(actions) == ["failure", "failure", "failure", "success"]


@pytest.mark.usefixtures("phone")
def test_the_choice_offers_only_what_reaches_the_level_asked(
    app_client: TestClient, c: WebContext, user: support.Person, rp: support.RelyingParty
) -> None:
    _register(c, user)
    _login, choice, _verifier = _after_password(app_client, rp, user)
    assert 'value="push_sequence"' in choice.text
    assert 'value="passkey"' in choice.text
    app_client.cookies.clear()
    _login, page, _verifier = _at_passkey_step(
        app_client, rp, user, acr_values=ACR_PHISHING_RESISTANT
    )
    assert 'name="factor"' not in page  # only the passkey reaches it: no question
    assert 'data-passkey="get"' in page


@pytest.mark.usefixtures("phone")
def test_the_account_page_renames_and_removes_a_passkey(
    app_client: TestClient, c: WebContext, user: support.Person, rp: support.RelyingParty
) -> None:
    soft = _register(c, user)
    login, page, _verifier = _at_passkey_step(app_client, rp, user)
    support.follow_to_client(
        app_client,
        _answer(app_client, login, page, soft.get(challenge_of(_options_of(page)))),
        rp.redirect_uri,
    )
    account = app_client.get("/account")
    assert "Passkey 1 " in account.text
    assert NO_SOFT_TOKEN_NOTE["th"] not in account.text  # held beside an active phone
    csrf = support.csrf_of(account.text)
    bad = app_client.post(
        "/account/passkeys/rename",
        data={"csrf_token": csrf, "credential_id": soft.credential_id, "name": " "},
    )
    assert bad.status_code == 400
    assert "ชื่อพาสคีย์ต้องมี" in bad.text
    renamed = app_client.post(
        "/account/passkeys/rename",
        data={"csrf_token": csrf, "credential_id": soft.credential_id, "name": "Office PC"},
    )
    assert renamed.status_code == 303
    assert "Office PC" in app_client.get("/account").text
    missing = app_client.post(
        "/account/passkeys/remove", data={"csrf_token": csrf, "credential_id": "nope"}
    )
    assert missing.status_code == 400
    assert "ไม่พบพาสคีย์นี้" in missing.text
    removed = app_client.post(
        "/account/passkeys/remove", data={"csrf_token": csrf, "credential_id": soft.credential_id}
    )
    assert removed.status_code == 303
    with c.services.db.read() as session:
        assert session.get(Passkey, soft.credential_id) is None
        kinds = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.subject == user.user_id,
                AuditEvent.action.in_(("passkey.add", "passkey.rename", "passkey.remove")),
                AuditEvent.outcome == "success",
            )
        )
        assert sorted(kinds) == ["passkey.add", "passkey.remove", "passkey.rename"]
        assert len(_mails(session, user)) == 3


@pytest.mark.usefixtures("phone")
def test_officers_list_rename_and_remove_a_users_passkeys(
    app_client: TestClient, c: WebContext, user: support.Person
) -> None:
    from tests.e2e.test_admin_api import API, _auth, _token

    soft = _register(c, user)
    token, officer = _token(app_client, c.services, ["officer"])
    base = f"{API}/users/{user.user_id}/passkeys"
    listed = app_client.get(base, headers=_auth(token)).json()["items"]
    assert [p["credential_id"] for p in listed] == [soft.credential_id]
    assert "public_key" not in listed[0]
    bad = app_client.patch(f"{base}/{soft.credential_id}", json={"name": ""}, headers=_auth(token))
    assert bad.status_code == 400
    renamed = app_client.patch(
        f"{base}/{soft.credential_id}", json={"name": "Lost laptop"}, headers=_auth(token)
    )
    assert renamed.json()["name"] == "Lost laptop"
    assert app_client.delete(f"{base}/nope", headers=_auth(token)).status_code == 404
    assert (
        app_client.delete(f"{base}/{soft.credential_id}", headers=_auth(token)).status_code == 204
    )
    assert app_client.get(base, headers=_auth(token)).json()["items"] == []
    with c.services.db.read() as session:
        actors = session.scalars(
            select(AuditEvent.actor).where(
                AuditEvent.subject == user.user_id,
                AuditEvent.action.in_(("passkey.rename", "passkey.remove")),
            )
        )
        assert list(actors) == [officer, officer]
        assert len(_mails(session, user)) == 3


def test_the_back_office_may_require_a_passkey(backend: Backend, tmp_path: Path) -> None:
    """`admin_ui.required_acr`: the admin API's changes and the back office's sign-in."""
    from admin_ui.oidc import meets
    from idp.admin_api.access import Officer, may_change
    from idp.app import create_app

    settings = support.make_settings(
        backend, tmp_path, admin_ui={"required_acr": ACR_PHISHING_RESISTANT}
    )
    core = create_app(settings).state.ctx
    pushed = Officer("T1", frozenset({"officer"}), ACR_PUSH, int(time.time()), HERE)
    assert not may_change(core, pushed)
    assert may_change(core, dataclasses.replace(pushed, acr=ACR_PHISHING_RESISTANT))
    assert meets(ACR_PHISHING_RESISTANT, ACR_PUSH)
    assert not meets(ACR_PUSH, ACR_PHISHING_RESISTANT)


NO_SOFT_TOKEN_NOTE = {
    "th": "พาสคีย์ของท่านใช้เข้าสู่ระบบไม่ได้ขณะที่ท่านไม่มี Soft Token",
    "en": "Your passkeys do not sign you in while you hold no Soft Token",
}


def _end_soft_token(c: WebContext, user_id: str, how: str) -> None:
    """An officer revokes the phone, or the holder cancels Soft Token (manual chapter 5)."""
    if how == "revoked":
        c.push.revoke(user_id, "lost phone", actor="officer-1")
    else:
        c.accounts.cancel_soft_token(user_id, "holder_changed", HERE)


@pytest.mark.usefixtures("phone")
@pytest.mark.parametrize("how", ["revoked", "cancelled"])
def test_passkeys_stop_signing_in_once_soft_token_ends(
    app_client: TestClient, c: WebContext, user: support.Person, rp: support.RelyingParty, how: str
) -> None:
    """Passkeys count only beside Soft Token: once the phone is revoked or Soft Token
    cancelled, no sign-in offers them (an answer to a page shown before is not looked at, the
    ceremony refuses it), an application asking for aal2-phr cannot be satisfied, and the
    account page says why."""
    soft = _register(c, user)
    login, page, verifier = _at_passkey_step(  # shown before the end
        app_client, rp, user, acr_values=ACR_PHISHING_RESISTANT
    )
    assert 'data-passkey="get"' in page
    _end_soft_token(c, user.user_id, how)
    assert c.second_factors(user.user_id) == ()

    # the answer to that page is not even looked at: the sign-in ends at the password's level
    stale = _answer(app_client, login, page, soft.get(challenge_of(_options_of(page))))
    query = support.query_of(support.follow_to_client(app_client, stale, rp.redirect_uri))
    tokens = support.exchange(app_client, rp, query["code"], verifier).json()
    keys = KeySet.import_key_set(app_client.get("/jwks").json())
    claims = jwt.decode(tokens["id_token"], keys).claims
    assert claims["acr"] == ACR_PASSWORD  # not the aal2-phr asked for
    assert claims["amr"] == ["pwd"]

    # the ceremony itself refuses too (a page shown before, answered in the same instant)
    challenge, _options = c.passkeys.sign_in_options(user.user_id)
    with pytest.raises(PasskeyRefused) as ended:
        c.passkeys.sign_in(user.user_id, challenge, soft.get(challenge), HERE)
    assert ended.value.message == NO_SOFT_TOKEN
    assert _refusals(c, user.user_id) == ["no_device"]

    account = app_client.get("/account")
    assert account.status_code == 200
    assert NO_SOFT_TOKEN_NOTE["th"] in account.text
    assert soft.credential_id in account.text  # still listed: the user may remove it
    assert NO_SOFT_TOKEN_NOTE["en"] in app_client.get("/account", params={"lang": "en"}).text

    app_client.cookies.clear()  # an application that requires a passkey cannot be satisfied
    strict = support.create_client(c.services, min_acr=ACR_PHISHING_RESISTANT)
    _login, after, _verifier = _after_password(app_client, strict, user)
    refused = app_client.get(after.headers["location"])
    assert refused.status_code == 403
    assert "ระบบงานนี้ต้องเข้าสู่ระบบด้วยพาสคีย์" in refused.text
    with c.services.db.read() as session:
        row = session.get(Passkey, soft.credential_id)
        assert row is not None
        assert (row.sign_count, row.last_used_at) == (0, None)
