"""What the route handlers share, built once by create_app and kept on app.state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from idp.domain.lockout import Lockout
from idp.domain.recovery import PasswordRecovery
from idp.domain.registration import EmailVerification
from idp.mail.mailer import Mailer
from idp.oidc.server import IdPAuthorizationServer
from idp.services import Services
from idp.upstream.proofing import UpstreamProofing
from idp.web.authorize import AuthorizationFlow
from idp.web.render import Renderer
from idp.web.sso import SsoSessions
from idp.web.transactions import Transactions
from push_auth.service import PushAuth

if TYPE_CHECKING:
    from idp.web.signin import SignInStep


@dataclass
class WebContext:
    services: Services
    server: IdPAuthorizationServer
    flow: AuthorizationFlow
    transactions: Transactions
    sso: SsoSessions
    render: Renderer
    lockout: Lockout
    push: PushAuth
    mail: Mailer
    proofing: UpstreamProofing
    email_codes: EmailVerification
    recovery: PasswordRecovery
    steps: list[SignInStep] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return self.services.settings.server.issuer


def ctx(request: Request) -> WebContext:
    context: WebContext = request.app.state.ctx
    return context
