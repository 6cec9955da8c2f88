"""Real headless Chromium (the Debian package) driven by Playwright, one browser per module, as
in tests/browser: Playwright's sync API keeps an event loop running in the main thread while it
is open, and later tests that call asyncio.run() must not find it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")

expect.set_options(timeout=15_000)  # two shared cores: pages may take a while under load


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def chromium(playwright_driver: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (Debian package chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI never skips the browser tests")
        pytest.skip(message)
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def nginx_path() -> str:
    """nginx (the Debian package) for Login by Token, as in tests/e2e/test_token_login.py."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed (CI installs the Debian package in .ci/run)")
        pytest.skip("nginx is not installed: apt-get install nginx-light")
    return found
