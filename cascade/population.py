"""A cascade run's accounts: generated from stated distributions (seeded) or read from a
file (``zkmargin/cascade-accounts@1``), as legs in quote notional at the window's first
close, and opened in the engine's units (``q`` x SCALE, cash x SCALE).

Generated accounts (every draw from one ``numpy`` generator seeded with ``seed``):

* legs: 1 (70 %), 2 (20 %) or 3 (10 %), on distinct assets drawn by ``ASSET_WEIGHTS``
  (renormalised over the window's assets);
* product: perp 80 %, spot 20 %; a perp is long with probability ``long_share`` (0.6),
  spot is held long;
* size: the account's gross notional is lognormal with median ``median_notional`` and
  log-sd 1.3 (capped at 1,000 medians), split over its legs by a flat Dirichlet;
* leverage ``L`` (gross notional over equity) from ``LEVERAGE`` with ``LEVERAGE_P``; the
  venue lets no account open below its IM, so the equity is
  ``max(gross / L, (1 + b) * IM)`` with the head-room ``b`` uniform on [0.1, 1.0] and IM the
  tested model's at the first step;
* ``u`` uniform on [0, 1]: the account tops up a margin call when ``u < topup_share``.

A file states each account's equity and legs instead; its equity is used as given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.errors import InputError
from engine.fixedpoint import SCALE

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
SLOTS = 3
KINDS = ("spot", "perp")
FORMAT = "zkmargin/cascade-accounts@1"
ASSET_WEIGHTS = {"BTC": 0.40, "ETH": 0.30, "BNB": 0.10, "SOL": 0.08, "AVAX": 0.06, "DOT": 0.06}
OTHER_WEIGHT = 0.05
LEVERAGE = (2.0, 3.0, 5.0, 10.0, 20.0, 50.0)
LEVERAGE_P = (0.15, 0.20, 0.25, 0.20, 0.15, 0.05)
MIN_ACCOUNTS, MAX_ACCOUNTS = 1, 200_000


@dataclass(frozen=True)
class Population:
    """``n`` accounts of up to ``SLOTS`` legs: ``asset[i, j]`` (index into ``assets``; -1 an
    empty slot), ``kind`` (0 spot, 1 perp), signed ``notional`` in quote units; the
    account's leverage and head-room (generated) or equity (a file: ``leverage`` 0)."""

    assets: tuple[str, ...]
    asset: IntArray  # (n, SLOTS)
    kind: IntArray  # (n, SLOTS)
    notional: FloatArray  # (n, SLOTS)
    leverage: FloatArray  # (n,); 0 where the equity is given
    headroom: FloatArray  # (n,)
    equity: FloatArray  # (n,); the given equity (files), else 0
    u: FloatArray  # (n,) top-up draw

    def __len__(self) -> int:
        return int(self.asset.shape[0])

    def instrument_ids(self) -> IntArray:
        """Instrument id of every slot: ``2 * asset + kind`` (0 for an empty slot)."""
        return np.where(self.asset >= 0, 2 * self.asset + self.kind, 0).astype(np.int64)

    def gross(self) -> FloatArray:
        return np.asarray(np.abs(self.notional).sum(axis=1), dtype=np.float64)


def generate(
    n: int, assets: Sequence[str], seed: int, median_notional: float = 20_000.0, long_share: float = 0.6
) -> Population:
    """``n`` accounts from the module's distributions."""
    if not MIN_ACCOUNTS <= n <= MAX_ACCOUNTS:
        raise InputError("accounts", f"must be in {MIN_ACCOUNTS}..{MAX_ACCOUNTS}, got {n}")
    if not assets:
        raise InputError("assets", "the window has no asset")
    rng = np.random.default_rng(seed)
    names = tuple(assets)
    weights = np.array([ASSET_WEIGHTS.get(a, OTHER_WEIGHT) for a in names])
    weights /= weights.sum()
    legs = np.minimum(rng.choice((1, 2, 3), size=n, p=(0.7, 0.2, 0.1)), len(names))
    keys = rng.random((n, len(names))) ** (1.0 / weights)  # weighted draws without replacement
    order = np.argsort(-keys, axis=1)[:, :SLOTS]
    if order.shape[1] < SLOTS:
        order = np.pad(order, ((0, 0), (0, SLOTS - order.shape[1])))
    used = np.arange(SLOTS)[None, :] < legs[:, None]
    asset = np.where(used, order, -1)
    kind = np.where(rng.random((n, SLOTS)) < 0.8, 1, 0)
    sign = np.where((kind == 0) | (rng.random((n, SLOTS)) < long_share), 1.0, -1.0)
    gross = np.minimum(median_notional * np.exp(1.3 * rng.standard_normal(n)), 1000.0 * median_notional)
    split = rng.gamma(1.0, size=(n, SLOTS)) * used
    split /= split.sum(axis=1, keepdims=True)
    notional = np.where(used, sign * gross[:, None] * split, 0.0)
    leverage = rng.choice(LEVERAGE, size=n, p=LEVERAGE_P)
    headroom = rng.uniform(0.1, 1.0, size=n)
    u = rng.random(n)
    return _sorted(
        Population(names, asset, np.where(used, kind, 0), notional, leverage, headroom, np.zeros(n), u)
    )


