"""Development demo: two users (the first also a back-office officer and admin) and the demo
portal client (refused outside localhost)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from idp.domain import clients
from idp.domain.client_protocol import CIBA_GRANT, ProtocolOptions
from idp.domain.users import COLUMNS, import_users
from idp.services import build_services
from idp.settings import Settings, is_localhost
from idp.storage.models import Client, User

DEMO_PASSWORD = "demo-Soft-Token-2569"
_UNIT = "0500500000,กองคลัง กรมตัวอย่าง,กองคลัง,กรมตัวอย่าง,กระทรวงการคลัง"
DEMO_CSV = "\n".join(
    [
        ",".join(COLUMNS),
        # The officer's assignment order is on file: her registration is approved at once.
        f"T05005000000201,นางสาวสมหญิง ใจดี,Ms Somying Jaidee,somying@example.go.th,0812345678,"
        f"{_UNIT},{DEMO_PASSWORD},,yes",
        # His is not: step 1 asks for the PDF and an officer approves at /admin.
        f"T05005000000202,นายสมชาย รักชาติ,Mr Somchai Rakchat,somchai@example.go.th,0898765432,"
        f"{_UNIT},{DEMO_PASSWORD},,no",
    ]
)
PORTAL_ID = "demo-portal"
OFFICER = "T05005000000201"


# The portal approves payments with CIBA (polled), carrying gfmis_payment authorization details.
PORTAL_CIBA: dict[str, Any] = {
    "grant_types": ["authorization_code", "refresh_token", CIBA_GRANT],
    "backchannel_token_delivery_mode": "poll",
    "authorization_details_types": ["gfmis_payment"],
}


def portal_spec(portal: str, client_id: str = PORTAL_ID) -> clients.ClientSpec:
    """The demo portal's registration: sign-in, RP-initiated and back-channel logout, CIBA."""
    return clients.ClientSpec(
        client_id=client_id,
        name="GFMIS Portal (demo) / พอร์ทัลตัวอย่าง",
        redirect_uris=[portal + "/callback"],
        post_logout_redirect_uris=(portal + "/",),
        backchannel_logout_uri=portal + "/backchannel-logout",
        first_party=True,
        grant_types=tuple(PORTAL_CIBA["grant_types"]),
        protocol=ProtocolOptions.parse(PORTAL_CIBA),
    )


def seed_demo(settings: Settings) -> dict[str, Any]:
    """Create the demo users and portal client once; write the portal's credentials to var/."""
    if not is_localhost(settings.server.issuer):
        raise RuntimeError("demo seeding runs only with a localhost issuer")
    portal = settings.development.demo_portal_url
    services = build_services(settings)
    credentials_file = settings.var_path / "demo-portal.json"
    try:
        with services.db.session() as session:
            if session.get(User, "T05005000000201") is None:
                import_users(session, DEMO_CSV, "demo")
                session.flush()
                officer = session.get(User, OFFICER)
                assert officer is not None
                officer.roles = ["officer", "admin"]  # to try the back office at /admin
            secret = None
            client = session.get(Client, PORTAL_ID)
            if client is None:
                _client, secret = clients.create(session, portal_spec(portal), "demo")
            else:
                if CIBA_GRANT not in client.grant_types:  # seeded before the portal used CIBA
                    clients.update(session, PORTAL_ID, PORTAL_CIBA, "demo")
                if not credentials_file.exists():
                    secret = clients.rotate_secret(session, PORTAL_ID, "demo")
                else:  # `make run PORT=… PORTAL_PORT=…` may have moved the portal or the issuer
                    _follow_portal(session, portal)
                    secret = _kept_secret(credentials_file, settings.server.issuer, portal)
        data = {"issuer": settings.server.issuer, "client_id": PORTAL_ID, "portal_url": portal}
        if secret:
            credentials_file.parent.mkdir(parents=True, exist_ok=True)
            credentials_file.write_text(json.dumps({**data, "client_secret": secret}))
            credentials_file.chmod(0o600)
        return data
    finally:
        services.close()


def _follow_portal(session: Session, portal: str) -> None:
    """The demo portal's redirect URIs at its current address."""
    client = session.get(Client, PORTAL_ID)
    assert client is not None
    if client.redirect_uris != [portal + "/callback"]:
        changes = {
            "redirect_uris": [portal + "/callback"],
            "post_logout_redirect_uris": [portal + "/"],
            "backchannel_logout_uri": portal + "/backchannel-logout",
        }
        clients.update(session, PORTAL_ID, changes, "demo")


def _kept_secret(credentials_file: Path, issuer: str, portal: str) -> str | None:
    """The portal's secret, to write its credentials again when the issuer or its address
    moved (None: they are current)."""
    kept = json.loads(credentials_file.read_text())
    if kept.get("issuer") == issuer and kept.get("portal_url") == portal:
        return None
    return str(kept["client_secret"])
