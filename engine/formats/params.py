"""The risk-parameters format (``zkmargin/params@2``: the margin model ZKPM-2).

A params file names its margin model (``"model": "ZKPM-2"``; a ZKPM-1 file,
``zkmargin/params@1``, is refused with the reason, never migrated) and holds the
governed integers hashed into ``params_hash`` (with the model's number first:
``mm_factor``, ``kappa`` per asset, ``rho``; fixed point x 10**6) and the
row-building settings (``row_config``, real numbers). ``kappa`` is keyed by asset
name (or a list in asset order); ``rho`` is a matrix in asset order or the string
``"from calibration"``. Names and order come from the market, so a params file is
resolved to :class:`engine.model.RiskParams` against a market's asset names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.aggregation import MODEL
from engine.calibration.correlation import ones_rho
from engine.errors import InputError
from engine.fixedpoint import SCALE
from engine.formats.json_text import (
    Obj,
    as_int,
    as_list,
    as_str,
    check_format,
    emit_int,
    format_tag,
    json_type,
)
from engine.formats.quotes import dump_row_config, read_row_config
from engine.model import RiskParams, RowConfig
from engine.profiles import Profile
from engine.validate import validate_params

FROM_CALIBRATION = "from calibration"
Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class ParamsFile:
    """A parsed params file, not yet tied to a market's asset order.

    ``kappa`` is a name -> value map or a list in asset order; ``rho`` ``None``
    means "from calibration".
    """

    mm_factor: int
    kappa: dict[str, int] | tuple[int, ...]
    rho: Matrix | None
    row_config: RowConfig

    def resolve(
        self, names: Sequence[str], profile: Profile, calibrated_rho: Matrix | None = None
    ) -> RiskParams:
        """The ``RiskParams`` for a market with assets ``names`` (in index order).

        ``calibrated_rho`` (A x A) is used when ``rho`` is "from calibration"; without
        it every pair of quoted assets gets correlation 1 (no cross-asset credit).
        """
        n_assets = profile.assets
        params = RiskParams(
            mm_factor=self.mm_factor,
            kappa=self._kappa(names, n_assets),
            rho=self._rho(names, n_assets, calibrated_rho),
        )
        validate_params(params, profile)
        return params

    def _kappa(self, names: Sequence[str], n_assets: int) -> tuple[int, ...]:
        if isinstance(self.kappa, dict):
            unknown = [k for k in self.kappa if k not in names]
            if unknown:
                raise InputError(
                    f"params.kappa.{unknown[0]}",
                    f"unknown asset {unknown[0]!r}; market assets: {', '.join(names)}",
                )
            missing = [n for n in names if n not in self.kappa]
            if missing:
                raise InputError(f"params.kappa.{missing[0]}", "required: every market asset needs a kappa")
            values = [self.kappa[n] for n in names]
        else:
            if len(self.kappa) not in (len(names), n_assets):
                raise InputError(
                    "params.kappa",
                    f"must have one entry per market asset ({len(names)}) or per asset slot (A = {n_assets}), "
                    f"got {len(self.kappa)}",
                )
            values = list(self.kappa)
        return tuple(values + [0] * (n_assets - len(values)))

    def _rho(self, names: Sequence[str], n_assets: int, calibrated: Matrix | None) -> Matrix:
        if self.rho is None:
            return calibrated if calibrated is not None else ones_rho(n_assets, len(names))
        n = len(self.rho)
        if n not in (len(names), n_assets):
            raise InputError(
                "params.rho",
                f"must be n x n with n = the number of market assets ({len(names)}) or A = {n_assets}, got {n} rows",
            )
        for a, row in enumerate(self.rho):
            if len(row) != n:
                raise InputError(
                    f"params.rho[{a}]", f"must have {n} entries (a square matrix), got {len(row)}"
                )
        return tuple(
            tuple(self.rho[a][b] if a < n and b < n else (SCALE if a == b else 0) for b in range(n_assets))
            for a in range(n_assets)
        )


def _kappa(path: str, value: Any) -> dict[str, int] | tuple[int, ...]:
    if isinstance(value, list):
        return tuple(as_int(f"{path}[{i}]", v) for i, v in enumerate(value))
    o = Obj(path, value)
    out = {key: o.get(key, as_int) for key in list(o.data)}
    o.done()
    return out


def _rho(path: str, value: Any) -> Matrix | None:
    if value == FROM_CALIBRATION:
        return None
    if isinstance(value, str):
        raise InputError(path, f'must be a matrix or "{FROM_CALIBRATION}", got {json_type(value)}')
    rows = as_list(path, value)
    return tuple(
        tuple(as_int(f"{path}[{a}][{b}]", v) for b, v in enumerate(as_list(f"{path}[{a}]", row)))
        for a, row in enumerate(rows)
    )


def load_params_doc(data: dict[str, Any], root: str = "params") -> ParamsFile:
    """Parse a params document (types and per-value checks; the matrix checks run in
    :meth:`ParamsFile.resolve`, when the asset order is known)."""
    o = Obj(root, data)
    check_format(o, "params")
    model = o.get("model", as_str)
    if model != MODEL:
        raise InputError(o.sub("model"), f"must be {MODEL!r} (the model this engine computes), got {model!r}")
    mm = o.get("mm_factor", as_int)
    if not 0 < mm <= SCALE:
        raise InputError(o.sub("mm_factor"), f"must satisfy 0 < mm_factor <= 10**6 (SCALE), got {mm}")
    kappa = o.get("kappa", _kappa)
    rho = o.get("rho", _rho)
    config = read_row_config(o.sub("row_config"), o.raw("row_config")) if o.has("row_config") else RowConfig()
    o.skip("row_config")
    o.done()
    return ParamsFile(mm_factor=mm, kappa=kappa, rho=rho, row_config=config)


def dump_params(params: ParamsFile) -> dict[str, Any]:
    kappa: Any = (
        {k: emit_int(v) for k, v in params.kappa.items()}
        if isinstance(params.kappa, dict)
        else [emit_int(v) for v in params.kappa]
    )
    rho: Any = FROM_CALIBRATION if params.rho is None else [[emit_int(v) for v in row] for row in params.rho]
    return {
        "format": format_tag("params"),
        "model": MODEL,
        "mm_factor": emit_int(params.mm_factor),
        "kappa": kappa,
        "rho": rho,
        "row_config": dump_row_config(params.row_config),
    }


def dump_risk_params(params: RiskParams) -> dict[str, Any]:
    """Resolved parameters (A entries, explicit rho), as stored in a market or report."""
    return {
        "mm_factor": emit_int(params.mm_factor),
        "kappa": [emit_int(v) for v in params.kappa],
        "rho": [[emit_int(v) for v in row] for row in params.rho],
    }
