"""admin_ui mounted at /admin: its confidential client kept in step with this IdP (secret and
session key derived from the master key, so every worker agrees without sharing a file), and
its calls to the IdP handed straight to this ASGI app instead of the network."""

from __future__ import annotations

import base64

from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette

from admin_ui.app import create_app as create_admin_ui
from admin_ui.settings import AdminUISettings
from idp.domain import clients
from idp.domain.secrets import sha256_hex
from idp.services import Services
from idp.storage.models import Client

MOUNT = "/admin"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def admin_ui_settings(services: Services) -> AdminUISettings:
    settings = services.settings
    return AdminUISettings(
        issuer=settings.server.issuer,
        client_id=settings.admin_ui.client_id,
        client_secret=_b64(services.master.derive(b"admin-ui-client-secret")),
        public_url=settings.server.issuer + MOUNT,
        session_key=_b64(services.master.derive(b"admin-ui-session")),
        session_hours=settings.admin_ui.session_hours,
        default_locale=settings.i18n.default_locale,
        required_acr=settings.admin_ui.required_acr,
    )


def provision_client(services: Services, ui: AdminUISettings) -> None:
    """Create the back office's client, or bring its secret and URIs up to date."""
    redirect, after_logout = [ui.redirect_uri], [ui.public_url + "/signed-out"]
    with services.db.session() as session:
        client = session.get(Client, ui.client_id)
        if client is None:
            spec = clients.ClientSpec(
                client_id=ui.client_id,
                name="Soft Token back office / ระบบเจ้าหน้าที่",
                redirect_uris=redirect,
                post_logout_redirect_uris=tuple(after_logout),
                scope="openid profile admin",
                first_party=True,
            )
            client, _secret = clients.create(session, spec, "admin_ui")
        client.secret_hash = sha256_hex(ui.client_secret)
        client.redirect_uris, client.post_logout_redirect_uris = redirect, after_logout
        try:
            session.flush()
        except IntegrityError:  # another worker created it at the same moment
            session.rollback()


def mount_admin_ui(services: Services, idp_app: Starlette) -> Starlette:
    ui = admin_ui_settings(services)
    provision_client(services, ui)
    return create_admin_ui(ui, local_idp=idp_app)
