"""Run small gadget circuits: outputs of valid inputs, rejection of invalid ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.fixedpoint import FIELD_P, from_field
from tests.circuits.harness import CompiledCircuit, compile_circuit, gadget_main
from tests.support.witness_calc import WitnessError


def encode(value: Any) -> Any:
    """Signed ints (or nested lists of them) as field-element decimal strings."""
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return str(int(value) % FIELD_P)


def gadget(file_template: str, args: str = "") -> CompiledCircuit:
    name = file_template.split(":")[1].lower() + "_" + "_".join(a.strip() for a in args.split(",") if a)
    return compile_circuit(name, gadget_main(file_template, args))


def outputs(circuit: CompiledCircuit, inputs: Mapping[str, Any], signed: bool = True) -> tuple[int, ...]:
    """The main component's outputs for ``inputs`` (raises WitnessError if rejected)."""
    res = circuit.calc.calculate({k: encode(v) for k, v in inputs.items()})
    return tuple(from_field(v) if signed else v for v in res.public)


def rejected(circuit: CompiledCircuit, inputs: Mapping[str, Any]) -> bool:
    """True when the witness calculator finds a violated constraint for ``inputs``."""
    try:
        circuit.calc.calculate({k: encode(v) for k, v in inputs.items()})
    except WitnessError:
        return True
    return False


def many_outputs(
    circuit: CompiledCircuit, batch: Sequence[Mapping[str, Any]]
) -> list[tuple[int, ...] | None]:
    """Outputs per input (``None`` where the input is rejected), in one pipelined batch."""
    results = circuit.calc.calculate_many([{k: encode(v) for k, v in inp.items()} for inp in batch])
    return [None if isinstance(r, WitnessError) else tuple(from_field(v) for v in r.public) for r in results]
