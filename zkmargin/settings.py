"""One settings object for every command: flags > environment > ``zkmargin.toml`` > defaults.

The optional TOML file is ``$ZKMARGIN_CONFIG``, else ``zkmargin.toml`` in the current
folder. Its sections and keys, with the environment variable that overrides each:

======================  =========================  ==========================
key                     environment                default
======================  =========================  ==========================
``chain.rpc``           ``ZKMARGIN_RPC``           the deployment file's URL
``chain.deployment``    ``ZKMARGIN_DEPLOYMENT``    ``deployment.json``
``prover.ptau``         ``ZKMARGIN_PTAU``          shared dev file or generated
``prover.backend``      ``ZKMARGIN_PROVER``        ``auto`` (arkworks if built)
``operator.accounts``   -                          (required)
``operator.params``     -                          (required)
``operator.profile``    -                          the deployment's profile
``operator.db``         -                          ``operator.sqlite``
``operator.snapshots``  -                          -
``operator.workers``    -                          1
``operator.cluster``    ``ZKMARGIN_CLUSTER``       ``local``
``operator.poll``       -                          5.0
``operator.confirmations`` -                       2
======================  =========================  ==========================

See ``examples/zkmargin.toml``. A flag given on the command line always wins.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engine.errors import InputError

CONFIG_ENV = "ZKMARGIN_CONFIG"
CONFIG_FILE = "zkmargin.toml"

#: Keys the file may hold, with the environment variable that overrides each and its type.
KEYS: dict[str, tuple[str | None, type]] = {
    "chain.rpc": ("ZKMARGIN_RPC", str),
    "chain.deployment": ("ZKMARGIN_DEPLOYMENT", Path),
    "prover.ptau": ("ZKMARGIN_PTAU", Path),
    "prover.backend": ("ZKMARGIN_PROVER", str),
    "operator.accounts": (None, Path),
    "operator.params": (None, Path),
    "operator.profile": (None, str),
    "operator.db": (None, Path),
    "operator.snapshots": (None, Path),
    "operator.workers": (None, int),
    "operator.cluster": ("ZKMARGIN_CLUSTER", str),
    "operator.poll": (None, float),
    "operator.confirmations": (None, int),
}

#: The range of each number, as its command-line flag has it: (low, high), low open for floats.
BOUNDS: dict[str, tuple[int, int]] = {
    "operator.workers": (1, 64),
    "operator.confirmations": (1, 1000),
    "operator.poll": (0, 86400),
}

#: The largest settings file read (a real one is well under a kilobyte).
MAX_SETTINGS_BYTES = 1 << 20

DEFAULTS: dict[str, Any] = {
    "prover.backend": "auto",
    "chain.deployment": Path("deployment.json"),
    "operator.db": Path("operator.sqlite"),
    "operator.workers": 1,
    "operator.cluster": "local",
    "operator.poll": 5.0,
    "operator.confirmations": 2,
}


@dataclass(frozen=True)
class Settings:
    """The file's values (already checked) and where they came from."""

    values: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def get(self, key: str, flag: Any = None) -> Any:
        """``flag`` if given, else the environment, else the file, else the default (or None)."""
        if flag is not None:
            return flag
        env, kind = KEYS[key]
        if env and os.environ.get(env):
            return kind(os.environ[env])
        if key in self.values:
            return self.values[key]
        return DEFAULTS.get(key)

    def require(self, key: str, flag: Any, option: str) -> Any:
        value = self.get(key, flag)
        if value is None:
            where = f" or `{key.split('.')[1]}` under [{key.split('.')[0]}] in {CONFIG_FILE}"
            raise InputError(option, f"is required: pass {option}{where}")
        return value


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings file (``path``, ``$ZKMARGIN_CONFIG`` or ``./zkmargin.toml``) if any."""
    if path is None:
        env = os.environ.get(CONFIG_ENV)
        path = Path(env) if env else Path(CONFIG_FILE)
        if not env and not path.is_file():
            return Settings()
    if str(path) == os.devnull:
        return Settings()
    return _load(path.resolve())


@cache
def _load(path: Path) -> Settings:
    data = parse_settings_text(read_settings_text(path), str(path))
    values: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise InputError(f"{path.name}:{section}", "must be a [section] table")
        for key, raw in table.items():
            name = f"{section}.{key}"
            if name not in KEYS:
                known = ", ".join(sorted(KEYS))
                raise InputError(f"{path.name}:{name}", f"unknown setting; known: {known}")
            values[name] = _typed(f"{path.name}:{name}", raw, name, path.parent)
    return Settings(values, path)


def read_settings_text(path: Path) -> str:
    """The settings file's text, checked as every file zkmargin reads is before it is parsed:
    at most :data:`MAX_SETTINGS_BYTES` and UTF-8 (its nesting is checked by
    :func:`parse_settings_text`, before the parser sees it)."""
    root = str(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_SETTINGS_BYTES + 1)
    except OSError as exc:
        raise InputError(root, f"cannot read the settings file: {exc.strerror or exc}") from None
    if len(raw) > MAX_SETTINGS_BYTES:
        raise InputError(root, f"the settings file is larger than {MAX_SETTINGS_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(root, "the settings file is not UTF-8 text") from None
    return text


def parse_settings_text(text: str, root: str) -> dict[str, Any]:
    """``tomllib.loads`` after :func:`check_toml_nesting`; its errors name ``root``."""
    check_toml_nesting(text, root)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(root, f"not valid TOML: {exc}") from None
    except RecursionError:  # the scan refuses every text that could get here
        raise InputError(root, "not valid TOML: nested too deeply") from None


#: What the nesting scan of a TOML text looks at: strings (multi-line, basic, literal) and
#: comments, which it skips whole, and the brackets of arrays, inline tables and headers.
_TOML_TOKEN = re.compile(
    r'"""(?:[^\\]|\\.)*?"""'  # multi-line basic string
    r"|'''.*?'''"  # multi-line literal string
    r'|"(?:[^"\\\n]|\\.)*"'  # basic string, one line
    r"|'[^'\n]*'"  # literal string, one line
    r"|#[^\n]*"  # comment
    r"|[\[\]{}]",
    re.DOTALL,
)


def check_toml_nesting(text: str, root: str, limit: int | None = None) -> None:
    """Refuse TOML text whose arrays and inline tables nest deeper than ``limit`` (by default
    the bound of every JSON file, 64), by a scan of the raw text that does not recurse:
    Python's TOML parser recurses once per level, so a deep file would exhaust its stack."""
    if limit is None:
        from engine.formats.json_text import MAX_NESTING  # only now: it imports the formats

        limit = MAX_NESTING
    depth = 0
    for match in _TOML_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                raise InputError(root, f"not valid TOML: nested deeper than {limit} levels")
        elif token in ("]", "}"):
            depth = max(depth - 1, 0)


def _typed(where: str, raw: Any, name: str, base: Path) -> Any:
    kind = KEYS[name][1]
    if kind is Path:
        if not isinstance(raw, str) or not raw:
            raise InputError(where, "must be a non-empty path string")
        p = Path(raw).expanduser()
        return p if p.is_absolute() else base / p
    if kind is int:
        low, high = BOUNDS.get(name, (1, 2**63 - 1))
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise InputError(where, f"must be an integer >= {low} and <= {high}, got {raw!r}")
        return raw
    if kind is float:
        low, high = BOUNDS[name]
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not low < float(raw) < high:
            raise InputError(where, f"must be a number of seconds in ({low}, {high}), got {raw!r}")
        return float(raw)
    if not isinstance(raw, str) or not raw:
        raise InputError(where, "must be a non-empty string")
    return raw
