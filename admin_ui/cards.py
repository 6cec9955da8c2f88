"""Tables of records as cards on a phone: each body cell of a `<table class="list">` gets a
`data-label` with its column's header, which look.css shows beside the value below 600 px.

Done on the rendered page, so a column's name is written once, in its header. The templates
are ours: a list's header is one row of `<th>` cells, its body cells are plain `<td>`s, and a
cell spanning columns (an empty list's message) gets no label.
"""

from __future__ import annotations

import re
from html import escape, unescape

TABLE = re.compile(r"<table class=\"list[^\"]*\">.*?</table>", re.S)
HEADER = re.compile(r"<th[^>]*>(.*?)</th>", re.S)
ROW = re.compile(r"<tr[^>]*>.*?</tr>", re.S)
CELL = re.compile(r"<td(?=[\s>])([^>]*)>")
TAG = re.compile(r"<[^>]+>")


def label_cells(page: str) -> str:
    return TABLE.sub(_label_table, page)


def _label_table(match: re.Match[str]) -> str:
    table = match.group(0)
    head, _, body = table.partition("</thead>")
    if not body:
        return table
    names = [" ".join(unescape(TAG.sub("", h)).split()) for h in HEADER.findall(head)]
    return head + "</thead>" + ROW.sub(lambda row: _label_row(row.group(0), names), body)


def _label_row(row: str, names: list[str]) -> str:
    column = iter(names)

    def label(cell: re.Match[str]) -> str:
        attributes = cell.group(1)
        name = next(column, "")
        if not name or "colspan" in attributes or "data-label" in attributes:
            return cell.group(0)
        return f'<td data-label="{escape(name)}"{attributes}>'

    return CELL.sub(label, row)
