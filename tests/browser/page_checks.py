"""What the page sweep checks on one page, in Chromium: no horizontal overflow, no Thai text in a
fallback font (this machine has no Thai system font), and axe-core (npm, tests/interop) with no
serious or critical WCAG 2.1 A/AA violation. Failures are collected, never raised at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = (
    Path(__file__).resolve().parent.parent / "interop" / "node_modules" / "axe-core" / "axe.min.js"
)
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
VIEWPORTS = {"phone": (390, 844), "desktop": (1366, 768)}
AXE_VIEWPORT = "phone"  # axe's rules hardly depend on the width; it is the slow check
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Whether an error summary (#form-error) is there without the focus; the document's width; each
# element with Thai text (its own text nodes, its value or its placeholder) whose first font
# family is not Sarabun; whether a Sarabun face covering Thai (U+0E01-0E5B) is loaded: declared
# but not loaded means the text fell back to another font.
LAYOUT_AND_FONTS = """async () => {
  await document.fonts.ready;
  const thai = /[\\u0E00-\\u0E7F]/;
  const owners = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (thai.test(node.data) && node.parentElement) owners.add(node.parentElement);
  }
  for (const el of document.querySelectorAll("input, textarea")) {
    if (thai.test(el.value || "") || thai.test(el.placeholder || "")) owners.add(el);
  }
  const fallback = [];
  for (const el of owners) {
    if (!el.getClientRects().length) continue;
    const first = getComputedStyle(el).fontFamily.split(",")[0].trim().replace(/["']/g, "");
    if (first !== "Sarabun") {
      const text = el.textContent.trim().slice(0, 30);
      fallback.push(el.tagName.toLowerCase() + " in " + first + ": " + text);
    }
  }
  const thaiFace = [...document.fonts].some((f) => f.family.replace(/["']/g, "") === "Sarabun"
    && f.status === "loaded" && /E01/i.test(f.unicodeRange));
  const summary = document.getElementById("form-error");
  return {
    summaryUnfocused: summary !== null && document.activeElement !== summary,
    width: document.documentElement.scrollWidth, viewport: window.innerWidth,
    fallback: fallback, hasThai: owners.size > 0, thaiFace: thaiFace,
  };
}"""

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"], iframes: false,
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => v.id + " (" + v.impact + "): "
      + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | "));
}"""


@dataclass
class Failure:
    page: str
    locale: str
    viewport: str
    check: str  # overflow, font, axe or focus
    detail: str

    def __str__(self) -> str:
        return f"{self.page} [{self.locale}, {self.viewport}] {self.check}: {self.detail}"


@dataclass
class Sweep:
    """Checks pages in one locale; `visited` and `failures` accumulate over the run."""

    locale: str
    failures: list[Failure] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    spent: dict[str, float] = field(default_factory=dict)  # seconds per part of the checks

    def check(self, page: Page, name: str) -> None:
        """The page as it is now, at each viewport (resized in place: the state is reached
        once), with a screenshot of each."""
        page.wait_for_load_state("load")
        self.visited.append(name)
        for viewport, (width, height) in VIEWPORTS.items():
            with self._timed("layout and fonts"):
                page.set_viewport_size({"width": width, "height": height})
                self._layout_and_fonts(page, name, viewport)
            if viewport == AXE_VIEWPORT:
                with self._timed("axe"):
                    if not page.evaluate("typeof axe !== 'undefined'"):
                        page.add_script_tag(path=str(AXE))
                    for violation in page.evaluate(RUN_AXE, AXE_TAGS):
                        self._fail(name, viewport, "axe", violation)
            with self._timed("screenshots"):
                SCREENSHOTS.mkdir(exist_ok=True)
                path = SCREENSHOTS / f"{name}-{self.locale}-{viewport}.jpeg"
                page.screenshot(path=path, full_page=True, type="jpeg", quality=70)

    @contextmanager
    def _timed(self, part: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.spent[part] = self.spent.get(part, 0.0) + time.monotonic() - started

    def _layout_and_fonts(self, page: Page, name: str, viewport: str) -> None:
        found: dict[str, Any] = page.evaluate(LAYOUT_AND_FONTS)
        if found["width"] > found["viewport"]:
            self._fail(name, viewport, "overflow", f"{found['width']} px > {found['viewport']} px")
        for element in found["fallback"][:5]:
            self._fail(name, viewport, "font", element)
        if found["summaryUnfocused"]:
            self._fail(name, viewport, "focus", "the error summary #form-error has not the focus")
        if found["hasThai"] and not found["thaiFace"]:
            self._fail(name, viewport, "font", "Thai text but no Sarabun Thai face loaded")

    def _fail(self, name: str, viewport: str, check: str, detail: str) -> None:
        self.failures.append(Failure(name, self.locale, viewport, check, detail))
