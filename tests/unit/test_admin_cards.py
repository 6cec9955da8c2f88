"""admin_ui.cards: each body cell of a list says its column (shown beside it on a phone)."""

from __future__ import annotations

from admin_ui.cards import label_cells

LIST = (
    '<table class="list alerts"><thead><tr><th>รหัส &amp; ชื่อ</th><th>อีเมล</th><th></th></tr>'
    '</thead><tbody><tr data-user="1"><td><a href="/u/1">1</a></td><td class="x">a@b</td>'
    '<td><a href="/u/1">เปิด</a></td></tr>'
    '<tr><td colspan="3" class="empty">ไม่มีรายการ</td></tr></tbody></table>'
)


def test_cells_get_their_column_names() -> None:
    page = label_cells("<p>ก่อน</p>" + LIST)
    assert '<td data-label="รหัส &amp; ชื่อ"><a href="/u/1">1</a></td>' in page
    assert '<td data-label="อีเมล" class="x">a@b</td>' in page
    assert '<td><a href="/u/1">เปิด</a></td>' in page  # a column without a name: no label
    assert '<td colspan="3" class="empty">' in page  # a message across the columns
    assert page.startswith("<p>ก่อน</p>")


def test_other_tables_are_left_alone() -> None:
    other = "<table><thead><tr><th>วัน</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"
    assert label_cells(other) == other
