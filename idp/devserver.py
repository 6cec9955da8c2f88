"""`make run`: migrate, seed the demo, start the demo portal and the IdP, and say how to sign in.

`make run PORT=8080 PORTAL_PORT=8081` (`python -m idp.devserver --port 8080 --portal-port 8081`)
moves them: the issuer follows the IdP's port (http://localhost:PORT) unless IDP_CONFIG or
IDP_SERVER__ISSUER names one, which must then name the same port."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import MutableMapping
from urllib.parse import urlsplit

from idp.demo import DEMO_PASSWORD, seed_demo
from idp.settings import REPO_ROOT, Settings, SettingsError, is_localhost, load_settings


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is 1 to 65535 / พอร์ตต้องอยู่ระหว่าง 1 ถึง 65535")
    return port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m idp.devserver", description=__doc__)
    parser.add_argument("--port", type=_port, help="the IdP's port (default: server.port, 8000)")
    parser.add_argument("--portal-port", type=_port, help="the demo portal's port (default: 8001)")
    return parser.parse_args(argv)


def apply_ports(env: MutableMapping[str, str], args: argparse.Namespace) -> None:
    """The settings' environment for these ports: server.port, the issuer that follows it
    (unless a configuration file or IDP_SERVER__ISSUER names the issuer) and the portal's URL."""
    if args.port is not None:
        env["IDP_SERVER__PORT"] = str(args.port)
    if "IDP_CONFIG" not in env:
        # "localhost", not 127.0.0.1: WebAuthn (the web authenticator at /app, passkeys) needs a
        # domain as its RP ID, and browsers treat http://localhost as a secure context
        env.setdefault("IDP_SERVER__ISSUER", f"http://localhost:{args.port or 8000}")
    if args.portal_port is not None:
        env["IDP_DEVELOPMENT__DEMO_PORTAL_URL"] = f"http://127.0.0.1:{args.portal_port}"


def port_mismatch(settings: Settings) -> str | None:
    """A localhost issuer must name the port the IdP listens on (discovery, redirects)."""
    named = urlsplit(settings.server.issuer).port  # none named: a proxy on 80/443 in front
    if not is_localhost(settings.server.issuer) or named in (None, settings.server.port):
        return None
    return (
        f"server.issuer {settings.server.issuer} names port {named} but the IdP listens on "
        f"{settings.server.port}: set both (IDP_SERVER__ISSUER, or make run PORT=…)\n"
        f"server.issuer ระบุพอร์ต {named} แต่ IdP รับการเชื่อมต่อที่พอร์ต {settings.server.port}: "
        f"กรุณาตั้งให้ตรงกัน"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("IDP_DEVELOPMENT__SEED_DEMO", "true")
    apply_ports(os.environ, args)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if problem := port_mismatch(settings):
        print(problem, file=sys.stderr)
        return 2
    data = seed_demo(settings)
    portal = data["portal_url"]
    host, port = portal.rsplit(":", 1)[0].split("//")[1], portal.rsplit(":", 1)[1]
    env = {**os.environ, "PORTAL_CREDENTIALS": str(settings.var_path / "demo-portal.json")}
    portal_process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "examples.portal.app:create_app",
            "--host",
            host,
            "--port",
            port,
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env=env,
    )
    print(
        f"\n  Soft Token IdP     {settings.server.issuer}\n"
        f"  Demo portal (RP)   {portal}\n"
        f"  Back office        {settings.server.issuer}/admin/\n\n"
        f"  Open {portal} and sign in as T05005000000201 (or T05005000000202)\n"
        f"  with the password {DEMO_PASSWORD}\n"
        f"  T05005000000201 is also an officer and admin: after pairing softtoken at\n"
        f"  /activate it can sign in to the back office with push.\n"
        f"  The web authenticator is at {settings.server.issuer}/app (see the README's\n"
        f'  "Use it from your phone").\n',
        flush=True,
    )
    try:
        return subprocess.call([sys.executable, "-m", "idp.cli", "serve"], cwd=REPO_ROOT)
    finally:
        portal_process.terminate()
        portal_process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
