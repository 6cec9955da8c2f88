"""Thai first, English second: the idp's message catalogs (Babel .po files) and the request's
locale. The catalogs are idp/translations, the same ones `idp.domain.errors.Message` renders."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request

from idp.domain.errors import CATALOG_DIR
from softtoken_i18n import catalogs

LOCALES = catalogs.LOCALES
COOKIE = "lang"
Translator = catalogs.Translator


class Catalogs(catalogs.Catalogs):
    """The idp catalogs (another directory for tests)."""

    def __init__(self, directory: Path = CATALOG_DIR) -> None:
        super().__init__(directory)


def request_locale(request: Request, default: str) -> str:
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LOCALES:
            return candidate
    return default
