"""Picture names as word groups (Picture.words): a page keeps each group on one line and breaks
only between them, so a Thai name never breaks inside a word ("ข้าวหลามตัดสี|เหลือง")."""

from __future__ import annotations

from push_auth.pictures import all_pictures


def test_thai_names_are_a_shape_then_a_colour() -> None:
    for picture in all_pictures():
        shape, colour = picture.words("th")
        assert shape + colour == picture.th
        assert colour.startswith("สี"), picture.th
        assert not colour.startswith("สี่"), picture.th
    assert all_pictures()[1].words("th") == ("สี่เหลี่ยม", "สีแดง")  # สี่ (four) is no colour


def test_english_names_are_their_words() -> None:
    for picture in all_pictures():
        assert " ".join(picture.words("en")) == picture.en
