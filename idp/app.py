"""The ASGI application (uvicorn --factory idp.app:create_app): the composition root's parts
(idp.bootstrap) behind one routing table — the hosted pages (idp.web), the device API
(push_auth), the admin API and the back office — and the process's lifespan."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount
from starlette.types import StatelessLifespan

from idp.admin_api.routes import admin_routes
from idp.admin_ui_wiring import MOUNT, mount_admin_ui
from idp.bootstrap import build_core, build_web
from idp.domain.secrets import MasterKeyError
from idp.jobs import Scheduler
from idp.services import build_services
from idp.settings import Settings, SettingsError, load_settings
from idp.shutdown import Drain
from idp.storage.outages import OUTAGES
from idp.web.app import not_found, routes, server_error, unavailable
from idp.web.context import WebContext
from idp.web.edge import Edge
from idp.web.metrics import count_long_polls
from idp.web.metrics import route as metrics_route
from push_auth.api import device_api
from push_auth.webapp.api import web_device_api

log = logging.getLogger(__name__)


def _lifespan(context: WebContext) -> StatelessLifespan[Starlette]:
    services, settings = context.services, context.services.settings

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Fewer threads contend less for the GIL: measured best at about 8 on 2 cores.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.server.threads
        if settings.tokens.signer_process:
            await services.keys.signer.start()
        try:  # the expiring store may be new or emptied: its revocation markers, from the record
            await run_in_threadpool(context.server.tokens.revocations.load, True)
        except Exception:  # refused until loaded: each check tries again
            log.exception("revocations could not be loaded at start")
        await context.push.wakeup.start()
        await context.mail.sender.start()
        scheduler = Scheduler(services, context.push, context.mail)
        if settings.jobs.enabled:
            await scheduler.start()
        # What exists once started lives as long as the process: keep it out of the garbage
        # collector's full passes, which took 60-90 ms each and were the p99 of every endpoint.
        # Young collections every 10,000 allocations instead of 700: most of a request's
        # objects are freed by reference counting before then (introspection +8 %).
        if gc.get_freeze_count() == 0:  # the first application of this process
            gc.collect()
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
        steps = [context.push.wakeup.drain, context.mail.sender.finish]
        drain = Drain(settings.server.shutdown_timeout, steps)
        drain.install()  # SIGTERM: long-polls answer 204 at once; the outbox finishes its sends
        yield
        drain.uninstall()
        drain.run()
        await scheduler.stop()
        await context.mail.sender.stop(grace=drain.remaining())
        await context.push.wakeup.stop()
        await run_in_threadpool(context.push.challenges.notifier.close)
        await services.store.close_async()
        await services.keys.signer.stop()
        services.close()

    return lifespan


def create_app(settings: Settings | None = None) -> Starlette:
    try:
        settings = settings or load_settings()
        services = build_services(settings)
    except (SettingsError, MasterKeyError) as exc:
        raise SystemExit(f"idp: {exc}") from None
    context = build_web(build_core(services))
    app = Starlette(
        routes=[
            *routes(context),
            *metrics_route(settings.metrics.token),
            Mount(
                "/push/v1",
                routes=count_long_polls(device_api(context.push)) + web_device_api(context.push),
            ),
            Mount("/admin/api/v1", routes=admin_routes()),
        ],
        lifespan=_lifespan(context),
        exception_handlers={
            404: not_found,
            405: not_found,
            500: server_error,
            **dict.fromkeys(OUTAGES, unavailable),
        },
    )
    app.state.ctx = context
    if settings.admin_ui.enabled:  # after the admin API's mount, so that one matches first
        app.router.routes.append(Mount(MOUNT, app=mount_admin_ui(services, app)))
    app.add_middleware(
        Edge, trusted_proxies=settings.server.trusted_proxies, https=settings.is_https
    )
    return app
