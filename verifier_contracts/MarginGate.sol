// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IGroth16Verifier} from "./IGroth16Verifier.sol";

/// @title MarginGate
/// @notice The on-chain gate of ZKPM-1 (spec section 7). The oracle posts market roots with
///         strictly increasing epochs, governance sets the risk-parameters hash and the maximum
///         market age, the operator commits account states. Anyone may submit a Groth16 proof
///         of an account's margin status: `attest` records it, `liquidate` records it and opens
///         a liquidation case if the proven status is 2 (liquidatable) or 3 (insolvent).
/// @dev A proof is accepted only against the latest market root while it is fresh, the current
///      parameters hash and the account's current commitment. The five public signals handed to
///      the verifier are assembled here from storage, [status, shortfall, commitment(id),
///      market root, params hash]; only status and shortfall come from the caller. The caller
///      also passes the three bound values it proved against, solely so that a mismatch reverts
///      with an error naming it (WrongCommitment, WrongMarketRoot, WrongParams) instead of a
///      bare InvalidProof. Nothing is keyed on proof bytes: Groth16 proofs are malleable.
///      One gate serves one circuit profile; its verifier is fixed at construction.
///      Hardening: each posted epoch is 1 to MAX_EPOCH_STEP above the last (no single post
///      can stop later posts) and a root is posted once; proof coordinates are checked below
///      q before the verifier runs (a cheap revert instead of burnt precompile gas); a case
///      the operator closed reopens only with a proof on a later market epoch, or after a
///      new commitment, so the proof that opened it cannot be replayed.
contract MarginGate {
    /// @notice BN254 scalar field order r: every public signal must be below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice BN254 base field modulus q: every proof coordinate must be below it.
    uint256 public constant BASE_FIELD_MODULUS =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @notice Largest step between two posted epochs: no single post can move the epoch so
    ///         far (2**64 - 1, say) that every later post would revert.
    uint64 public constant MAX_EPOCH_STEP = 1000;

    /// @dev Liquidation case states of a record.
    uint8 internal constant CASE_NONE = 0;
    uint8 internal constant CASE_OPEN = 1;
    uint8 internal constant CASE_CLOSED = 2;

    /// @notice Proven status codes (spec section 3).
    uint8 public constant STATUS_HEALTHY = 0;
    uint8 public constant STATUS_RESTRICTED = 1;
    uint8 public constant STATUS_LIQUIDATABLE = 2;
    uint8 public constant STATUS_INSOLVENT = 3;

    /// @notice Roles. The owner assigns Governance, Oracle and Operator.
    enum Role {
        Owner,
        Governance,
        Oracle,
        Operator
    }

    /// @notice A Groth16 proof in EVM precompile order (G2 pairs as [c1, c0]).
    struct Proof {
        uint256[2] a;
        uint256[2][2] b;
        uint256[2] c;
    }

    /// @notice The latest accepted proof of one account, packed in one storage slot.
    /// @param shortfall The proven shortfall, or SHORTFALL_OVERFLOW if it does not fit in
    ///        96 bits (the exact value is then kept in `largeShortfall`).
    /// @param provenEpoch The market epoch the proof used.
    /// @param provenAt The block timestamp of acceptance.
    /// @param paramsVersion The parameters version the proof used.
    /// @param status The proven status (0..3).
    /// @param proven True once a proof was accepted for the current commitment.
    /// @param caseState CASE_NONE, CASE_OPEN while a liquidation case is open, or CASE_CLOSED
    ///        once the operator closed it (a new commitment resets it to CASE_NONE).
    struct Record {
        uint96 shortfall;
        uint64 provenEpoch;
        uint40 provenAt;
        uint32 paramsVersion;
        uint8 status;
        bool proven;
        uint8 caseState;
    }

    /// @notice An account: its current commitment (0: unknown) and its latest accepted proof.
    struct Account {
        uint256 commitment;
        Record record;
    }

    /// @notice What `statusOf` returns: the commitment and the latest accepted proof, with
    ///         the exact shortfall.
    struct AccountView {
        uint256 commitment;
        uint256 shortfall;
        uint64 provenEpoch;
        uint64 provenAt;
        uint64 paramsVersion;
        uint8 status;
        bool proven;
        bool liquidationOpen;
    }

    /// @notice The latest market posted by the oracle and the freshness rule.
    struct Market {
        uint64 epoch;
        uint64 postedAt;
        uint64 maxAge;
        uint32 paramsVersion;
    }

    /// @notice The Groth16 verifier of this gate's circuit profile.
    IGroth16Verifier public immutable verifier;

    /// @notice The contract owner (assigns roles) and the pending owner of a two-step transfer.
    address public owner;
    address public pendingOwner;
    /// @notice Role holders.
    address public governance;
    address public oracle;
    address public operator;

    /// @notice The latest market root (0 until the first post).
    uint256 public marketRoot;
    /// @notice The current risk-parameters hash (0 until governance sets it).
    uint256 public paramsHash;
    Market internal market;
    mapping(uint256 => Account) internal accounts;
    /// @dev Exact shortfalls that do not fit the 96-bit field of `Record`.
    mapping(uint256 => uint256) internal largeShortfall;
    /// @notice The epoch at which each market root was posted (0: never). A root is posted
    ///         once: an old root re-posted under a new epoch would make old proofs valid again.
    mapping(uint256 => uint64) public rootEpoch;
    /// @notice The market epoch at which the operator closed an account's liquidation case:
    ///         the case reopens only with a proof on a later epoch (or after a new commitment).
    mapping(uint256 => uint64) public caseClosedAtEpoch;

    /// @dev Marks a shortfall kept in `largeShortfall`.
    uint96 internal constant SHORTFALL_OVERFLOW = type(uint96).max;

    /// @notice The caller lacks the role the function needs.
    error Unauthorized(address caller, Role required);
    /// @notice `acceptOwnership` called by someone other than the pending owner.
    error NotPendingOwner(address caller);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
    /// @notice A zero root, hash or commitment was given (zero means "unset").
    error ZeroValue();
    /// @notice The owner role is moved with the ownership transfer, not with `setRole`.
    error InvalidRole();
    /// @notice The maximum market age must be positive.
    error InvalidMaxMarketAge();
    /// @notice A value that must be a BN254 scalar-field element is >= r.
    error InputNotInField(uint256 value);
    /// @notice A posted market epoch is not greater than the latest one.
    error NonIncreasingEpoch(uint64 latest, uint64 given);
    /// @notice A posted market epoch is more than MAX_EPOCH_STEP above the latest one.
    error EpochStepTooLarge(uint64 latest, uint64 given, uint64 maxStep);
    /// @notice The market root was posted before (at `epoch`).
    error RootAlreadyPosted(uint256 root, uint64 epoch);
    /// @notice A proof coordinate is not below the base field modulus q.
    error ProofNotInField(uint256 value);
    /// @notice The account's case was closed at `closedAt`: a new case needs a later epoch.
    error CaseClosedAtEpoch(uint256 id, uint64 closedAt, uint64 epoch);
    /// @notice `commitAccounts` got arrays of different lengths.
    error LengthMismatch(uint256 ids, uint256 commitments);
    /// @notice No market has been posted yet.
    error NoMarket();
    /// @notice Governance has not set a parameters hash yet.
    error ParamsNotSet();
    /// @notice The latest market is older than the maximum age.
    error StaleMarket(uint64 postedAt, uint64 maxAge, uint256 timestamp);
    /// @notice The proof was made against another market root than the latest one.
    error WrongMarketRoot(uint256 latest, uint256 given);
    /// @notice The proof was made against another parameters hash than the current one.
    error WrongParams(uint256 current, uint256 given);
    /// @notice The account has no commitment.
    error UnknownAccount(uint256 id);
    /// @notice The proof was made against another commitment than the account's current one.
    error WrongCommitment(uint256 id, uint256 current, uint256 given);
    /// @notice The claimed status is not one of 0..3.
    error InvalidStatus(uint256 status);
    /// @notice A liquidation needs a proven status of 2 or 3.
    error NotLiquidatable(uint256 id, uint256 status);
    /// @notice The verifier rejected the proof.
    error InvalidProof();
    /// @notice The account already has an open liquidation case.
    error LiquidationAlreadyOpen(uint256 id);
    /// @notice `closeLiquidation` on an account without an open case.
    error NoOpenLiquidation(uint256 id);

    /// @notice Ownership transfer started; `newOwner` must call `acceptOwnership`.
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    /// @notice Ownership moved to `newOwner`.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice A role moved from `previous` to `account`.
    event RoleSet(Role indexed role, address indexed previous, address indexed account);
    /// @notice The oracle posted a market root.
    event MarketPosted(uint64 indexed epoch, uint256 root, uint64 postedAt);
    /// @notice Governance changed the maximum market age (seconds).
    event MaxMarketAgeSet(uint64 previous, uint64 maxAge);
    /// @notice Governance changed the parameters hash; `version` counts the changes.
    event ParamsSet(uint256 previous, uint256 paramsHash, uint32 version);
    /// @notice The operator committed an account state.
    event AccountCommitted(uint256 indexed id, uint256 commitment);
    /// @notice A proof of an account's status was accepted.
    event Attested(
        uint256 indexed id, uint8 status, uint256 shortfall, uint64 indexed marketEpoch, address indexed prover
    );
    /// @notice A liquidation case was opened on a proof of status 2 or 3.
    event LiquidationOpened(
        uint256 indexed id, uint8 status, uint256 shortfall, uint64 indexed marketEpoch, address indexed liquidator
    );
    /// @notice A liquidation case was closed, by the operator or by a new commitment.
    event LiquidationClosed(uint256 indexed id, bool byNewCommitment);

    /// @dev Restrict a function to the holder of `role`.
    modifier only(Role role) {
        if (msg.sender != _holder(role)) revert Unauthorized(msg.sender, role);
        _;
    }

    /// @param verifier_ The Groth16 verifier of the circuit profile this gate serves.
    /// @param maxMarketAge_ Seconds a posted market stays fresh.
    /// @param governance_ The governance account.
    /// @param oracle_ The oracle account.
    /// @param operator_ The operator account.
    constructor(
        IGroth16Verifier verifier_,
        uint64 maxMarketAge_,
        address governance_,
        address oracle_,
        address operator_
    ) {
        if (
            address(verifier_) == address(0) || governance_ == address(0) || oracle_ == address(0)
                || operator_ == address(0)
        ) revert ZeroAddress();
        if (maxMarketAge_ == 0) revert InvalidMaxMarketAge();
        verifier = verifier_;
        owner = msg.sender;
        governance = governance_;
        oracle = oracle_;
        operator = operator_;
        market.maxAge = maxMarketAge_;
        emit OwnershipTransferred(address(0), msg.sender);
        emit RoleSet(Role.Governance, address(0), governance_);
        emit RoleSet(Role.Oracle, address(0), oracle_);
        emit RoleSet(Role.Operator, address(0), operator_);
        emit MaxMarketAgeSet(0, maxMarketAge_);
    }

    // ------------------------------------------------------------------ ownership and roles

    /// @notice Start a two-step ownership transfer to `newOwner` (zero cancels it).
    function transferOwnership(address newOwner) external only(Role.Owner) {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(msg.sender, newOwner);
    }

    /// @notice Complete the ownership transfer; only the pending owner may call.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        address previous = owner;
        owner = msg.sender;
        pendingOwner = address(0);
        emit OwnershipTransferred(previous, msg.sender);
    }

    /// @notice Assign `role` (Governance, Oracle or Operator) to `account`.
    function setRole(Role role, address account) external only(Role.Owner) {
        if (account == address(0)) revert ZeroAddress();
        address previous = _holder(role);
        if (role == Role.Governance) governance = account;
        else if (role == Role.Oracle) oracle = account;
        else if (role == Role.Operator) operator = account;
        else revert InvalidRole();
        emit RoleSet(role, previous, account);
    }

    // ------------------------------------------------------------------ oracle and governance

    /// @notice Post a new market root; epochs strictly increase, by at most MAX_EPOCH_STEP
    ///         a post, and a root is never posted twice.
    /// @param root The market root (spec section 5), a nonzero field element never posted before.
    /// @param epoch The market epoch, greater than the latest one by 1 to MAX_EPOCH_STEP.
    function postMarket(uint256 root, uint64 epoch) external only(Role.Oracle) {
        _checkHash(root);
        Market storage m = market;
        if (epoch <= m.epoch) revert NonIncreasingEpoch(m.epoch, epoch);
        if (epoch - m.epoch > MAX_EPOCH_STEP) revert EpochStepTooLarge(m.epoch, epoch, MAX_EPOCH_STEP);
        uint64 seen = rootEpoch[root];
        if (seen != 0) revert RootAlreadyPosted(root, seen);
        rootEpoch[root] = epoch;
        marketRoot = root;
        m.epoch = epoch;
        m.postedAt = uint64(block.timestamp);
        emit MarketPosted(epoch, root, uint64(block.timestamp));
    }

    /// @notice Set how many seconds a posted market stays fresh.
    function setMaxMarketAge(uint64 maxAge) external only(Role.Governance) {
        if (maxAge == 0) revert InvalidMaxMarketAge();
        emit MaxMarketAgeSet(market.maxAge, maxAge);
        market.maxAge = maxAge;
    }

    /// @notice Set the risk-parameters hash (spec section 5), a nonzero field element.
    function setParams(uint256 newParamsHash) external only(Role.Governance) {
        _checkHash(newParamsHash);
        uint32 version = market.paramsVersion + 1;
        market.paramsVersion = version;
        emit ParamsSet(paramsHash, newParamsHash, version);
        paramsHash = newParamsHash;
    }

    // ------------------------------------------------------------------ operator

    /// @notice Post account commitments in a batch. A new commitment supersedes the proven
    ///         status of the old one and closes an open liquidation case (the liquidated state
    ///         has been replaced), so the new state can be proven and liquidated afresh.
    /// @param ids Account ids.
    /// @param commitments Their commitments (spec section 5), nonzero field elements.
    function commitAccounts(uint256[] calldata ids, uint256[] calldata commitments)
        external
        only(Role.Operator)
    {
        if (ids.length != commitments.length) revert LengthMismatch(ids.length, commitments.length);
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 id = ids[i];
            uint256 commitment = commitments[i];
            _checkHash(commitment);
            Account storage acct = accounts[id];
            acct.commitment = commitment;
            Record memory rec = acct.record;
            if (rec.proven || rec.caseState != CASE_NONE) {
                acct.record.proven = false;
                acct.record.caseState = CASE_NONE;
                if (rec.caseState == CASE_OPEN) emit LiquidationClosed(id, true);
            }
            emit AccountCommitted(id, commitment);
        }
    }

    /// @notice Close the open liquidation case of account `id` without a new commitment. The
    ///         case can then be reopened only with a proof on a market epoch after the current
    ///         one (so the proof that opened it cannot simply be replayed), or after a new
    ///         commitment of the account.
    function closeLiquidation(uint256 id) external only(Role.Operator) {
        Record storage rec = accounts[id].record;
        if (rec.caseState != CASE_OPEN) revert NoOpenLiquidation(id);
        rec.caseState = CASE_CLOSED;
        caseClosedAtEpoch[id] = market.epoch;
        emit LiquidationClosed(id, false);
    }

    // ------------------------------------------------------------------ proofs

    /// @notice Verify a proof of account `id`'s margin status and record it.
    /// @param id The account id.
    /// @param proof The Groth16 proof (G2 pairs as [c1, c0]).
    /// @param publicSignals [status, shortfall, commitment, market root, params hash] as proved;
    ///        the last three must equal the gate's current values.
    function attest(uint256 id, Proof calldata proof, uint256[5] calldata publicSignals) external {
        uint64 epoch = _accept(id, proof, publicSignals);
        uint8 status = uint8(publicSignals[0]);
        _record(id, status, publicSignals[1], epoch, false);
        emit Attested(id, status, publicSignals[1], epoch, msg.sender);
    }

    /// @notice Open a liquidation case on account `id` with a proof of status 2 or 3.
    /// @param id The account id.
    /// @param proof The Groth16 proof (G2 pairs as [c1, c0]).
    /// @param publicSignals As in `attest`; the status must be 2 or 3.
    function liquidate(uint256 id, Proof calldata proof, uint256[5] calldata publicSignals) external {
        uint256 claimed = publicSignals[0];
        if (claimed < SNARK_SCALAR_FIELD && claimed != STATUS_LIQUIDATABLE && claimed != STATUS_INSOLVENT) {
            revert NotLiquidatable(id, claimed);
        }
        uint8 caseState = accounts[id].record.caseState;
        if (caseState == CASE_OPEN) revert LiquidationAlreadyOpen(id);
        uint64 epoch = _accept(id, proof, publicSignals);
        if (caseState == CASE_CLOSED) {
            uint64 closedAt = caseClosedAtEpoch[id];
            if (epoch <= closedAt) revert CaseClosedAtEpoch(id, closedAt, epoch);
        }
        uint8 status = uint8(claimed);
        _record(id, status, publicSignals[1], epoch, true);
        emit LiquidationOpened(id, status, publicSignals[1], epoch, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @notice Everything the gate records about account `id`.
    function statusOf(uint256 id) external view returns (AccountView memory) {
        Account storage acct = accounts[id];
        Record memory rec = acct.record;
        uint256 shortfall = rec.shortfall == SHORTFALL_OVERFLOW ? largeShortfall[id] : rec.shortfall;
        return AccountView({
            commitment: acct.commitment,
            shortfall: shortfall,
            provenEpoch: rec.provenEpoch,
            provenAt: rec.provenAt,
            paramsVersion: rec.paramsVersion,
            status: rec.status,
            proven: rec.proven,
            liquidationOpen: rec.caseState == CASE_OPEN
        });
    }

    /// @notice True if the latest accepted proof for the current commitment shows status 2 or 3,
    ///         used the latest market (still fresh) and the current parameters, and no
    ///         liquidation case is open.
    function isLiquidatable(uint256 id) external view returns (bool) {
        Record memory rec = accounts[id].record;
        Market memory m = market;
        return rec.proven && rec.caseState != CASE_OPEN && rec.status >= STATUS_LIQUIDATABLE
            && rec.provenEpoch == m.epoch && rec.paramsVersion == m.paramsVersion && _isFresh(m);
    }

    /// @notice The latest market: root, epoch, posting time, and whether it is still fresh.
    function latestMarket() external view returns (uint256 root, uint64 epoch, uint64 postedAt, bool fresh) {
        Market memory m = market;
        return (marketRoot, m.epoch, m.postedAt, marketRoot != 0 && _isFresh(m));
    }

    /// @notice Seconds a posted market stays fresh.
    function maxMarketAge() external view returns (uint64) {
        return market.maxAge;
    }

    /// @notice How many times governance has set the parameters hash.
    function paramsVersion() external view returns (uint32) {
        return market.paramsVersion;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Check the caller's public signals against storage and verify the proof with the
    ///      signals assembled from storage. Returns the market epoch the proof used.
    function _accept(uint256 id, Proof calldata proof, uint256[5] calldata claimed)
        internal
        view
        returns (uint64 epoch)
    {
        for (uint256 i = 0; i < 5; ++i) {
            if (claimed[i] >= SNARK_SCALAR_FIELD) revert InputNotInField(claimed[i]);
        }
        _checkProofCoordinates(proof);
        if (claimed[0] > STATUS_INSOLVENT) revert InvalidStatus(claimed[0]);
        uint256[5] memory signals;
        signals[0] = claimed[0];
        signals[1] = claimed[1];
        signals[2] = _commitmentOf(id, claimed[2]);
        (signals[3], epoch) = _freshRoot(claimed[3]);
        signals[4] = _currentParams(claimed[4]);
        if (!verifier.verifyProof(proof.a, proof.b, proof.c, signals)) revert InvalidProof();
    }

    /// @dev The account's current commitment; reverts unless `claimed` equals it.
    function _commitmentOf(uint256 id, uint256 claimed) internal view returns (uint256 commitment) {
        commitment = accounts[id].commitment;
        if (commitment == 0) revert UnknownAccount(id);
        if (claimed != commitment) revert WrongCommitment(id, commitment, claimed);
    }

    /// @dev The latest market root and epoch; reverts if none, stale, or unequal to `claimed`.
    function _freshRoot(uint256 claimed) internal view returns (uint256 root, uint64 epoch) {
        root = marketRoot;
        if (root == 0) revert NoMarket();
        Market memory m = market;
        if (!_isFresh(m)) revert StaleMarket(m.postedAt, m.maxAge, block.timestamp);
        if (claimed != root) revert WrongMarketRoot(root, claimed);
        epoch = m.epoch;
    }

    /// @dev The current parameters hash; reverts if unset or unequal to `claimed`.
    function _currentParams(uint256 claimed) internal view returns (uint256 current) {
        current = paramsHash;
        if (current == 0) revert ParamsNotSet();
        if (claimed != current) revert WrongParams(current, claimed);
    }

    /// @dev Every coordinate of the proof below q: a non-canonical one would otherwise burn
    ///      all the gas forwarded to the pairing precompile before the proof is refused.
    function _checkProofCoordinates(Proof calldata proof) internal pure {
        for (uint256 i = 0; i < 2; ++i) {
            if (proof.a[i] >= BASE_FIELD_MODULUS) revert ProofNotInField(proof.a[i]);
            if (proof.c[i] >= BASE_FIELD_MODULUS) revert ProofNotInField(proof.c[i]);
            for (uint256 j = 0; j < 2; ++j) {
                if (proof.b[i][j] >= BASE_FIELD_MODULUS) revert ProofNotInField(proof.b[i][j]);
            }
        }
    }

    /// @dev Store an accepted proof's result in one slot (plus one more for a shortfall of 96
    ///      bits or more); `openCase` opens a liquidation case. An open case stays open when an
    ///      attestation updates the record.
    function _record(uint256 id, uint8 status, uint256 shortfall, uint64 epoch, bool openCase) internal {
        Record storage rec = accounts[id].record;
        uint96 packed = SHORTFALL_OVERFLOW;
        if (shortfall < SHORTFALL_OVERFLOW) packed = uint96(shortfall);
        else largeShortfall[id] = shortfall;
        accounts[id].record = Record({
            shortfall: packed,
            provenEpoch: epoch,
            provenAt: uint40(block.timestamp),
            paramsVersion: market.paramsVersion,
            status: status,
            proven: true,
            caseState: openCase ? CASE_OPEN : rec.caseState
        });
    }

    /// @dev True while the latest market is at most `maxAge` seconds old.
    function _isFresh(Market memory m) internal view returns (bool) {
        return block.timestamp - m.postedAt <= m.maxAge;
    }

    /// @dev A posted root, hash or commitment must be a nonzero field element.
    function _checkHash(uint256 value) internal pure {
        if (value == 0) revert ZeroValue();
        if (value >= SNARK_SCALAR_FIELD) revert InputNotInField(value);
    }

    /// @dev The account holding `role`.
    function _holder(Role role) internal view returns (address) {
        if (role == Role.Owner) return owner;
        if (role == Role.Governance) return governance;
        if (role == Role.Oracle) return oracle;
        return operator;
    }
}
