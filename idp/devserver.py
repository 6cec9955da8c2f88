"""`make run`: migrate, seed the demo, start the demo portal and the IdP, and say how to sign in."""

from __future__ import annotations

import os
import subprocess
import sys

from idp.demo import DEMO_PASSWORD, seed_demo
from idp.settings import REPO_ROOT, SettingsError, load_settings


def main() -> int:
    os.environ.setdefault("IDP_DEVELOPMENT__SEED_DEMO", "true")
    if "IDP_CONFIG" not in os.environ:
        # "localhost", not 127.0.0.1: WebAuthn (the web authenticator at /app, passkeys) needs a
        # domain as its RP ID, and browsers treat http://localhost as a secure context
        os.environ.setdefault("IDP_SERVER__ISSUER", "http://localhost:8000")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
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
