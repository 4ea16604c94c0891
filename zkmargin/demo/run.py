"""``zkmargin demo``: the whole flow, end to end, in one process.

The demo is a script over the project's own APIs: the engine's pipeline builds markets
and margins, and the operator's keeper (``zkmargin.keeper``) posts markets and the
accounts root, proves and liquidates in batches, exactly as ``zkmargin operator run`` does.

1. a synthetic market (3 assets, spot, perps, an options chain) and a generated price
   history, calibrated into volatility forecasts and a correlation matrix;
2. a few dozen accounts of every status, margined with the vectorised engine;
3. the batch circuit built and set up (both cached; a local setup is single-party);
4. verifier and gate deployed, the risk parameters set by governance;
5. the keeper on the first snapshot: market posted, one accounts root for every account,
   the liquidatable accounts proved K at a time (insolvent first, then by shortfall) and
   liquidated with one transaction per batch;
6. a market shock: the keeper on the new snapshot (a new epoch), more liquidations;
7. one healthy account proved and attested on chain (a batch of one);
8. two users audit their batch proofs offline (py_ecc, no node), against the published
   accounts tree and against the chain, and see their margin and liquidation prices: the
   first liquidated user the batch that liquidated them, the healthy user their attestation;
9. a summary: accounts by status, proofs, gas per call and per account, time per step.

The demo writes what a user would hold (account, market, parameters, batch proof, key,
the published accounts tree) to ``OUT/user-<id>/``, the keeper's inputs and job log to
``OUT/keeper/``, and its figures to ``OUT/summary.json``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from engine.commitments import params_hash
from engine.errors import CheckFailed
from engine.fileio import write_json_atomic
from engine.formats import (
    LabeledAccount,
    ParamsFile,
    QuotesFile,
    dump_account,
    dump_accounts,
    dump_accounts_tree,
    dump_market,
    dump_params,
    dump_quotes,
    load_accounts_tree,
    load_quotes,
    make_market_file,
)
from engine.margin_arrays import AccountBatch
from engine.margin_batch import compute_margins
from engine.model import Account, AssetQuote, Market
from engine.money import money
from engine.pipeline import price_market
from engine.profiles import Profile, get_profile
from engine.report import explain, liquidation_prices
from engine.status import Status
from prover.backends.prove import Prover
from prover.keys.artifacts import CircuitArtifacts, prepare_artifacts
from prover.statements.batch_bundle import BatchBundle
from prover.statements.prove_batch import prove_batch
from prover.toolchain.build import batch_spec
from verifier_contracts.batch_gate import BatchGate, batch_calldata
from verifier_contracts.chain import connect
from verifier_contracts.gate import deploy_verifier
from zkmargin.audit import audit_batch_offline, audit_batch_onchain
from zkmargin.demo.data import DEMO_AS_OF, demo_accounts, demo_market, shocked_quotes
from zkmargin.demo.summary import DemoSummary, count_statuses, liquidation_text, print_summary, statuses_text
from zkmargin.keeper.factory import open_keeper
from zkmargin.keeper.keeper import Keeper, KeeperSettings
from zkmargin.keeper.liquidations import OPENED
from zkmargin.keeper.snapshots import read_snapshot
from zkmargin.text import print_checks, status_text

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
    prover: str = "auto"  # Groth16 backend: auto, arkworks or snarkjs


#: The files of ``OUT/user-<id>/``, by the audit page's name for each (``web/index.html``).
USER_FILES = {
    "account": "account.json",
    "market": "market.json",
    "params": "params.json",
    "proof": "proof.json",
    "vkey": "vkey.json",
    "accountsTree": "accounts-tree.json",
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
            names = [q.name for q in self.quotes]
            kappa = {name: self.params.kappa[i] for i, name in enumerate(names)}
            self.params_file = ParamsFile(self.params.mm_factor, kappa, self.params.rho, self.config)
            self.markets: dict[int, tuple[Market, list[AssetQuote]]] = {}
            self.bundles: dict[int, BatchBundle] = {}
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
            counts = count_statuses(self._margins(self.market))
            self.console.print(
                f"{len(self.accounts)} accounts margined (vectorised): {statuses_text(counts)}"
            )

    def _margins(self, market: Market) -> list[int]:
        batch = AccountBatch.from_accounts(self.accounts)
        result = compute_margins(market, self.params, batch)
        return [int(s) for s in result.status]

    # ------------------------------------------------------------ 3 circuit

    def prepare_circuit(self) -> None:
        with self.step("3 circuit build and trusted setup"):
            self.artifacts: CircuitArtifacts = prepare_artifacts(
                batch_spec(self.profile), ptau=self.opt.ptau, console=self.console, notify=self.console.print
            )
            info = self.artifacts.summary()
            keys = self.artifacts.setup
            assert keys is not None
            size = self.profile.batch_size
            self.summary.constraints = self.summary.batch_constraints = self.artifacts.constraints
            self.summary.batch_size = size
            self.console.print(
                f"MarginBatch(A={self.profile.assets}, k={self.profile.slots}, d={self.profile.depth}, "
                f"K={size}, D={self.profile.accounts_depth}): {self.artifacts.constraints:,} constraints "
                f"({self.artifacts.constraints // size:,} per account); "
                f"zkey {info.get('zkey_bytes', 0) / 1e6:.1f} MB; keys from {keys.origin()}"
            )
            note = keys.trust_note()
            if note:
                self.console.print(f"[yellow]{note}[/yellow]")

    # ------------------------------------------------------------ 4-7 chain

    def run_chain(self) -> None:
        with connect(self.opt.chain) as chain:
            self.chain = chain
            with self.step("4 deploy and set parameters"):
                verifier, tx = deploy_verifier(chain, self.artifacts.verifier_sol.read_text())
                self.summary.record_gas("deploy verifier", tx)
                self.gate, tx = BatchGate.deploy(chain, verifier, self.profile.batch_size)
                self.summary.record_gas("deploy gate", tx)
                self.summary.gate = self.gate.address
                self.summary.record_gas("setParams", self.gate.set_params(params_hash(self.params)))
                self.console.print(
                    f"{chain.kind} chain: verifier {verifier}, gate {self.gate.address} (batches of "
                    f"{self.profile.batch_size}); parameters set"
                )
            with self.keeper() as keeper:
                with self.step("5 keeper: first snapshot"):
                    self.run_keeper(keeper, self.quotes, "q-1-open.json")
                with self.step("6 market shock: keeper on the new snapshot"):
                    moves = ", ".join(f"{k} {v:+.0%}" for k, v in SHOCK.items())
                    self.console.print(f"shock: {moves}; implied vols x{SHOCK_VOL}")
                    self.run_keeper(keeper, shocked_quotes(self.quotes, SHOCK, SHOCK_VOL), "q-2-shock.json")
                self.record_keeper_gas(keeper)
                self.published = load_accounts_tree(keeper.tree_path())
            self.attest_healthy()
            self.audit()

    @contextmanager
    def keeper(self) -> Iterator[Keeper]:
        """The operator's keeper on this chain, with its job log and prover pool in
        ``OUT/keeper/`` (started afresh: the chain is new)."""
        folder = self.opt.out / "keeper"
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "snapshots").mkdir(parents=True)
        accounts_path = folder / "accounts.json"
        write_json_atomic(accounts_path, dump_accounts([LabeledAccount(a) for a in self.accounts]))
        write_json_atomic(folder / "params.json", dump_params(self.params_file))
        settings = KeeperSettings(accounts_path, self.params_file, self.profile)
        with open_keeper(
            settings,
            folder / "operator.sqlite",
            self.chain,
            self.gate,
            self.artifacts,
            keys=self.chain.local_keys(),
            backend=self.opt.prover,
        ) as keeper:
            self.summary.prover = keeper.pool.backend
            yield keeper

    def run_keeper(self, keeper: Keeper, quotes: list[AssetQuote], name: str) -> None:
        """Write the quotes as a snapshot and let the keeper take it as far as it goes."""
        path = self.opt.out / "keeper" / "snapshots" / name
        write_json_atomic(path, dump_quotes(QuotesFile(DEMO_AS_OF, tuple(quotes), tuple(self.instruments))))
        outcome = keeper.process(read_snapshot(path))
        if outcome.state != "done" or outcome.jobs.get("failed"):
            raise CheckFailed(f"the keeper did not finish snapshot {name}: {outcome.reason or outcome.jobs}")
        priced = price_market(load_quotes(path, self.profile), self.params_file, self.profile, outcome.epoch)
        self.markets[outcome.epoch] = (priced.market, quotes)
        self.market, self.market_quotes = priced.market, quotes
        statuses = self._margins(priced.market)
        counts = count_statuses(statuses)
        ids = [
            a.account_id for a, st in zip(self.accounts, statuses, strict=True) if st >= Status.LIQUIDATABLE
        ]
        if not self.summary.statuses_before:
            self.summary.statuses_before, self.summary.liquidatable_before = counts, ids
        else:
            self.summary.statuses_after, self.summary.liquidatable_after = counts, ids
        confirmed = [j for j in keeper.log.jobs.select(outcome.snapshot_id) if j.state == "confirmed"]
        opened = 0
        for job in confirmed:
            bundle = BatchBundle.from_dict(json.loads(job.bundle or "{}"))
            gas = self._gas_of(keeper, job.tx_hash)
            ids_opened = [i for i, what in (job.outcome or {}).items() if what == OPENED]
            for account_id in ids_opened:
                self.bundles[account_id] = bundle
                self.summary.liquidated.append(account_id)
            opened += len(ids_opened)
            self.summary.batches.append(
                {
                    "epoch": outcome.epoch,
                    "accounts": job.account_ids,
                    "opened": ids_opened,
                    "gas": gas,
                    "gas_per_account": round(gas / len(job.account_ids)),
                }
            )
        posted = "posted the accounts root and " if outcome.accounts_posted else ""
        self.console.print(
            f"epoch {outcome.epoch}: {statuses_text(counts)}; the keeper posted the market, {posted}"
            f"opened {opened} liquidation(s) in {len(confirmed)} batch(es) of up to {self.profile.batch_size} "
            f"({outcome.already_open} already open), in {outcome.seconds:.1f} s"
        )

    @staticmethod
    def _gas_of(keeper: Keeper, tx_hash: str | None) -> int:
        receipt = keeper.txs.receipt(tx_hash) if tx_hash else None
        return int(receipt["gasUsed"]) if receipt is not None else 0

    def record_keeper_gas(self, keeper: Keeper) -> None:
        """Gas of every transaction the keeper sent, by call, and its proving times."""
        for tx in keeper.log.txs.all():
            receipt = keeper.txs.receipt(tx.tx_hash)
            if receipt is None or receipt["status"] != 1:
                continue
            self.summary.gas.setdefault(tx.purpose.split(" ")[0], []).append(int(receipt["gasUsed"]))
        self.summary.proof_seconds.extend(round(t.seconds, 3) for t in keeper.pool.timings)
        self.summary.proofs = len(keeper.pool.timings)

    def attest_healthy(self) -> None:
        with self.step("7 attest a healthy account"):
            # the healthy account nearest its maintenance margin (lowest E / MM): the one
            # whose attestation and liquidation prices matter most to its user
            margins = compute_margins(self.market, self.params, AccountBatch.from_accounts(self.accounts))
            healthy = [i for i, st in enumerate(margins.status) if int(st) == Status.HEALTHY]
            nearest = min(healthy, key=lambda i: Fraction(int(margins.E[i]), max(int(margins.MM[i]), 1)))
            self.healthy = self.accounts[nearest]
            started = time.perf_counter()
            with Prover(notify=self.console.print, backend=self.opt.prover) as prover:
                proved = prove_batch(
                    self.market, self.params, [self.healthy], self.published, self.artifacts, prover
                )
            self.summary.proof_seconds.append(round(time.perf_counter() - started, 3))
            self.summary.proofs += 1
            hid = self.healthy.account_id
            _, accounts_epoch = self.gate.accounts_root()
            self.bundles[hid] = BatchBundle.of(proved, {hid: self.published.path(hid)}, accounts_epoch)
            tx = self.gate.attest_batch(batch_calldata(proved.proof.proof, proved.public_signals))
            self.summary.record_gas("attestBatch (1)", tx)
            self.summary.attested.append(hid)
            open_cases = sum(
                1 for aid in self.summary.liquidated if self.gate.status_of(aid).liquidation_open
            )
            self.console.print(
                f"account {hid} proved and attested healthy in a batch of one ({proved.proof.backend}); "
                f"{open_cases} liquidation cases open on chain"
            )

    # ------------------------------------------------------------ 8 audit

    def audit(self) -> None:
        with self.step("8 user audit"):
            # the first user the keeper liquidated audits the batch proof that liquidated
            # them, and the healthy user their attestation: each against the market of that
            # proof's epoch and the published accounts tree
            liquidated = self.audit_user(self.summary.liquidated[0], "the batch proof that liquidated them")
            healthy = self.audit_user(self.healthy.account_id, "their attestation (a batch of one)")
            self.summary.audit_ok = liquidated and healthy

    def audit_user(self, aid: int, what: str) -> bool:
        """One user's audit of ``what``, offline and on chain, with their margin and
        liquidation prices; their files written to ``OUT/user-<id>/``. True if it passed."""
        account = next(a for a in self.accounts if a.account_id == aid)
        bundle = self.bundles[aid]
        market, quotes = self.markets[bundle.market_epoch]
        folder = self.write_user_files(account, market, quotes)
        report = audit_batch_offline(
            account, market, self.params, bundle, self.artifacts.vkey_json(), published=self.published
        )
        chain_checks = audit_batch_onchain(self.gate, aid, bundle)
        print_checks(
            f"audit by account {aid} of {what} ({len(bundle.entries)} account(s) in one proof; "
            f"files in {folder})",
            [*report.checks, *chain_checks],
            self.console,
        )
        prices = liquidation_prices(
            market, self.params, account, quotes, self.instruments, self.config, DEMO_AS_OF
        )
        ex = explain(market, self.params, account, prices)
        r = ex.result
        self.console.print(
            f"margin: {status_text(r.status)}; equity {money(r.E)}, IM {money(r.IM)} "
            f"(scenario risk {money(r.R)}, liquidity {money(sum(r.LQ))}, static {money(r.SC)}), "
            f"MM {money(r.MM)}, shortfall {money(r.shortfall)}"
        )
        for lp in prices:
            if lp.held:
                where = "already liquidatable" if lp.already else liquidation_text(lp.below, lp.above)
                self.console.print(f"  {lp.name} at {lp.spot:,.2f}: {where}")
        self.console.print(
            f"the user re-runs it with: zkmargin audit --account {folder}/account.json "
            f"--market {folder}/market.json --params {folder}/params.json --proof {folder}/proof.json "
            f"--vkey {folder}/vkey.json --accounts-tree {folder}/accounts-tree.json"
        )
        self.console.print(
            f"or in a browser, with nothing installed: zkmargin audit web, then drop the files of {folder}"
        )
        return report.ok and all(c.ok for c in chain_checks)

    def write_user_files(self, account: Account, market: Market, quotes: list[AssetQuote]) -> Path:
        """What a user holds (``USER_FILES``): their account, the market, parameters, batch
        proof, key and the published accounts tree."""
        folder = self.opt.out / f"user-{account.account_id}"
        path = {slot: folder / name for slot, name in USER_FILES.items()}
        source = QuotesFile(DEMO_AS_OF, tuple(quotes), tuple(self.instruments))
        market_file = make_market_file(market, source, self.config, self.params.rho)
        write_json_atomic(path["market"], dump_market(market_file))
        write_json_atomic(path["params"], dump_params(self.params_file))
        write_json_atomic(
            path["account"], dump_account(LabeledAccount(account, f"demo-{account.account_id}"))
        )
        self.bundles[account.account_id].save(path["proof"])
        write_json_atomic(path["vkey"], self.artifacts.vkey_json())
        write_json_atomic(path["accountsTree"], dump_accounts_tree(self.published))
        return folder

    # ------------------------------------------------------------ 9 summary


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
    print_summary(run.summary, console, options.out)
    return run.summary
