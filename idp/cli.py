"""The `idp` command line: serve, migrate, doctor, users, clients, keys, officers, devices,
registrations, jobs."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.domain import audit, clients, keys, registration, sealed
from idp.domain import officers as officers_domain
from idp.domain.errors import UserFacingError
from idp.domain.lifecycle import OfficerAction
from idp.domain.secrets import MasterKeyError, SealedValueError, key_id_of
from idp.domain.users import import_users, public_record
from idp.jobs import run_all
from idp.logging_config import LOGGING
from idp.mail.mailer import Mailer
from idp.push_wiring import build_push
from idp.services import Services, build_services
from idp.settings import Settings, SettingsError, load_settings
from idp.storage.models import Registration, User

ROLES = ("officer", "admin", "auditor")
CLI_ACTOR = "cli"
WORKER_HEALTHCHECK_TIMEOUT = 30  # seconds; see serve


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@contextmanager
def _services() -> Iterator[Services]:
    try:
        services = build_services(_settings())
    except MasterKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        yield services
    finally:
        services.close()


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    with _services() as services, services.db.session() as session:
        try:
            yield session
        except UserFacingError as exc:
            raise click.ClickException(str(exc.message)) from exc


def _emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else text(data))


@click.group()
def main() -> None:
    """Soft Token IdP administration."""


@main.command()
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Server processes sharing server.port (default: server.workers).",
)
def serve(reload: bool, workers: int | None) -> None:
    """Run the IdP with uvicorn on server.host:server.port."""
    import uvicorn

    settings = _settings()
    workers = workers or settings.server.workers
    if workers > 1 and settings.store.kind == "memory":
        raise click.ClickException("--workers > 1 needs a shared store (Redis: store.url)")
    with _services():
        pass  # migrate and create keys once, before the workers start
    if settings.development.seed_demo:
        from idp.demo import seed_demo

        seed_demo(settings)
    from idp.metrics import prepare_multiprocess

    prepare_multiprocess(None if reload else workers)  # before the workers start
    # uvicorn re-raises the SIGTERM it handled once it has shut down gracefully (idp.shutdown):
    # ignored here, so a graceful stop exits 0.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: None)
    uvicorn.run(
        "idp.app:create_app",
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=None if reload else workers,
        reload=reload,
        proxy_headers=False,  # idp.web.proxies trusts only server.trusted_proxies
        log_level="info",
        access_log=False,  # idp.web.access_log logs requests without query strings
        log_config=LOGGING,
        timeout_graceful_shutdown=settings.server.shutdown_timeout,
        # uvicorn pings each worker from the moment it is spawned and kills one that has not
        # answered in this many seconds (its default, 5, is less than a worker's start on a
        # loaded host: the workers were killed and respawned forever).
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT,
    )


@main.command()
def migrate() -> None:
    """Apply database migrations and create missing signing keys."""
    with _services():
        click.echo("database is up to date")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def doctor(as_json: bool) -> None:
    """Check settings, database, migrations, Redis, keys, CA, SMTP and the clock; exit 1 on
    a failure. Reads only; prints no secret."""
    from idp import doctor as checks

    findings = checks.diagnose()
    click.echo(checks.as_json(findings) if as_json else checks.render(findings))
    if any(finding.status == "FAIL" for finding in findings):
        sys.exit(1)


@main.group()
def users() -> None:
    """Officer-provisioned users."""


@users.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def users_import(csv_file: Path) -> None:
    """Import users from CSV: all rows or none."""
    text = csv_file.read_text(encoding="utf-8")
    with _unit_of_work() as session:
        result = import_users(session, text, CLI_ACTOR)
        if result.errors:
            for error in result.errors:
                click.echo(str(error), err=True)
            raise click.ClickException(
                f"nothing imported: {len(result.errors)} problem(s) / ไม่ได้นำเข้าข้อมูล"
            )
    click.echo(f"imported {len(result.imported)} user(s)")


@users.command("show")
@click.argument("user_id")
@click.option("--json", "as_json", is_flag=True)
def users_show(user_id: str, as_json: bool) -> None:
    with _unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise click.ClickException("no such user / ไม่พบผู้ใช้")
        record = public_record(user)
    _emit(record, as_json, lambda r: "\n".join(f"{k}: {v}" for k, v in r.items()))


@users.command("assignment-order")
@click.argument("user_id")
@click.option(
    "--on-file/--not-on-file",
    "on_file",
    default=None,
    help="The written assignment order is (or is no longer) on file.",
)
def users_assignment_order(user_id: str, on_file: bool | None) -> None:
    """Record whether the user's assignment order is on file (registration step 1 then needs
    no PDF); the account lifecycle allows it until the registration is approved."""
    if on_file is None:
        raise click.UsageError("give --on-file or --not-on-file")
    with _services() as services:
        lifecycle = services.lifecycle
        try:
            with services.db.session() as session:
                user, _account = lifecycle.user(session, user_id)
                lifecycle.mark_assignment_order(session, user, on_file, CLI_ACTOR)
                state = lifecycle.account(session, user).state
        except UserFacingError as exc:
            raise click.ClickException(str(exc.message)) from exc
    said = "on file" if on_file else "not on file"
    click.echo(f"{user_id}: assignment order {said} (state: {state.value})")


@main.group("clients")
def clients_group() -> None:
    """Relying parties."""


@clients_group.command("create")
@click.argument("client_id")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True)
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True)
@click.option("--backchannel-logout-uri")
@click.option(
    "--auth-method", default="client_secret_basic", type=click.Choice(clients.AUTH_METHODS)
)
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(clients.GRANT_TYPES))
@click.option("--scope", default="openid profile email phone offline_access gfmis")
@click.option("--first-party", is_flag=True)
@click.option("--no-pkce", is_flag=True, help="Confidential clients only: PKCE optional.")
@click.option("--id-token-alg", default="RS256", type=click.Choice(clients.ID_TOKEN_ALGS))
@click.option("--jwks-uri")
@click.option("--jwks-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def clients_create(
    client_id: str,
    name: str,
    redirect_uris: tuple[str, ...],
    post_logout: tuple[str, ...],
    backchannel_logout_uri: str | None,
    auth_method: str,
    grant_types: tuple[str, ...],
    scope: str,
    first_party: bool,
    no_pkce: bool,
    id_token_alg: str,
    jwks_uri: str | None,
    jwks_file: Path | None,
    as_json: bool,
) -> None:
    """Register a client; its secret is shown once."""
    spec = clients.ClientSpec(
        client_id=client_id,
        name=name,
        redirect_uris=list(redirect_uris),
        auth_method=auth_method,
        grant_types=grant_types or ("authorization_code", "refresh_token"),
        scope=scope,
        post_logout_redirect_uris=post_logout,
        backchannel_logout_uri=backchannel_logout_uri,
        first_party=first_party,
        require_pkce=not no_pkce,
        id_token_alg=id_token_alg,
        jwks_uri=jwks_uri,
        jwks=json.loads(jwks_file.read_text()) if jwks_file else None,
    )
    with _unit_of_work() as session:
        client, secret = clients.create(session, spec, CLI_ACTOR)
        data = {**clients.describe(client), "client_secret": secret}
    _emit(data, as_json, lambda d: "\n".join(f"{k}: {v}" for k, v in d.items()))


@clients_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def clients_list(as_json: bool) -> None:
    with _unit_of_work() as session:
        data = [clients.describe(c) for c in clients.list_all(session)]
    _emit(data, as_json, lambda d: "\n".join(f"{c['client_id']}\t{c['name']}" for c in d))


@clients_group.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
def clients_show(client_id: str, as_json: bool) -> None:
    with _unit_of_work() as session:
        data = clients.describe(clients.get(session, client_id))
    _emit(data, as_json, lambda d: "\n".join(f"{k}: {v}" for k, v in d.items()))


@clients_group.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
def clients_rotate(client_id: str, as_json: bool) -> None:
    with _unit_of_work() as session:
        secret = clients.rotate_secret(session, client_id, CLI_ACTOR)
    _emit(
        {"client_id": client_id, "client_secret": secret},
        as_json,
        lambda d: f"client_secret: {d['client_secret']}",
    )


@clients_group.command("delete")
@click.argument("client_id")
def clients_delete(client_id: str) -> None:
    with _unit_of_work() as session:
        clients.delete(session, client_id, CLI_ACTOR)
    click.echo(f"deleted {client_id}")


@main.group("keys")
def keys_group() -> None:
    """Token signing keys."""


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def keys_list(as_json: bool) -> None:
    with _unit_of_work() as session:
        data = keys.describe_all(session)
    _emit(data, as_json, lambda d: "\n".join(f"{k['alg']}\t{k['state']}\t{k['kid']}" for k in d))


@keys_group.command("rotate")
def keys_rotate() -> None:
    """Activate the published next keys and publish new next keys."""
    with _services() as services, services.db.session() as session:
        tokens = services.settings.tokens
        longest = max(tokens.access_token_ttl, tokens.id_token_ttl)
        activated = keys.rotate(session, services.master, longest, CLI_ACTOR)
    click.echo("activated: " + ", ".join(activated))


@main.group("master-key")
def master_key_group() -> None:
    """The master key ring: rotate to a new master key ("Key rotation" in README)."""


@master_key_group.command("generate")
def master_key_generate() -> None:
    """Print a new master key (base64url) and its ID, for the secret store; nothing else."""
    key = secrets.token_bytes(32)
    click.echo(base64.urlsafe_b64encode(key).decode())
    click.echo(f"key ID: {key_id_of(key)}", err=True)


def _census(dry_run: bool) -> sealed.Census:
    with _services() as services, services.db.session() as session:
        try:
            return sealed.rotate(session, services.master, CLI_ACTOR, dry_run=dry_run)
        except SealedValueError as exc:  # rolled back; the failure's audit row is kept
            raise click.ClickException(f"เปิดค่าที่เข้ารหัสไว้ไม่ได้ / {exc}") from exc


@master_key_group.command("status")
@click.option("--json", "as_json", is_flag=True)
def master_key_status(as_json: bool) -> None:
    """Count the sealed values by the key of the ring that opens them; exit 1 when a value
    opens under no key. Reads only."""
    counted = _census(dry_run=True)
    _emit(counted.as_dict(), as_json, lambda _d: counted.summary())
    if counted.unopenable:
        sys.exit(1)


@master_key_group.command("rotate")
@click.option("--dry-run", is_flag=True, help="Count what would be sealed again; change nothing.")
@click.option("--json", "as_json", is_flag=True)
def master_key_rotate(dry_run: bool, as_json: bool) -> None:
    """Seal every value under a previous key (or without a key ID) again under the current
    master key, in one transaction; audited as master_key.rotate. Safe to run again."""
    counted = _census(dry_run)
    done = "would re-seal" if dry_run else "re-sealed"
    data = {**counted.as_dict(), "dry_run": dry_run}
    _emit(data, as_json, lambda _d: f"{done} {counted.stale}; before: {counted.summary()}")


@main.group("device-ca")
def device_ca_group() -> None:
    """The device CA and the challenge-signing key: rotate, list, retire."""


@device_ca_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def device_ca_list(as_json: bool) -> None:
    """Every CA and challenge key: ID, state, validity, current devices depending on it."""
    from idp import device_ca

    with _services() as services:
        data = device_ca.describe(services)
    _emit(
        data,
        as_json,
        lambda d: "\n".join(
            f"{e['kind']}\t{e['id']}\t{e['state']}\t{e.get('not_after', '-')}\t"
            f"{e['devices']} device(s)"
            for e in d
        ),
    )


@device_ca_group.command("rotate")
@click.option(
    "--challenge-key", is_flag=True, help="A new challenge-signing key instead of a new CA."
)
def device_ca_rotate(challenge_key: bool) -> None:
    """A new CA that issues every certificate from now on (older ones stay trusted), or a new
    challenge key that new activations pin (older devices keep theirs). Audited."""
    from idp import device_ca

    kind = "challenge-key" if challenge_key else "ca"
    with _services() as services:
        made = device_ca.rotate(services, kind, CLI_ACTOR)
    click.echo(f"new {kind}: {made} (every process uses it within a minute)")


@device_ca_group.command("retire")
@click.argument("ident", metavar="ID")
def device_ca_retire(ident: str) -> None:
    """Delete the key of an older CA or challenge key, once no current device depends on it."""
    from idp import device_ca

    with _services() as services:
        try:
            kind = device_ca.retire(services, ident, CLI_ACTOR)
        except ValueError as exc:
            raise click.ClickException(f"ยกเลิกไม่ได้ / {exc}") from exc
    click.echo(f"retired {kind} {ident}")


@main.group()
def officers() -> None:
    """Back-office roles: officer, admin, auditor."""


def _change_role(user_id: str, role: str, grant: bool) -> None:
    with _unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise click.ClickException("no such user / ไม่พบผู้ใช้")
        roles = officers_domain.change_role(session, user, role, grant, CLI_ACTOR)
    click.echo(f"{user_id}: {', '.join(roles) or '-'}")


@officers.command("grant")
@click.argument("user_id")
@click.option("--role", default="officer", type=click.Choice(ROLES))
def officers_grant(user_id: str, role: str) -> None:
    _change_role(user_id, role, True)


@officers.command("revoke")
@click.argument("user_id")
@click.option("--role", default="officer", type=click.Choice(ROLES))
def officers_revoke(user_id: str, role: str) -> None:
    _change_role(user_id, role, False)


@main.group()
def devices() -> None:
    """Soft Token devices (until the back office exists)."""


@devices.command("show")
@click.argument("user_id")
@click.option("--json", "as_json", is_flag=True)
def devices_show(user_id: str, as_json: bool) -> None:
    with _services() as services:
        device = build_push(services).devices.active_for(user_id)
    if device is None:
        raise click.ClickException("no active device / ไม่มี Soft Token ที่ใช้งานอยู่")
    data = {
        "device_id": device.device_id,
        "status": device.status,
        "model": device.model,
        "platform": device.platform,
        "activated": device.created_at.isoformat(),
        "not_after": device.not_after.isoformat(),
        "serial": device.serial,
    }
    _emit(data, as_json, lambda d: "\n".join(f"{k}: {v}" for k, v in d.items()))


@devices.command("revoke")
@click.argument("user_id")
@click.option("--reason", required=True)
def devices_revoke(user_id: str, reason: str) -> None:
    """Revoke the user's device at once (lost phone, …): every session ends, relying parties
    are told, and the user registers again before another phone pairs."""
    from idp.bootstrap import build_core

    with _services() as services:
        context = build_core(services)
        revoked: list[str] = []

        def revoke() -> None:
            device = context.push.revoke(user_id, "officer: " + reason, actor=CLI_ACTOR)
            revoked.extend([device.device_id] if device else [])

        try:
            with services.db.session() as session:
                user, account = services.lifecycle.user(session, user_id)
                if not account.officer_may(OfficerAction.REVOKE_DEVICE):
                    raise click.ClickException("no active device / ไม่มี Soft Token ที่ใช้งานอยู่")
                services.lifecycle.revoke_device(
                    session, user, reason, CLI_ACTOR, revoke, new_device_allowed=False
                )
        except UserFacingError as exc:
            raise click.ClickException(str(exc.message)) from exc
        sign_out = context.back_channel.sign_out
        notices = sign_out.everywhere(user_id, "device_revoked", audit.SYSTEM)
        asyncio.run(context.back_channel.deliver(notices))
    click.echo(f"revoked {', '.join(revoked) or '-'}; relying parties told: {len(notices)}")


@main.group()
def registrations() -> None:
    """Registrations waiting for an officer (until the back office exists)."""


@registrations.command("list")
@click.option("--status", default="waiting_approval", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def registrations_list(status: str, as_json: bool) -> None:
    with _unit_of_work() as session:
        rows = session.scalars(
            select(Registration)
            .where(Registration.status == status)
            .order_by(Registration.updated_at)
        )
        data = [registration.summary(r) for r in rows]
    _emit(
        data,
        as_json,
        lambda d: "\n".join(
            f"{r['id']}\t{r['user_id']}\tattempt {r['attempt']}\t{r['status']}" for r in d
        ),
    )


def _registration(session: Session, registration_id: str) -> Registration:
    found = session.get(Registration, registration_id)
    if found is None:
        raise click.ClickException("no such registration / ไม่พบการลงทะเบียน")
    return found


@registrations.command("show")
@click.argument("registration_id")
@click.option("--json", "as_json", is_flag=True)
def registrations_show(registration_id: str, as_json: bool) -> None:
    with _unit_of_work() as session:
        found = _registration(session, registration_id)
        data = {
            **registration.summary(found),
            "proofing": found.proofing,
            "consent_version": found.consent_version,
            "decision_reason": found.decision_reason,
        }
    _emit(data, as_json, lambda d: "\n".join(f"{k}: {v}" for k, v in d.items()))


def _decide(registration_id: str, approve: bool, reason: str, officer: str) -> None:
    with _services() as services, services.db.session() as session:
        found = _registration(session, registration_id)
        try:
            status = registration.decide(
                session, found, approve, reason, officer, services.settings.registration.four_eyes
            )
        except UserFacingError as exc:
            raise click.ClickException(str(exc.message)) from exc
        user = session.get(User, found.user_id)
        assert user is not None
        Mailer(services.db, services.settings.mail).registration_decided(
            session, found, user, services.settings.server.issuer
        )
    waiting = status == "waiting_approval"
    click.echo(("first approval of " if waiting else status + " ") + registration_id)


@registrations.command("approve")
@click.argument("registration_id")
@click.option("--officer", default=CLI_ACTOR)
def registrations_approve(registration_id: str, officer: str) -> None:
    _decide(registration_id, True, "", officer)


@registrations.command("reject")
@click.argument("registration_id")
@click.option("--reason", required=True)
@click.option("--officer", default=CLI_ACTOR)
def registrations_reject(registration_id: str, reason: str, officer: str) -> None:
    _decide(registration_id, False, reason, officer)


@main.group()
def jobs() -> None:
    """Scheduled jobs (also run every hour inside `idp serve`)."""


@jobs.command("run")
def jobs_run() -> None:
    """Run every job once now (certificate-expiry reminders)."""
    with _services() as services:
        mailer = Mailer(services.db, services.settings.mail)
        result = run_all(services, build_push(services), mailer)
    click.echo(", ".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    sys.exit(main())
