"""Poseidon: parameters, fast vs. reference permutation, and parity with circomlibjs."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.fixedpoint import FIELD_P
from engine.poseidon import MAX_INPUTS, poseidon, poseidon_reference
from engine.poseidon_constants import N_ROUNDS_F, N_ROUNDS_P, GrainSource, poseidon_parameters

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "node_modules"
CIRCOMLIBJS_CONSTANTS = NODE_MODULES / "circomlibjs" / "src" / "poseidon_constants.json"
HELPER = Path(__file__).with_name("circomlibjs_poseidon.js")

# Published test vector of circomlib / circomlibjs.
POSEIDON_1_2 = 7853200120776062878684798364095072458815029376092732009249414926327459813530

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "circomlibjs").is_dir(),
    reason="node or node_modules/circomlibjs is missing (run `make setup`)",
)

field_elements = st.integers(min_value=0, max_value=FIELD_P - 1)


def circomlibjs_hashes(vectors: list[list[int]], impl: str = "wasm") -> list[int]:
    """Hash each vector with circomlibjs through the node helper."""
    request = json.dumps({"impl": impl, "inputs": [[str(x) for x in xs] for xs in vectors]})
    done = subprocess.run(
        ["node", str(HELPER)],
        input=request,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return [int(h) for h in json.loads(done.stdout)]


def random_vectors(seed: int) -> list[list[int]]:
    """Two vectors per input count 1..16: one random, one with edge values mixed in."""
    rng = random.Random(seed)
    edges = [0, 1, FIELD_P - 1, FIELD_P - 2, 2**253, 2**64 - 1]
    vectors = []
    for n in range(1, MAX_INPUTS + 1):
        vectors.append([rng.randrange(FIELD_P) for _ in range(n)])
        vectors.append(
            [rng.choice(edges) if rng.random() < 0.5 else rng.randrange(FIELD_P) for _ in range(n)]
        )
    return vectors


# ---------------------------------------------------------------- known vectors


def test_known_vector_1_2() -> None:
    assert poseidon([1, 2]) == POSEIDON_1_2
    assert poseidon_reference([1, 2]) == POSEIDON_1_2


def test_input_order_matters() -> None:
    assert poseidon([2, 1]) != POSEIDON_1_2


# ---------------------------------------------------------------- parameters


def naive_grain_bits(t: int, n_rounds_p: int, count: int) -> list[int]:
    """The reference generator's kept bits, one LFSR step at a time (list state)."""
    seed: list[int] = []
    for value, length in ((1, 2), (0, 4), (254, 12), (t, 12), (N_ROUNDS_F, 10), (n_rounds_p, 10)):
        seed += [(value >> (length - 1 - k)) & 1 for k in range(length)]
    state = seed + [1] * 30

    def step() -> int:
        bit = state[62] ^ state[51] ^ state[38] ^ state[23] ^ state[13] ^ state[0]
        state.pop(0)
        state.append(bit)
        return bit

    for _ in range(160):
        step()
    out: list[int] = []
    while len(out) < count:
        first, second = step(), step()
        if first:
            out.append(second)
    return out


@pytest.mark.parametrize("t", [2, 3, 17])
def test_word_parallel_grain_equals_bitwise_grain(t: int) -> None:
    count = 3 * 254 + 7
    expected = naive_grain_bits(t, N_ROUNDS_P[t - 2], count)
    source = GrainSource(t, N_ROUNDS_F, N_ROUNDS_P[t - 2])
    # Read in uneven pieces so the buffer carries over between calls.
    got: list[int] = []
    for piece in (1, 254, 100, 300, count - 655):
        value = source.bits(piece)
        got += [(value >> (piece - 1 - k)) & 1 for k in range(piece)]
    assert got == expected


def test_parameter_shapes() -> None:
    for t in range(2, 18):
        constants, mds = poseidon_parameters(t)
        assert len(constants) == (N_ROUNDS_F + N_ROUNDS_P[t - 2]) * t
        assert all(0 <= c < FIELD_P for c in constants)
        assert len(mds) == t and all(len(row) == t for row in mds)


@pytest.mark.skipif(not CIRCOMLIBJS_CONSTANTS.is_file(), reason="node_modules/circomlibjs is missing")
def test_generated_parameters_equal_circomlibjs_tables() -> None:
    tables = json.loads(CIRCOMLIBJS_CONSTANTS.read_text())
    for t in range(2, 18):
        constants, mds = poseidon_parameters(t)
        assert list(constants) == [int(c, 16) for c in tables["C"][t - 2]], f"round constants t={t}"
        assert [list(r) for r in mds] == [[int(c, 16) for c in r] for r in tables["M"][t - 2]], f"MDS t={t}"


# ---------------------------------------------------------------- fast == reference


