"""Output formats: the margin report (``zkmargin/report@1``), the explanation of one
account (``zkmargin/explanation@1``) and the calibration (``zkmargin/calibration@1``).

The report lists, per account, the public outcome (status, shortfall), the
commitment it belongs to and the section-3 numbers for people. Money values are
fixed point x 10**6 like every other integer; ``ratio`` (E / MM) is a real number,
``null`` when MM = 0.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from engine.aggregation import MODEL
from engine.calibration.apc import LOOKBACK_YEARS
from engine.commitments import commitment, commitments
from engine.errors import InputError
from engine.formats.account import LabeledAccount
from engine.formats.json_text import (
    RECORD_INDENT,
    Obj,
    as_int,
    as_str,
    check_format,
    dumps_records,
    emit_field,
    emit_int,
    format_tag,
    record_line,
    records_frame,
)
from engine.margin import MarginResult
from engine.report import Explanation
from engine.status import Status

if TYPE_CHECKING:
    from engine.calibration.calibrate import Calibration

RATIO_DIGITS = 6


def margin_ratio(result: MarginResult) -> float | None:
    """E / MM, or ``None`` when MM = 0 (no margin requirement)."""
    return None if result.MM == 0 else round(result.E / result.MM, RATIO_DIGITS)


def dump_result(
    acc: LabeledAccount, result: MarginResult, account_commitment: int | None = None
) -> dict[str, Any]:
    """One account's line of the report (``account_commitment``: its commitment, if the
    caller computed it already, e.g. for many accounts at once)."""
    a = acc.account
    return {
        "label": acc.label,
        "account_id": emit_int(a.account_id),
        "nonce": emit_int(a.nonce),
        "commitment": emit_field(commitment(a) if account_commitment is None else account_commitment),
        **_dump_margin_numbers(result),
        "r": emit_int(result.R),
        "sc": emit_int(result.SC),
        "lq": [emit_int(v) for v in result.LQ],
        "w": [emit_int(v) for v in result.W],
        "worst_scenario": list(result.worst_scenario),
    }


def report_head(
    *, profile: str, epoch: int, as_of: str, market_root: int, params_hash: int, counts: dict[str, int]
) -> dict[str, Any]:
    """Everything of a report but its account lines."""
    return {
        "format": format_tag("report"),
        "profile": profile,
        "epoch": emit_int(epoch),
        "as_of": as_of,
        "market_root": emit_field(market_root),
        "params_hash": emit_field(params_hash),
        "counts": counts,
    }


class ReportLines:
    """A report of any number of accounts, built in pieces: each piece's lines go to a
    temporary file as they come (memory for one piece, not the whole report); the head,
    whose counts are known only at the end, is written before them by :meth:`write_to`."""

    def __init__(self) -> None:
        # open as long as the object: closed by close() or at the end of a with block
        self._body = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._first = True
        self.counts = {s.label: 0 for s in Status}

    def add(self, accounts: Sequence[LabeledAccount], results: Sequence[MarginResult]) -> None:
        """Lines for ``accounts`` and their ``results`` (commitments computed in one batch)."""
        hashes = commitments([a.account for a in accounts])
        for a, r, c in zip(accounts, results, hashes, strict=True):
            self.counts[r.status_name] += 1
            if not self._first:
                self._body.write(",\n" + RECORD_INDENT)
            self._first = False
            self._body.write(record_line(dump_result(a, r, c)))

    def write_to(self, out: TextIO, head: dict[str, Any]) -> None:
        """The whole report (``head`` then the lines, as :func:`dumps_records` writes it)."""
        if self._first:
            out.write(dumps_records({**head, "accounts": []}, "accounts"))
            return
        opening, closing = records_frame(head, "accounts")
        out.write(opening)
        self._body.seek(0)
        shutil.copyfileobj(self._body, out, 1 << 20)
        out.write(closing)

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> ReportLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def dump_report(
    *,
    profile: str,
    epoch: int,
    as_of: str,
    market_root: int,
    params_hash: int,
    accounts: Sequence[LabeledAccount],
    results: Sequence[MarginResult],
) -> dict[str, Any]:
    """The whole report as one document (``ReportLines`` writes the same for any size)."""
    counts = {s.label: 0 for s in Status}
    for r in results:
        counts[r.status_name] += 1
    head = report_head(
        profile=profile,
        epoch=epoch,
        as_of=as_of,
        market_root=market_root,
        params_hash=params_hash,
        counts=counts,
    )
    hashes = commitments([a.account for a in accounts])
    return {
        **head,
        "accounts": [dump_result(a, r, c) for a, r, c in zip(accounts, results, hashes, strict=True)],
    }


def load_report_doc(data: dict[str, Any], root: str = "report") -> list[dict[str, Any]]:
    """The account lines of a report, with ``status`` and ``shortfall`` checked."""
    o = Obj(root, data)
    check_format(o, "report")
    o.skip("profile", "epoch", "as_of", "market_root", "params_hash", "counts")
    out = []
    for path, value in o.items("accounts"):
        line = Obj(path, value)
        status = line.get("status", as_int)
        if status not in set(Status):
            raise InputError(line.sub("status"), f"must be one of 0, 1, 2, 3, got {status}")
        label = Status(status).label
        if line.get("status_name", as_str) != label:
            raise InputError(line.sub("status_name"), f"must be {label!r} for status {status}")
        if line.get("shortfall", as_int) < 0:
            raise InputError(line.sub("shortfall"), "must be >= 0")
        out.append(line.data)
    o.done()
    return out


def dump_calibration(cal: Calibration) -> dict[str, Any]:
    """Forecasts and correlation of a calibration (real numbers; ``rho`` x 10**6).

    ``n_closes`` counts the common dates (the correlation's), ``closes`` each asset's own
    closes (its forecast's); ``lookback_years`` is the part of the anti-procyclicality
    tools' ten-year look-back (``lookback_years_required``) each history holds."""
    return {
        "format": format_tag("calibration"),
        "assets": list(cal.assets),
        "n_closes": cal.n_closes,
        "ewma": dict(cal.ewma),
        "garch": {
            name: {
                "omega": fit.omega,
                "alpha": fit.alpha,
                "beta": fit.beta,
                "forecast": fit.forecast,
                "converged": fit.converged,
            }
            for name, fit in cal.garch.items()
        },
        "forecast": dict(cal.forecast),
        "closes": dict(cal.closes),
        **({"charged": dict(cal.charged)} if cal.charged else {}),
        "lookback_years_required": LOOKBACK_YEARS,
        "lookback_years": dict(cal.lookback_years),
        "correlation_ewma": [[float(x) for x in row] for row in cal.correlation_ewma],
        "correlation": [[float(x) for x in row] for row in cal.correlation],
        "rho": [[emit_int(v) for v in row] for row in cal.rho],
    }


def _dump_margin_numbers(result: MarginResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "status_name": result.status_name,
        "shortfall": emit_int(result.shortfall),
        "equity": emit_int(result.E),
        "im": emit_int(result.IM),
        "mm": emit_int(result.MM),
        "ratio": margin_ratio(result),
    }


def dump_explanation(
    acc: LabeledAccount,
    explanation: Explanation,
    what_if: tuple[Sequence[tuple[int, int]], MarginResult, MarginResult] | None,
) -> dict[str, Any]:
    """``zkmargin/explanation@1``: the margin of one account in parts, its liquidation
    prices (real spots) and, with trades, the margin before and after them."""
    r = explanation.result
    liquidation = {lp.asset: lp for lp in explanation.liquidation}
    assets = []
    for part in explanation.assets:
        lp = liquidation.get(part.asset)
        assets.append(
            {
                "asset": part.asset,
                "name": part.name,
                "held": part.held,
                "worst_loss": emit_int(part.worst_loss),
                "directional": emit_int(part.directional),
                "non_directional": emit_int(part.non_directional),
                "worst_scenario": part.worst_scenario,
                "scenario": part.scenario,
                "net_delta_notional": emit_int(part.net_delta_notional),
                "liquidity_addon": emit_int(part.liquidity_addon),
                "spot": None if lp is None else lp.spot,
                "liquidation_below": None if lp is None or not lp.held else lp.below,
                "liquidation_above": None if lp is None or not lp.held else lp.above,
                "liquidatable_now": lp is not None and lp.already,
            }
        )
    out: dict[str, Any] = {
        "format": format_tag("explanation"),
        "label": acc.label,
        "account_id": emit_int(acc.account.account_id),
        **_dump_margin_numbers(r),
        "model": MODEL,
        "r": emit_int(r.R),
        "r_directional": emit_int(r.R_dir),
        "r_non_directional": emit_int(sum(r.U)),
        "sc": emit_int(r.SC),
        "assets": assets,
        "what_if": None,
    }
    if what_if is not None:
        trades, before, after = what_if
        out["what_if"] = {
            "trades": [{"instrument_id": iid, "q": emit_int(q)} for iid, q in trades],
            "before": _dump_margin_numbers(before),
            "after": _dump_margin_numbers(after),
        }
    return out
