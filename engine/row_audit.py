"""Compare a published market's integer rows with rows recomputed from its quotes.

Spec section 4: the rows are derived in float64 and rounded, so two honest
machines may differ by one unit in a value; agreement within one unit per value
is the audit criterion. The asset table and the set of instrument ids must agree
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.model import InstrumentRow, Market

TOLERANCE = 1  # units of 10**-6 per value


@dataclass(frozen=True)
class RowComparison:
    rows: int
    max_deviation: int  # largest |published - recomputed| over every value
    worst: str  # where it was, e.g. "row 7 ra[14]"
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems and self.max_deviation <= TOLERANCE

    def describe(self) -> str:
        verdict = "agree" if self.ok else "DISAGREE"
        text = (
            f"{self.rows} rows recomputed from the quotes {verdict}: largest deviation "
            f"{self.max_deviation} unit(s) of 1e-6 ({self.worst or 'none'}); tolerance {TOLERANCE}"
        )
        return "\n".join([text, *self.problems])

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "max_deviation": self.max_deviation,
            "worst": self.worst,
            "tolerance": TOLERANCE,
            "problems": list(self.problems),
        }


def _values(row: InstrumentRow) -> dict[str, int]:
    out = {"mark": row.mark, "delta": row.delta, "c_long": row.c_long, "c_short": row.c_short}
    out |= {f"ra[{s}]": v for s, v in enumerate(row.ra)}
    return out


def compare_rows(published: Market, recomputed: Market) -> RowComparison:
    """Every value of every row, and the asset table, of ``published`` against ``recomputed``."""
    problems: list[str] = []
    if published.assets != recomputed.assets:
        problems.append("the asset table differs")
    ids, again = set(published.rows), set(recomputed.rows)
    if ids != again:
        problems.append(f"instrument ids differ: {sorted(ids ^ again)}")
    worst, where = 0, ""
    for iid in sorted(ids & again):
        a, b = published.rows[iid], recomputed.rows[iid]
        if a.asset != b.asset:
            problems.append(f"row {iid}: asset {a.asset} != {b.asset}")
        mine, theirs = _values(a), _values(b)
        for name, value in mine.items():
            dev = abs(value - theirs[name])
            if dev > worst:
                worst, where = dev, f"row {iid} {name}"
    return RowComparison(len(ids), worst, where, tuple(problems))
