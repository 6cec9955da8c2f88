"""Scheduled jobs: certificate-expiry reminders by email 30 and 7 days before (manual ch. 6).

`idp jobs run` runs them once; `idp serve` runs them every hour in each process, and a lock in
the expiring store lets only one process do each round. Every reminder is recorded per
certificate and reminder day (a unique key), so each goes once however often the job runs and
however many processes run it at once; the job reads the lifecycle clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from idp import metrics
from idp.domain import kept_files
from idp.domain.recovery import registered_email
from idp.domain.thai_dates import format_datetime
from idp.mail.mailer import Mailer
from idp.oidc.revocations import Revocations
from idp.services import Services
from idp.storage.models import RenewalReminder, User
from push_auth.models import Device
from push_auth.service import PushAuth

REMINDER_DAYS = (30, 7)
log = logging.getLogger(__name__)


def send_renewal_reminders(services: Services, push: PushAuth, mail: Mailer) -> int:
    """Email every device owner whose certificate expires within 30 (and again 7) days, at the
    lifecycle clock's time: one email per certificate and reminder day."""
    now = services.clock.now()
    sent = 0
    for device in push.devices.expiring_between(now, now + timedelta(days=max(REMINDER_DAYS))):
        if device.next_certificate_pem is not None:
            continue  # renewal already under way
        due = sorted(d for d in REMINDER_DAYS if device.not_after - now <= timedelta(days=d))
        try:
            sent += _remind(services, mail, device, due, now)
        except IntegrityError:
            continue  # another process sent this reminder at the same moment
    if sent:
        mail.wake()
    return sent


def _remind(services: Services, mail: Mailer, device: Device, due: list[int], now: datetime) -> int:
    """One email for the nearest reminder day not yet sent; every day it covers is recorded in
    the same transaction (the key refuses a second writer)."""
    with services.db.session() as session:
        done = set(
            session.scalars(
                select(RenewalReminder.days_before).where(
                    RenewalReminder.serial == device.serial,
                    RenewalReminder.days_before.in_(due),
                )
            )
        )
        if due[0] in done:
            return 0
        for days in due:
            if days not in done:
                session.add(
                    RenewalReminder(
                        serial=device.serial,
                        days_before=days,
                        device_id=device.device_id,
                        user_id=device.user_id,
                        sent_at=now,
                    )
                )
        session.flush()
        user = session.get(User, device.user_id)
        if user is None:
            return 0
        mail.enqueue(
            session,
            "renewal_reminder",
            registered_email(session, user)[1],
            user_id=user.user_id,
            days=max(1, math.ceil((device.not_after - now).total_seconds() / 86_400)),
            expires_th=format_datetime(device.not_after, "th"),
            expires_en=format_datetime(device.not_after, "en"),
        )
    return 1


def run_all(services: Services, push: PushAuth, mail: Mailer) -> dict[str, int]:
    return {
        "renewal_reminders": _counted(
            "renewal_reminders", lambda: send_renewal_reminders(services, push, mail)
        ),
        "expired_revocations_forgotten": _counted(
            "expired_revocations", Revocations(services).forget_expired
        ),
        "orphan_uploads_removed": _counted(
            "orphan_uploads", lambda: _forget_orphan_uploads(services)
        ),
    }


def _counted(job: str, run: Callable[[], int]) -> int:
    """Run one job, counted by outcome (idp_job_runs_total)."""
    try:
        done = run()
    except Exception:
        metrics.JOB_RUNS.labels(job, "error").inc()
        raise
    metrics.JOB_RUNS.labels(job, "ok").inc()
    return done


def _forget_orphan_uploads(services: Services) -> int:
    with services.db.read() as session:
        return kept_files.forget_orphans(session, kept_files.folder_of(services.settings))


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
