"""Log lines of the ``zkmargin`` loggers on stderr: rich on a terminal, plain text in a
file or a pipe, or one JSON object per line for log collectors (``--log-json``)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any


class JsonLines(logging.Formatter):
    """One JSON object per log line (``--log-json``): time (UTC, ISO), level, logger, message,
    and the exception when there is one; for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def setup_logging(verbose: bool = False, json_lines: bool = False) -> None:
    """Timestamped log lines on stderr: rich on a terminal, plain text otherwise, or one
    JSON object per line with ``json_lines``."""
    root = logging.getLogger("zkmargin")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.handlers.clear()
    handler: logging.Handler
    if json_lines:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLines())
    elif sys.stderr.isatty():
        from rich.logging import RichHandler

        from zkmargin.text import err_console  # the live display's console: log lines go above it

        handler = RichHandler(console=err_console, show_path=False, log_time_format="%H:%M:%S")
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
    root.addHandler(handler)
    root.propagate = False
