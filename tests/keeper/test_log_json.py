"""``operator run --log-json``: one JSON object per log line, for log collectors."""

from __future__ import annotations

import json
import logging

import pytest

from zkmargin.logs import setup_logging


def test_log_lines_are_json_objects(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(json_lines=True)
    log = logging.getLogger("zkmargin.keeper.pool")
    log.info("batch %d: proved in %.2f s on %s", 3, 1.5, "tcp://127.0.0.1:1")
    try:
        raise RuntimeError("worker gone")
    except RuntimeError:
        log.exception("prover pool: unexpected error")
    log.debug("not shown at info level")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(x["level"], x["logger"]) for x in lines] == [
        ("info", "zkmargin.keeper.pool"),
        ("error", "zkmargin.keeper.pool"),
    ]
    assert lines[0]["message"] == "batch 3: proved in 1.50 s on tcp://127.0.0.1:1"
    assert lines[0]["time"].endswith("+00:00") and "RuntimeError: worker gone" in lines[1]["exception"]
    logging.getLogger("zkmargin").handlers.clear()
