// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title GateBase
/// @notice What every ZKPM-2 gate shares (spec section 7): the roles, the market roots the
///         oracle posts with strictly increasing epochs and their freshness, the parameters
///         hash governance sets, and the checks every proof goes through before a verifier.
///         `BatchGate` (K accounts per proof over a posted accounts root) builds on it.
/// @dev Hardening: each posted epoch is 1 to MAX_EPOCH_STEP above the last (no single post
///      can stop later posts) and a root is posted once; proof coordinates are checked below
///      q before a verifier runs (a cheap revert instead of burnt precompile gas).
abstract contract GateBase {
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

    /// @notice The latest market posted by the oracle and the freshness rule.
    struct Market {
        uint64 epoch;
        uint64 postedAt;
        uint64 maxAge;
        uint32 paramsVersion;
    }

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
    /// @notice The epoch at which each market root was posted (0: never). A root is posted
    ///         once: an old root re-posted under a new epoch would make old proofs valid again.
    mapping(uint256 => uint64) public rootEpoch;

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
    /// @notice The verifier rejected the proof.
    error InvalidProof();
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

    /// @dev Restrict a function to the holder of `role`.
    modifier only(Role role) {
        if (msg.sender != _holder(role)) revert Unauthorized(msg.sender, role);
        _;
    }

    /// @param maxMarketAge_ Seconds a posted market stays fresh.
    /// @param governance_ The governance account.
    /// @param oracle_ The oracle account.
    /// @param operator_ The operator account.
    constructor(uint64 maxMarketAge_, address governance_, address oracle_, address operator_) {
        if (governance_ == address(0) || oracle_ == address(0) || operator_ == address(0)) revert ZeroAddress();
        if (maxMarketAge_ == 0) revert InvalidMaxMarketAge();
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

    // ------------------------------------------------------------------ views


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
