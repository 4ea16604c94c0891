"""``zkmargin audit web``: the site it builds (every file the page loads, from its own
origin) and the server on 127.0.0.1, started as a process and stopped by its pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.profiles import PROFILES
from tests.test_cli_engine import run_cli
from verifier_contracts.chain import free_port
from zkmargin.cli.main import cli

pytestmark = pytest.mark.circuit  # needs node_modules (esbuild, snarkjs) and solc-js


def test_out_builds_a_complete_site(tmp_path: Path) -> None:
    out = tmp_path / "public" / "audit"
    result = CliRunner().invoke(cli, ["audit", "web", "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == {
        "index.html",
        "style.css",
        "app.js",
        "vendor/snarkjs.min.js",
        "profiles.json",
        "gate-abi.json",
    }
    profiles = json.loads((out / "profiles.json").read_text())
    assert profiles["standard"] == {
        "name": "standard",
        "assets": PROFILES["standard"].assets,
        "slots": PROFILES["standard"].slots,
        "depth": PROFILES["standard"].depth,
        "batch_size": PROFILES["standard"].batch_size,
        "accounts_depth": PROFILES["standard"].accounts_depth,
    }
    abi = {f.get("name") for f in json.loads((out / "gate-abi.json").read_text())}
    assert {"latestMarket", "statusOf", "accountsRoot", "paramsHash", "MarketPosted", "AccountsPosted"} <= abi
    html = (out / "index.html").read_text()
    assert "https://" not in html.replace("connect-src 'self' http: https:", "")  # no CDN
    assert [p.name for p in out.parent.iterdir()] == ["audit"]  # no staging folder left behind


def test_a_failed_build_leaves_the_old_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("the old site")
    monkeypatch.setenv("ZKMARGIN_ROOT", str(tmp_path / "nowhere"))
    code, _, err = run_cli(["audit", "web", "--out", str(out)], capsys)
    assert code == 2 and "esbuild not found" in err, err
    assert (out / "index.html").read_text() == "the old site"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_the_server_answers_on_loopback_and_stops_on_sigterm_by_its_pid() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "zkmargin.cli.main", "audit", "web", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
                    page = reply.read().decode()
                    headers = reply.headers
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the audit page never answered"
                time.sleep(0.3)
        assert "No data leaves this page" in page and headers["Cache-Control"] == "no-store"
        with pytest.raises(urllib.error.HTTPError) as listing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/vendor/", timeout=5)
        assert listing.value.code == 404  # no directory listings
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0  # a clean stop, the port released
