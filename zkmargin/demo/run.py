"""``zkmargin demo``: the whole flow, end to end, in one process.

1. a synthetic market (3 assets, spot, perps, an options chain) and a generated price
   history, calibrated into volatility forecasts and a correlation matrix;
2. a few dozen accounts of every status, margined with the vectorised engine;
3. the circuit built and set up (both cached; a local ptau is single-party);
4. verifier and gate deployed; market, parameters and commitments posted;
5. a market shock (new epoch), every margin recomputed;
6. proofs of every liquidatable account and of one healthy account;
7. one attestation and the liquidations, on chain;
8. one user's proof audited offline (py_ecc, no node) and against the chain;
9. a summary: accounts by status, proofs, gas per call, time per step.

The demo writes what a user would hold (account, market, parameters, proof, key) to
``OUT/user-<id>/`` and its figures to ``OUT/summary.json``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from engine.commitments import MarketCommitments, commitment, params_hash
from engine.fileio import write_json_atomic
from engine.formats import (
    LabeledAccount,
    ParamsFile,
    QuotesFile,
    dump_account,
    dump_market,
    dump_params,
    make_market_file,
)
from engine.margin_batch import AccountBatch, compute_margins
from engine.market_builder import build_market
from engine.model import Account, Market
from engine.money import money
from engine.profiles import Profile, get_profile
from engine.report import explain, liquidation_prices
from engine.status import Status
from prover.artifacts import prepare_artifacts
from prover.bundle import ProofBundle
from prover.prove import Prover
from prover.prove_account import prove_account
from verifier_contracts.chain import connect
from verifier_contracts.gate import MarginGate, TxResult, deploy_verifier
from zkmargin.audit import audit_offline, audit_onchain
from zkmargin.cli.render import print_checks, status_text
from zkmargin.demo.data import DEMO_AS_OF, demo_accounts, demo_market, shocked_quotes

SHOCK = {"BTC": -0.12, "ETH": -0.16, "SOL": -0.22}
SHOCK_VOL = 1.35


@dataclass
class DemoOptions:
    profile: str = "demo"
    chain: str = "embedded"  # "embedded", "anvil" or an RPC URL
    accounts: int = 24
    out: Path = Path("build/demo")
    ptau: Path | None = None
    seed: int = 11


@dataclass
class DemoSummary:
    """What the demo did, with its figures (written to ``summary.json``)."""

    profile: str
    chain: str
    constraints: int = 0
    statuses_before: dict[str, int] = field(default_factory=dict)
    statuses_after: dict[str, int] = field(default_factory=dict)
    proofs: int = 0
    proof_seconds: list[float] = field(default_factory=list)
    gas: dict[str, list[int]] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    liquidated: list[int] = field(default_factory=list)
    attested: list[int] = field(default_factory=list)
    audit_ok: bool = False

    def record_gas(self, call: str, tx: TxResult) -> None:
        self.gas.setdefault(call, []).append(tx.gas_used)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "chain": self.chain,
            "constraints": self.constraints,
            "statuses_before": self.statuses_before,
            "statuses_after": self.statuses_after,
            "proofs": self.proofs,
            "proof_seconds": self.proof_seconds,
            "gas": self.gas,
            "steps_seconds": self.steps,
            "liquidated": self.liquidated,
            "attested": self.attested,
            "audit_ok": self.audit_ok,
        }


class DemoRun:
    """One run of the demo; each method is one step."""

    def __init__(self, options: DemoOptions, console: Console) -> None:
        self.opt = options
        self.console = console
        self.profile: Profile = get_profile(options.profile)
        self.summary = DemoSummary(options.profile, options.chain)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.console.rule(f"[bold]{title}")
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.summary.steps[title] = round(seconds, 3)
        self.console.print(f"[dim]{title}: {seconds:.1f} s[/dim]")

    # ------------------------------------------------------------ 1-2 market

    def build_market(self) -> None:
        with self.step("1 market and calibration"):
            world = demo_market(self.profile, epoch=1, as_of=DEMO_AS_OF)
            calibration = world.calibration
            self.history, self.quotes, self.instruments = world.history, world.quotes, world.instruments
            self.config, self.params, self.market = world.config, world.params, world.market
            table = Table(title="calibrated from a generated 400-day history", box=box.SIMPLE_HEAD)
            for col in ("asset", "spot", "implied vol", "EWMA vol", "GARCH vol", "instruments"):
                table.add_column(col, justify="right")
            for q in self.quotes:
                count = sum(1 for s in self.instruments if s.asset == q.name)
                table.add_row(
                    q.name,
                    f"{q.spot:,.2f}",
                    f"{q.vol:.0%}",
                    f"{calibration.ewma[q.name]:.0%}",
                    f"{calibration.garch[q.name].forecast:.0%}",
                    str(count),
                )
            self.console.print(table)
            rho = calibration.correlation
            names = [q.name for q in self.quotes]
            pairs = ", ".join(
                f"{names[i]}/{names[j]} {rho[i][j]:.2f}"
                for i in range(len(names))
                for j in range(i + 1, len(names))
            )
            self.console.print(f"correlation (EWMA, nearest PSD): {pairs}")

    def make_accounts(self) -> None:
        with self.step("2 accounts"):
            self.accounts, _ = demo_accounts(self.market, self.params, self.opt.accounts, self.opt.seed)
            results = self._margins(self.market)
            self.summary.statuses_before = _count(results)
            self.console.print(
                f"{len(self.accounts)} accounts margined (vectorised): {_status_text(self.summary.statuses_before)}"
            )

    def _margins(self, market: Market) -> list[int]:
        batch = AccountBatch.from_accounts(self.accounts)
        result = compute_margins(market, self.params, batch)
        return [int(s) for s in result.status]

    # ------------------------------------------------------------ 3 circuit

    def prepare_circuit(self) -> None:
        with self.step("3 circuit build and trusted setup"):
            self.artifacts = prepare_artifacts(
                self.profile.name, ptau=self.opt.ptau, console=self.console, notify=self.console.print
            )
            info = self.artifacts.summary()
            self.summary.constraints = self.artifacts.constraints
            self.console.print(
                f"MarginCheck(A={self.profile.assets}, k={self.profile.slots}, d={self.profile.depth}): "
                f"{self.artifacts.constraints:,} constraints; zkey {info.get('zkey_bytes', 0) / 1e6:.1f} MB; "
                f"ptau {info.get('ptau')}"
            )
            if info.get("single_party"):
                self.console.print(
                    "[yellow]trusted setup: single-party (local ptau and one phase-2 contribution): "
                    "fine for a demo, never for production keys[/yellow]"
                )

    # ------------------------------------------------------------ 4-7 chain

    def run_chain(self) -> None:
        with connect(self.opt.chain) as chain:
            self.chain = chain
            with self.step("4 deploy and post"):
                verifier, tx = deploy_verifier(chain, self.artifacts.verifier_sol.read_text())
                self.summary.record_gas("deploy verifier", tx)
                self.gate, tx = MarginGate.deploy(chain, verifier)
                self.summary.record_gas("deploy gate", tx)
                self.summary.record_gas("setParams", self.gate.set_params(params_hash(self.params)))
                root = MarketCommitments(self.market).market_root
                self.summary.record_gas("postMarket", self.gate.post_market(root, self.market.epoch))
                ids = [a.account_id for a in self.accounts]
                tx = self.gate.commit_accounts(ids, [commitment(a) for a in self.accounts])
                self.summary.record_gas(f"commitAccounts ({len(ids)})", tx)
                self.console.print(
                    f"{chain.kind} chain: verifier {verifier}, gate {self.gate.address}; "
                    f"epoch 1 posted; {len(ids)} commitments in one batch ({tx.gas_used:,} gas)"
                )
            self.shock()
            self.prove()
            self.submit()
            self.audit()

    def shock(self) -> None:
        with self.step("5 market shock and new epoch"):
            moves = ", ".join(f"{k} {v:+.0%}" for k, v in SHOCK.items())
            self.console.print(f"shock: {moves}; implied vols x{SHOCK_VOL}")
            self.quotes = shocked_quotes(self.quotes, SHOCK, SHOCK_VOL)
            self.market = build_market(
                self.profile, 2, self.quotes, self.instruments, self.config, DEMO_AS_OF
            )
            self.commitments = MarketCommitments(self.market)
            self.summary.record_gas(
                "postMarket", self.gate.post_market(self.commitments.market_root, self.market.epoch)
            )
            statuses = self._margins(self.market)
            self.statuses = dict(zip((a.account_id for a in self.accounts), statuses, strict=True))
            self.summary.statuses_after = _count(statuses)
            self.console.print(f"epoch 2 posted; margins now: {_status_text(self.summary.statuses_after)}")

    def prove(self) -> None:
        with self.step("6 proofs"):
            liquidatable = [a for a in self.accounts if self.statuses[a.account_id] >= 2]
            healthy = next(a for a in self.accounts if self.statuses[a.account_id] == 0)
            todo = [*liquidatable, healthy]
            self.bundles: dict[int, ProofBundle] = {}
            progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
            )
            with Prover(notify=self.console.print) as prover, progress:
                task = progress.add_task("proving", total=len(todo))
                for account in todo:
                    progress.update(task, description=f"proving account {account.account_id}")
                    started = time.perf_counter()
                    bundle = prove_account(
                        self.market,
                        self.params,
                        account,
                        self.artifacts,
                        prover,
                        commitments=self.commitments,
                        self_check=False,  # the gate verifies every one of them on chain
                    ).bundle
                    self.summary.proof_seconds.append(round(time.perf_counter() - started, 3))
                    self.bundles[account.account_id] = bundle
                    progress.advance(task)
                backend = prover.backend
            self.summary.proofs = len(todo)
            mean = sum(self.summary.proof_seconds) / len(todo)
            self.console.print(
                f"{len(todo)} proofs ({len(liquidatable)} liquidatable, 1 healthy), "
                f"{mean:.2f} s each on average ({backend})"
            )
            self.healthy = healthy

    def submit(self) -> None:
        with self.step("7 attest and liquidate on chain"):
            hid = self.healthy.account_id
            self.summary.record_gas("attest", self.gate.attest(hid, self.bundles[hid].to_dict()))
            self.summary.attested.append(hid)
            for account in self.accounts:
                aid = account.account_id
                if self.statuses[aid] < 2:
                    continue
                tx = self.gate.liquidate(aid, self.bundles[aid].to_dict())
                self.summary.record_gas("liquidate", tx)
                self.summary.liquidated.append(aid)
            open_cases = sum(
                1 for aid in self.summary.liquidated if self.gate.status_of(aid).liquidation_open
            )
            self.console.print(
                f"account {hid} attested healthy; {len(self.summary.liquidated)} liquidations opened "
                f"({open_cases} open cases on chain)"
            )

    # ------------------------------------------------------------ 8 audit

    def audit(self) -> None:
        with self.step("8 user audit"):
            aid = self.summary.liquidated[0] if self.summary.liquidated else self.healthy.account_id
            account = next(a for a in self.accounts if a.account_id == aid)
            folder = self.write_user_files(account)
            report = audit_offline(
                account, self.market, self.params, self.bundles[aid], self.artifacts.vkey_json()
            )
            chain_checks = audit_onchain(self.gate, aid, account, self.bundles[aid])
            print_checks(
                f"audit of account {aid} (files in {folder})", [*report.checks, *chain_checks], self.console
            )
            self.summary.audit_ok = report.ok and all(c.ok for c in chain_checks)
            prices = liquidation_prices(
                self.market, self.params, account, self.quotes, self.instruments, self.config, DEMO_AS_OF
            )
            ex = explain(self.market, self.params, account, prices)
            r = ex.result
            self.console.print(
                f"margin: {status_text(r.status)}; equity {money(r.E)}, IM {money(r.IM)} "
                f"(scenario risk {money(r.R)}, liquidity {money(sum(r.LQ))}, static {money(r.SC)}), "
                f"MM {money(r.MM)}, shortfall {money(r.shortfall)}"
            )
            for lp in prices:
                if lp.held:
                    where = "already liquidatable" if lp.already else _liq_text(lp.below, lp.above)
                    self.console.print(f"  {lp.name} at {lp.spot:,.2f}: {where}")
            self.console.print(
                f"the user re-runs it with: zkmargin audit --account {folder}/account.json "
                f"--market {folder}/market.json --params {folder}/params.json --proof {folder}/proof.json "
                f"--vkey {folder}/vkey.json"
            )

    def write_user_files(self, account: Account) -> Path:
        """What a user holds: their account, the market, parameters, proof and key."""
        folder = self.opt.out / f"user-{account.account_id}"
        source = QuotesFile(DEMO_AS_OF, tuple(self.quotes), tuple(self.instruments))
        market_file = make_market_file(self.market, source, self.config, self.params.rho)
        write_json_atomic(folder / "market.json", dump_market(market_file))
        names = [q.name for q in self.quotes]
        kappa = {name: self.params.kappa[i] for i, name in enumerate(names)}
        params_file = ParamsFile(self.params.mm_factor, kappa, self.params.rho, self.config)
        write_json_atomic(folder / "params.json", dump_params(params_file))
        write_json_atomic(
            folder / "account.json", dump_account(LabeledAccount(account, f"demo-{account.account_id}"))
        )
        self.bundles[account.account_id].save(folder / "proof.json")
        write_json_atomic(folder / "vkey.json", self.artifacts.vkey_json())
        return folder

    # ------------------------------------------------------------ 9 summary

    def print_summary(self) -> None:
        s = self.summary
        self.console.rule("[bold]summary")
        table = Table(title="accounts by status", box=box.SIMPLE_HEAD)
        table.add_column("status")
        table.add_column("epoch 1", justify="right")
        table.add_column("after the shock", justify="right")
        for status in Status:
            table.add_row(
                status_text(status),
                str(s.statuses_before.get(status.label, 0)),
                str(s.statuses_after.get(status.label, 0)),
            )
        self.console.print(table)
        gas = Table(title="gas per call", box=box.SIMPLE_HEAD)
        for col in ("call", "calls", "gas (mean)", "gas (max)"):
            gas.add_column(col, justify="right" if col != "call" else "left")
        for call, used in s.gas.items():
            gas.add_row(call, str(len(used)), f"{sum(used) // len(used):,}", f"{max(used):,}")
        self.console.print(gas)
        steps = Table(title="time per step", box=box.SIMPLE_HEAD)
        steps.add_column("step")
        steps.add_column("seconds", justify="right")
        for name, seconds in s.steps.items():
            steps.add_row(name, f"{seconds:.1f}")
        self.console.print(steps)
        mean = sum(s.proof_seconds) / max(len(s.proof_seconds), 1)
        self.console.print(
            f"profile {s.profile} ({s.constraints:,} constraints); {s.proofs} proofs, {mean:.2f} s each; "
            f"{len(s.liquidated)} liquidations on chain; audit {'passed' if s.audit_ok else 'FAILED'}"
        )
        write_json_atomic(self.opt.out / "summary.json", s.to_dict())
        self.console.print(f"figures written to {self.opt.out / 'summary.json'}")


def run_demo(options: DemoOptions, console: Console) -> DemoSummary:
    """Run every step; return the summary (also written to ``OUT/summary.json``)."""
    started = time.perf_counter()
    run = DemoRun(options, console)
    console.print(
        f"[bold]zkmargin demo[/bold]: profile {run.profile.name} (A={run.profile.assets}, "
        f"k={run.profile.slots}, d={run.profile.depth}), chain {options.chain}"
    )
    run.build_market()
    run.make_accounts()
    run.prepare_circuit()
    run.run_chain()
    run.summary.steps["total"] = round(time.perf_counter() - started, 3)
    run.print_summary()
    return run.summary


def _count(statuses: list[int]) -> dict[str, int]:
    counts = Counter(statuses)
    return {s.label: counts.get(s, 0) for s in Status}


def _status_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items())


def _liq_text(below: float | None, above: float | None) -> str:
    parts = []
    if below is not None:
        parts.append(f"liquidatable below {below:,.2f}")
    if above is not None:
        parts.append(f"above {above:,.2f}")
    return " and ".join(parts) if parts else "no liquidation price within 0.01x-100x spot"
