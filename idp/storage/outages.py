"""What a store that cannot be reached raises: nothing was decided, the caller may try again
later (the pages and APIs answer 503 with Retry-After)."""

from __future__ import annotations

import redis.exceptions
import sqlalchemy.exc

OUTAGES: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    TimeoutError,  # the batched Redis look-up's own deadline
)
