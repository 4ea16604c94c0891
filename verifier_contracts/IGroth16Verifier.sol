// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IGroth16Verifier
/// @notice The interface of the Groth16 verifier that `snarkjs zkey export solidityverifier`
///         emits (contract `Groth16Verifier`) for a circuit with five public signals.
/// @dev G2 coordinates in `b` are in EVM precompile order [c1, c0] per point, i.e. each
///      inner pair of the snarkjs proof's `pi_b` is swapped. The snarkjs verifier returns
///      false (it does not revert) on a bad proof, a public signal >= r, or a precompile
///      that runs out of gas; callers must require `true`.
interface IGroth16Verifier {
    /// @notice Check a Groth16 proof against five public signals.
    /// @param a The proof point A (G1).
    /// @param b The proof point B (G2), each coordinate pair as [c1, c0].
    /// @param c The proof point C (G1).
    /// @param pubSignals The public signals in circuit order.
    /// @return True if and only if the proof is valid for `pubSignals`.
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[5] calldata pubSignals
    ) external view returns (bool);
}
