"""The assignment order kept across a refused step 1 (issue #16): the user need not choose the
PDF again after, say, a mistyped national ID.

The file itself is kept as every upload is (idp.domain.kept_files: checked, at most 10 MB, by
its SHA-256); what names it meanwhile is one record per sign-in session in the expiring store,
for 30 minutes, reached only with an opaque token that the page carries. When the store cannot
keep it (an outage), the file is discarded and the page asks for it again, as before. A file
whose record expired is removed by the orphan job (kept_files.ORPHAN_AGE)."""

from __future__ import annotations

import contextlib
import hmac
import logging
import re
from dataclasses import asdict, dataclass

from idp.domain.registration import StoredUpload
from idp.domain.secrets import random_token
from idp.storage.expiring import ExpiringStore
from idp.storage.outages import OUTAGES

PENDING_TTL = 1800
NAME_LIMIT = 120
UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingUpload:
    token: str
    sha256: str
    size: int
    filename: str

    @property
    def stored(self) -> StoredUpload:
        return StoredUpload(self.sha256, self.size)

    @property
    def size_text(self) -> str:
        kib = self.size / 1024
        return f"{kib / 1024:.1f} MB" if kib >= 1024 else f"{max(1, round(kib))} KB"


def display_name(filename: str | None) -> str:
    """The name the user's browser gave, fit to show: no folders, no control characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = UNPRINTABLE.sub("", name).strip()
    return name[:NAME_LIMIT] or "assignment-order.pdf"


def _key(sid: str) -> str:
    return "pending-upload:" + sid


def keep(
    store: ExpiringStore, sid: str, stored: StoredUpload, filename: str
) -> PendingUpload | None:
    """Name this file for the session's next try; None when the store cannot (an outage)."""
    pending = PendingUpload(random_token(18), stored.sha256, stored.size, display_name(filename))
    try:
        store.put(_key(sid), asdict(pending), PENDING_TTL)
    except OUTAGES:
        log.warning("the refused step 1's file is not kept: the expiring store is unavailable")
        return None
    return pending


def held(store: ExpiringStore, sid: str) -> PendingUpload | None:
    """The file kept for this session, whatever page asks (to replace it)."""
    try:
        record = store.get(_key(sid))
    except OUTAGES:
        return None
    if not record:
        return None
    return PendingUpload(
        str(record["token"]), str(record["sha256"]), int(record["size"]), str(record["filename"])
    )


def find(store: ExpiringStore, sid: str, token: str) -> PendingUpload | None:
    """The file kept for this session, if the page's token names it."""
    if not token or len(token) > 64:
        return None
    pending = held(store, sid)
    if pending is None or not hmac.compare_digest(pending.token, token):
        return None
    return pending


def forget(store: ExpiringStore, sid: str) -> None:
    with contextlib.suppress(*OUTAGES):  # else it expires by itself
        store.delete(_key(sid))
