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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"cannot read the settings file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), f"not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise InputError(f"{path.name}:{section}", "must be a [section] table")
        for key, raw in table.items():
            name = f"{section}.{key}"
            if name not in KEYS:
                known = ", ".join(sorted(KEYS))
                raise InputError(f"{path.name}:{name}", f"unknown setting; known: {known}")
            values[name] = _typed(f"{path.name}:{name}", raw, KEYS[name][1], path.parent)
    return Settings(values, path)


def _typed(where: str, raw: Any, kind: type, base: Path) -> Any:
    if kind is Path:
        if not isinstance(raw, str) or not raw:
            raise InputError(where, "must be a non-empty path string")
        p = Path(raw).expanduser()
        return p if p.is_absolute() else base / p
    if kind is int:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise InputError(where, f"must be an integer >= 1, got {raw!r}")
        return raw
    if kind is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < float(raw) < 86400:
            raise InputError(where, f"must be a number of seconds in (0, 86400), got {raw!r}")
        return float(raw)
    if not isinstance(raw, str) or not raw:
        raise InputError(where, "must be a non-empty string")
    return raw
