"""The back office's browser tests: real headless Chromium (tests.chromium)."""

from __future__ import annotations

from tests.chromium import chromium, playwright_driver

__all__ = ["chromium", "playwright_driver"]
