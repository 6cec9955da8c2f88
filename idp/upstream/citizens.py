"""Test citizens of the simulated upstream: valid national IDs, Thai and English names."""

from __future__ import annotations

from typing import Any

from idp.domain.national_id import with_check_digit


def _citizen(
    prefix: str,
    title_th: str,
    given_th: str,
    family_th: str,
    title_en: str,
    given_en: str,
    family_en: str,
    birthdate: str,
    address: str,
) -> dict[str, Any]:
    return {
        "pid": with_check_digit(prefix),
        "title": title_th,
        "given_name": given_th,
        "family_name": family_th,
        "name": f"{title_th}{given_th} {family_th}",
        "title_en": title_en,
        "given_name_en": given_en,
        "family_name_en": family_en,
        "name_en": f"{title_en} {given_en} {family_en}",
        "birthdate": birthdate,
        "address": {"formatted": address, "country": "TH"},
        "ial": "2.3",
    }


CITIZENS = [
    _citizen(
        "110170020345",
        "นางสาว",
        "สมหญิง",
        "ใจดี",
        "Ms",
        "Somying",
        "Jaidee",
        "1988-04-13",
        "99 ถนนพระราม 6 แขวงพญาไท เขตพญาไท กรุงเทพมหานคร 10400",
    ),
    _citizen(
        "310060044563",
        "นาย",
        "สมชาย",
        "รักชาติ",
        "Mr",
        "Somchai",
        "Rakchat",
        "1979-11-02",
        "12/3 หมู่ 4 ตำบลในเมือง อำเภอเมือง จังหวัดขอนแก่น 40000",
    ),
    _citizen(
        "150990012345",
        "นาง",
        "มาลี",
        "ศรีสุข",
        "Mrs",
        "Malee",
        "Srisuk",
        "1983-07-21",
        "45 ถนนนิมมานเหมินท์ ตำบลสุเทพ อำเภอเมือง จังหวัดเชียงใหม่ 50200",
    ),
    _citizen(
        "370050067890",
        "นาย",
        "ประเสริฐ",
        "มั่นคง",
        "Mr",
        "Prasert",
        "Mankong",
        "1991-01-30",
        "7 ถนนราชดำเนิน ตำบลบ่อยาง อำเภอเมือง จังหวัดสงขลา 90000",
    ),
]


def by_pid(pid: str) -> dict[str, Any] | None:
    return next((c for c in CITIZENS if c["pid"] == pid), None)
