"""Engine objects -> the input JSON of the offline one-account ``MarginCheck(A, k, d)``
(circuits/margin_check.circom).

Its inputs are those of one batch entry (``prover.statements.witness_input``:
:func:`account_fields` and :func:`shared_fields`, the inputs of ``AccountMargin``) and
the three public inputs of the one-account statement (commitment, market root, params
hash). The market, the parameters and the account are checked first (spec sections 1
and 2), as for a batch.
"""

from __future__ import annotations

from engine.commitments import MarketCommitments, commitment, params_hash
from engine.model import Account, Market, RiskParams
from prover.statements.witness_input import CircuitInput, account_fields, shared_fields, validate_inputs


def build_input(
    market: Market,
    params: RiskParams,
    account: Account,
    commitments: MarketCommitments | None = None,
    *,
    validate: bool = True,
) -> CircuitInput:
    """The full input of ``MarginCheck(A, k, d)`` for one account.

    ``commitments`` (the market's tree and roots) can be passed in when many
    accounts share one market. ``validate=False`` skips the bound checks and is
    meant only for tests that build deliberately bad witnesses.
    """
    if validate:
        validate_inputs(market, params, account)
    mc = commitments if commitments is not None else MarketCommitments(market)
    fields = account_fields(market, account, mc)  # checks the slot count first
    return {
        "commitment": str(commitment(account)),
        "market_root": str(mc.market_root),
        "params_hash": str(params_hash(params)),
        **fields,
        **shared_fields(market, params, mc),
    }
