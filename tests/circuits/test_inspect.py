"""circom --inspect finds nothing in MarginCheck (docs/circuit.md section 9)."""

from __future__ import annotations

import re
import subprocess

from tests.circuits.harness import CACHE, CIRCOM, ROOT


def test_margin_check_inspect_is_clean() -> None:
    out = CACHE / "inspect"
    out.mkdir(parents=True, exist_ok=True)
    main = out / "inspect_test.circom"
    main.write_text(
        'pragma circom 2.1.0;\ninclude "margin_check.circom";\n'
        "component main {public [commitment, market_root, params_hash]} = MarginCheck(2, 4, 2);\n"
    )
    proc = subprocess.run(
        [
            str(CIRCOM),
            str(main.relative_to(ROOT)),
            "--inspect",
            "--O2",
            "--r1cs",
            "-l",
            "node_modules",
            "-l",
            "circuits",
            "-o",
            str(out.relative_to(ROOT)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert "Everything went okay" in text, text
    assert not re.findall(r"^(warning|error)\[", text, re.MULTILINE), text
