"""The world of one journey: a live IdP with the simulated upstream ("Pao Tang"), a real SMTP
server on loopback, its own database, and settings of the journey's choosing.

As tests/registration_support.registration_world, with two differences:
- any settings section can be given (development={"movable_clock": True}, token_login=...);
- the database is new for each journey (a SQLite file, or a new PostgreSQL database on the
  production backend), so that what one journey leaves (a national ID registered to an active
  user, say) never meets another journey: the simulated upstream has only four citizens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from idp.app import create_app
from tests import support
from tests.backends import Backend, own_database
from tests.live import free_port, serve
from tests.registration_support import World
from tests.smtp import Inbox, smtp_mail, smtp_server


@contextmanager
def journey_world(
    backend: Backend,
    tmp_path: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    **sections: Any,
) -> Iterator[World]:
    """A live server on 127.0.0.1 (on `port`, when the journey needs to know it first), named
    `host` in its issuer ("localhost" where WebAuthn needs a domain as its RP ID)."""
    port, smtp_port = port or free_port(), free_port()
    base = f"http://{host}:{port}"
    upstream = {"simulated": True, "client_secret": "test-upstream-secret"}
    mail = smtp_mail(smtp_port)
    with own_database(backend, tmp_path) as own:
        settings = support.make_settings(
            own,
            tmp_path,
            issuer=base,
            upstream={**upstream, **sections.pop("upstream", {})},
            mail={**mail, **sections.pop("mail", {})},
            **sections,
        )
        app = create_app(settings)
        inbox = Inbox()
        smtp = smtp_server(inbox, smtp_port)
        try:
            with serve(app, port), httpx.Client(base_url=base, follow_redirects=False) as client:
                yield World(
                    base,
                    app.state.ctx.services,
                    inbox,
                    client,
                    settings,
                    app.state.ctx,
                    smtp,
                    smtp_port,
                )
        finally:
            smtp.stop()
