"""The whole registration, steps 1 to 5, through the hosted pages: proofing at the simulated
upstream from a second device, the email code from a real SMTP server, an officer's approval by
the CLI, activation with the reference authenticator, then a sign-in with push."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.cli import main as idp_cli
from idp.domain.acr import ACR_PUSH
from idp.settings import Settings
from idp.storage.models import Client
from tests import push_support, support
from tests.backends import Backend
from tests.registration_support import (
    SOMYING,
    otp_from,
    phone_proofing,
    proof_link,
    registration_world,
)
from tests.smtp import text_of

VERIFIED_REQUEST = json.dumps(
    {
        part: {
            "verified_claims": {
                "verification": {"trust_framework": None},
                "claims": {"national_id": None, "name": None},
            }
        }
        for part in ("id_token", "userinfo")
    }
)


def _cli_env(monkeypatch: pytest.MonkeyPatch, s: Settings) -> None:
    """The officer's `idp` command sees the same deployment as the server."""
    for key, value in {
        "IDP_DATABASE__URL": s.database.url,
        "IDP_STORE__URL": s.store.url,
        "IDP_STORE__KEY_PREFIX": s.store.key_prefix,
        "IDP_SECURITY__MASTER_KEY": s.security.master_key,
        "IDP_SERVER__VAR_DIR": s.server.var_dir,
        "IDP_SERVER__ISSUER": s.server.issuer,
        "IDP_MAIL__TRANSPORT": "smtp",
    }.items():
        monkeypatch.setenv(key, value)


def test_registration_steps_1_to_5(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with registration_world(backend, tmp_path, assurance_levels={"2.3": "ial2.3"}) as world:
        user = support.create_user(
            world.services, name_th=SOMYING["name_th"], name_en=SOMYING["name_en"]
        )
        rp = support.create_client(world.services)
        with world.services.db.session() as session:
            record = session.get(Client, rp.client_id)
            assert record is not None
            record.allowed_claims = ["verified_claims", "name", "email"]
        browser = world.browser
        page = push_support.sign_in_to(browser, "/register", user)
        csrf = support.csrf_of(page.text)
        step1 = browser.post(
            "/register/identity",
            data={"csrf_token": csrf, "national_id": SOMYING["pid"], "consent": "yes"},
            files={"assignment_order": ("order.pdf", support.pdf_bytes(), "application/pdf")},
        )
        assert step1.status_code == 303, step1.text
        step2 = browser.get("/register")
        done = phone_proofing(proof_link(step2.text), SOMYING["pid"])
        assert done.status_code == 200
        assert browser.get("/register/proof/status").json() == {"status": "completed"}
        step3 = browser.get("/register")
        assert SOMYING["name_th"] in step3.text
        csrf = support.csrf_of(step3.text)
        email = f"{user.user_id.lower()}@mail.example.go.th"
        assert (
            browser.post("/register/email", data={"csrf_token": csrf, "email": email}).status_code
            == 303
        )
        code = otp_from(world.inbox, 1, email)
        assert (
            browser.post(
                "/register/email/verify", data={"csrf_token": csrf, "otp": code}
            ).status_code
            == 303
        )
        assert browser.post("/register/confirm", data={"csrf_token": csrf}).status_code == 303
        assert "รออนุมัติ" in browser.get("/register").text  # waiting: the PDF needs an officer
        _cli_env(monkeypatch, world.settings)
        runner = CliRunner()
        listed = runner.invoke(idp_cli, ["registrations", "list", "--json"])
        [pending] = [r for r in json.loads(listed.output) if r["user_id"] == user.user_id]
        approved = runner.invoke(idp_cli, ["registrations", "approve", pending["id"]])
        assert approved.exit_code == 0, approved.output
        messages = world.inbox.wait_for(2, to=email)
        assert "อนุมัติ" in text_of(messages[1])
        step5 = browser.get("/register")
        assert "/activate" in step5.text
        phone = push_support.activate(browser, user, tmp_path / "phone")
        assert "step-done" in browser.get("/register").text
        browser.cookies.clear()
        verifier, challenge = support.pkce()
        login_url, push_page = push_support.push_page(
            browser, rp, user, challenge, claims=VERIFIED_REQUEST
        )
        phone.approve(push_support.PIN, push_support.shown_pictures(push_page.text))
        result = push_support.finish_push(browser, login_url, push_page, rp.redirect_uri)
        tokens = support.exchange(browser, rp, result["code"], verifier).json()
        claims = jwt.decode(
            tokens["id_token"], KeySet.import_key_set(browser.get("/jwks").json())
        ).claims
        assert claims["acr"] == ACR_PUSH
        assert "verified_claims" in claims
        assert claims["verified_claims"]["claims"]["national_id"] == SOMYING["pid"]
        info = browser.get(
            "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
        )
        verified = info.json()["verified_claims"]
        assert verified["verification"]["trust_framework"] == "th_dopa_ial"
        assert verified["verification"]["assurance_level"] == "ial2.3"  # mapped by settings
        assert verified["verification"]["evidence"][0]["type"] == "electronic_record"
        assert set(verified["claims"]) == {"national_id", "name"}
        # a client not allowed verified_claims never sees the national ID, even when it asks
        other = support.create_client(world.services)
        verifier, challenge = support.pkce()
        result = support.sign_in(browser, other, user, challenge, claims=VERIFIED_REQUEST)
        tokens = support.exchange(browser, other, result["code"], verifier).json()
        info = browser.get(
            "/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]}
        )
        assert "verified_claims" not in info.json()
        assert SOMYING["pid"] not in info.text
