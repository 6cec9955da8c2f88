"""Bar charts drawn on the server as SVG (templates/chart.html): no script, no CDN, and only
attributes, never inline style, so the pages' CSP stays strict. The dates of the ticks and
tooltips are written in the page's language (Buddhist era in Thai, softtoken_i18n.formats)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from softtoken_i18n.formats import format_date, format_number

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 600, 180, 16, 24, 36


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: str  # ISO 8601, for the table under the chart (its `day` filter)
    count: int
    title: str  # the tooltip: "1 ธ.ค. 2569: 3"


@dataclass(frozen=True)
class Chart:
    label: str
    bars: list[Bar]
    peak: int
    first: str
    last: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    axis_y: int = HEIGHT - BOTTOM


def days_back(per_day: dict[str, int], today: date, days: int = 30) -> list[tuple[date, int]]:
    """Every day of the window, oldest first, with 0 where nothing happened."""
    first = today - timedelta(days=days - 1)
    window = [first + timedelta(n) for n in range(days)]
    return [(d, int(per_day.get(d.isoformat(), 0))) for d in window]


def bar_chart(series: list[tuple[date, int]], label: str, locale: str) -> Chart:
    peak = max((n for _, n in series), default=0)
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(series), 1)
    bars = []
    for i, (day, n) in enumerate(series):
        height = plot_h * n / (peak or 1)
        bars.append(
            Bar(
                x=round(LEFT + i * step + 1, 1),
                y=round(TOP + plot_h - height, 1),
                width=round(step - 2, 1),
                height=round(height, 1),
                day=day.isoformat(),
                count=n,
                title=f"{format_date(day, locale)}: {format_number(n)}",
            )
        )
    first, last = (series[0][0], series[-1][0]) if series else (None, None)
    return Chart(
        label=label,
        bars=bars,
        peak=peak,
        first=format_date(first, locale) if first else "",
        last=format_date(last, locale) if last else "",
    )
