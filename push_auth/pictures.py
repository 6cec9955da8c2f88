"""The 32 pictures of picture matching: shipped SVG files with a Thai and an English name."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "pictures"
COUNT = 32
COLOUR = "สี"  # every Thai name is a shape, then สี and the colour
SEQUENCE_LENGTH = 4  # 32^4 = 1,048,576 ≥ 10^6: the equivalent of six decimal digits


@dataclass(frozen=True)
class Picture:
    id: int
    th: str
    en: str

    def words(self, locale: str) -> tuple[str, ...]:
        """The name as word groups that a line must not split: Thai has no spaces, and a
        browser's dictionary break could cut "ข้าวหลามตัดสี|เหลือง"; so the shape and the
        colour ("ข้าวหลามตัด", "สีเหลือง"), the English words as they are."""
        if locale != "th":
            return tuple(self.en.split())
        colour = self.th.rfind(COLOUR)
        return (self.th[:colour], self.th[colour:]) if colour > 0 else (self.th,)

    def svg(self) -> str:
        return (FOLDER / f"{self.id:02d}.svg").read_text(encoding="utf-8")


@cache
def all_pictures() -> tuple[Picture, ...]:
    names = json.loads((FOLDER / "names.json").read_text(encoding="utf-8"))
    pictures = tuple(Picture(n["id"], n["th"], n["en"]) for n in names)
    assert len(pictures) == COUNT
    assert [p.id for p in pictures] == list(range(COUNT))
    return pictures


def random_sequence(length: int = SEQUENCE_LENGTH) -> list[int]:
    """Pictures drawn independently with a CSPRNG (repeats allowed, as digits of a code)."""
    return [secrets.randbelow(COUNT) for _ in range(length)]
