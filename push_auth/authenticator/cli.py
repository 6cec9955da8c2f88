"""`softtoken`: the reference authenticator on the command line.

softtoken --home DIR activate QR_TEXT_OR_PNG --pin 246810
softtoken --home DIR activate CODE --server https://idp.example.go.th --pin 246810
softtoken --home DIR pending [--wait 25] [--json]
softtoken --home DIR approve [--pictures 3,17,8,25] --pin 246810
softtoken --home DIR deny [--not-me]
softtoken --home DIR renew --pin 246810
softtoken --home DIR status [--json]
softtoken --home DIR reset
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx

from push_auth.authenticator.client import Authenticator
from push_auth.authenticator.qr import read_qr
from push_auth.authenticator.state import AuthenticatorError, Home
from push_auth.errors import PushError, both
from push_auth.pictures import all_pictures


def _app(ctx: click.Context) -> Authenticator:
    authenticator: Authenticator = ctx.obj
    return authenticator


def _fail(exc: Exception) -> None:
    if isinstance(exc, PushError):
        raise click.ClickException(f"{exc.th} / {exc.en}") from exc
    raise click.ClickException(str(exc)) from exc


def _run(ctx: click.Context, action: Any) -> Any:
    try:
        return action(_app(ctx))
    except (AuthenticatorError, PushError, httpx.HTTPError) as exc:
        _fail(exc)


@click.group()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path.home() / ".softtoken",
    show_default=True,
)
@click.pass_context
def main(ctx: click.Context, home: Path) -> None:
    """Soft Token reference authenticator."""
    ctx.obj = Authenticator(Home(home))


@main.command()
@click.argument("qr")
@click.option("--pin", required=True, help="6 digits; asked again on every approval")
@click.option("--name", default="softtoken")
@click.option(
    "--server",
    help="with a typed code: the IdP's base URL (or its device API's, …/push/v1)",
)
@click.pass_context
def activate(ctx: click.Context, qr: str, pin: str, name: str, server: str | None) -> None:
    """Activate with the QR code's text, a PNG image of it, or the code the page shows
    (with --server)."""
    state = _run(ctx, lambda a: a.activate(read_qr(qr, server), pin, {"name": name}))
    until = datetime.fromtimestamp(state.not_after, UTC).date().isoformat()
    click.echo(f"activated device {state.device_id}; certificate valid until {until}")


def local_time(value: object) -> str:
    """An epoch time (seconds) as this computer's local date and time with its UTC offset,
    e.g. 2026-12-01 14:05:09 +07:00; anything else as it is ("-" when missing)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-" if value is None else str(value)
    moment = datetime.fromtimestamp(value, UTC).astimezone()
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + f"{offset[:3]}:{offset[3:]}"


TIME_FIELDS = ("not_after", "iat", "exp")  # epoch seconds in the server's answers


def _describe(challenge: dict[str, Any]) -> str:
    context = challenge.get("context", {})
    lines = [
        f"challenge {challenge['cid']} ({challenge['mode']})",
        f"  application: {context.get('client_name', '-')}",
        f"  time: {local_time(context.get('time'))}   ip: {context.get('ip', '-')}",
        f"  browser: {context.get('browser', '-')}",
    ]
    if challenge.get("exp"):
        lines.append(f"  answer before: {local_time(challenge['exp'])}")
    if context.get("binding_message"):
        lines.append(f"  message: {context['binding_message']}")
    for th, en in zip(context.get("details") or [], context.get("details_en") or [], strict=False):
        lines.append(f"  {th['label']} / {en['label']}: {th['value']}")
    if challenge["mode"] == "compare":
        picture = all_pictures()[challenge["pictures"][0]]
        lines.append(f"  picture: {picture.th} / {picture.en}")
    elif challenge["mode"] == "binding":
        lines.append("  approve only if the application shows the same message (no pictures)")
    else:
        lines.append(
            f"  tap the {challenge['picture_count']} pictures the computer shows, in order:"
        )
        lines.extend(f"    {p.id:2d} {p.th} / {p.en}" for p in all_pictures())
    return "\n".join(lines)


@main.command()
@click.option("--wait", type=float, default=0.0, help="long-poll up to this many seconds")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def pending(ctx: click.Context, wait: float, as_json: bool) -> None:
    """Show the challenge waiting for approval, if any."""
    challenge = _run(ctx, lambda a: a.pending(wait))
    if as_json:
        click.echo(json.dumps(challenge, ensure_ascii=False))
    elif challenge is None:
        click.echo(both("no pending challenge"))
    else:
        click.echo(_describe(challenge))
    if challenge is None:
        sys.exit(3)


@main.command()
@click.option(
    "--pictures",
    "picture_list",
    default="",
    help="the pictures the computer shows, in order: e.g. 3,17,8,25",
)
@click.option("--pin", required=True)
@click.pass_context
def approve(ctx: click.Context, picture_list: str, pin: str) -> None:
    """Approve the pending sign-in."""
    try:
        ids = [int(p) for p in picture_list.split(",") if p.strip()]
    except ValueError as exc:
        raise click.BadParameter("use numbers separated by commas, e.g. 3,17,8,25") from exc
    result = _run(ctx, lambda a: a.approve(pin, ids))
    click.echo(f"result: {result['status']}")
    if result["status"] != "approved":
        sys.exit(1)


@main.command()
@click.option("--not-me", is_flag=True, help="report that someone else is signing in")
@click.pass_context
def deny(ctx: click.Context, not_me: bool) -> None:
    """Deny the pending sign-in."""
    result = _run(ctx, lambda a: a.deny(not_me))
    click.echo(f"result: {result['status']}")


@main.command()
@click.option("--pin", required=True)
@click.pass_context
def renew(ctx: click.Context, pin: str) -> None:
    """Update Profile → Accept: renew the certificate with a new key."""
    state = _run(ctx, lambda a: a.renew(pin))
    until = datetime.fromtimestamp(state.not_after, UTC).date().isoformat()
    click.echo(f"renewed; certificate valid until {until}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Device and certificate status, as the server sees it."""
    data = _run(ctx, lambda a: a.status())
    if as_json:
        click.echo(json.dumps(data))
    else:
        click.echo(
            "\n".join(f"{k}: {local_time(v) if k in TIME_FIELDS else v}" for k, v in data.items())
        )


@main.command()
@click.confirmation_option(prompt="Delete this authenticator's keys?")
@click.pass_context
def reset(ctx: click.Context) -> None:
    """Delete the keys (after a lock, or to activate again)."""
    _app(ctx).home.reset()
    click.echo("reset")


if __name__ == "__main__":
    main()
