"""admin_ui.charts: the dashboard's ticks and tooltips write their dates as the rest of the
back office does: the Buddhist era on Thai pages, English dates on English ones."""

from __future__ import annotations

from datetime import date

import pytest

from admin_ui.charts import bar_chart, days_back

SERIES = days_back({"2026-12-01": 1234, "2026-11-02": 2}, date(2026, 12, 1))


@pytest.mark.parametrize(
    ("locale", "first", "last", "tooltip"),
    [
        ("th", "2 พ.ย. 2569", "1 ธ.ค. 2569", "1 ธ.ค. 2569: 1,234"),
        ("en", "2 Nov 2026", "1 Dec 2026", "1 Dec 2026: 1,234"),
    ],
)
def test_ticks_and_tooltips_in_the_page_language(
    locale: str, first: str, last: str, tooltip: str
) -> None:
    chart = bar_chart(SERIES, "การลงทะเบียนต่อวัน", locale)
    assert (chart.first, chart.last) == (first, last)
    assert chart.bars[-1].title == tooltip
    assert chart.bars[-1].day == "2026-12-01"  # the table under the chart formats it itself
    assert chart.bars[0].count == 2
    assert chart.peak == 1234
    assert not any("2026-" in bar.title for bar in chart.bars)


def test_an_empty_series_has_no_ticks() -> None:
    chart = bar_chart([], "x", "th")
    assert (chart.first, chart.last, chart.bars, chart.peak) == ("", "", [], 0)
