"""The gate's invariants under random call sequences (hypothesis stateful testing on the
embedded py-evm chain, with real Groth16 proofs of the toy circuit).

Every step is a call by a random sender with random arguments: postMarket, setParams,
commitAccounts, liquidate, closeLiquidation, setRole. A model predicts, for each call,
whether the gate must accept it, and after every step the gate's state must equal the
model's:

* no one but the oracle, governance, the operator and the owner changes market roots,
  parameters, commitments or roles;
* a case opens only from a valid status-2/3 proof against the latest root, the current
  parameters and the account's current commitment, never twice, and a closed case only on
  a later epoch or after a new commitment;
* no single post stops later posts (each epoch 1 to MAX_EPOCH_STEP above the last, a root
  once), so a legal post is always possible.

(Forge fuzzing was the first plan: forge needs a native solc, which no registry this
project installs from provides; solc-js serves py-evm, so the invariants are checked here.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine.fixedpoint import FIELD_P
from tests.contracts.conftest import ACCOUNTS, PARAMS_1, PARAMS_2, ROOT_1, ROOT_2, GateEnv, deploy_env
from tests.contracts.toy_prover import toy_proof_source
from verifier_contracts.chain import embedded
from verifier_contracts.gate import GateRevert, Role

ROOTS = [ROOT_1, ROOT_2, ROOT_2 + 7, FIELD_P - 1, 0, FIELD_P]  # the last two are never valid
PARAMS = [PARAMS_1, PARAMS_2]
EPOCH_STEPS = [-1, 0, 1, 2, 1000, 1001, 2**64 - 2]
IDS = sorted(ACCOUNTS)[:2]
SENDERS = ["owner", "governance", "oracle", "operator", "liquidator", "user"]
MAX_EPOCH_STEP = 1000


@dataclass
class Model:
    epoch: int = 1
    root: int = ROOT_1
    posted: set[int] = field(default_factory=lambda: {ROOT_1})
    params: int = PARAMS_1
    commitments: dict[int, int] = field(default_factory=lambda: {i: ACCOUNTS[i] for i in IDS})
    open_cases: set[int] = field(default_factory=set)
    closed_at: dict[int, int] = field(default_factory=dict)
    next_commitment: int = 0xC0FFEE


class GateMachine(RuleBasedStateMachine):
    env: GateEnv
    model: Model

    @initialize()
    def deploy(self) -> None:
        self.env = deploy_env(embedded(), toy_proof_source())
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

    @rule(sender=st.sampled_from(SENDERS), value=st.sampled_from(PARAMS))
    def set_params(self, sender: str, value: int) -> None:
        ok = sender == "governance"
        self._expect(lambda: self.env.gate.set_params(value, sender=self._sender(sender)), ok)
        if ok:
            self.model.params = value

    @rule(sender=st.sampled_from(SENDERS), account=st.sampled_from(IDS))
    def commit(self, sender: str, account: int) -> None:
        m = self.model
        value = m.next_commitment
        ok = sender == "operator"
        self._expect(
            lambda: self.env.gate.commit_accounts([account], [value], sender=self._sender(sender)), ok
        )
        if ok:
            m.next_commitment += 1
            m.commitments[account] = value
            self.env.commitments[account] = value
            m.open_cases.discard(account)
            m.closed_at.pop(account, None)

    @rule(
        sender=st.sampled_from(SENDERS),
        account=st.sampled_from(IDS),
        status=st.sampled_from([1, 2, 3]),
        latest_root=st.booleans(),
        current_params=st.booleans(),
    )
    def liquidate(
        self, sender: str, account: int, status: int, latest_root: bool, current_params: bool
    ) -> None:
        m = self.model
        root = m.root if latest_root else ROOT_1
        params = m.params if current_params else next(p for p in PARAMS if p != m.params)
        bundle = self.env.bundle(account, status, 1, root=root, params=params)
        closed = m.closed_at.get(account)
        ok = (
            status >= 2
            and root == m.root
            and params == m.params
            and account not in m.open_cases
            and (closed is None or m.epoch > closed)
        )
        self._expect(lambda: self.env.gate.liquidate(account, bundle, sender=self._sender(sender)), ok)
        if ok:
            m.open_cases.add(account)

    @rule(sender=st.sampled_from(SENDERS), account=st.sampled_from(IDS), status=st.sampled_from([2, 3]))
    def liquidate_with_a_valid_proof(self, sender: str, account: int, status: int) -> None:
        """Anyone, a status-2/3 proof on the latest root and current parameters: accepted
        unless a case is open, or was closed in this epoch."""
        self.liquidate(sender, account, status, latest_root=True, current_params=True)

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
            m.closed_at[account] = m.epoch

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
        assert gate.params_hash() == m.params
        roles = gate.role_holders()
        for name in ("owner", "governance", "oracle", "operator"):
            assert roles[name] == self._sender(name)
        for account in IDS:
            status = gate.status_of(account)
            assert status.commitment == m.commitments[account]
            assert status.liquidation_open == (account in m.open_cases)

    @invariant()
    def a_legal_post_is_always_possible(self) -> None:
        if not hasattr(self, "model"):
            return
        # simulated only: the next epoch with a fresh root is accepted (nothing is changed)
        fn = self.env.gate.contract.functions.postMarket(
            ROOT_2 + 10**6 + self.model.epoch, self.model.epoch + 1
        )
        fn.call({"from": self._sender("oracle")})


GateMachine.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_gate_invariants = GateMachine.TestCase