def _sorted(p: Population) -> Population:
    """Slots in the engine's canonical order: held legs by increasing instrument id, then empty."""
    ids = np.where(p.asset >= 0, 2 * p.asset + p.kind, np.iinfo(np.int64).max)
    order = np.argsort(ids, axis=1, kind="stable")

    def take(a: NDArray[Any]) -> NDArray[Any]:
        return np.take_along_axis(a, order, axis=1)

    return Population(
        p.assets, take(p.asset), take(p.kind), take(p.notional), p.leverage, p.headroom, p.equity, p.u
    )


def load_population(path: Path, assets: Sequence[str], seed: int) -> Population:
    """Accounts from a ``zkmargin/cascade-accounts@1`` file; ``u`` drawn with ``seed``."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise InputError(str(path), f"not a readable JSON file: {type(err).__name__}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError(f"{path}.format", f"must be {FORMAT!r}")
    rows = doc.get("accounts")
    if not isinstance(rows, list) or not MIN_ACCOUNTS <= len(rows) <= MAX_ACCOUNTS:
        raise InputError(f"{path}.accounts", f"must be a list of {MIN_ACCOUNTS}..{MAX_ACCOUNTS} accounts")
    index = {a: i for i, a in enumerate(assets)}
    n = len(rows)
    asset = np.full((n, SLOTS), -1, dtype=np.int64)
    kind = np.zeros((n, SLOTS), dtype=np.int64)
    notional = np.zeros((n, SLOTS))
    equity = np.zeros(n)
    for i, row in enumerate(rows):
        at = f"{path}.accounts[{i}]"
        if not isinstance(row, dict):
            raise InputError(at, "must be an object with equity and legs")
        equity[i] = _number(f"{at}.equity", row.get("equity"), positive=True)
        legs = row.get("legs")
        if not isinstance(legs, list) or not 1 <= len(legs) <= SLOTS:
            raise InputError(f"{at}.legs", f"must be a list of 1..{SLOTS} legs")
        seen: set[int] = set()
        for j, leg in enumerate(legs):
            lat = f"{at}.legs[{j}]"
            if not isinstance(leg, dict):
                raise InputError(lat, "must be an object with asset, kind and notional")
            name = leg.get("asset")
            if name not in index:
                raise InputError(f"{lat}.asset", f"must be one of the window's assets {', '.join(assets)}")
            if leg.get("kind") not in KINDS:
                raise InputError(f"{lat}.kind", f"must be one of {', '.join(KINDS)}")
            iid = 2 * index[name] + KINDS.index(leg["kind"])
            if iid in seen:
                raise InputError(lat, "the same instrument twice in one account")
            seen.add(iid)
            asset[i, j], kind[i, j] = index[name], KINDS.index(leg["kind"])
            notional[i, j] = _number(f"{lat}.notional", leg.get("notional"), positive=False)
    u = np.random.default_rng(seed).random(n)
    return _sorted(Population(tuple(assets), asset, kind, notional, np.zeros(n), np.zeros(n), equity, u))


def _number(field: str, value: object, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(field, f"must be a number, got {value!r}")
    x = float(value)
    limit = 1e12
    if not np.isfinite(x) or abs(x) > limit or (positive and x <= 0) or (not positive and x == 0):
        rule = "> 0" if positive else "non-zero"
        raise InputError(field, f"must be a finite number {rule} with |x| <= 1e12, got {value!r}")
    return x


def units(p: Population, spots: FloatArray) -> IntArray:
    """Each slot's signed size x SCALE at ``spots`` (per asset index): notional / spot."""
    spot = np.where(p.asset >= 0, spots[np.maximum(p.asset, 0)], 1.0)
    return np.asarray(np.rint(p.notional / spot * SCALE), dtype=np.int64)


def opening_equity(p: Population, im: FloatArray) -> FloatArray:
    """Each account's equity at the first step (quote units), given its IM there."""
    given = p.leverage <= 0
    levered = np.where(given, 0.0, p.gross() / np.where(given, 1.0, p.leverage))
    return np.where(given, p.equity, np.maximum(levered, (1.0 + p.headroom) * im))
