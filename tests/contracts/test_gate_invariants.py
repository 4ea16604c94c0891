"""The batch gate's invariants under random call sequences (hypothesis stateful testing on
the embedded py-evm chain, with real Groth16 proofs of the toy batch circuit).

Every step is a call by a random sender with random arguments: postMarket, setParams,
setMaxMarketAge, postAccounts, liquidateBatch, closeLiquidation, setRole, or a jump of
chain time. A model predicts, for each call,
whether the gate must accept it and what it records, and after every step the gate's
state must equal the model's:

* no one but the oracle, governance, the operator and the owner changes market roots,
  parameters, the accounts root or roles;
* a batch is accepted only against the latest market root while it is fresh, the current
  parameters and the latest accounts root; a market's expiry is its post time plus the
  maximum age in force when it was posted, whatever governance sets later; a case opens only for a status-2/3 entry whose case is not
  open, and a closed case only on a later market or accounts epoch (otherwise the entry
  is skipped, the batch still accepted);
* no single post stops later posts (each epoch 1 to MAX_EPOCH_STEP above the last, a root
  once, for markets and for accounts), so a legal post is always possible.

(Forge fuzzing was the first plan: forge needs a native solc, which no registry this
project installs from provides; solc-js serves py-evm, so the invariants are checked here.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine.batch_statement import BatchEntry
from engine.fixedpoint import FIELD_P
from tests.contracts.conftest import (
    ACCOUNTS_1,
    ACCOUNTS_2,
    ALICE,
    BOB,
    PARAMS_1,
    PARAMS_2,
    ROOT_1,
    ROOT_2,
    GateEnv,
    deploy_env,
)
from tests.contracts.conftest import MAX_AGE as DEPLOYED_AGE
from tests.contracts.toy_prover import batch_toy_proof_source
from verifier_contracts.chain import embedded
from verifier_contracts.gate import GateRevert, Role

ROOTS = [ROOT_1, ROOT_2, ROOT_2 + 7, FIELD_P - 1, 0, FIELD_P]  # the last two are never valid
ACCOUNT_ROOTS = [ACCOUNTS_1, ACCOUNTS_2, ACCOUNTS_2 + 5, 0, FIELD_P]
PARAMS = [PARAMS_1, PARAMS_2]
EPOCH_STEPS = [-1, 0, 1, 2, 1000, 1001, 2**64 - 2]
ACCOUNT_STEPS = [0, 1, 2, 1000, 1001]
IDS = [ALICE, BOB]
SENDERS = ["owner", "governance", "oracle", "operator", "liquidator", "user"]
MAX_EPOCH_STEP = 1000
# Ages and time jumps far apart: a step's own blocks (a second or so each, at most a minute
# in all) never move a market across its expiry, so the model needs no exact timestamps.
AGES = [600, 1_000_500]
JUMPS = [1000, 2_000_000]


@dataclass
class Model:
    epoch: int = 1
    root: int = ROOT_1
    posted: set[int] = field(default_factory=lambda: {ROOT_1})
    params: int = PARAMS_1
    accounts_epoch: int = 1
    accounts_root: int = ACCOUNTS_1
    accounts_posted: set[int] = field(default_factory=lambda: {ACCOUNTS_1})
    open_cases: set[int] = field(default_factory=set)
    closed_at: dict[int, tuple[int, int]] = field(default_factory=dict)  # (market, accounts epoch)
    max_age: int = DEPLOYED_AGE  # for markets posted from now on
    market_age: int = DEPLOYED_AGE  # the age the latest market was posted with
    jumped: int = 0  # seconds of time jumps since the latest market was posted

    @property
    def fresh(self) -> bool:
        return self.jumped <= self.market_age


class GateMachine(RuleBasedStateMachine):
    env: GateEnv
    model: Model

    @initialize()
    def deploy(self) -> None:
        self.env = deploy_env(embedded(), batch_toy_proof_source())
        self.model = Model()

    def _sender(self, name: str) -> str:
        return str(getattr(self.env.chain.roles, name))

    def _expect(self, call: object, accepted: bool) -> None:
        if accepted:
            call()  # type: ignore[operator]
        else:
            with pytest.raises(GateRevert):
                call()  # type: ignore[operator]

    @rule(sender=st.sampled_from(SENDERS), root=st.sampled_from(ROOTS), step=st.sampled_from(EPOCH_STEPS))
    def post_market(self, sender: str, root: int, step: int) -> None:
        m = self.model
        epoch = m.epoch + step
        if not 0 <= epoch < 2**64:
            return
        ok = (
            sender == "oracle"
            and 1 <= epoch - m.epoch <= MAX_EPOCH_STEP
            and 0 < root < FIELD_P
            and root not in m.posted
        )
        self._expect(lambda: self.env.gate.post_market(root, epoch, sender=self._sender(sender)), ok)
        if ok:
            m.epoch, m.root = epoch, root
            m.posted.add(root)
            m.market_age, m.jumped = m.max_age, 0

    @rule(sender=st.sampled_from(SENDERS), age=st.sampled_from(AGES))
    def set_max_market_age(self, sender: str, age: int) -> None:
        """Only governance; it changes the age of markets posted later, not the latest's."""
        ok = sender == "governance"
        self._expect(lambda: self.env.gate.set_max_market_age(age, sender=self._sender(sender)), ok)
        if ok:
            self.model.max_age = age

    @rule(seconds=st.sampled_from(JUMPS))
    def time_passes(self, seconds: int) -> None:
        self.env.chain.advance_time(seconds)
        self.model.jumped += seconds

    @rule(sender=st.sampled_from(SENDERS), value=st.sampled_from(PARAMS))
    def set_params(self, sender: str, value: int) -> None:
        ok = sender == "governance"
        self._expect(lambda: self.env.gate.set_params(value, sender=self._sender(sender)), ok)
        if ok:
            self.model.params = value

    @rule(
        sender=st.sampled_from(SENDERS),
        root=st.sampled_from(ACCOUNT_ROOTS),
        step=st.sampled_from(ACCOUNT_STEPS),
    )
    def post_accounts(self, sender: str, root: int, step: int) -> None:
        m = self.model
        epoch = m.accounts_epoch + step
        ok = (
            sender == "operator"
            and 1 <= step <= MAX_EPOCH_STEP
            and 0 < root < FIELD_P
            and root not in m.accounts_posted
        )
        self._expect(lambda: self.env.gate.post_accounts(root, epoch, sender=self._sender(sender)), ok)
        if ok:
            m.accounts_epoch, m.accounts_root = epoch, root
            m.accounts_posted.add(root)

    @rule(
        sender=st.sampled_from(SENDERS),
        account=st.sampled_from(IDS),
        status=st.sampled_from([1, 2, 3]),
        latest_root=st.booleans(),
        current_params=st.booleans(),
        latest_accounts=st.booleans(),
    )
    def liquidate(
        self,
        sender: str,
        account: int,
        status: int,
        latest_root: bool,
        current_params: bool,
        latest_accounts: bool,
    ) -> None:
        m = self.model
        root = m.root if latest_root else ROOT_1
        params = m.params if current_params else next(p for p in PARAMS if p != m.params)
        accounts = m.accounts_root if latest_accounts else ACCOUNTS_1
        call = self.env.call([BatchEntry(account, status, 1)], accounts=accounts, root=root, params=params)
        ok = root == m.root and params == m.params and accounts == m.accounts_root and m.fresh
        self._expect(lambda: self.env.gate.liquidate_batch(call, sender=self._sender(sender)), ok)
        if not ok or status < 2 or account in m.open_cases:
            return
        closed = m.closed_at.get(account)
        if closed is None or m.epoch > closed[0] or m.accounts_epoch > closed[1]:
            m.open_cases.add(account)

    @rule(sender=st.sampled_from(SENDERS), account=st.sampled_from(IDS), status=st.sampled_from([2, 3]))
    def liquidate_with_a_valid_proof(self, sender: str, account: int, status: int) -> None:
        """Anyone, a status-2/3 proof on the latest roots and current parameters: accepted
        while the market is fresh, and a case opens unless one is open, or was closed at
        these epochs."""
        self.liquidate(sender, account, status, latest_root=True, current_params=True, latest_accounts=True)

    @rule(account=st.sampled_from(IDS))
    def operator_closes(self, account: int) -> None:
        self.close("operator", account)

    @rule(sender=st.sampled_from(SENDERS), account=st.sampled_from(IDS))
    def replay_after_close(self, sender: str, account: int) -> None:
        """Open a case, the operator closes it, then try the same proof again."""
        self.liquidate_with_a_valid_proof(sender, account, 2)
        self.operator_closes(account)
        self.liquidate_with_a_valid_proof(sender, account, 2)

    @rule(sender=st.sampled_from(SENDERS), account=st.sampled_from(IDS))
    def close(self, sender: str, account: int) -> None:
        m = self.model
        ok = sender == "operator" and account in m.open_cases
        self._expect(lambda: self.env.gate.close_liquidation(account, sender=self._sender(sender)), ok)
        if ok:
            m.open_cases.discard(account)
            m.closed_at[account] = (m.epoch, m.accounts_epoch)

    @rule(
        sender=st.sampled_from([s for s in SENDERS if s != "owner"]),
        role=st.sampled_from([Role.ORACLE, Role.OPERATOR]),
    )
    def take_a_role(self, sender: str, role: Role) -> None:
        self._expect(
            lambda: self.env.gate.set_role(role, self._sender(sender), sender=self._sender(sender)), False
        )

    @invariant()
    def the_gate_equals_the_model(self) -> None:
        if not hasattr(self, "model"):
            return
        gate, m = self.env.gate, self.model
        market = gate.latest_market()
        assert (market.root, market.epoch) == (m.root, m.epoch)
        assert (market.expires_at - market.posted_at, market.fresh) == (m.market_age, m.fresh)
        assert gate.max_market_age() == m.max_age
        assert gate.params_hash() == m.params
        assert gate.accounts_root() == (m.accounts_root, m.accounts_epoch)
        roles = gate.role_holders()
        for name in ("owner", "governance", "oracle", "operator"):
            assert roles[name] == self._sender(name)
        for account in IDS:
            assert gate.status_of(account).liquidation_open == (account in m.open_cases)

    @invariant()
    def a_legal_post_is_always_possible(self) -> None:
        if not hasattr(self, "model"):
            return
        # simulated only: the next epochs with fresh roots are accepted (nothing is changed)
        m, fns = self.model, self.env.gate.contract.functions
        fns.postMarket(ROOT_2 + 10**6 + m.epoch, m.epoch + 1).call({"from": self._sender("oracle")})
        fns.postAccounts(ACCOUNTS_2 + 10**6 + m.accounts_epoch, m.accounts_epoch + 1).call(
            {"from": self._sender("operator")}
        )


GateMachine.TestCase.settings = settings(
    max_examples=6,  # 6 runs of 10 steps (~40 s on this machine; 12 took ~80 s)
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_gate_invariants = GateMachine.TestCase
