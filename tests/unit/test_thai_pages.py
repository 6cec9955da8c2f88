"""The check that a Thai page shows no English of our catalogs (tests/thai_pages.py) finds
what it should and only that."""

from __future__ import annotations

from tests.thai_pages import english_on

PAGE = '<html lang="th"><body>{}</body></html>'


def test_english_of_the_catalogs_is_found() -> None:
    assert english_on(PAGE.format("<td>success</td>")) == ["success"]
    assert english_on(PAGE.format("<p>Page not found</p>")) == ["Page not found"]
    found = english_on(PAGE.format("<p>at most 15 characters</p>"))  # a {placeholder}
    assert found == ["at most {count} characters"]
    assert english_on(PAGE.format('<input placeholder="Page not found">')) == ["Page not found"]
    assert english_on(PAGE.format("<td>Suspended</td>")) == ["Suspended"]  # the back office's


def test_thai_pages_and_marked_english_pass() -> None:
    assert english_on(PAGE.format("<td>สำเร็จ</td><p>ไม่พบหน้าที่ต้องการ</p>")) == []
    assert english_on(PAGE.format('<option lang="en">Page not found</option>')) == []
    assert english_on(PAGE.format("<script>'Page not found'</script>")) == []
    assert english_on(PAGE.format("<dd>softtoken reference authenticator</dd>")) == []  # data
    assert english_on(PAGE.format("<label>รหัสผ่าน (Password)</label>")) == []
