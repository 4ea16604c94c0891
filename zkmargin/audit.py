"""A user's audit of their own margin proof, offline (no node needed) and, for a batch
proof, given an RPC URL and the gate's address, against the chain.

The user holds their account file (with its salt and nonce), the published market
file and parameters, the proof bundle the operator made, and the published
verification key. Each check is independent and says what it compared:

1. the verification key is the one the bundle names (sha256), and the bundle's profile
   and epoch are the market file's;
2. the commitment recomputed from the account file is the proof's public commitment;
3. the market root recomputed from the market file (rows, asset table, epoch) is the
   proof's public market root;
4. the parameters hash recomputed from the parameters is the proof's params hash;
5. the engine's status and shortfall for this account equal the proof's outputs;
6. the Groth16 proof verifies (pure Python, py_ecc), with the public inputs in range,
   the points on their curves and B in the G2 subgroup;

A batch proof (``audit_batch_offline``) is audited the same way, with the account's leaf
and path in the accounts tree in place of check 2 and the entry that names the account in
place of the proof's own status and shortfall; the gate takes batch proofs only, so only
a batch proof is audited on chain (``audit_batch_onchain``): the accounts root and the
market root were posted, the params hash is the gate's, and the gate's record of the
account is its entry. A single-account proof is an offline statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.accounts_tree import AccountsTree, account_leaf
from engine.commitments import MarketCommitments, commitment, params_hash
from engine.margin import MarginResult, compute_margin
from engine.model import Account, Market, RiskParams
from engine.money import money
from engine.status import Status
from prover.keys.vkey import vkey_sha256
from prover.statements.batch_bundle import BatchBundle
from prover.verification.verify_py import verify_groth16

if TYPE_CHECKING:
    from prover.offline.bundle import ProofBundle  # the offline one-account file: a type here
    from verifier_contracts.batch_gate import BatchGate


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class AuditReport:
    checks: tuple[Check, ...]
    result: MarginResult

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "status": self.result.status,
            "status_name": Status(self.result.status).label,
            "shortfall": str(self.result.shortfall),
            "equity": str(self.result.E),
            "im": str(self.result.IM),
            "mm": str(self.result.MM),
        }


def _same(name: str, mine: int, theirs: int, what: str) -> Check:
    if mine == theirs:
        return Check(name, True, f"{what} matches ({_short(mine)})")
    return Check(name, False, f"{what} differs: yours {_short(mine)}, the proof's {_short(theirs)}")


def _short(x: int) -> str:
    text = str(x)
    return text if len(text) <= 16 else f"{text[:8]}...{text[-6:]}"


def _key_check(vkey: dict[str, Any], named: str) -> Check:
    """The verification key is the one the bundle names (sha256)."""
    key_hash = vkey_sha256(vkey)
    if key_hash == named:
        return Check("verification key", True, f"sha256 {key_hash[:16]}... as the bundle names")
    return Check(
        "verification key", False, f"the key's sha256 {key_hash[:16]}... is not the bundle's {named[:16]}..."
    )


def _fields_check(profile: str, epoch: int, market: Market) -> Check:
    """The bundle's profile and market epoch are the market file's."""
    ok = (profile, epoch) == (market.profile.name, market.epoch)
    detail = f"profile {profile!r}, epoch {epoch}"
    if not ok:
        detail += f"; the market is profile {market.profile.name!r}, epoch {market.epoch}"
    return Check("bundle fields", ok, detail)


def audit_offline(
    account: Account,
    market: Market,
    params: RiskParams,
    bundle: ProofBundle,
    vkey: dict[str, Any],
    *,
    pairing_impl: str = "both",
) -> AuditReport:
    """Checks 1-6 above; never needs node or a chain.

    The proof is checked with py_ecc's own reference pairing and with the fast pairing,
    and both must agree (``pairing_impl="both"``, the default); bulk checks may pass
    ``"fast"``.
    """
    checks = [
        _key_check(vkey, bundle.vkey_sha256),
        _fields_check(bundle.profile, bundle.market_epoch, market),
    ]
    checks.append(_same("commitment", commitment(account), bundle.commitment, "account commitment"))
    mc = MarketCommitments(market)
    checks.append(
        _same("market root", mc.market_root, bundle.market_root, f"market root (epoch {market.epoch})")
    )
    checks.append(_same("params hash", params_hash(params), bundle.params_hash, "risk-parameters hash"))
    result = compute_margin(market, params, account)
    margin_ok = (result.status, result.shortfall) == (bundle.status, bundle.shortfall)
    checks.append(
        Check(
            "margin",
            margin_ok,
            f"engine: {Status(result.status).label}, shortfall {money(result.shortfall)}; "
            f"proof: status {bundle.status}, shortfall {money(bundle.shortfall)}",
        )
    )
    verdict = verify_groth16(vkey, bundle.public_signals, bundle.proof, pairing_impl=pairing_impl)
    how = {"both": "py_ecc reference and fast pairing", "reference": "py_ecc reference pairing"}
    checks.append(
        Check("proof", verdict.ok, f"Groth16 ({how.get(pairing_impl, 'fast pairing')}): {verdict.reason}")
    )
    return AuditReport(tuple(checks), result)


def posted_roots(gate: BatchGate) -> dict[int, int]:
    """Every market root the oracle posted to ``gate``, with its epoch (from the events)."""
    logs = gate.contract.events.MarketPosted().get_logs(from_block=0)
    return {int(log["args"]["root"]): int(log["args"]["epoch"]) for log in logs}


def _posted_check(
    name: str, noun: str, root: int, latest: tuple[int, int], posted: dict[int, int], who: str
) -> Check:
    """``root`` is the latest posted (``latest`` = (root, epoch)), an earlier one, or never posted."""
    if root == latest[0]:
        return Check(name, True, f"the latest {noun} (epoch {latest[1]})")
    if root in posted:
        return Check(
            name,
            True,
            f"posted at epoch {posted[root]}, but not the latest (epoch {latest[1]}): "
            "the gate would not accept this proof now",
        )
    return Check(name, False, f"the {who} never posted the proof's {noun}")


def _market_posted(gate: BatchGate, root: int) -> Check:
    latest = gate.latest_market()
    check = _posted_check(
        "market posted", "market root", root, (latest.root, latest.epoch), posted_roots(gate), "oracle"
    )
    if check.ok and root == latest.root and not latest.fresh:
        return Check(check.name, True, check.detail + ", stale: older than the gate's maximum age")
    return check


# ---------------------------------------------------------------- batch proofs (section 6b)


def audit_batch_offline(
    account: Account,
    market: Market,
    params: RiskParams,
    bundle: BatchBundle,
    vkey: dict[str, Any],
    *,
    published: AccountsTree | None = None,
    pairing_impl: str = "both",
) -> AuditReport:
    """A user's audit of a batch proof that names their account; never needs a chain.

    1. the verification key is the one the bundle names, the profile and epoch the market's;
    2. the bundle has an entry for the account;
    3. the account's leaf Poseidon2(id, commitment), recomputed from the account file, with
       the bundle's path gives the bundle's accounts root;
    4. market root and 5. params hash recomputed as for one account;
    6. the engine's status and shortfall equal the entry's;
    7. the Groth16 proof verifies (py_ecc) with the bundle's public signals;
    8. with ``published`` (the operator's accounts-tree file, whose ids strictly increase, so
       each id is in it once): its root is the bundle's.
    """
    checks = [
        _key_check(vkey, bundle.vkey_sha256),
        _fields_check(bundle.profile, bundle.market_epoch, market),
    ]
    account_id = account.account_id
    entry = bundle.entry_of(account_id)
    named = ", ".join(str(e.account_id) for e in bundle.entries)
    checks.append(
        Check(
            "entry",
            entry is not None,
            f"the batch names account {account_id} (entries: {named})"
            if entry is not None
            else f"the batch does not name account {account_id} (entries: {named})",
        )
    )
    path = bundle.path_of(account_id)
    if path is None:
        checks.append(Check("accounts tree", False, f"the bundle has no path for account {account_id}"))
    else:
        root = path.compute_root(account_leaf(account_id, commitment(account)))
        checks.append(
            _same(
                "accounts tree", root, bundle.accounts_root, f"accounts root from your leaf at {path.index}"
            )
        )
    mc = MarketCommitments(market)
    checks.append(
        _same("market root", mc.market_root, bundle.market_root, f"market root (epoch {market.epoch})")
    )
    checks.append(_same("params hash", params_hash(params), bundle.params_hash, "risk-parameters hash"))
    result = compute_margin(market, params, account)
    proven = f"status {entry.status}, shortfall {money(entry.shortfall)}" if entry else "no entry"
    margin_ok = entry is not None and (result.status, result.shortfall) == (entry.status, entry.shortfall)
    checks.append(
        Check(
            "margin",
            margin_ok,
            f"engine: {Status(result.status).label}, shortfall {money(result.shortfall)}; proof: {proven}",
        )
    )
    verdict = verify_groth16(vkey, bundle.public_signals, bundle.proof, pairing_impl=pairing_impl)
    checks.append(Check("proof", verdict.ok, f"Groth16 batch proof: {verdict.reason}"))
    if published is not None:
        checks.append(_published_check(published, bundle))
    return AuditReport(tuple(checks), result)


def _published_check(published: AccountsTree, bundle: BatchBundle) -> Check:
    """The published leaves (loaded with strictly increasing ids: each id once) rebuild the
    batch's accounts root; the "accounts tree" check already put the account's leaf in it."""
    if published.root != bundle.accounts_root:
        return Check(
            "published tree",
            False,
            f"the published tree's root {_short(published.root)} is not the batch's {_short(bundle.accounts_root)}",
        )
    return Check("published tree", True, f"{len(published.ids)} accounts, each id once; the root matches")


def audit_batch_onchain(gate: BatchGate, account_id: int, bundle: BatchBundle) -> tuple[Check, ...]:
    """Against a deployed BatchGate: the bundle's accounts root and market root were posted,
    its params hash is current, and the gate's record of the account is the entry's."""
    posted = {
        int(log["args"]["root"]): int(log["args"]["epoch"])
        for log in gate.contract.events.AccountsPosted().get_logs(from_block=0)
    }
    checks = [
        _posted_check(
            "accounts posted", "accounts root", bundle.accounts_root, gate.accounts_root(), posted, "operator"
        ),
        _market_posted(gate, bundle.market_root),
    ]
    checks.append(_same("on-chain params", gate.params_hash(), bundle.params_hash, "gate params hash"))
    entry = bundle.entry_of(account_id)
    record = gate.status_of(account_id)
    if entry is None or record.proven_at == 0:
        checks.append(
            Check("on-chain record", entry is not None, "the gate has no record of the account yet")
        )
    else:
        same = (record.status, record.shortfall) == (entry.status, entry.shortfall)
        checks.append(
            Check(
                "on-chain record",
                same,
                f"gate: status {record.status}, shortfall {money(record.shortfall)}"
                + ("" if same else f"; the entry: status {entry.status}, shortfall {money(entry.shortfall)}")
                + (", case open" if record.liquidation_open else ""),
            )
        )
    return tuple(checks)
