"""Batch witness calculation through one long-lived node process.

``WitnessCalculator(build_dir_js, wasm, n_public)`` starts ``node witness_calc.js``
once; the process loads circom's ``witness_calculator.js`` and the circuit's wasm a
single time and then answers one JSON request per line. ``calculate`` and
``calculate_many`` return the public signals (wires ``1..n_public``: outputs, then
public inputs) and optionally chosen wires or the full witness.

A request whose witness cannot be generated (a failed ``===``, a missing input)
comes back as ``WitnessError`` with the calculator's message; the process stays
usable for the next request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

SCRIPT = Path(__file__).with_name("witness_calc.js")


class WitnessError(RuntimeError):
    """The circuit's witness calculator rejected an input."""


@dataclass(frozen=True)
class WitnessResult:
    """One computed witness: public signals, requested wires, full witness if asked."""

    public: tuple[int, ...]
    signals: tuple[int, ...] = ()
    witness: tuple[int, ...] | None = None


def _ints(values: Iterable[str]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


class WitnessCalculator:
    """A node process computing witnesses of one compiled circuit.

    ``js_dir`` is circom's ``<name>_js`` folder (holding ``witness_calculator.js``);
    ``wasm`` defaults to the single ``.wasm`` file in it.
    """

    def __init__(self, js_dir: Path, n_public: int, wasm: Path | None = None, node: str = "node") -> None:
        js_dir = Path(js_dir)
        if wasm is None:
            wasms = sorted(js_dir.glob("*.wasm"))
            if len(wasms) != 1:
                raise FileNotFoundError(f"expected one .wasm in {js_dir}, found {len(wasms)}")
            wasm = wasms[0]
        node_bin = shutil.which(node) or node
        self._proc = subprocess.Popen(
            [node_bin, str(SCRIPT), str(js_dir / "witness_calculator.js"), str(wasm), str(n_public)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._next_id = 0

    @property
    def _stdin(self) -> IO[str]:
        assert self._proc.stdin is not None
        return self._proc.stdin

    @property
    def _stdout(self) -> IO[str]:
        assert self._proc.stdout is not None
        return self._proc.stdout

    def _request(
        self, inp: dict[str, Any], signals: Sequence[int] | None, full: bool, wtns: Path | None
    ) -> int:
        rid = self._next_id
        self._next_id += 1
        msg = {
            "id": rid,
            "input": inp,
            "signals": list(signals) if signals is not None else None,
            "full": full,
            "wtns": str(wtns) if wtns is not None else None,
        }
        self._stdin.write(json.dumps(msg) + "\n")
        return rid

    def _reply(self, rid: int) -> WitnessResult | WitnessError:
        line = self._stdout.readline()
        if not line:
            raise RuntimeError(f"witness calculator exited (code {self._proc.poll()})")
        reply = json.loads(line)
        if reply.get("id") != rid:
            raise RuntimeError(f"witness calculator answered request {reply.get('id')}, expected {rid}")
        if not reply["ok"]:
            return WitnessError(reply["error"].strip())
        return WitnessResult(
            public=_ints(reply["public"]),
            signals=_ints(reply.get("signals") or ()),
            witness=_ints(reply["witness"]) if "witness" in reply else None,
        )

    def calculate(
        self,
        inp: dict[str, Any],
        signals: Sequence[int] | None = None,
        *,
        full: bool = False,
        wtns: Path | None = None,
    ) -> WitnessResult:
        """One witness; raises ``WitnessError`` if the circuit rejects the input."""
        rid = self._request(inp, signals, full, wtns)
        self._stdin.flush()
        result = self._reply(rid)
        if isinstance(result, WitnessError):
            raise result
        return result

    def calculate_many(
        self,
        inputs: Sequence[dict[str, Any]],
        signals: Sequence[int] | None = None,
        *,
        full: bool = False,
        window: int = 32,
    ) -> list[WitnessResult | WitnessError]:
        """Many witnesses, pipelined ``window`` requests at a time; errors are returned, not raised.

        With ``full=True`` the replies are large, so requests go one at a time (a full
        pipe in both directions would otherwise block both processes).
        """
        if full:
            window = 1
        results: list[WitnessResult | WitnessError] = []
        pending: list[int] = []
        for inp in inputs:
            pending.append(self._request(inp, signals, full, None))
            if len(pending) >= window:
                self._stdin.flush()
                results.extend(self._reply(rid) for rid in pending)
                pending = []
        self._stdin.flush()
        results.extend(self._reply(rid) for rid in pending)
        return results

    def close(self) -> None:
        """End the node process (it exits when its stdin closes)."""
        if self._proc.poll() is None:
            self._stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> WitnessCalculator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
