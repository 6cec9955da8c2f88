"""The sender worker: claims outbox messages and delivers them by SMTP (or to the dev mailbox).

It runs as a task in each server process; several processes never send one message twice
(see outbox.py). Delivery is at least once: a message whose send could not be recorded before
its claim ran out is sent again, with the same Message-ID (derived from its outbox row). It
wakes when a message is enqueued in this process, and polls otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib
from starlette.concurrency import run_in_threadpool

from idp.mail.outbox import CLAIM_SECONDS, Claimed, Outbox
from idp.settings import MailSettings

log = logging.getLogger(__name__)
RECORD_RETRY_SECONDS = 1.0
RECORD_WITHIN = CLAIM_SECONDS - 20  # then the claim would expire and the mail go again


def message_id(message: Claimed, domain: str) -> str:
    """The same Message-ID every time this outbox row is sent: delivery is at least once (a
    send whose success could not be recorded is sent again), and receivers drop the repeat."""
    digest = hashlib.sha256(
        "\n".join(
            [str(message.id), message.to_address, message.subject, message.body_text]
        ).encode()
    ).hexdigest()[:24]
    return f"<outbox.{message.id}.{digest}@{domain or 'localhost'}>"


def build_message(message: Claimed, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id(message, parseaddr(sender)[1].rpartition("@")[2])
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    return email


class MailSender:
    def __init__(self, outbox: Outbox, settings: MailSettings) -> None:
        self._outbox = outbox
        self._settings = settings
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Safe from any thread: a message was enqueued, look now."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()  # bound to the loop that runs the sender
        self._task = asyncio.create_task(self._run(), name="mail-sender")

    def finish(self) -> None:
        """Safe from any thread: send what is claimed, then claim nothing more (shutdown)."""
        self._stopping = True
        self.wake()

    async def stop(self, grace: float = 0.0) -> None:
        """Let the messages being sent finish for up to `grace` seconds, then cancel."""
        self._stopping = True  # ends the loop even if a cancellation were lost
        self.wake()
        if self._task is not None:
            if grace > 0:
                await asyncio.wait({self._task}, timeout=grace)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                batch = await run_in_threadpool(self._outbox.claim)
                for message in batch:
                    await self._deliver(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("mail sender loop failed; retrying")
                batch = []
            if not batch and self._wake is not None and not self._stopping:
                self._wake.clear()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that arrives as the event is set, and the sender would never stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._settings.poll_seconds):
                        await self._wake.wait()

    async def _deliver(self, message: Claimed) -> None:
        try:
            if self._settings.transport == "smtp":
                await self._smtp(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            log.warning(
                "mail %s to SMTP failed (attempt %d): %s",
                message.id,
                message.attempts + 1,
                type(exc).__name__,
            )
            await run_in_threadpool(self._outbox.failed, message.id, message.attempts, str(exc))
            return
        await self._record_sent(message)

    async def _record_sent(self, message: Claimed) -> None:
        """Record the send, retrying while the database is away, until shortly before the
        claim would let another sender take the message again."""
        deadline = asyncio.get_running_loop().time() + RECORD_WITHIN
        while True:
            try:
                await run_in_threadpool(self._outbox.sent, message.id)
                return
            except Exception as exc:
                if asyncio.get_running_loop().time() >= deadline:
                    log.error("mail %s was sent but could not be recorded: %s", message.id, exc)
                    return  # it may go again, with the same Message-ID
                log.warning("mail %s sent; recording it failed, retrying: %s", message.id, exc)
                await asyncio.sleep(RECORD_RETRY_SECONDS)

    async def _smtp(self, message: Claimed) -> None:
        settings = self._settings
        await aiosmtplib.send(
            build_message(message, settings.from_address),
            sender=parseaddr(settings.from_address)[1],
            recipients=[message.to_address],  # exactly one, never what the To header parses to
            hostname=settings.host,
            port=settings.port,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            username=settings.username or None,
            password=settings.password or None,
            timeout=settings.timeout_seconds,
        )
