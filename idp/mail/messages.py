"""Message kinds and their bilingual subjects; bodies are Jinja2 templates (text and HTML).

A body template is written once with `_("English msgid", name=value)` and rendered twice from
the idp catalogs: Thai first, then English. A value given as `x_th` and `x_en` (a date, a
reason) is `x` in each language's rendering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from idp.domain.errors import catalogs

TEMPLATES = Path(__file__).resolve().parent / "templates"

SUBJECTS = {  # the English msgid of each kind's subject
    "email_otp": "Your email verification code",
    "registration_approved": "Soft Token registration approved",
    "reset_otp": "Your password reset code",
    "password_new": "Your new password",
    "password_reset_notice": "Your password was reset",
    "soft_token_cancelled": "Soft Token cancelled",
    "renewal_reminder": "Your Soft Token certificate expires soon",
    "service_request_result": "Your Soft Token request",
    "email_change_link": "Confirm your new email",
    "holder_initial_password": "Your initial password",
    "registration_rejected": "Soft Token registration rejected",
    "passkey_changed": "Your passkeys changed",
}
LOCALES = ("th", "en")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _in_locale(values: dict[str, Any], locale: str) -> dict[str, Any]:
    """The values with `x` set to `x_<locale>` for every pair `x_th`, `x_en`."""
    chosen = {k[:-3]: v for k, v in values.items() if k.endswith(f"_{locale}")}
    return {**values, **chosen}


def _html_gettext(locale: str) -> Callable[..., Markup]:
    """`_` for HTML: the catalog's text is trusted markup, the values are escaped."""
    translate = catalogs().gettext(locale)
    return lambda msgid, **values: Markup(translate(msgid)).format(**values)  # noqa: S704 (our catalog)


class MessageRenderer:
    def __init__(self) -> None:
        self._text = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=False,  # noqa: S701 (plain text)
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        self._html = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(),
            undefined=StrictUndefined,
        )

    def render(self, kind: str, **values: Any) -> Rendered:
        th, en = (catalogs().gettext(locale) for locale in LOCALES)
        subject = f"{th(SUBJECTS[kind])} / {en(SUBJECTS[kind])}"
        text, html = self._text.get_template(f"{kind}.txt"), self._html.get_template(f"{kind}.html")
        texts = [text.render(_=catalogs().gettext(lo), **_in_locale(values, lo)) for lo in LOCALES]
        bodies = [  # autoescaped HTML, placed in base.html as is
            Markup(html.render(_=_html_gettext(lo), **_in_locale(values, lo)))  # noqa: S704
            for lo in LOCALES
        ]
        return Rendered(
            subject=subject,
            text="\n".join(texts),
            html=self._html.get_template("base.html").render(
                subject=subject, thai=bodies[0], english=bodies[1], th=th, en=en
            ),
        )
