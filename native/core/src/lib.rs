//! zkmargin's native code, independent of Python:
//!
//! * [`wtns`]: reads circom's witness files (`.wtns`);
//! * [`groth16`]: a Groth16 prover that loads a snarkjs proving key (`.zkey`) once and makes
//!   proofs snarkjs accepts (arkworks with ark-circom's `CircomReduction`, the witness map
//!   snarkjs uses);
//! * [`poseidon`]: circomlib's Poseidon on BN254, run from the optimised round schedule the
//!   Python engine derives (one source for the constants).
pub mod field;
pub mod groth16;
pub mod poseidon;
pub mod setup;
pub mod wtns;

/// What can go wrong, with a message that names the file or value.
#[derive(Debug, thiserror::Error)]
pub enum NativeError {
    #[error("{0}")]
    Format(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Proof(String),
}

pub type Result<T> = std::result::Result<T, NativeError>;
