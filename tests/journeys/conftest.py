"""The journeys' fixtures: real headless Chromium (tests.chromium) and nginx for Login by
Token."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.chromium import chromium, playwright_driver
from tests.e2e.test_token_login import nginx_binary

expect.set_options(timeout=15_000)  # two shared cores: pages may take a while under load


__all__ = ["chromium", "nginx_binary", "playwright_driver"]
