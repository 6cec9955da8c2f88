"""push_auth composed for its host: the jobs built once from the host's ports, and the entry
points that the host's pages, admin API and the device API call.

Rules (issue #3 and the manual): one active device per user; activation codes >= 112 bits,
single use, 10 minutes (`activation`); every device request signed, fresh and used once
(`device_auth`; the web authenticator's WebAuthn credential: `webapp`); challenges live
120 s, are answered at most once, at most one is pending per user, unanswered, denied and
failed ones back off pushes for that user (10 s doubling to 1 h) and "not me" suspends the
device (`challenges`, `backoff`); certificates last two years, an expired one cannot approve
but can renew (`renewal`); revocation takes effect at once (`revocation`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from push_auth.activation import Activations
from push_auth.backoff import PushBackoff
from push_auth.ca import CertificateAuthority
from push_auth.certificates import DeviceCertificates
from push_auth.challenges import Challenges
from push_auth.device_auth import DeviceAuth
from push_auth.models import ChallengeMode
from push_auth.notifier import Notifier
from push_auth.ports import Clock, Devices, Enrolment, Ephemeral, Events, RealTime, Wakeup
from push_auth.renewal import Renewal
from push_auth.revocation import Revocation
from push_auth.webapp.ceremony import RelyingParty
from push_auth.webapp.device_key import WebDeviceKey
from push_auth.webpush.subscriptions import Subscriptions


@dataclass(frozen=True)
class PushConfig:
    audience: str  # the device API base URL, e.g. https://idp.example/push/v1
    mode: ChallengeMode = ChallengeMode.SEQUENCE
    certificate_days: int = 730  # the manual's two years

    @property
    def app_url(self) -> str:
        """The web authenticator's address, beside the device API (…/push/v1 → …/app)."""
        return self.audience.removesuffix("/push/v1") + "/app"


class PushAuth:
    def __init__(
        self,
        *,
        devices: Devices,
        ephemeral: Ephemeral,
        ca: CertificateAuthority,
        events: Events,
        wakeup: Wakeup,
        notifier: Notifier,
        config: PushConfig,
        clock: Clock,
        real_time: RealTime,
        enrolment: Enrolment,
        subscriptions: Subscriptions | None = None,
        push_key: Callable[[], str] | None = None,
    ) -> None:
        self.devices = devices
        self.ca = ca
        self.ephemeral = ephemeral
        self.wakeup = wakeup
        self.config = config
        self.clock = clock
        self.subscriptions = subscriptions
        self.push_key = push_key  # the VAPID public key browsers subscribe with (Web Push on)
        audience = config.audience
        backoff = PushBackoff(ephemeral=ephemeral, real_time=real_time)
        certificates = DeviceCertificates(
            ca=ca, clock=clock, validity=timedelta(days=config.certificate_days)
        )
        self.renewal = Renewal(
            devices=devices, certificates=certificates, events=events, clock=clock
        )
        self.device_auth = DeviceAuth(
            devices=devices,
            ephemeral=ephemeral,
            renewal=self.renewal,
            audience=audience,
            clock=clock,
            real_time=real_time,
        )
        self.activation = Activations(
            devices=devices,
            ephemeral=ephemeral,
            certificates=certificates,
            events=events,
            enrolment=enrolment,
            device_auth=self.device_auth,
            audience=audience,
            app_url=config.app_url,
            clock=clock,
            real_time=real_time,
        )
        self.challenges = Challenges(
            devices=devices,
            ephemeral=ephemeral,
            ca=ca,
            events=events,
            backoff=backoff,
            wakeup=wakeup,
            notifier=notifier,
            audience=audience,
            mode=config.mode,
            clock=clock,
            real_time=real_time,
        )
        self.revocation = Revocation(
            devices=devices,
            events=events,
            challenges=self.challenges,
            activations=self.activation,
            backoff=backoff,
            clock=clock,
            subscriptions=subscriptions,
        )
        self.web = WebDeviceKey(
            devices=devices,
            ephemeral=ephemeral,
            activations=self.activation,
            certificates=certificates,
            challenges=self.challenges,
            events=events,
            party=RelyingParty.of(audience),
            audience=audience,
            clock=clock,
        )
        # the entry points, by the names the host and the device API know them
        self.start_activation = self.activation.start
        self.current_activation = self.activation.current
        self.activation_status = self.activation.status
        self.activate = self.activation.activate
        self.authenticate = self.device_auth.authenticate
        self.start_challenge = self.challenges.start
        self.challenge = self.challenges.get
        self.pending_challenge_token = self.challenges.pending_token
        self.answer = self.challenges.answer
        self.renew = self.renewal.renew
        self.revoke = self.revocation.revoke
        self.lift_suspension = self.revocation.lift_suspension
