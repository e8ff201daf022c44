"""Log output: plain text (default) or one JSON object per line (`LEDGER_LOG_FORMAT=json`).

A text line reads `2026-12-07T07:50:01.123Z WARNING ledger_api.background.sender.pool [4242]
message`: the time (ISO 8601, UTC, milliseconds), the level, the logger and the pid (a trial's
operator could not tell when a line was written: text lines carried the message alone).
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

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "process": "process"}


def json_formatter() -> logging.Formatter:
    """The JSON formatter: one object per record, UTC times with milliseconds."""
    formatter = JsonFormatter(
        "{asctime}{levelname}{name}{message}{process}",
        style="{",
        rename_fields=_RENAMED,
        json_ensure_ascii=False,
        # uvicorn's `color_message` extra: the message again, with terminal colour codes
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    return formatter


def text_formatter() -> logging.Formatter:
    """The text formatter: `time level logger [pid] message`, UTC times with milliseconds."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    return formatter


def dict_config(log_format: str = "json", level: str = "WARNING") -> dict[str, Any]:
    """`logging.config.dictConfig` for `log_format` ("json" or "text") lines on stderr: the
    root's and uvicorn's loggers (its access lines included) through one handler."""
    propagate = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"lines": {"()": f"{__name__}.{log_format}_formatter"}},
        "handlers": {
            "lines": {
                "class": "logging.StreamHandler",
                "formatter": "lines",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["lines"], "level": level},
        "loggers": {
            "uvicorn": propagate,
            "uvicorn.error": propagate,
            "uvicorn.access": propagate,
        },
    }


def configure(log_format: str) -> dict[str, Any]:
    """Applies `log_format` ("json" or "text") logging and returns its config (for uvicorn,
    which applies it in each of its worker processes too)."""
    config = dict_config("json" if log_format == "json" else "text")
    logging.config.dictConfig(config)
    return config
