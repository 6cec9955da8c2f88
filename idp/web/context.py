"""What the hosted pages share: the core (idp.core) and the web area's own parts, built once
by idp.bootstrap and kept on app.state."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from idp.core import Core
from idp.domain.authn import PasswordCheck
from idp.domain.forgot_password import ForgotPassword
from idp.domain.recovery import PasswordRecovery
from idp.domain.registration_wizard import RegistrationWizard
from idp.domain.self_service import SelfService
from idp.domain.token_login import TokenLogin
from idp.login.factors.passkey import PasskeyCeremonies
from idp.login.transaction import Transactions
from idp.oidc.authorization import AuthorizationFlow
from idp.upstream.proofing import UpstreamProofing
from idp.web.render import Renderer
from idp.web.session_cookie import SessionCookie
from idp.web.step import SignInStep


@dataclass
class WebContext(Core):
    flow: AuthorizationFlow = field(kw_only=True)
    transactions: Transactions = field(kw_only=True)
    sso: SessionCookie = field(kw_only=True)
    render: Renderer = field(kw_only=True)
    passwords: PasswordCheck = field(kw_only=True)
    accounts: SelfService = field(kw_only=True)
    registration: RegistrationWizard = field(kw_only=True)
    proofing: UpstreamProofing = field(kw_only=True)
    recovery: PasswordRecovery = field(kw_only=True)
    forgot: ForgotPassword = field(kw_only=True)
    token_login: TokenLogin = field(kw_only=True)
    passkeys: PasskeyCeremonies = field(kw_only=True)
    steps: list[SignInStep] = field(kw_only=True, default_factory=list)


def ctx(request: Request) -> WebContext:
    context: WebContext = request.app.state.ctx
    return context
