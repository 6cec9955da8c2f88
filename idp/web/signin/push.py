"""Sign-in steps of push authentication (manual chapters 3 and 6).

- RenewalRequiredStep: the device certificate has expired, so it cannot approve: the page asks
  the user to renew in the app (Update Profile → Accept) and waits until the server sees it.
- PushStep: the computer shows the pictures, the user taps them in order on the phone; the page
  polls and continues once the device's signed approval has arrived.
- RenewalNoticeStep: from 30 to 1 days before expiry, "Continue" or "Renew".
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from idp.domain.lifecycle import PUSH_STATES, State
from idp.domain.thai_dates import format_datetime
from idp.login.factors import Factor
from idp.login.factors.password import PASSWORD
from idp.login.factors.push import reported_amr
from idp.login.transaction import LoginTransaction
from idp.oidc import rar
from idp.web.context import WebContext, ctx
from idp.web.signin.login import EXPIRED
from idp.web.step import standing
from push_auth.errors import PushError
from push_auth.models import Challenge, Device
from push_auth.pictures import all_pictures

ENDED = ("denied", "not_me", "failed", "expired")
# The push page is shown for a usable phone, and for a suspended one (to say so).
PUSH_OR_SUSPENDED = frozenset({*PUSH_STATES, State.SUSPENDED})


def _device(c: WebContext, txn: LoginTransaction) -> Device | None:
    if txn.user_id is None:
        return None
    return c.push.devices.active_for(txn.user_id)


def _state(request: Request, txn: LoginTransaction) -> State | None:
    """Where the signing-in account stands in the lifecycle (None before the password)."""
    if txn.user_id is None:
        return None
    return standing(request, txn.user_id).state


class RenewalRequiredStep:
    """Before the push: a phone whose certificate expired cannot approve until renewed."""

    name = "renewal_required"
    needs = (PASSWORD.name,)
    provides = None

    def __init__(self, push: Factor) -> None:
        self._push = push

    def applies(self, request: Request, txn: LoginTransaction) -> bool:
        if self._push.name in txn.factors_done or txn.extra.get("factor") not in (
            None,
            self._push.name,
        ):
            return False  # approved already, or another factor chosen
        return _state(request, txn) is State.EXPIRED

    async def show(self, request: Request, txn: LoginTransaction) -> Response:
        device = await run_in_threadpool(_device, ctx(request), txn)
        if device is not None:
            txn.extra.setdefault("serial", device.serial)
        return ctx(request).render.page(
            request,
            "renew_required.html",
            txn=txn,
            poll_url=f"/login/{txn.id}/device",
            web_device=_is_web(device),
        )

    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None:
        if await run_in_threadpool(self.applies, request, txn):
            return await self.show(request, txn)
        return None


class PushStep:
    """Proves the push factor of the deployment's mode (idp.login.factors.push)."""

    name = "push"
    needs = (PASSWORD.name,)

    def __init__(self, push: Factor) -> None:
        self.provides = push.name

    def applies(self, request: Request, txn: LoginTransaction) -> bool:
        return _state(request, txn) in PUSH_OR_SUSPENDED

    async def show(self, request: Request, txn: LoginTransaction) -> Response:
        c = ctx(request)
        challenge, problem = await run_in_threadpool(self._current_or_new, c, request, txn)
        locale = c.render.locale(request)
        pictures = all_pictures()
        shown = [pictures[i] for i in challenge.pictures] if challenge else []
        return c.render.page(
            request,
            "push.html",
            txn=txn,
            pictures=shown,
            challenge=challenge,
            problem=(problem.th if locale == "th" else problem.en) if problem else None,
            poll_url=f"/login/{txn.id}/push",
        )

    def _current_or_new(
        self, c: WebContext, request: Request, txn: LoginTransaction
    ) -> tuple[Challenge | None, PushError | None]:
        cid = txn.extra.get("challenge_id")
        current = c.push.challenge(str(cid)) if cid else None
        if current is not None and (current.status not in ENDED or txn.extra.get("shown_end")):
            return current, None
        if current is not None and current.status in ENDED:
            txn.extra["shown_end"] = True  # show the outcome once; "send again" starts anew
            return current, None
        return self._start(c, request, txn)

    @staticmethod
    def _start(
        c: WebContext, request: Request, txn: LoginTransaction
    ) -> tuple[Challenge | None, PushError | None]:
        assert txn.user_id is not None
        context = _context(c, request, txn)
        try:
            challenge = c.push.start_challenge(txn.user_id, context)
        except PushError as exc:
            return None, exc
        txn.extra["challenge_id"] = challenge.challenge_id
        txn.extra.pop("shown_end", None)
        return challenge, None

    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None:
        c = ctx(request)
        form = await request.form(max_fields=10)
        if form.get("action") == "retry":
            txn.extra.pop("challenge_id", None)
            return await self.show(request, txn)
        cid = str(txn.extra.get("challenge_id") or "")
        challenge = await run_in_threadpool(c.push.challenge, cid) if cid else None
        if challenge is None or challenge.status != "approved" or challenge.user_id != txn.user_id:
            return await self.show(request, txn)
        txn.extra.pop("challenge_id", None)
        if challenge.receipt:  # the phone signed the authorization details it showed
            txn.extra["approval_receipt"] = challenge.receipt
        factor = "push_sequence" if challenge.mode == "sequence" else "push_compare"
        txn.proved(factor, reported_amr(challenge.amr))
        return None


