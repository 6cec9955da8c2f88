"""Refusals of push_auth, each with a stable code and a Thai and an English message.

The message is a msgid of push_auth's catalogs (push_auth/translations: the msgid is the English
text) and the values of its `{placeholders}`; the device API gives both texts
(`error_description`, `error_description_th`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from softtoken_i18n.catalogs import Catalogs

CATALOG_DIR = Path(__file__).resolve().parent / "translations"


@cache
def catalogs() -> Catalogs:
    """push_auth's catalogs, read once."""
    return Catalogs(CATALOG_DIR)


class PushError(Exception):
    status = 400

    def __init__(self, code: str, msgid: str, status: int | None = None, /, **values: object):
        texts = catalogs()
        self.code = code
        self.msgid = msgid
        self.th = texts.text("th", msgid, **values)
        self.en = texts.text("en", msgid, **values)
        if status is not None:
            self.status = status
        super().__init__(f"{code}: {self.en}")

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.en, "error_description_th": self.th}


class RelayedError(PushError):
    """A refusal whose texts come from elsewhere (the device API's answer to the `softtoken` CLI,
    the idp's own message): shown as given, not looked up in push_auth's catalogs."""

    def __init__(self, code: str, th: str, en: str, status: int | None = None) -> None:
        super().__init__(code, en, status)
        self.th = th
        self.en = en


def both(msgid: str, /, **values: object) -> str:
    """ "Thai / English", for the `softtoken` CLI."""
    texts = catalogs()
    return f"{texts.text('th', msgid, **values)} / {texts.text('en', msgid, **values)}"


def bad_request(code: str, msgid: str, /, **values: object) -> PushError:
    return PushError(code, msgid, 400, **values)


def unauthorized(msgid: str, /, **values: object) -> PushError:
    return PushError("invalid_device_request", msgid, 401, **values)


def forbidden(code: str, msgid: str, /, **values: object) -> PushError:
    return PushError(code, msgid, 403, **values)
