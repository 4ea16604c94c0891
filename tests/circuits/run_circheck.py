"""Run circheck on every gadget and on MarginCheck(2, 4, 2); print its findings.

Not a test (circheck's findings are reviewed by hand, docs/circuit.md section 9):
``.venv/bin/python -m tests.circuits.run_circheck``.

circheck resolves includes only relative to the including file and cannot parse
circomlib's Poseidon constant tables, so the circuits are copied to
``.cache/zkmargin/circheck/`` with absolute include paths, and circomlib's
``Poseidon`` is replaced by a stand-in with the same interface (every input
constrained, output determined by the inputs). Other circomlib files are used as is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.circuits.harness import CIRCUITS, NODE_MODULES, ROOT

WORK = ROOT / ".cache" / "zkmargin" / "circheck"
CIRCHECK = Path(sys.executable).with_name("circheck")

POSEIDON_STAND_IN = """pragma circom 2.0.0;
// circheck stand-in for circomlib Poseidon: same interface, all inputs constrained.
template Poseidon(nInputs) {
    signal input inputs[nInputs];
    signal output out;
    signal sq[nInputs];
    var acc = 0;
    for (var i = 0; i < nInputs; i++) {
        sq[i] <== inputs[i] * inputs[i];
        acc += sq[i] + (i + 1) * inputs[i];
    }
    out <== acc;
}
"""

MAINS = {
    "UnsignedRange": ("unsigned_range", "8"),
    "SignedBits": ("signed_bits", "8"),
    "SignedRange": ("signed_range", "8"),
    "IsNegative": ("is_negative", "8"),
    "LessThanSigned": ("less_than_signed", "8"),
    "FloorDivConst": ("floor_div_const", "40, 1000000"),
    "FloorDivSignal": ("floor_div_signal", "40, 16"),
    "ISqrt": ("isqrt", "40"),
    "OneHot": ("one_hot", "4"),
    "MinByIndex": ("min_by_index", "16, 20"),
    "HashList": ("hash_list", "31"),
    "RowLeaf": ("row_leaf", ""),
    "QuadPlace": ("quad_place", ""),
    "Merkle4Root": ("merkle4", "2"),
    "SlotInclusion": ("slot_inclusion", "2"),
    "CanonicalSlots": ("canonical_slots", "4, 4"),
    "WorstLoss": ("worst_loss", "4"),
    "DirectionalSplit": ("directional_split", "4"),
    "CorrelatedRisk": ("correlated_risk", "2, 4"),
    "LiquidityAddOn": ("liquidity_addon", "4"),
    "MarginStatus": ("margin_status", "16"),
}


def prepare() -> Path:
    """The analysed copy of circuits/ with the stand-in Poseidon."""
    shutil.rmtree(WORK, ignore_errors=True)
    copy = WORK / "circuits"
    shutil.copytree(CIRCUITS, copy)
    lib = WORK / "circomlib"
    lib.mkdir(parents=True)
    for name in ("bitify", "comparators", "aliascheck", "compconstant", "binsum"):
        shutil.copy(NODE_MODULES / "circomlib" / "circuits" / f"{name}.circom", lib)
    (lib / "poseidon.circom").write_text(POSEIDON_STAND_IN)
    for path in copy.rglob("*.circom"):
        text = re.sub(r'include "circomlib/circuits/', f'include "{lib}/', path.read_text())
        path.write_text(text)
    for template, (file, args) in MAINS.items():
        (copy / f"main_{template}.circom").write_text(
            f'pragma circom 2.1.0;\ninclude "gadgets/{file}.circom";\ncomponent main = {template}({args});\n'
        )
    (copy / "main_MarginCheck.circom").write_text(
        'pragma circom 2.1.0;\ninclude "margin_check.circom";\n'
        "component main {public [commitment, market_root, params_hash]} = MarginCheck(2, 4, 2);\n"
    )
    return copy


def findings(output: str) -> str:
    """circheck's report: the part after its separator line, and any error."""
    lines = [ln for ln in output.splitlines() if "it/s" not in ln and not ln.startswith("[Info]")]
    keep, on = [], False
    for ln in lines:
        if ln.startswith("====="):
            on = True
            continue
        if on or "[Error]" in ln:
            keep.append(ln)
    return "\n".join(keep)


def main() -> int:
    copy = prepare()
    failed = 0
    for path in sorted(copy.glob("main_*.circom")):
        proc = subprocess.run(
            [str(CIRCHECK), path.name], cwd=copy, capture_output=True, text=True, check=False, timeout=900
        )
        report = findings(proc.stdout + proc.stderr)
        failed += "Analysis failed" in report
        print(f"=== {path.stem.removeprefix('main_')}\n{report}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
