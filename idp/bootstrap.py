"""The composition root: every dependency built once from the settings, typed per area.

- `build_core`: what every area shares (idp.core.Core): the OIDC server, the assurance policy,
  push authentication, mail, SSO sessions, sign-out with back-channel logout.
- `build_web`: the hosted pages' own (idp.web.context.WebContext), the sign-in steps in order.

idp.app assembles the ASGI application from them; the CLI builds only the core.
"""

from __future__ import annotations

from typing import Any

import httpx

from idp.core import Core
from idp.domain.authn import PasswordCheck
from idp.domain.forgot_password import ForgotPassword
from idp.domain.kept_files import uploads_folder
from idp.domain.lifecycle import Ability
from idp.domain.lockout import Limits, Lockout
from idp.domain.otp import OneTimeCodes
from idp.domain.passkeys import PasskeyBook
from idp.domain.recovery import PasswordRecovery
from idp.domain.registration import EmailVerification
from idp.domain.registration_wizard import RegistrationWizard
from idp.domain.self_service import SelfService
from idp.domain.token_login import TokenLogin
from idp.login.assurance import Assurance
from idp.login.factors.passkey import PASSKEY, PasskeyCeremonies
from idp.login.factors.password import PASSWORD
from idp.login.factors.push import for_mode
from idp.login.sign_out import SignOut
from idp.login.sso import SsoSessions
from idp.login.transaction import Transactions
from idp.mail.mailer import Mailer
from idp.oidc.authorization import AuthorizationFlow
from idp.oidc.backchannel import BackChannel
from idp.oidc.server import IdPAuthorizationServer
from idp.push_wiring import PushApprovals, build_push
from idp.services import Services
from idp.upstream.keys import upstream_client_key
from idp.upstream.proofing import UpstreamProofing
from idp.web.context import WebContext
from idp.web.csrf import Csrf
from idp.web.i18n import Catalogs
from idp.web.render import Renderer
from idp.web.session_cookie import SessionCookie
from idp.web.signin.choose_factor import ChooseFactorStep
from idp.web.signin.passkey import PasskeyStep
from idp.web.signin.password import PasswordStep
from idp.web.signin.password_change import PasswordChangeStep
from idp.web.signin.push import PushStep, RenewalNoticeStep, RenewalRequiredStep


def fetch_jwks(uri: str) -> dict[str, Any]:
    """A client's JWKS by URI (private_key_jwt)."""
    response = httpx.get(uri, timeout=5.0, follow_redirects=False)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def build_core(services: Services) -> Core:
    server = IdPAuthorizationServer(services, fetch_jwks)
    sessions = SsoSessions(services.store, services.settings.session)
    sign_out = SignOut(services.db, sessions, server.tokens)
    push = build_push(services)
    ciba = server.enable_ciba(PushApprovals(push))
    push.challenges.listeners.append(ciba.answered)  # ping-mode clients
    return Core(
        services=services,
        server=server,
        assurance=Assurance([PASSWORD, for_mode(services.settings.push.mode), PASSKEY]),
        push=push,
        mail=Mailer(services.db, services.settings.mail),
        sessions=sessions,
        back_channel=BackChannel(
            sign_out, services.keys, services.db, services.settings.server.issuer
        ),
    )


def _limits(services: Services) -> Limits:
    security = services.settings.security
    return Limits(
        security.lockout_attempts,
        security.lockout_seconds,
        security.ip_attempts,
        security.ip_window_seconds,
    )


def _one_time_codes(services: Services, purpose: str) -> OneTimeCodes:
    lockout = Lockout(services.store, _limits(services), scope="otp-" + purpose)
    return OneTimeCodes(services.store, lockout, services.master.derive(b"otp"), purpose)


def _recovery(services: Services) -> PasswordRecovery:
    security = services.settings.security
    per_address = Limits(
        attempts=security.ip_attempts,
        lock_seconds=security.ip_window_seconds,
        ip_attempts=security.ip_attempts,
        ip_window_seconds=security.ip_window_seconds,
    )
    return PasswordRecovery(
        services.store,
        _one_time_codes(services, "reset"),
        Lockout(services.store, _limits(services), scope="forgot-user"),
        Lockout(services.store, per_address, scope="forgot-ip"),
        may_reset=lambda session, user: services.lifecycle.account(session, user).may(
            Ability.RESET_PASSWORD
        ),
    )


def _self_service(core: Core) -> SelfService:
    services = core.services
    return SelfService(
        services.db,
        services.store,
        services.lifecycle,
        enqueue=core.mail.enqueue,
        wake=core.mail.wake,
        active_device=core.push.devices.active_for,
        revoke_device=core.push.revoke,
        issuer=core.issuer,
    )


def _registration_wizard(core: Core) -> RegistrationWizard:
    services = core.services
    return RegistrationWizard(
        services.db,
        uploads_folder(services.settings),
        EmailVerification(_one_time_codes(services, "registration")),
        enqueue=core.mail.enqueue,
        wake=core.mail.wake,
        decided=core.mail.registration_decided,
        issuer=core.issuer,
    )


def passkey_book(core: Core) -> PasskeyBook:
    services = core.services
    return PasskeyBook(services.db, services.clock, core.mail.enqueue, core.mail.wake, core.issuer)


def _passkeys(core: Core) -> PasskeyCeremonies:
    services = core.services
    return PasskeyCeremonies(
        services.db, services.store, services.clock, passkey_book(core), core.account, core.issuer
    )


def build_web(core: Core) -> WebContext:
    services = core.services
    settings = services.settings
    secure = settings.is_https
    transactions = Transactions(services.store, settings.session.login_transaction_ttl)
    push = for_mode(settings.push.mode)
    recovery = _recovery(services)
    return WebContext(
        services=services,
        server=core.server,
        assurance=core.assurance,
        push=core.push,
        mail=core.mail,
        sessions=core.sessions,
        back_channel=core.back_channel,
        flow=AuthorizationFlow(core.server, transactions, core.assurance, core.second_factors),
        transactions=transactions,
        sso=SessionCookie(core.sessions, secure),
        render=Renderer(
            Catalogs(),
            Csrf(services.master.derive(b"csrf"), secure),
            settings.i18n.default_locale,
            secure,
        ),
        passwords=PasswordCheck(services.db, Lockout(services.store, _limits(services))),
        accounts=_self_service(core),
        registration=_registration_wizard(core),
        proofing=UpstreamProofing(settings, services.store, upstream_client_key(services.master)),
        recovery=recovery,
        forgot=ForgotPassword(services.db, recovery, core.mail.enqueue, core.mail.wake),
        token_login=TokenLogin(services.db, services.lifecycle),
        passkeys=_passkeys(core),
        steps=[
            PasswordStep(),
            ChooseFactorStep(),
            RenewalRequiredStep(push),
            PushStep(push),
            PasskeyStep(),
            PasswordChangeStep(),
            RenewalNoticeStep(push),
        ],
    )
