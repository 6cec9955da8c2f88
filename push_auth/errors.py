"""Refusals of push_auth, each with a stable code and a Thai and an English message."""

from __future__ import annotations


class PushError(Exception):
    status = 400

    def __init__(self, code: str, th: str, en: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {en}")
        self.code = code
        self.th = th
        self.en = en
        if status is not None:
            self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.en, "error_description_th": self.th}


def bad_request(code: str, th: str, en: str) -> PushError:
    return PushError(code, th, en, 400)


def unauthorized(th: str, en: str) -> PushError:
    return PushError("invalid_device_request", th, en, 401)


def forbidden(code: str, th: str, en: str) -> PushError:
    return PushError(code, th, en, 403)
