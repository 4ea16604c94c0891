"""The browser audit (``web/``): build the static site and serve it on 127.0.0.1.

The page is plain ES modules under ``web/src``; the build bundles them with the pinned
esbuild of ``node_modules`` (poseidon-lite and ethers included) into one ``app.js``, copies
snarkjs's own browser build beside it and writes two data files the page reads from its
own origin: ``profiles.json`` (the circuit shapes, from ``engine.profiles``: the one place
they are fixed) and ``gate-abi.json`` (the BatchGate's ABI, from the compiled contract).
Nothing is fetched from anywhere else at run time.

The site is built into a temporary folder and moved into place only when complete, so a
failed build never leaves a half-written site. It is cached by the digest of its sources
(``<cache>/web/<digest>``).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import threading
from dataclasses import asdict
from pathlib import Path

from engine.errors import ZkmarginError
from engine.fileio import staged_folder
from engine.paths import cache_root, project_root
from engine.profiles import PROFILES
from prover.paths import node_modules
from verifier_contracts.solc import compile_gate, node_binary

STATIC = ("index.html", "style.css")


class WebBuildError(ZkmarginError):
    """The site could not be built (esbuild or snarkjs missing, a syntax error)."""


def web_source() -> Path:
    """The page's sources: ``<root>/web``."""
    return project_root() / "web"


def _esbuild() -> Path:
    binary = node_modules() / "esbuild" / "bin" / "esbuild"
    if not binary.is_file():
        raise WebBuildError(f"esbuild not found at {binary}: run `make setup` (npm ci)")
    return binary


def _snarkjs_browser() -> Path:
    path = node_modules() / "snarkjs" / "build" / "snarkjs.min.js"
    if not path.is_file():
        raise WebBuildError(f"snarkjs's browser build not found at {path}: run `make setup` (npm ci)")
    return path


def find_chromium() -> Path:
    """The headless browser that drives the page in the tests and the benchmark:
    ``$ZKMARGIN_CHROMIUM``, else Debian's ``chromium`` (``make test`` installs it)."""
    path = os.environ.get("ZKMARGIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        raise WebBuildError(f"chromium not found ({path}): apt-get install chromium (`make test` does)")
    return Path(path)


def profiles_json() -> dict[str, dict[str, object]]:
    """Every profile's shape, keyed by name, as the page reads it."""
    return {name: asdict(p) for name, p in PROFILES.items()}


def sources_digest() -> str:
    """sha256 over every source of the site (page, modules, data, pinned packages)."""
    h = hashlib.sha256()
    src = web_source()
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(src)).encode() + b"\0" + path.read_bytes() + b"\0")
    h.update((project_root() / "package-lock.json").read_bytes())
    h.update(json.dumps(profiles_json(), sort_keys=True).encode())
    h.update((project_root() / "verifier_contracts" / "BatchGate.sol").read_bytes())
    h.update((project_root() / "verifier_contracts" / "GateBase.sol").read_bytes())
    return h.hexdigest()


def _write_site(out: Path) -> None:
    src = web_source()
    cmd = [
        str(_esbuild()),
        str(src / "src" / "app.js"),
        "--bundle",
        "--format=esm",
        "--platform=browser",
        "--target=es2022",
        "--minify",
        "--legal-comments=eof",
        f"--outfile={out / 'app.js'}",
        "--log-level=error",
    ]
    env = {**os.environ, "NODE_PATH": str(node_modules())}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=project_root(), check=False)
    if done.returncode != 0:
        raise WebBuildError(f"esbuild failed: {done.stderr.strip()[:2000]}")
    for name in STATIC:
        shutil.copyfile(src / name, out / name)
    (out / "vendor").mkdir()
    shutil.copyfile(_snarkjs_browser(), out / "vendor" / "snarkjs.min.js")
    (out / "profiles.json").write_text(json.dumps(profiles_json(), indent=1), encoding="utf-8")
    (out / "gate-abi.json").write_text(json.dumps(compile_gate("BatchGate").abi), encoding="utf-8")


def build_site(out: Path | None = None) -> Path:
    """Build the site into ``out`` (default: the cache, keyed by the sources' digest).

    ``out`` is replaced whole; the build goes to a temporary folder beside it first.
    """
    node_binary()  # a clear error when node is missing
    if out is None:
        out = cache_root() / "web" / sources_digest()[:16]
        if (out / "index.html").is_file():
            return out
    out = Path(out).resolve()
    with staged_folder(out) as staging:
        _write_site(staging)
    return out


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, never cached by the browser, no directory listings."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "no listing")
        return None

    def log_message(self, format: str, *args: object) -> None:
        pass


class SiteServer:
    """The site served on ``host:port`` (port 0: any free port) in a background thread."""

    def __init__(self, site: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        handler = functools.partial(_Handler, directory=str(site))
        try:
            self.httpd = http.server.ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise ZkmarginError(f"cannot listen on {host}:{port} ({exc.strerror})") from None
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> SiteServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
