"""Option and argument types shared by the CLI's command groups."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.errors import InputError
from engine.profiles import PROFILES
from verifier_contracts.constants import THROWAWAY_CHAINS  # --chain: a chain that ends with the command

FC = TypeVar("FC", bound=Callable[..., Any])

#: An existing input file.
IN_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
#: A file to write (its folder is created).
OUT_FILE = click.Path(dir_okay=False, writable=True, path_type=Path)

#: The example files the backtest and the stress commands read by default.
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_HISTORY = EXAMPLES / "data" / "crypto-daily-closes.csv"
EXAMPLE_PORTFOLIOS = EXAMPLES / "backtest" / "portfolios.json"
EXAMPLE_PARAMS = EXAMPLES / "backtest" / "params.json"


def comma_names(
    option: str, text: str | None, known: tuple[str, ...], default: tuple[str, ...], noun: str = "name"
) -> tuple[str, ...]:
    """A comma-separated choice among ``known`` (``default`` when not given), in the order
    given, each once; an unknown or empty name is an ``InputError`` naming the option."""
    names = default if text is None else tuple(t.strip() for t in text.split(","))
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise InputError(
            option,
            f"unknown {noun} {(unknown[0] or '(empty)') if unknown else '(none)'}; known: {', '.join(known)}",
        )
    return tuple(dict.fromkeys(names))


# ---------------------------------------------------------------------- numbers


class BoundedInt(click.ParamType):
    """An integer written in decimal or 0x-hex, with ``low <= x < high`` (named in the error)."""

    name = "integer"

    def __init__(self, low: int, high: int, bound_text: str) -> None:
        self.low, self.high, self.bound_text = low, high, bound_text

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip(), 0)
            except ValueError:
                self.fail(f"{value!r} is not a decimal or 0x-hex integer", param, ctx)
        if not self.low <= number < self.high:
            self.fail(f"must satisfy {self.bound_text}, got {value}", param, ctx)
        return number


class BoundedFloat(click.ParamType):
    """A finite number in a range, ``[low, high]`` or with open ends: NaN and the infinities
    are refused (click's FloatRange lets NaN through every bound), and the error names the
    range (and what the number counts, ``unit``)."""

    name = "number"

    def __init__(
        self, low: float, high: float, *, low_open: bool = False, high_open: bool = False, unit: str = ""
    ) -> None:
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        self.unit = unit

    @property
    def bound_text(self) -> str:
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        of = f" of {self.unit}" if self.unit else ""
        return f"a finite number{of} in {left}{self.low:g}, {self.high:g}{right}"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, bool):
            self.fail(f"must be {self.bound_text}, got {value!r}", param, ctx)
        try:
            number = float(value if isinstance(value, int | float) else str(value).strip())
        except (ValueError, OverflowError):
            self.fail(f"must be {self.bound_text}, got {value!r}", param, ctx)
        above = number > self.low if self.low_open else number >= self.low
        below = number < self.high if self.high_open else number <= self.high
        if not (math.isfinite(number) and above and below):
            self.fail(f"must be {self.bound_text}, got {value}", param, ctx)
        return number


#: Amounts in units (``--cash``, ``--position``, ``--trade``) of 10**1000 or more are refused
#: before they are scaled (the scaled integer would pass the 4,300 digits Python prints);
#: below, the engine refuses what passes the field's own bound (``|cash| < 2**80``).
UNITS_LIMIT_EXPONENT = 1000


def units_value(field: str, text: str) -> int:
    """A number of units (``-2.5``) as an exact integer x 10**6 (``engine.human.parse_units``),
    once its size is known to be sane: ``1e99999999`` would overflow the exact arithmetic
    (or build a number of a million digits), and ``1e-9999999999`` would underflow to 0."""
    from decimal import Decimal, InvalidOperation

    from engine.errors import InputError
    from engine.human import DECIMALS, parse_units

    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal(0)  # parse_units names the problem
    if value.is_finite() and value != 0:
        if value.adjusted() >= UNITS_LIMIT_EXPONENT:
            raise InputError(
                field, f"must be below 10**{UNITS_LIMIT_EXPONENT} units in size, got {text.strip()[:40]!r}"
            )
        if value.adjusted() < -DECIMALS:
            raise InputError(field, f"has more than {DECIMALS} decimals: {text.strip()[:40]!r}")
    return parse_units(field, text)


#: Account ids and epochs: ``0 <= x < 2**64`` (docs/margin-model.md section 1).
UINT64 = BoundedInt(0, 2**64, "0 <= x < 2**64")
#: Seconds a gate setting counts (a ``uint64`` of the contract, never 0).
SECONDS_UINT64 = BoundedInt(1, 2**64, "1 <= x < 2**64 seconds (a uint64 of the gate)")


json_option = click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")


def profile_option(default: str = "test") -> Callable[[FC], FC]:
    """``--profile`` naming one of the circuit profiles of :mod:`engine.profiles`."""
    return click.option(
        "--profile",
        type=click.Choice(sorted(PROFILES)),
        default=default,
        show_default=True,
        help="circuit profile (A assets, k slots, tree depth d)",
    )


#: ``--prover``: which Groth16 prover makes the proofs (``prover.backends.choice``).
PROVER_CHOICES = ("auto", "arkworks", "rapidsnark", "snarkjs")  # prover.backends.BACKENDS

prover_option = click.option(
    "--prover",
    "prover_backend_flag",
    type=click.Choice(PROVER_CHOICES),
    default=None,
    help="Groth16 prover: arkworks (native), rapidsnark (helper), snarkjs, or auto (the fastest built) "
    "[default: $ZKMARGIN_PROVER, [prover] backend, else auto]",
)


def prover_backend(flag: str | None) -> str:
    """``--prover``, else $ZKMARGIN_PROVER, else the settings file, else ``auto``."""
    from zkmargin.settings import load_settings

    value = str(load_settings().get("prover.backend", flag))
    if value not in PROVER_CHOICES:
        raise click.BadParameter(
            f"{value!r} is not one of {', '.join(PROVER_CHOICES)}", param_hint="--prover"
        )
    return value


# ---------------------------------------------------------------------- chains


chain_option = click.option(
    "--chain",
    "chain_kind",
    type=click.Choice(THROWAWAY_CHAINS),
    default=None,
    help="a throwaway chain that ends with this command: embedded py-evm or a fresh anvil",
)
rpc_option = click.option(
    "--rpc",
    metavar="URL",
    default=None,
    help="a running node (default: $ZKMARGIN_RPC, zkmargin.toml, then the deployment file's URL)",
)


def chain_target(
    chain_kind: str | None, rpc: str | None, recorded_rpc: str | None, recorded_kind: str | None = None
) -> str:
    """Where a command connects, the same rule in every command:

    ``--rpc URL`` > ``--chain embedded|anvil`` > ``$ZKMARGIN_RPC`` / ``zkmargin.toml`` >
    the RPC URL recorded in the deployment file. A deployment made on a throwaway chain
    records none: that chain is gone.
    """
    from zkmargin.cli.render import CliError
    from zkmargin.settings import load_settings

    if chain_kind is not None and rpc is not None:
        raise click.UsageError("pass --chain or --rpc, not both")
    if rpc is not None:
        return rpc
    if chain_kind is not None:
        return chain_kind
    configured = load_settings().get("chain.rpc")
    if configured:
        return str(configured)
    if recorded_rpc:
        return recorded_rpc
    if recorded_kind in THROWAWAY_CHAINS:
        raise CliError(
            f"the deployment file's gate was deployed on a throwaway {recorded_kind} chain that lived only "
            "inside the deploying process: run `zkmargin chain node` and "
            "`zkmargin chain --rpc http://127.0.0.1:8545 deploy`, then the other commands find that node"
        )
    raise CliError(
        "no chain given: pass --rpc URL (or set ZKMARGIN_RPC), "
        "or --chain embedded|anvil for a throwaway chain that ends with this command"
    )
