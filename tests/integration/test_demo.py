"""`make run`'s demo seed: two users the simulated upstream can proof, the first with her
assignment order on file (approved at once), the second needing the PDF and an officer."""

from __future__ import annotations

from idp.demo import OFFICER, seed_demo
from idp.domain.lifecycle import Ability, State, needs_assignment_order
from idp.services import build_services
from idp.settings import Settings
from idp.storage.models import User
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
