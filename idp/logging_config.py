"""Logging for `idp serve`: uvicorn's own loggers plus ours, one line per record on stdout."""

from __future__ import annotations

from typing import Any

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json_line": {"format": "%(message)s"},
    },
    "handlers": {
        "default": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        },
        "access": {  # batched off the event loop, bounded (idp.web.access_log)
            "class": "idp.web.access_log.BatchHandler",
            "formatter": "json_line",
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "idp": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "idp.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}
