//! zkmargin's native code, independent of Python:
//!
//! * [`wtns`]: reads circom's witness files (`.wtns`);
//! * [`zkey`], [`r1cs`]: read snarkjs proving keys and circom constraint systems;
//! * [`groth16`]: a Groth16 prover (arkworks) that loads a snarkjs proving key once and
//!   makes proofs snarkjs accepts, with snarkjs's witness map ([`qap`]);
//! * [`setup`]: a single-party circuit-specific setup writing a snarkjs key;
//! * [`poseidon`]: circomlib's Poseidon on BN254, run from the optimised round schedule the
//!   Python engine derives (one source for the constants).
pub mod binfile;
pub mod field;
pub mod groth16;
pub mod poseidon;
pub mod qap;
pub mod r1cs;
pub mod setup;
pub mod wtns;
pub mod zkey;

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
