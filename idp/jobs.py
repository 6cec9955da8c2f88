"""Scheduled jobs: certificate-expiry reminders by email 30 and 7 days before (manual ch. 6).

`idp jobs run` runs them once; `idp serve` runs them every hour in each process, and a lock in
the expiring store lets only one process do each round. Every reminder is recorded, so a
device gets each reminder once however often the job runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from idp.domain.recovery import registered_email
from idp.domain.thai_dates import format_datetime
from idp.mail.mailer import Mailer
from idp.services import Services
from idp.storage.models import ReminderSent, User
from push_auth.service import PushAuth

REMINDER_DAYS = (30, 7)
log = logging.getLogger(__name__)


def send_renewal_reminders(
    services: Services, push: PushAuth, mail: Mailer, now: datetime | None = None
) -> int:
    """Email every device owner whose certificate expires within 30 (and again 7) days."""
    now = now or datetime.now(UTC)
    sent = 0
    for days in REMINDER_DAYS:
        for device in push.devices.expiring_between(now, now + timedelta(days=days)):
            if device.next_certificate_pem is not None:
                continue  # renewal already under way
            try:
                with services.db.session() as session:
                    session.add(
                        ReminderSent(device_id=device.device_id, days_before=days, sent_at=now)
                    )
                    session.flush()
                    user = session.get(User, device.user_id)
                    if user is None:
                        continue
                    left = max(1, (device.not_after - now).days)
                    mail.enqueue(
                        session,
                        "renewal_reminder",
                        registered_email(session, user)[1],
                        user_id=user.user_id,
                        days=left,
                        expires_th=format_datetime(device.not_after, "th"),
                        expires_en=format_datetime(device.not_after, "en"),
                    )
                sent += 1
            except IntegrityError:
                continue  # this reminder went out before
    if sent:
        mail.wake()
    return sent


def run_all(services: Services, push: PushAuth, mail: Mailer) -> dict[str, int]:
    return {"renewal_reminders": send_renewal_reminders(services, push, mail)}


class Scheduler:
    """Runs the jobs every hour; one process per round (a lock in the expiring store)."""

    def __init__(self, services: Services, push: PushAuth, mail: Mailer) -> None:
        self._services, self._push, self._mail = services, push, mail
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="jobs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                interval = self._services.settings.jobs.interval_seconds
                if self._services.store.add("jobs-lock", {}, interval - 30):
                    result = await run_in_threadpool(
                        run_all, self._services, self._push, self._mail
                    )
                    log.info("jobs ran: %s", result)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduled jobs failed")
            await asyncio.sleep(self._services.settings.jobs.interval_seconds)
