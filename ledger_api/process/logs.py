"""Log output: plain text (default) or one JSON object per line (`LEDGER_LOG_FORMAT=json`).

JSON lines carry `time` (ISO 8601, UTC), `level`, `logger`, `message`, `process` (the pid)
and any `extra` fields, through python-json-logger. uvicorn's own loggers (`uvicorn.error`,
`uvicorn.access`) go through the same handler (`dict_config` is handed to uvicorn, which
applies it in each of its worker processes too), so a log shipper reads one format.
"""

from __future__ import annotations

import logging
import logging.config
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "process": "process"}


def json_formatter() -> logging.Formatter:
    """The JSON formatter: one object per record, UTC times with milliseconds."""
    formatter = JsonFormatter(
        "{asctime}{levelname}{name}{message}{process}",
        style="{",
        rename_fields=_RENAMED,
        json_ensure_ascii=False,
    )
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    return formatter


def dict_config(level: str = "WARNING") -> dict[str, Any]:
    """`logging.config.dictConfig` for JSON lines on stderr (the root and uvicorn's loggers)."""
    propagate = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.json_formatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["json"], "level": level},
        "loggers": {
            "uvicorn": propagate,
            "uvicorn.error": propagate,
            "uvicorn.access": propagate,
        },
    }


def configure(log_format: str) -> dict[str, Any] | None:
    """Applies JSON logging when `log_format` is "json" and returns its config (for uvicorn);
    None (nothing changed) for "text"."""
    if log_format != "json":
        return None
    config = dict_config()
    logging.config.dictConfig(config)
    return config
