"""One way to put a keeper together: job log, prover pool, durable transactions and the
keeper itself, started and closed in order (``zkmargin operator run`` and the demo)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from prover.backends.choice import AUTO
from prover.keys.artifacts import CircuitArtifacts
from verifier_contracts.batch_gate import BatchGate
from verifier_contracts.chain import Chain
from zkmargin.keeper.cluster import LOCAL
from zkmargin.keeper.job_log import JobLog
from zkmargin.keeper.keeper import Keeper, KeeperSettings
from zkmargin.keeper.pool import DEFAULT_LEASE_SECONDS, ProverPool
from zkmargin.keeper.transactions import DurableTxs

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

logger = logging.getLogger("zkmargin.keeper.operator")


@contextmanager
def open_keeper(
    settings: KeeperSettings,
    db: Path,
    chain: Chain,
    gate: BatchGate,
    artifacts: CircuitArtifacts,
    *,
    keys: Sequence[LocalAccount] = (),
    workers: int = 1,
    cluster: str = LOCAL,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    backend: str = AUTO,
) -> Iterator[Keeper]:
    """A keeper on the job log ``db`` (opened, or created, and recovered after a crash: jobs
    caught proving go back to pending) and bound to ``chain`` and ``gate`` (or checked against
    them: :meth:`Keeper.bind_chain`), its prover pool started on ``workers`` of ``cluster``,
    its transactions signed with ``keys`` (else by the node); the pool and the log are
    closed when the block ends, however it ends."""
    log = JobLog(db)
    try:
        requeued = log.jobs.recover()
        if requeued:
            logger.info("recovered the job log: %d job(s) caught proving go back to pending", requeued)
        pool = ProverPool(
            artifacts, log.path, workers, cluster=cluster, lease_seconds=lease_seconds, backend=backend
        )
    except BaseException:
        log.close()
        raise
    txs = DurableTxs(chain, gate.artifact.abi, keys=keys)
    keeper = Keeper(settings, log, gate, chain.roles, pool, txs)
    try:
        keeper.bind_chain()  # before anything the log calls done is skipped
        pool.start()
        yield keeper
    finally:
        pool.close()
        log.close()
