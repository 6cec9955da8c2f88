"""`make run`'s demo seed: two users the simulated upstream can proof, the first with her
assignment order on file (approved at once), the second needing the PDF and an officer."""

from __future__ import annotations

import json

from idp.demo import OFFICER, PORTAL_ID, seed_demo
from idp.devserver import apply_ports, parse_args, port_mismatch
from idp.domain.lifecycle import Ability, State, needs_assignment_order
from idp.services import build_services
from idp.settings import Settings
from idp.storage.models import Client, User
from idp.upstream.citizens import CITIZENS


def test_demo_users_can_walk_the_manual(settings: Settings) -> None:
    seed_demo(settings)
    seed_demo(settings)  # a second start changes nothing
    services = build_services(settings)
    try:
        with services.db.read() as session:
            officer = session.get(User, OFFICER)
            other = session.get(User, "T05005000000202")
            assert officer is not None
            assert other is not None
            account = services.lifecycle.account(session, officer)
            assert account.state is State.PROVISIONED
            assert account.may(Ability.SIGN_IN)
            assert account.may(Ability.CHANGE_PASSWORD)  # the demo password is an initial one
            assert not needs_assignment_order(officer)
            assert needs_assignment_order(other)
            names = {c["name"] for c in CITIZENS}
            assert {officer.name_th, other.name_th} <= names  # proofing can match them
    finally:
        services.close()


def test_make_run_ports_move_the_issuer_and_the_portal(settings: Settings) -> None:
    """`make run PORT=8080 PORTAL_PORT=8081`: the issuer follows the IdP's port, the portal
    client and its credentials follow both (the same secret)."""
    seed_demo(settings)
    credentials = settings.var_path / "demo-portal.json"
    secret = json.loads(credentials.read_text())["client_secret"]
    environ: dict[str, str] = {}
    apply_ports(environ, parse_args(["--port", "8080", "--portal-port", "8081"]))
    assert environ == {
        "IDP_SERVER__PORT": "8080",
        "IDP_SERVER__ISSUER": "http://localhost:8080",
        "IDP_DEVELOPMENT__DEMO_PORTAL_URL": "http://127.0.0.1:8081",
    }
    moved = settings.model_copy(
        update={
            "server": settings.server.model_copy(
                update={"issuer": "http://localhost:8080", "port": 8080}
            ),
            "development": settings.development.model_copy(
                update={"demo_portal_url": "http://127.0.0.1:8081"}
            ),
        }
    )
    assert port_mismatch(moved) is None
    seed_demo(moved)
    assert json.loads(credentials.read_text()) == {
        "issuer": "http://localhost:8080",
        "client_id": PORTAL_ID,
        "portal_url": "http://127.0.0.1:8081",
        "client_secret": secret,
    }
    services = build_services(moved)
    try:
        with services.db.read() as session:
            portal = session.get(Client, PORTAL_ID)
            assert portal is not None
            assert portal.redirect_uris == ["http://127.0.0.1:8081/callback"]
            assert portal.backchannel_logout_uri == "http://127.0.0.1:8081/backchannel-logout"
    finally:
        services.close()
    wrong = moved.model_copy(update={"server": moved.server.model_copy(update={"port": 9000})})
    assert "8080" in (port_mismatch(wrong) or "")
    configured: dict[str, str] = {"IDP_CONFIG": "conf/mine.toml"}
    apply_ports(configured, parse_args(["--port", "8080"]))
    assert "IDP_SERVER__ISSUER" not in configured  # the file's issuer, checked by port_mismatch
