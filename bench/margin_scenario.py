"""A small, real margin scenario for one circuit profile: the demo's market, accounts of
every status, the engine's commitments, and real Groth16 proofs of chosen accounts.

Used by the batch gas benchmark (``bench.batch_gas``, real proofs) and the batch tests with
the real circuit (audit, gate on chain). Everything is built
with the demo's seeded helpers (``zkmargin.demo.data``), so two runs give the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from engine.commitments import MarketCommitments, commitment, params_hash
from engine.margin import compute_margin
from engine.market_builder import build_market
from engine.model import Account, AssetQuote, InstrumentSpec, Market, RiskParams, RowConfig
from engine.profiles import Profile, get_profile
from prover.backends.protocol import ProvesCircuits
from prover.keys.artifacts import CircuitArtifacts
from prover.offline.bundle import ProofBundle
from prover.offline.prove_account import AccountProof, prove_account
from zkmargin.demo.data import DEMO_AS_OF, demo_accounts, demo_market, shocked_quotes

HEALTHY, RESTRICTED, LIQUIDATABLE, INSOLVENT = 0, 1, 2, 3


@dataclass(frozen=True)
class MarginScenario:
    """One market epoch with its governed parameters and accounts, margined by the engine."""

    profile: Profile
    market: Market
    params: RiskParams
    accounts: Mapping[int, Account]  # by account id
    quotes: tuple[AssetQuote, ...]
    instruments: tuple[InstrumentSpec, ...]
    config: RowConfig
    hashes: MarketCommitments = field(repr=False)

    @property
    def epoch(self) -> int:
        return self.market.epoch

    @property
    def market_root(self) -> int:
        return self.hashes.market_root

    @property
    def params_hash(self) -> int:
        return params_hash(self.params)

    def commitment(self, account_id: int) -> int:
        """The section-5 commitment of account ``account_id``."""
        return commitment(self.accounts[account_id])

    def status(self, account_id: int) -> int:
        """The engine's status of account ``account_id`` on this market."""
        return compute_margin(self.market, self.params, self.accounts[account_id]).status

    def first_with_status(self, status: int) -> Account:
        """The account with the lowest id whose engine status is ``status``."""
        for account_id in sorted(self.accounts):
            if self.status(account_id) == status:
                return self.accounts[account_id]
        raise LookupError(f"no account of status {status} in the scenario")

    def at_epoch(
        self, epoch: int, shock: Mapping[str, float] | None = None, vol: float = 1.0
    ) -> MarginScenario:
        """The same accounts and parameters on a new market ``epoch``; ``shock`` moves spots
        by the given fractions and ``vol`` scales implied volatilities."""
        quotes = tuple(shocked_quotes(self.quotes, dict(shock or {}), vol))
        market = build_market(self.profile, epoch, quotes, self.instruments, self.config, DEMO_AS_OF)
        return replace(self, market=market, quotes=quotes, hashes=MarketCommitments(market))

    def with_accounts(self, accounts: Iterable[Account]) -> MarginScenario:
        """This market with ``accounts`` added or replaced (by id)."""
        merged = dict(self.accounts) | {a.account_id: a for a in accounts}
        return replace(self, accounts=merged)

    def prove(self, account_id: int, artifacts: CircuitArtifacts, prover: ProvesCircuits) -> AccountProof:
        """A real proof of account ``account_id`` on this market (checked against the engine)."""
        return prove_account(
            self.market,
            self.params,
            self.accounts[account_id],
            artifacts,
            prover,
            commitments=self.hashes,
            self_check=False,
        )


def build_scenario(
    profile: str = "test", *, epoch: int = 1, accounts: int = 8, seed: int = 11
) -> MarginScenario:
    """The demo's market for ``profile`` (``min(3, A)`` assets, as many instruments as the
    tree holds) at ``epoch`` and ``accounts`` accounts cycling through the four statuses."""
    prof = get_profile(profile)
    world = demo_market(prof, epoch=epoch, as_of=DEMO_AS_OF)
    quotes, instruments = tuple(world.quotes), tuple(world.instruments)
    config, params, market = world.config, world.params, world.market
    made, _ = demo_accounts(market, params, accounts, seed)
    return MarginScenario(
        profile=prof,
        market=market,
        params=params,
        accounts={a.account_id: a for a in made},
        quotes=quotes,
        instruments=instruments,
        config=config,
        hashes=MarketCommitments(market),
    )


def bundle_dict(bundle: ProofBundle) -> dict[str, object]:
    """A fresh JSON-like copy of ``bundle`` that a caller may edit."""
    copied: dict[str, object] = json.loads(json.dumps(bundle.to_dict()))
    return copied
