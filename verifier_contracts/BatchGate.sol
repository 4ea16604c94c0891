// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {GateBase} from "./GateBase.sol";

/// @title BatchGate
/// @notice The gate of ZKPM-2 batch proofs (spec sections 6b and 7b). The operator posts one
///         accounts root per update (one transaction whatever the number of accounts); the
///         oracle and governance post markets and parameters as for every gate (GateBase).
///         Anyone may submit a `MarginBatch` proof of up to K accounts: `attestBatch` records
///         each entry's status, `liquidateBatch` also opens a liquidation case for each entry
///         of status 2 (liquidatable) or 3 (insolvent).
/// @dev A batch is accepted only against the latest accounts root, the latest market root until
///      the expiry fixed when it was posted, and the current parameters hash, and only with
///      proof points on their curves (GateBase: a cheap revert, not burnt precompile gas). The verifier's public signals are
///      assembled here: [accounts root, market root, params hash, count, words], the roots
///      from storage, `count` = the number of entries given, and the entries (then zeros up
///      to K) two per word, word j = entry[2j] + 2**126 entry[2j+1]. An entry packs one
///      account as id + 2**64 status + 2**66 min(shortfall, 2**60 - 1), below 2**126; the
///      circuit proves the ids strictly increase, so no account appears twice. Two entries per
///      public signal halve the verifier's elliptic-curve multiplications per account. The caller passes the three
///      roots it proved against only so that a mismatch reverts with an error naming it.
///      An entry whose case is already open (or was closed at the current epochs) is skipped,
///      not reverted, so one stale entry cannot block a batch. A case stays open until the
///      operator closes it; it reopens only with a proof on a later market epoch or a later
///      accounts epoch, so the proof that opened it cannot be replayed.
contract BatchGate is GateBase {
    /// @notice Every packed entry is below 2**126 (spec section 6b).
    uint256 public constant ENTRY_LIMIT = 1 << 126;
    /// @notice A shortfall at or above this is published (and recorded) as this value.
    uint256 public constant SHORTFALL_CAP = (1 << 60) - 1;
    uint256 internal constant ID_MASK = (1 << 64) - 1;
    uint256 internal constant STATUS_SHIFT = 64;
    uint256 internal constant SHORTFALL_SHIFT = 66;
    uint256 internal constant WORD_SHIFT = 126;
    /// @dev Why `liquidateBatch` skipped an entry.
    uint8 internal constant SKIP_CASE_OPEN = 1;
    uint8 internal constant SKIP_CLOSED_AT_EPOCH = 2;

    /// @notice The latest accepted proof of one account, packed in one storage slot.
    /// @param shortfall The proven shortfall, capped at SHORTFALL_CAP.
    /// @param provenEpoch The market epoch the proof used.
    /// @param provenAt The block timestamp of acceptance (0: never proven).
    /// @param accountsEpoch The accounts epoch the proof used.
    /// @param paramsVersion The parameters version the proof used.
    /// @param flags The proven status (bits 0-1) and the case state (bits 2-3: CASE_NONE,
    ///        CASE_OPEN or CASE_CLOSED).
    struct Record {
        uint80 shortfall;
        uint64 provenEpoch;
        uint40 provenAt;
        uint32 accountsEpoch;
        uint32 paramsVersion;
        uint8 flags;
    }

    /// @notice What `statusOf` returns: the latest accepted proof (a shortfall of SHORTFALL_CAP
    ///         means at least that). `current` is true when it was made against the latest
    ///         accounts root.
    struct AccountView {
        uint256 shortfall;
        uint64 provenEpoch;
        uint64 provenAt;
        uint64 accountsEpoch;
        uint64 paramsVersion;
        uint8 status;
        bool current;
        bool liquidationOpen;
    }

    /// @notice The epochs at which the operator closed an account's case.
    struct ClosedAt {
        uint64 marketEpoch;
        uint32 accountsEpoch;
    }

    /// @notice The verifier of this gate's batch circuit (ceil(K / 2) + 4 public signals).
    address public immutable verifier;
    /// @notice K, the number of entries of the batch circuit.
    uint256 public immutable batchSize;
    /// @notice W = ceil(K / 2), the number of public words holding the entries.
    uint256 public immutable wordCount;
    /// @dev `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[W + 4])`.
    bytes4 internal immutable verifySelector;

    /// @notice The latest accounts root (0 until the first post) and its epoch and time.
    uint256 public accountsRoot;
    uint32 public accountsEpoch;
    uint64 public accountsPostedAt;
    /// @notice The epoch at which each accounts root was posted (0: never). A root is posted
    ///         once: an old root re-posted under a new epoch would make old proofs valid again.
    mapping(uint256 => uint32) public accountsRootEpoch;

    mapping(uint256 => Record) internal records;
    /// @notice When the operator last closed each account's case.
    mapping(uint256 => ClosedAt) public caseClosedAt;

    /// @notice A posted accounts epoch is not greater than the latest one.
    error NonIncreasingAccountsEpoch(uint32 latest, uint32 given);
    /// @notice A posted accounts epoch is more than MAX_EPOCH_STEP above the latest one.
    error AccountsEpochStepTooLarge(uint32 latest, uint32 given, uint64 maxStep);
    /// @notice The accounts root was posted before (at `epoch`).
    error AccountsRootAlreadyPosted(uint256 root, uint32 epoch);
    /// @notice No accounts root has been posted yet.
    error NoAccounts();
    /// @notice The proof was made against another accounts root than the latest one.
    error WrongAccountsRoot(uint256 latest, uint256 given);
    /// @notice A batch must hold 1..K entries.
    error BadBatchSize(uint256 count, uint256 batchSize);
    /// @notice An entry is not below 2**126, so it cannot be a packed entry.
    error EntryOutOfRange(uint256 index, uint256 entry);

    /// @notice The operator posted an accounts root.
    event AccountsPosted(uint32 indexed epoch, uint256 root, uint64 postedAt);
    /// @notice A batch proof of `count` entries was accepted (the entries are in the call data;
    ///         each account's result is in `statusOf`).
    event BatchAccepted(
        uint64 indexed marketEpoch, uint32 indexed accountsEpoch, address indexed prover, bool liquidation, uint256 count
    );
    /// @notice Liquidation cases were opened on proofs of status 2 or 3, one per id, in the
    ///         batch's order (status and shortfall: `statusOf`). One event per batch rather
    ///         than one per account: it costs 256 gas per account instead of about 1,100.
    event LiquidationsOpened(uint64 indexed marketEpoch, uint256[] ids);
    /// @notice `liquidateBatch` left an entry of status 2 or 3 alone: its case is open (reason 1)
    ///         or was closed at the current market and accounts epochs (reason 2).
    event LiquidationSkipped(uint256 indexed id, uint8 reason);
    /// @notice The operator closed a liquidation case.
    event LiquidationClosed(uint256 indexed id);

    /// @param verifier_ The verifier of `MarginBatch` with K = `batchSize_` (snarkjs export).
    /// @param batchSize_ K, the number of entries of that circuit.
    /// @param maxMarketAge_ Seconds a posted market stays fresh.
    /// @param governance_ The governance account.
    /// @param oracle_ The oracle account.
    /// @param operator_ The operator account.
    constructor(
        address verifier_,
        uint256 batchSize_,
        uint64 maxMarketAge_,
        address governance_,
        address oracle_,
        address operator_
    ) GateBase(maxMarketAge_, governance_, oracle_, operator_) {
        if (verifier_ == address(0)) revert ZeroAddress();
        if (batchSize_ == 0 || batchSize_ > 1024) revert BadBatchSize(0, batchSize_);
        verifier = verifier_;
        batchSize = batchSize_;
        uint256 words = (batchSize_ + 1) / 2;
        wordCount = words;
        verifySelector = bytes4(
            keccak256(
                abi.encodePacked("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[", _decimal(words + 4), "])")
            )
        );
    }

    // ------------------------------------------------------------------ operator

    /// @notice Post the accounts root of a new accounts epoch (spec section 5): one transaction
    ///         whatever the number of accounts. Proofs of earlier roots are no longer accepted
    ///         and records made with them are no longer current.
    /// @param root The accounts root, a nonzero field element never posted before.
    /// @param epoch Greater than the latest accounts epoch by 1 to MAX_EPOCH_STEP.
    function postAccounts(uint256 root, uint32 epoch) external only(Role.Operator) {
        _checkHash(root);
        uint32 latest = accountsEpoch;
        if (epoch <= latest) revert NonIncreasingAccountsEpoch(latest, epoch);
        if (epoch - latest > MAX_EPOCH_STEP) revert AccountsEpochStepTooLarge(latest, epoch, MAX_EPOCH_STEP);
        uint32 seen = accountsRootEpoch[root];
        if (seen != 0) revert AccountsRootAlreadyPosted(root, seen);
        accountsRootEpoch[root] = epoch;
        accountsRoot = root;
        accountsEpoch = epoch;
        accountsPostedAt = uint64(block.timestamp);
        emit AccountsPosted(epoch, root, uint64(block.timestamp));
    }

    /// @notice Close the open liquidation case of account `id`. It can then be reopened only
    ///         with a proof on a later market epoch or a later accounts epoch.
    function closeLiquidation(uint256 id) external only(Role.Operator) {
        Record storage rec = records[id];
        uint8 flags = rec.flags;
        if (flags >> 2 != CASE_OPEN) revert NoOpenLiquidation(id);
        rec.flags = (flags & 3) | (CASE_CLOSED << 2);
        caseClosedAt[id] = ClosedAt(market.epoch, accountsEpoch);
        emit LiquidationClosed(id);
    }

    // ------------------------------------------------------------------ proofs

    /// @notice Verify a batch proof and record each entry's status.
    /// @param proof The Groth16 proof (G2 pairs as [c1, c0]).
    /// @param roots [accounts root, market root, params hash] as proved; each must be current.
    /// @param entries The 1..K packed entries as proved, in the proof's order.
    function attestBatch(Proof calldata proof, uint256[3] calldata roots, uint256[] calldata entries) external {
        uint64 epoch = _acceptBatch(proof, roots, entries);
        uint32 aEpoch = accountsEpoch;
        uint32 version = market.paramsVersion;
        for (uint256 i = 0; i < entries.length; ++i) {
            uint256 e = entries[i];
            uint256 id = e & ID_MASK;
            uint8 caseState = records[id].flags >> 2;
            _record(id, e, epoch, aEpoch, version, caseState);
        }
        emit BatchAccepted(epoch, aEpoch, msg.sender, false, entries.length);
    }

    /// @notice Verify a batch proof, record each entry's status and open a liquidation case for
    ///         each entry of status 2 or 3 whose case is not open (or closed at these epochs).
    /// @param proof The Groth16 proof (G2 pairs as [c1, c0]).
    /// @param roots [accounts root, market root, params hash] as proved; each must be current.
    /// @param entries The 1..K packed entries as proved, in the proof's order.
    function liquidateBatch(Proof calldata proof, uint256[3] calldata roots, uint256[] calldata entries)
        external
    {
        uint64 epoch = _acceptBatch(proof, roots, entries);
        uint32 aEpoch = accountsEpoch;
        uint32 version = market.paramsVersion;
        uint256[] memory opened = new uint256[](entries.length);
        uint256 nOpened;
        for (uint256 i = 0; i < entries.length; ++i) {
            uint256 e = entries[i];
            uint256 id = e & ID_MASK;
            uint8 status = uint8((e >> STATUS_SHIFT) & 3);
            uint8 caseState = records[id].flags >> 2;
            if (status < STATUS_LIQUIDATABLE) {
                _record(id, e, epoch, aEpoch, version, caseState);
                continue;
            }
            if (caseState == CASE_OPEN) {
                emit LiquidationSkipped(id, SKIP_CASE_OPEN);
                continue;
            }
            if (caseState == CASE_CLOSED) {
                ClosedAt memory closed = caseClosedAt[id];
                if (epoch <= closed.marketEpoch && aEpoch <= closed.accountsEpoch) {
                    emit LiquidationSkipped(id, SKIP_CLOSED_AT_EPOCH);
                    continue;
                }
            }
            _record(id, e, epoch, aEpoch, version, CASE_OPEN);
            opened[nOpened++] = id;
        }
        if (nOpened != 0) {
            assembly ("memory-safe") {
                mstore(opened, nOpened) // shorten the array to the ids opened
            }
            emit LiquidationsOpened(epoch, opened);
        }
        emit BatchAccepted(epoch, aEpoch, msg.sender, true, entries.length);
    }

    // ------------------------------------------------------------------ views

    /// @notice `statusOf` of each of `ids`, in one call: the keeper and integrators read the
    ///         records of many accounts without one call each.
    function statusesOf(uint256[] calldata ids) external view returns (AccountView[] memory views) {
        views = new AccountView[](ids.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            views[i] = statusOf(ids[i]);
        }
    }

    /// @notice Everything the gate records about account `id`.
    function statusOf(uint256 id) public view returns (AccountView memory) {
        Record memory rec = records[id];
        return AccountView({
            shortfall: rec.shortfall,
            provenEpoch: rec.provenEpoch,
            provenAt: rec.provenAt,
            accountsEpoch: rec.accountsEpoch,
            paramsVersion: rec.paramsVersion,
            status: rec.flags & 3,
            current: rec.provenAt != 0 && rec.accountsEpoch == accountsEpoch,
            liquidationOpen: rec.flags >> 2 == CASE_OPEN
        });
    }

    /// @notice True if the latest accepted proof of `id` shows status 2 or 3 and used the
    ///         latest accounts root, the latest market (still fresh) and the current
    ///         parameters, and no liquidation case is open.
    function isLiquidatable(uint256 id) external view returns (bool) {
        Record memory rec = records[id];
        Market memory m = market;
        return rec.provenAt != 0 && rec.accountsEpoch == accountsEpoch && rec.flags >> 2 != CASE_OPEN
            && rec.flags & 3 >= STATUS_LIQUIDATABLE && rec.provenEpoch == m.epoch
            && rec.paramsVersion == m.paramsVersion && _isFresh(m);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Check the batch against storage, verify the proof with the public signals
    ///      assembled here, and return the market epoch it used.
    function _acceptBatch(Proof calldata proof, uint256[3] calldata roots, uint256[] calldata entries)
        internal
        view
        returns (uint64 epoch)
    {
        uint256 n = entries.length;
        uint256 k = batchSize;
        if (n == 0 || n > k) revert BadBatchSize(n, k);
        for (uint256 i = 0; i < 3; ++i) {
            if (roots[i] >= SNARK_SCALAR_FIELD) revert InputNotInField(roots[i]);
        }
        for (uint256 i = 0; i < n; ++i) {
            if (entries[i] >= ENTRY_LIMIT) revert EntryOutOfRange(i, entries[i]);
        }
        _checkProofPoints(proof);
        uint256 aRoot = accountsRoot;
        if (aRoot == 0) revert NoAccounts();
        if (roots[0] != aRoot) revert WrongAccountsRoot(aRoot, roots[0]);
        uint256 mRoot;
        (mRoot, epoch) = _freshRoot(roots[1]);
        uint256 pHash = _currentParams(roots[2]);
        if (!_verify(proof, aRoot, mRoot, pHash, entries)) revert InvalidProof();
    }

    /// @dev Call the verifier with verifyProof(a, b, c, [aRoot, mRoot, pHash, n, words]),
    ///      word j = entries[2j] + 2**126 entries[2j+1] (each entry below 2**126, checked).
    ///      Static arrays are ABI-encoded in place, so the call data is the selector and
    ///      8 + 4 + W words; the padding words stay 0 from the allocation.
    function _verify(Proof calldata proof, uint256 aRoot, uint256 mRoot, uint256 pHash, uint256[] calldata entries)
        internal
        view
        returns (bool ok)
    {
        bytes memory data = new bytes(4 + 32 * (12 + wordCount));
        bytes4 selector = verifySelector;
        address target = verifier;
        uint256 n = entries.length;
        bool success;
        assembly ("memory-safe") {
            let p := add(data, 32)
            mstore(p, selector)
            calldatacopy(add(p, 4), proof, 256)
            let s := add(p, 260)
            mstore(s, aRoot)
            mstore(add(s, 32), mRoot)
            mstore(add(s, 64), pHash)
            mstore(add(s, 96), n)
            let w := add(s, 128)
            for { let i := 0 } lt(i, n) { i := add(i, 2) } {
                let low := calldataload(add(entries.offset, mul(i, 32)))
                let high := 0
                if lt(add(i, 1), n) { high := calldataload(add(entries.offset, mul(add(i, 1), 32))) }
                mstore(add(w, mul(i, 16)), or(low, shl(WORD_SHIFT, high)))
            }
            success := staticcall(gas(), target, p, mload(data), 0, 32)
            ok := and(success, and(eq(returndatasize(), 32), eq(mload(0), 1)))
        }
    }

    /// @dev Store an entry's proven result in one slot, with the given case state (the
    ///      entry is below 2**126, so its shortfall is below 2**60 and fits).
    function _record(uint256 id, uint256 entry, uint64 epoch, uint32 aEpoch, uint32 version, uint8 caseState)
        internal
    {
        records[id] = Record({
            shortfall: uint80(entry >> SHORTFALL_SHIFT),
            provenEpoch: epoch,
            provenAt: uint40(block.timestamp),
            accountsEpoch: aEpoch,
            paramsVersion: version,
            flags: uint8((entry >> STATUS_SHIFT) & 3) | (caseState << 2)
        });
    }

    /// @dev The decimal digits of `value`.
    function _decimal(uint256 value) internal pure returns (bytes memory out) {
        if (value == 0) return "0";
        uint256 digits;
        for (uint256 v = value; v != 0; v /= 10) ++digits;
        out = new bytes(digits);
        for (; value != 0; value /= 10) out[--digits] = bytes1(uint8(48 + value % 10));
    }
}
