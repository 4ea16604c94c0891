// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title GateBase
/// @notice What every ZKPM-2 gate shares (spec section 7): the roles, the market roots the
///         oracle posts with strictly increasing epochs and their freshness, the parameters
///         hash governance sets, and the checks every proof goes through before a verifier.
///         `BatchGate` (K accounts per proof over a posted accounts root) builds on it.
/// @dev Hardening: each posted epoch is 1 to MAX_EPOCH_STEP above the last (no single post
///      can stop later posts) and a root is posted once; a market's expiry is fixed when it
///      is posted (a later change of the maximum age neither revives nor shortens it); proof
///      coordinates are checked below q, and A, C on G1 and B on the twist, before a verifier
///      runs (a cheap revert instead of all the gas the pairing precompile burns on failure).
abstract contract GateBase {
    /// @notice BN254 scalar field order r: every public signal must be below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice BN254 base field modulus q: every proof coordinate must be below it.
    uint256 public constant BASE_FIELD_MODULUS =
        21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @dev b' = 3 / (9 + u) of the twist y^2 = x^3 + b' over Fq2 = Fq[u] / (u^2 + 1),
    ///      where G2 lives: its c0 and c1.
    uint256 internal constant TWIST_B0 =
        19485874751759354771024239261021720505790618469301721065564631296452457478373;
    uint256 internal constant TWIST_B1 =
        266929791119991161246907387137283842545076965332900288569378510910307636690;
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

    /// @notice Proof points, as `ProofNotOnCurve` names them.
    uint8 public constant POINT_A = 0;
    uint8 public constant POINT_B = 1;
    uint8 public constant POINT_C = 2;

    /// @notice The latest market posted by the oracle and the parameters version, in one slot
    ///         (one read per proof).
    /// @param epoch The market epoch.
    /// @param postedAt The block timestamp of the post.
    /// @param expiresAt The last second the market is fresh: postedAt plus the maximum age in
    ///        force when it was posted (capped at 2**64 - 1). Fixed at the post.
    /// @param paramsVersion How many times governance has set the parameters hash.
    struct Market {
        uint64 epoch;
        uint64 postedAt;
        uint64 expiresAt;
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
    /// @dev Seconds a market stays fresh, for markets posted from now on.
    uint64 internal maxAge;
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
    /// @notice A proof point is not on its curve: `point` is POINT_A or POINT_C (not on G1,
    ///         y^2 = x^3 + 3) or POINT_B (not on the twist of G2).
    error ProofNotOnCurve(uint8 point);
    /// @notice No market has been posted yet.
    error NoMarket();
    /// @notice Governance has not set a parameters hash yet.
    error ParamsNotSet();
    /// @notice The latest market expired: `timestamp` is past `expiresAt`, its post time plus
    ///         the maximum age in force when it was posted.
    error StaleMarket(uint64 postedAt, uint64 expiresAt, uint256 timestamp);
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
    /// @notice Governance changed the maximum market age (seconds) of markets posted from now
    ///         on.
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
        maxAge = maxMarketAge_;
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
    ///         a post, and a root is never posted twice. The market is fresh until its post
    ///         time plus the maximum age in force now, whatever governance sets later.
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
        m.expiresAt = _expiry(block.timestamp, maxAge);
        emit MarketPosted(epoch, root, uint64(block.timestamp));
    }


    /// @notice Set how many seconds a market posted from now on stays fresh. The latest
    ///         market keeps the expiry it was posted with: raising the age cannot revive a
    ///         stale market (and its old proofs), lowering it does not cut short a market that
    ///         provers are working against. To end a market early, the oracle posts a new one.
    function setMaxMarketAge(uint64 newMaxAge) external only(Role.Governance) {
        if (newMaxAge == 0) revert InvalidMaxMarketAge();
        emit MaxMarketAgeSet(maxAge, newMaxAge);
        maxAge = newMaxAge;
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


    /// @notice The latest market's epoch and the last second (block timestamp) it is fresh,
    ///         fixed when it was posted; (0, 0) before the first post.
    function marketExpiry() external view returns (uint64 epoch, uint64 expiresAt) {
        Market memory m = market;
        return (m.epoch, m.expiresAt);
    }


    /// @notice Seconds a market posted from now on stays fresh.
    function maxMarketAge() external view returns (uint64) {
        return maxAge;
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
        if (!_isFresh(m)) revert StaleMarket(m.postedAt, m.expiresAt, block.timestamp);
        if (claimed != root) revert WrongMarketRoot(root, claimed);
        epoch = m.epoch;
    }


    /// @dev The current parameters hash; reverts if unset or unequal to `claimed`.
    function _currentParams(uint256 claimed) internal view returns (uint256 current) {
        current = paramsHash;
        if (current == 0) revert ParamsNotSet();
        if (claimed != current) revert WrongParams(current, claimed);
    }


    /// @dev Every coordinate of the proof below q, then A and C on G1 and B on the twist:
    ///      the pairing precompile consumes all the gas it is given when a point is invalid,
    ///      so an invalid point would cost nearly the whole gas limit before the proof is
    ///      refused. (0, 0), and (0, 0, 0, 0) for B, is the point at infinity, as the
    ///      precompile encodes it: valid, left to the pairing. G1 has cofactor 1, so on the
    ///      curve is in the group; B's subgroup membership is left to the precompile (a check
    ///      here would cost a scalar multiplication on the twist).
    function _checkProofPoints(Proof calldata proof) internal pure {
        for (uint256 i = 0; i < 2; ++i) {
            if (proof.a[i] >= BASE_FIELD_MODULUS) revert ProofNotInField(proof.a[i]);
            if (proof.c[i] >= BASE_FIELD_MODULUS) revert ProofNotInField(proof.c[i]);
            for (uint256 j = 0; j < 2; ++j) {
                if (proof.b[i][j] >= BASE_FIELD_MODULUS) revert ProofNotInField(proof.b[i][j]);
            }
        }
        uint256 bad = _offCurvePoint(proof);
        if (bad != 0) revert ProofNotOnCurve(uint8(bad - 1));
    }


    /// @dev 0 if A and C satisfy y^2 = x^3 + 3 and B satisfies y^2 = x^3 + b' over Fq2
    ///      (u^2 = -1), else 1 + the first point that does not (POINT_A, POINT_B, POINT_C);
    ///      the point at infinity, all zeros, passes. Coordinates are below q (checked).
    ///      In assembly, the proof read straight from call data: about 900 gas for the three
    ///      points, 450 of them for B (measured by bench/gate_gas.py).
    function _offCurvePoint(Proof calldata proof) internal pure returns (uint256 bad) {
        uint256 q = BASE_FIELD_MODULUS;
        uint256 b0 = TWIST_B0;
        uint256 b1 = TWIST_B1;
        assembly ("memory-safe") {
            function onG1(x, y, m) -> ok {
                ok := or(iszero(or(x, y)), eq(mulmod(y, y, m), addmod(mulmod(mulmod(x, x, m), x, m), 3, m)))
            }
            // A = (a[0], a[1]) at words 0-1, B = ([x1, x0], [y1, y0]) at words 2-5, C at 6-7
            if iszero(onG1(calldataload(proof), calldataload(add(proof, 32)), q)) { bad := 1 }
            if iszero(bad) {
                let x1 := calldataload(add(proof, 64))
                let x0 := calldataload(add(proof, 96))
                let y1 := calldataload(add(proof, 128))
                let y0 := calldataload(add(proof, 160))
                if or(or(x0, x1), or(y0, y1)) {
                    // x^2 = (x0^2 - x1^2) + 2 x0 x1 u
                    let s0 := addmod(mulmod(x0, x0, q), sub(q, mulmod(x1, x1, q)), q)
                    let s1 := mulmod(addmod(x0, x0, q), x1, q)
                    // x^3 + b' = x^2 x + b'
                    let r0 := addmod(addmod(mulmod(s0, x0, q), sub(q, mulmod(s1, x1, q)), q), b0, q)
                    let r1 := addmod(addmod(mulmod(s0, x1, q), mulmod(s1, x0, q), q), b1, q)
                    // y^2 = (y0^2 - y1^2) + 2 y0 y1 u
                    let t0 := addmod(mulmod(y0, y0, q), sub(q, mulmod(y1, y1, q)), q)
                    let t1 := mulmod(addmod(y0, y0, q), y1, q)
                    if iszero(and(eq(t0, r0), eq(t1, r1))) { bad := 2 }
                }
            }
            if iszero(bad) {
                if iszero(onG1(calldataload(add(proof, 192)), calldataload(add(proof, 224)), q)) { bad := 3 }
            }
        }
    }


    /// @dev True until the latest market's expiry second has passed.
    function _isFresh(Market memory m) internal view returns (bool) {
        return block.timestamp <= m.expiresAt;
    }


    /// @dev `postedAt + age`, capped at 2**64 - 1 (an age near 2**64 means "never expires").
    function _expiry(uint256 postedAt, uint64 age) internal pure returns (uint64) {
        uint256 end = postedAt + age;
        return end > type(uint64).max ? type(uint64).max : uint64(end);
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
