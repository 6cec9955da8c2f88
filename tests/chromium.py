"""Real headless Chromium (the Debian package) driven by Playwright, one browser per module;
the fixtures of tests/browser and tests/journeys (each conftest imports them).

Not per session: Playwright's sync API keeps an event loop running in the main thread while it
is open, and later tests that call asyncio.run() must not find it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")


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
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--host-resolver-rules=MAP localhost 127.0.0.1"],  # WebAuthn tests
    )
    yield browser
    browser.close()