@pytest.mark.parametrize("n", range(1, MAX_INPUTS + 1))
def test_fast_equals_reference_every_width(n: int) -> None:
    rng = random.Random(1000 + n)
    for _ in range(3):
        xs = [rng.randrange(FIELD_P) for _ in range(n)]
        assert poseidon(xs) == poseidon_reference(xs)


@settings(max_examples=40, deadline=None)
@given(st.lists(field_elements, min_size=1, max_size=MAX_INPUTS))
def test_fast_equals_reference_property(xs: list[int]) -> None:
    assert poseidon(xs) == poseidon_reference(xs)


def test_output_is_field_element_and_sensitive_to_each_input() -> None:
    xs = list(range(1, 17))
    base = poseidon(xs)
    assert 0 <= base < FIELD_P
    for i in range(16):
        changed = list(xs)
        changed[i] += 1
        assert poseidon(changed) != base


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    "bad",
    [[], [0] * 17, [-1], [FIELD_P], [1, FIELD_P + 5], [True], [1.0], ["1"]],
    ids=["empty", "17-inputs", "negative", "p", "above-p", "bool", "float", "str"],
)
def test_rejects_bad_inputs(bad: list[object]) -> None:
    with pytest.raises(ValueError):
        poseidon(bad)  # type: ignore[arg-type]


def test_accepts_largest_field_element() -> None:
    assert 0 <= poseidon([FIELD_P - 1]) < FIELD_P


# ---------------------------------------------------------------- circomlibjs parity


@needs_node
def test_every_width_equals_circomlibjs() -> None:
    vectors = [*random_vectors(seed=20261121), [1, 2], [0], [0] * 16]
    assert [poseidon(xs) for xs in vectors] == circomlibjs_hashes(vectors)


@needs_node
def test_reference_js_agrees_on_a_few_vectors() -> None:
    """circomlibjs' round-by-round implementation, as a second opinion."""
    vectors = [[5], [1, 2, 3, 4], list(range(1, 17))]
    assert [poseidon(xs) for xs in vectors] == circomlibjs_hashes(vectors, impl="reference")


# ---------------------------------------------------------------- circomlib circuit parity

CIRCUIT_WIDTHS = (2, 3, 4, 5, 7, 16)  # every width the commitments use, and the known vector's


def poseidon_circuit_source(widths: tuple[int, ...]) -> str:
    """A circuit with one circomlib ``Poseidon(n)`` per width, outputs in that order."""
    lines = [
        "pragma circom 2.1.0;",
        'include "circomlib/circuits/poseidon.circom";',
        "template Hashes() {",
        f"    signal output out[{len(widths)}];",
    ]
    for i, n in enumerate(widths):
        lines += [
            f"    signal input in{i}[{n}];",
            f"    component h{i} = Poseidon({n});",
            f"    h{i}.inputs <== in{i};",
            f"    out[{i}] <== h{i}.out;",
        ]
    lines += ["}", "component main = Hashes();", ""]
    return "\n".join(lines)


@pytest.mark.circuit
@needs_node
def test_equals_circomlib_circuit_witness() -> None:
    """Compile circomlib's Poseidon templates with circom and compare the witness outputs."""
    rng = random.Random(7)
    vectors = [[rng.randrange(FIELD_P) for _ in range(n)] for n in CIRCUIT_WIDTHS]
    # circom2 (wasm) sees only the working directory, so the scratch dir lives in it.
    cache = ROOT / ".cache"
    cache.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="poseidon-") as scratch:
        work = Path(scratch).relative_to(ROOT)
        (ROOT / work / "hashes.circom").write_text(poseidon_circuit_source(CIRCUIT_WIDTHS))
        inputs = {f"in{i}": [str(x) for x in xs] for i, xs in enumerate(vectors)}
        (ROOT / work / "input.json").write_text(json.dumps(inputs))
        circom = str(NODE_MODULES / ".bin" / "circom2")
        snarkjs = str(NODE_MODULES / ".bin" / "snarkjs")
        js = work / "hashes_js"
        commands = [
            [circom, f"{work}/hashes.circom", "--wasm", "-l", "node_modules", "-o", str(work)],
            [
                "node",
                f"{js}/generate_witness.js",
                f"{js}/hashes.wasm",
                f"{work}/input.json",
                f"{work}/w.wtns",
            ],
            [snarkjs, "wtns", "export", "json", f"{work}/w.wtns", f"{work}/w.json"],
        ]
        for command in commands:
            subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
        witness = json.loads((ROOT / work / "w.json").read_text())
    outputs = [int(w) for w in witness[1 : 1 + len(CIRCUIT_WIDTHS)]]
    assert outputs == [poseidon(xs) for xs in vectors]
