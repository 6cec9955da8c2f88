"""What every area shares (pages, admin API, device API, CLI, jobs), built once by
idp.bootstrap. An area's own dependencies extend it (idp.web.context.WebContext)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from idp.domain.lifecycle import Account
from idp.login.assurance import Assurance
from idp.login.sso import SsoSessions
from idp.mail.mailer import Mailer
from idp.oidc.backchannel import BackChannel
from idp.oidc.server import IdPAuthorizationServer
from idp.services import Services
from push_auth.service import PushAuth


@dataclass
class Core:
    services: Services
    server: IdPAuthorizationServer
    assurance: Assurance
    push: PushAuth
    mail: Mailer
    sessions: SsoSessions
    back_channel: BackChannel

    @property
    def issuer(self) -> str:
        return self.services.settings.server.issuer

    def account(self, user_id: str) -> Account:
        """Where this user stands in the lifecycle now (a database read: call it in a thread)."""
        with self.services.db.read() as session:
            return self.services.lifecycle.user(session, user_id)[1]

    def second_factors(self, user_id: str) -> tuple[str, ...]:
        """The second factors this user holds now (the lifecycle says which)."""
        return self.assurance.holds(self.account(user_id))


def core_of(request: Request) -> Core:
    core: Core = request.app.state.ctx
    return core
