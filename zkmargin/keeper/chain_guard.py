"""What the keeper checks of the chain under its job log before it trusts the log.

* **The binding** (:func:`binding_here`, :func:`bind_log`): a job log records the chain
  and gate it was first used on (chain id, genesis block hash, gate address, the gate's
  deployment block, its code hash); on every later use another chain or gate stops the
  keeper (``KeeperError``): nothing the log records holds there.
* **A done snapshot** (:func:`lost_on_chain`, :func:`reopen_jobs`): skipped only while the
  gate holds its market root under its epoch and each confirmed liquidation; else its
  vanished liquidations go back to ``submitted`` and its failed jobs to ``pending``, and
  the keeper moves the snapshot to ``new`` (``done -> new``; every snapshot state change
  is the keeper loop's), to be processed again.
* **The deployment** (:func:`check_deployment`): the chain must still hold the block the
  deployment file recorded for the gate.
"""

from __future__ import annotations

import logging

from eth_utils import keccak

from verifier_contracts.batch_gate import BatchGate
from zkmargin.keeper.errors import KeeperError, short
from zkmargin.keeper.job_log import ChainBinding, JobLog
from zkmargin.keeper.posting import missing_market
from zkmargin.keeper.snapshot_store import Snapshot
from zkmargin.keeper.transactions import DurableTxs

logger = logging.getLogger("zkmargin.keeper.operator")

#: (block number, block hash) of the gate's deployment, from the deployment file.
DeploymentBlock = tuple[int, str]


def binding_here(txs: DurableTxs, gate: BatchGate, deployment: DeploymentBlock | None) -> ChainBinding:
    """The chain and gate the keeper runs on, as a job log records them."""
    w3 = txs.w3
    genesis = w3.eth.get_block(0)
    code = bytes(w3.eth.get_code(w3.to_checksum_address(gate.address)))
    return ChainBinding(
        chain_id=int(w3.eth.chain_id),
        genesis_hash="0x" + bytes(genesis["hash"]).hex(),
        gate=w3.to_checksum_address(gate.address),
        deployment_block=f"{deployment[0]}:{deployment[1].lower()}" if deployment else "",
        gate_code_hash="0x" + keccak(code).hex(),
    )


def bind_log(log: JobLog, here: ChainBinding) -> None:
    """Bind ``log`` to ``here`` on its first use (a log of an earlier version, written
    without a binding, is bound now, with a warning: its done snapshots are checked against
    the gate before any is skipped); on every later use, stop (``KeeperError``) unless it
    is the same chain and gate."""
    recorded = log.chain_binding()
    if recorded is None:
        log.bind_chain(here)
        earlier = bool(log.snapshots.all())
        logger.log(
            logging.WARNING if earlier else logging.INFO,
            "job log %s %s chain %d (genesis %s), gate %s%s",
            log.path,
            "records no chain (an earlier version wrote it): bound now to" if earlier else "bound to",
            here.chain_id,
            short(here.genesis_hash),
            here.gate,
            "; its done snapshots are checked against the gate before any is skipped" if earlier else "",
        )
        return
    differs = recorded.differences(here)
    if differs:
        raise KeeperError(
            f"the job log {log.path} was written against another chain or gate: "
            + "; ".join(differs)
            + "; the chain was reset or replaced, or the gate redeployed: nothing it records "
            "holds here; use a new --db for this chain"
        )


def _mined(txs: DurableTxs, tx_hash: str | None) -> bool:
    receipt = txs.receipt(tx_hash) if tx_hash else None
    return receipt is not None and receipt["status"] == 1


def lost_on_chain(log: JobLog, gate: BatchGate, txs: DurableTxs, record: Snapshot) -> str | None:
    """What the chain no longer holds of a snapshot the log calls ``done`` (None: all of
    it): its market root under its epoch, and each confirmed job's liquidation (its
    receipt, or every account of the batch with a case open or proven at this epoch or
    later on the gate)."""
    if not record.epoch:
        return None  # failed before it was built
    missing = missing_market(gate, record.market_root, record.epoch)
    if missing is not None:
        return missing
    for job in log.jobs.select(record.snapshot_id, state="confirmed"):
        if _mined(txs, job.tx_hash):
            continue
        records = gate.statuses_of(job.account_ids).values()
        if all(r.liquidation_open or r.proven_epoch >= record.epoch for r in records):
            continue  # confirmed without its own tx (cases found open), or proven since
        return f"the liquidation of {job.label} (tx {short(job.tx_hash or '-')}) is not on chain"
    return None


def reopen_jobs(log: JobLog, txs: DurableTxs, record: Snapshot) -> None:
    """The jobs of a ``done`` snapshot the chain lost, before the keeper moves it back to
    ``new``: its vanished liquidations back to ``submitted``, its failed jobs to ``pending``."""
    for job in log.jobs.select(record.snapshot_id, state="confirmed"):
        if not _mined(txs, job.tx_hash):
            log.jobs.reopen(job, f"tx {job.tx_hash} no longer on chain: settled again", final_too=True)
    log.jobs.retry_failed(record.snapshot_id, every=True)


def check_deployment(txs: DurableTxs, deployment: DeploymentBlock | None) -> None:
    """Stop (``KeeperError``) when the chain no longer holds the gate's deployment block:
    a reset or a deep reorganisation, possibly with another gate at the same address."""
    if deployment is None:
        return
    number, recorded = deployment
    try:
        block = txs.w3.eth.get_block(number)
    except Exception:  # BlockNotFound, or a node that forgot it
        block = None
    found = None if block is None else "0x" + bytes(block["hash"]).hex()
    if found != recorded.lower():
        raise KeeperError(
            f"the chain no longer holds the gate's deployment: block {number} is "
            f"{found or 'missing'}, the deployment file recorded {recorded}; the chain was reset "
            "or reorganised under the gate: deploy again and start a new job log"
        )
