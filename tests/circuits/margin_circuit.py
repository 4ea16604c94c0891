"""MarginCheck(A, k, d) compiled for a profile, and the engine's expected values."""

from __future__ import annotations

from dataclasses import dataclass

from engine.commitments import MarketCommitments, commitment, params_hash
from engine.fixedpoint import to_field
from engine.margin import MarginResult, compute_margin
from engine.model import Account, Market, RiskParams
from engine.profiles import Profile
from prover.offline.witness_input import build_input
from tests.circuits.harness import CompiledCircuit, compile_circuit


def margin_check(profile: Profile) -> CompiledCircuit:
    source = (
        "pragma circom 2.1.0;\n"
        'include "margin_check.circom";\n'
        "component main {public [commitment, market_root, params_hash]} = "
        f"MarginCheck({profile.assets}, {profile.slots}, {profile.depth});\n"
    )
    return compile_circuit(f"margin_check_{profile.name}", source)


def intermediate_names(profile: Profile, prefix: str = "acct.") -> list[str]:
    """Named signals of AccountMargin compared with the engine (those the optimiser keeps),
    under ``prefix`` (MarginCheck's component ``acct``; ``acct[i].`` in MarginBatch)."""
    per_asset = ["W", "worst", "S", "U", "N", "LQ"]
    names = [f"{n}[{a}]" for n in per_asset for a in range(profile.assets)]
    return [prefix + n for n in [*names, "X", "R", "SC", "MM", "E"]]


def expected_intermediates(result: MarginResult, profile: Profile, prefix: str = "acct.") -> dict[str, int]:
    values: dict[str, int] = {}
    for a in range(profile.assets):
        values[f"W[{a}]"] = result.W[a]
        values[f"worst[{a}]"] = result.worst_scenario[a]
        values[f"S[{a}]"] = result.S[a]
        values[f"U[{a}]"] = result.U[a]
        values[f"N[{a}]"] = result.N[a]
        values[f"LQ[{a}]"] = result.LQ[a]
    values.update(X=result.X, R=result.R, SC=result.SC, MM=result.MM, E=result.E)
    return {prefix + k: to_field(v) for k, v in values.items()}


@dataclass
class Expected:
    public: tuple[int, ...]
    intermediates: dict[str, int]


def expected(market: Market, params: RiskParams, account: Account, mc: MarketCommitments) -> Expected:
    r = compute_margin(market, params, account)
    public = (r.status, r.shortfall, commitment(account), mc.market_root, params_hash(params))
    return Expected(tuple(to_field(v) for v in public), expected_intermediates(r, market.profile))


def inputs_and_expected(
    cases: list[tuple[Market, RiskParams, Account]],
) -> tuple[list[dict[str, object]], list[Expected]]:
    commitments: dict[int, MarketCommitments] = {}
    inputs: list[dict[str, object]] = []
    exp: list[Expected] = []
    for market, params, account in cases:
        mc = commitments.setdefault(id(market), MarketCommitments(market))
        inputs.append(build_input(market, params, account, mc))
        exp.append(expected(market, params, account, mc))
    return inputs, exp


def margin_batch(profile: Profile, size: int | None = None) -> CompiledCircuit:
    """``MarginBatch(A, k, d, K, D)`` of ``profile`` (K = ``size`` or the profile's)."""
    k_size = profile.batch_size if size is None else size
    source = (
        "pragma circom 2.1.0;\n"
        'include "margin_batch.circom";\n'
        "component main {public [accounts_root, market_root, params_hash, count, words]} = "
        f"MarginBatch({profile.assets}, {profile.slots}, {profile.depth}, {k_size}, {profile.accounts_depth});\n"
    )
    return compile_circuit(f"margin_batch_{profile.name}_K{k_size}", source)