class RenewalNoticeStep:
    """After the push, from 30 to 1 days before the certificate expires."""

    name = "renewal_notice"
    provides = None

    def __init__(self, push: Factor) -> None:
        self.needs = (PASSWORD.name, push.name)

    def applies(self, request: Request, txn: LoginTransaction) -> bool:
        return _state(request, txn) is State.WARNED

    async def show(self, request: Request, txn: LoginTransaction) -> Response:
        c = ctx(request)
        device = await run_in_threadpool(_device, c, txn)
        assert device is not None
        txn.extra.setdefault("serial", device.serial)
        days_left = max(
            1, math.ceil((device.not_after - c.services.clock.now()).total_seconds() / 86400)
        )
        return c.render.page(
            request,
            "renew_notice.html",
            txn=txn,
            days_left=days_left,
            expires=format_datetime(device.not_after, c.render.locale(request)),
            renewing=bool(txn.extra.get("renewing")),
            poll_url=f"/login/{txn.id}/device",
            web_device=_is_web(device),
        )

    async def submit(self, request: Request, txn: LoginTransaction) -> Response | None:
        form = await request.form(max_fields=10)
        if form.get("action") == "renew":
            txn.extra["renewing"] = True
            return await self.show(request, txn)
        txn.steps_done.append(self.name)
        return None


def _is_web(device: Device | None) -> bool:
    """The web authenticator (its key a WebAuthn credential) renews from its own page."""
    return device is not None and device.credential_id is not None


def _context(c: WebContext, request: Request, txn: LoginTransaction) -> dict[str, Any]:
    """What the phone shows beside the request: who asks, when, from where."""
    client = c.server.query_client(txn.client_id) if txn.client_id else None
    return {
        "client": txn.client_id or None,
        "client_name": client.record.name if client else "Soft Token",
        "time": int(time.time()),
        "ip": request.client.host if request.client else None,
        "browser": (request.headers.get("user-agent") or "")[:200],
        "binding_message": (txn.param("binding_message") or "")[:100] or None,
        **_details(txn.param("authorization_details")),
    }


def _details(raw: str | None) -> dict[str, Any]:
    """What the phone shows of a request's authorization details (checked already)."""
    if not raw:
        return {}
    details = json.loads(raw)
    return {
        "details": rar.summary(details, "th"),
        "details_en": rar.summary(details, "en"),
        "authorization_details": details,  # what the phone signs (push_auth.receipts)
        "details_sha256": rar.digest(details),
    }


async def push_status(request: Request) -> Response:
    """The browser's poll: the state of this sign-in's challenge."""
    c = ctx(request)
    txn = c.transactions.get(request.path_params["txn"])
    if txn is None:
        return JSONResponse({"status": "gone", "message": EXPIRED.en}, status_code=404)
    cid = str(txn.extra.get("challenge_id") or "")
    challenge = await run_in_threadpool(c.push.challenge, cid) if cid else None
    return JSONResponse(
        {"status": challenge.status if challenge else "none"}, headers={"Cache-Control": "no-store"}
    )


async def device_status(request: Request) -> Response:
    """The browser's poll while the user renews in the app."""
    c = ctx(request)
    txn = c.transactions.get(request.path_params["txn"])
    if txn is None or txn.user_id is None:
        return JSONResponse({"status": "gone"}, status_code=404)
    device = await run_in_threadpool(c.push.devices.active_for, txn.user_id)
    serial_then = txn.extra.get("serial")
    renewed = device is not None and (
        device.next_certificate_pem is not None
        or (serial_then is not None and device.serial != serial_then)
    )
    return JSONResponse(
        {"status": "renewed" if renewed else "waiting"}, headers={"Cache-Control": "no-store"}
    )
