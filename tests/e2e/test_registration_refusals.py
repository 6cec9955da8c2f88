"""Registration refusals: a proofed ID that differs, upstream errors, forged responses, and the
email code's limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select

from idp.storage.models import AuditEvent, Registration
from idp.upstream.citizens import CITIZENS
from idp.upstream.proofing import ProofingError
from idp.upstream.simulated import SimulatedUpstream
from tests import push_support, support
from tests.backends import Backend
from tests.registration_support import (
    SOMYING,
    World,
    otp_from,
    phone_proofing,
    proof_link,
    registration_world,
)


def _to_step2(world: World, user: support.Person, pid: str = SOMYING["pid"]) -> str:
    page = push_support.sign_in_to(world.browser, "/register", user)
    response = world.browser.post(
        "/register/identity",
        data={"csrf_token": support.csrf_of(page.text), "national_id": pid, "consent": "yes"},
        files={"assignment_order": ("o.pdf", support.pdf_bytes(), "application/pdf")},
    )
    assert response.status_code == 303
    return proof_link(world.browser.get("/register").text)


def _to_step3(world: World, user: support.Person) -> str:
    phone_proofing(_to_step2(world, user), SOMYING["pid"])
    return support.csrf_of(world.browser.get("/register").text)


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> Iterator[World]:
    with registration_world(backend, tmp_path) as w:
        yield w


def test_proofed_id_that_differs_is_refused(world: World) -> None:
    user = support.create_user(world.services)
    result = phone_proofing(_to_step2(world, user), CITIZENS[1]["pid"])  # someone else
    assert result.status_code == 200
    page = world.browser.get("/register")
    assert "ไม่ตรงกับที่ท่านระบุ" in page.text
    assert world.browser.get("/register/proof/status").json() == {"status": "id_mismatch"}


def test_upstream_error_is_shown_and_nothing_changes(world: World) -> None:
    user = support.create_user(world.services)
    denied = phone_proofing(_to_step2(world, user), SOMYING["pid"], decision="deny")
    assert denied.status_code == 400
    assert "ยินยอม" in denied.text
    assert world.browser.get("/register/proof/status").json() == {"status": "waiting"}


def test_forged_state_nonce_and_key_are_refused(world: World) -> None:
    proofing = world.context.proofing
    with pytest.raises(ProofingError) as state:
        proofing.complete({"state": "not-ours", "code": "x"})
    assert state.value.reason == "state_mismatch"
    upstream = SimulatedUpstream(
        world.base,
        "gfmis-softtoken",
        "s",
        world.context.services.master.derive(b"simulated-upstream"),
        world.context.services.store,
    )
    metadata = proofing._discover()
    wrong_nonce = upstream.id_token(CITIZENS[0], {"nonce": "theirs"})
    with pytest.raises(ProofingError) as nonce:
        proofing._validate(wrong_nonce, "ours", metadata)
    assert nonce.value.reason == "nonce_mismatch"
    stranger = ECKey.generate_key("P-256", private=True)
    claims = {
        "iss": upstream.issuer,
        "aud": "gfmis-softtoken",
        "sub": "x",
        "nonce": "ours",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
        **CITIZENS[0],
    }
    forged = jwt.encode({"alg": "ES256", "kid": upstream.kid}, claims, stranger)
    with pytest.raises(ProofingError) as key:
        proofing._validate(forged, "ours", metadata)
    assert key.value.reason == "invalid_id_token"


def test_email_code_limits(world: World) -> None:
    user = support.create_user(world.services, name_th=SOMYING["name_th"])
    csrf = _to_step3(world, user)
    browser = world.browser
    email = f"{user.user_id.lower()}@mail.example.go.th"
    assert (
        browser.post("/register/email", data={"csrf_token": csrf, "email": email}).status_code
        == 303
    )
    resend = browser.post("/register/email", data={"csrf_token": csrf, "email": email})
    assert resend.status_code == 400
    assert "90" in resend.text  # a new code at most every 90 seconds
    code = otp_from(world.inbox, 1, email)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert (
            browser.post(
                "/register/email/verify", data={"csrf_token": csrf, "otp": wrong}
            ).status_code
            == 400
        )
    locked = browser.post("/register/email/verify", data={"csrf_token": csrf, "otp": code})
    assert locked.status_code == 400
    assert "5 นาที" in locked.text  # even the right code: locked for 5 minutes
    with world.services.db.read() as session:  # each refusal audited, though it rolled back
        failures = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "registration.email_otp",
                AuditEvent.subject == user.user_id,
                AuditEvent.outcome == "failure",
            )
        ).all()
    assert len(failures) == 5  # the five wrong codes (the locked sixth was not checked)


def test_email_of_another_person_is_refused(world: World) -> None:
    first = support.create_user(world.services, name_th=SOMYING["name_th"])
    csrf = _to_step3(world, first)
    shared = "shared-" + first.user_id.lower() + "@mail.example.go.th"
    world.browser.post("/register/email", data={"csrf_token": csrf, "email": shared})
    code = otp_from(world.inbox, 1, shared)
    world.browser.post("/register/email/verify", data={"csrf_token": csrf, "otp": code})
    world.browser.cookies.clear()
    second = support.create_user(world.services, name_th="นายสมชาย รักชาติ")
    page = push_support.sign_in_to(world.browser, "/register", second)
    world.browser.post(
        "/register/identity",
        data={
            "csrf_token": support.csrf_of(page.text),
            "national_id": CITIZENS[1]["pid"],
            "consent": "yes",
        },
        files={"assignment_order": ("o.pdf", support.pdf_bytes(), "application/pdf")},
    )
    phone_proofing(proof_link(world.browser.get("/register").text), CITIZENS[1]["pid"])
    csrf = support.csrf_of(world.browser.get("/register").text)
    taken = world.browser.post("/register/email", data={"csrf_token": csrf, "email": shared})
    assert taken.status_code == 400
    assert "บุคคลอื่น" in taken.text


def test_expired_email_code_is_refused(world: World) -> None:
    user = support.create_user(world.services, name_th=SOMYING["name_th"])
    csrf = _to_step3(world, user)
    email = f"{user.user_id.lower()}@mail.example.go.th"
    world.browser.post("/register/email", data={"csrf_token": csrf, "email": email})
    code = otp_from(world.inbox, 1, email)
    store = world.context.services.store
    key = "otp:registration:" + _registration_id(world, user.user_id)
    pending = store.get(key)
    assert pending is not None
    store.put(key, pending, 1)  # let it run out
    time.sleep(1.2)
    expired = world.browser.post("/register/email/verify", data={"csrf_token": csrf, "otp": code})
    assert expired.status_code == 400
    assert "หมดอายุ" in expired.text


def test_smtp_down_while_registering_loses_nothing(world: World) -> None:
    user = support.create_user(world.services, name_th=SOMYING["name_th"])
    csrf = _to_step3(world, user)
    world.smtp.stop()  # the mail server goes away
    email = f"{user.user_id.lower()}@mail.example.go.th"
    assert (
        world.browser.post("/register/email", data={"csrf_token": csrf, "email": email}).status_code
        == 303
    )
    time.sleep(1.5)  # at least one failed attempt
    # (on PostgreSQL the outbox is shared with earlier tests: their late mail may arrive here)
    assert [m for m in world.inbox.messages if email in str(m["To"])] == []
    world.restart_smtp()
    code = otp_from(world.inbox, 1, email)  # delivered once the server is back
    verified = world.browser.post("/register/email/verify", data={"csrf_token": csrf, "otp": code})
    assert verified.status_code == 303


def _registration_id(world: World, user_id: str) -> str:
    with world.services.db.read() as session:
        return session.scalars(select(Registration.id).where(Registration.user_id == user_id)).one()


def test_proofing_with_private_key_jwt(backend: Backend, tmp_path: Path) -> None:
    with registration_world(backend, tmp_path, auth_method="private_key_jwt") as signed:
        user = support.create_user(signed.services)
        assert phone_proofing(_to_step2(signed, user), SOMYING["pid"]).status_code == 200
        assert signed.browser.get("/register/proof/status").json() == {"status": "completed"}
        jwks = signed.browser.get("/upstream/jwks").json()
        assert jwks["keys"][0]["alg"] == "ES256"
        assert "d" not in jwks["keys"][0]


@pytest.mark.parametrize(
    "typed",
    [
        "victim-{u}@mail.example.go.th,<attacker-{u}@mail.example.go.th>",
        "(x)victim-{u}@mail.example.go.th",
        "Victim <victim-{u}@mail.example.go.th>",
        "victim-{u}@mail.example.go.th\nBcc: attacker-{u}@mail.example.go.th",
        "victim-{u}@[127.0.0.1]",
    ],
)
def test_only_one_plain_email_address_is_taken(world: World, typed: str) -> None:
    user = support.create_user(world.services, name_th=SOMYING["name_th"])
    csrf = _to_step3(world, user)
    u = user.user_id.lower()
    refused = world.browser.post(
        "/register/email", data={"csrf_token": csrf, "email": typed.format(u=u)}
    )
    assert refused.status_code == 400
    assert "อีเมลไม่ถูกต้อง" in refused.text
    for address in (f"victim-{u}@mail.example.go.th", f"attacker-{u}@mail.example.go.th"):
        assert world.inbox.wait_for(1, timeout=0.3, to=address) == []
