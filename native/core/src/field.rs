//! Conversions between BN254 field elements and big integers (the form Python hands over).
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use num_bigint::BigUint;

use crate::{NativeError, Result};

/// The scalar field's modulus r as a big integer.
pub fn modulus() -> BigUint {
    BigUint::from_bytes_le(&Fr::MODULUS.to_bytes_le())
}

/// A field element from an integer in [0, r); anything else is an error, never reduced.
pub fn fr_from_biguint(value: &BigUint, what: &str) -> Result<Fr> {
    if *value >= modulus() {
        return Err(NativeError::Format(format!(
            "{what} is not a field element (it is >= r)"
        )));
    }
    Ok(Fr::from_le_bytes_mod_order(&value.to_bytes_le()))
}

/// The canonical integer of a field element.
pub fn fr_to_biguint(value: &Fr) -> BigUint {
    BigUint::from_bytes_le(&value.into_bigint().to_bytes_le())
}

/// Decimal string of any prime-field element (base or scalar field), as snarkjs writes them.
pub fn decimal<F: PrimeField>(value: &F) -> String {
    BigUint::from_bytes_le(&value.into_bigint().to_bytes_le()).to_string()
}
