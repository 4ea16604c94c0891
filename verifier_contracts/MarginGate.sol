// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IGroth16Verifier} from "./IGroth16Verifier.sol";
import {GateBase} from "./GateBase.sol";

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
///      Roles, markets, parameters and the common checks: GateBase. A case the operator
///      closed reopens only with a proof on a later market epoch, or after a new commitment,
///      so the proof that opened it cannot be replayed.
contract MarginGate is GateBase {
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

    /// @notice The Groth16 verifier of this gate's circuit profile.
    IGroth16Verifier public immutable verifier;

    mapping(uint256 => Account) internal accounts;
    /// @dev Exact shortfalls that do not fit the 96-bit field of `Record`.
    mapping(uint256 => uint256) internal largeShortfall;
    /// @notice The market epoch at which the operator closed an account's liquidation case:
    ///         the case reopens only with a proof on a later epoch (or after a new commitment).
    mapping(uint256 => uint64) public caseClosedAtEpoch;

    /// @dev Marks a shortfall kept in `largeShortfall`.
    uint96 internal constant SHORTFALL_OVERFLOW = type(uint96).max;

    /// @notice The account's case was closed at `closedAt`: a new case needs a later epoch.
    error CaseClosedAtEpoch(uint256 id, uint64 closedAt, uint64 epoch);
    /// @notice `commitAccounts` got arrays of different lengths.
    error LengthMismatch(uint256 ids, uint256 commitments);
    /// @notice The account has no commitment.
    error UnknownAccount(uint256 id);
    /// @notice The proof was made against another commitment than the account's current one.
    error WrongCommitment(uint256 id, uint256 current, uint256 given);
    /// @notice The claimed status is not one of 0..3.
    error InvalidStatus(uint256 status);
    /// @notice A liquidation needs a proven status of 2 or 3.
    error NotLiquidatable(uint256 id, uint256 status);
    /// @notice The account already has an open liquidation case.
    error LiquidationAlreadyOpen(uint256 id);

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
    ) GateBase(maxMarketAge_, governance_, oracle_, operator_) {
        if (address(verifier_) == address(0)) revert ZeroAddress();
        verifier = verifier_;
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
}
