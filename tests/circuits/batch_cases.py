"""Batches for the MarginBatch tests: the margin cases of one market and parameters,
given distinct ids and put in an accounts tree with other accounts."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from engine.accounts_tree import AccountsTree
from engine.commitments import commitment
from engine.fixedpoint import FIELD_P, ID_LIMIT
from engine.model import Account, Market, RiskParams
from tests.circuits.cases import Case


@dataclass
class Batch:
    market: Market
    params: RiskParams
    accounts: list[Account]  # in strictly increasing id order
    tree: AccountsTree


def batches_of(cases: list[Case], size: int, seed: int, others: int = 30) -> list[Batch]:
    """Every case in some batch of 1..``size`` accounts of one market; each batch's tree
    also holds ``others`` accounts that are not in it."""
    rng = random.Random(seed)
    groups: dict[tuple[int, int], tuple[Market, RiskParams, list[Account]]] = {}
    for market, params, account in cases:
        groups.setdefault((id(market), id(params)), (market, params, []))[2].append(account)
    out: list[Batch] = []
    for market, params, accounts in groups.values():
        pending = list(accounts)
        while pending:
            n = rng.randint(1, size)
            chunk, pending = pending[:n], pending[n:]
            chosen = {rng.randrange(ID_LIMIT) for _ in chunk}
            if rng.random() < 0.3:  # the extreme ids
                chosen = set(list(chosen)[: len(chunk) - 2]) | {0, ID_LIMIT - 1}
            while len(chosen) < len(chunk):
                chosen.add(rng.randrange(ID_LIMIT))
            ids = sorted(chosen)[: len(chunk)]
            members = [dataclasses.replace(a, account_id=i) for a, i in zip(chunk, ids, strict=True)]
            tree_commitments = {a.account_id: commitment(a) for a in members}
            while len(tree_commitments) < len(members) + others:
                tree_commitments.setdefault(rng.randrange(ID_LIMIT), rng.randrange(FIELD_P))
            tree = AccountsTree(tree_commitments, depth=market.profile.accounts_depth)
            out.append(Batch(market, params, members, tree))
    return out
