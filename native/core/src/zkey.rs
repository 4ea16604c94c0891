//! snarkjs's Groth16 proving key (`.zkey`), read into arkworks types.
//!
//! Sections: 1 protocol (1 = Groth16); 2 header (field sizes and primes, number of
//! variables, of public signals, domain size, then alpha1, beta1, beta2, gamma2, delta1,
//! delta2); 3 IC; 4 coefficients of A and B (matrix, row, signal, value x R^2); 5 A;
//! 6 B in G1; 7 B in G2; 8 C (private signals); 9 H (domain size points). Coordinates are
//! little-endian Montgomery form with R = 2^256, the form arkworks keeps them in, and the
//! point at infinity is all zeros.
//!
//! Points are checked to lie on the curve (in parallel); the costly G2 subgroup check is not
//! made: a proving key only makes proofs, and a damaged one makes proofs no verifier
//! accepts, while the verification key is checked where it is used.
use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ff::{BigInt, Field, PrimeField};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_relations::utils::matrix::Matrix;
use rayon::prelude::*;

use crate::binfile::{detail, section, sections, Reader};
use crate::{NativeError, Result};

/// A snarkjs proving key: the arkworks key and the A and B matrices (every row, the
/// public-input rows `A = signal` included).
pub struct Zkey {
    pub pk: ProvingKey<Bn254>,
    pub a: Matrix<Fr>,
    pub b: Matrix<Fr>,
    pub n_vars: usize,
    pub n_public: usize,
    pub domain_size: usize,
}

fn bad(msg: impl std::fmt::Display) -> NativeError {
    NativeError::Format(msg.to_string())
}

fn limbs(bytes: &[u8]) -> BigInt<4> {
    let mut out = [0u64; 4];
    for (i, limb) in out.iter_mut().enumerate() {
        *limb = u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    }
    BigInt(out)
}

/// A base-field element from its stored Montgomery form (refused if not reduced).
fn fq(bytes: &[u8]) -> Option<Fq> {
    let raw = limbs(bytes);
    (raw < Fq::MODULUS).then(|| Fq::new_unchecked(raw))
}

fn g1(bytes: &[u8]) -> Option<G1Affine> {
    let (x, y) = (fq(&bytes[..32])?, fq(&bytes[32..64])?);
    if bytes.iter().all(|&b| b == 0) {
        return Some(G1Affine::identity());
    }
    let p = G1Affine::new_unchecked(x, y);
    p.is_on_curve().then_some(p)
}

fn g2(bytes: &[u8]) -> Option<G2Affine> {
    if bytes.iter().all(|&b| b == 0) {
        return Some(G2Affine::identity());
    }
    let x = Fq2::new(fq(&bytes[..32])?, fq(&bytes[32..64])?);
    let y = Fq2::new(fq(&bytes[64..96])?, fq(&bytes[96..128])?);
    let p = G2Affine::new_unchecked(x, y);
    p.is_on_curve().then_some(p)
}

fn points<T: Send>(
    body: &[u8],
    size: usize,
    count: usize,
    parse: fn(&[u8]) -> Option<T>,
    name: &str,
) -> Result<Vec<T>> {
    if body.len() != size * count {
        return Err(bad(format!(
            "section {name} has {} bytes for {count} points",
            body.len()
        )));
    }
    body.par_chunks_exact(size)
        .enumerate()
        .map(|(i, chunk)| {
            parse(chunk).ok_or_else(|| bad(format!("{name} point {i} is not on the curve")))
        })
        .collect()
}

/// Read a `.zkey` from its bytes (``path`` names it in errors).
pub fn read(data: &[u8], path: &str) -> Result<Zkey> {
    parse(data).map_err(|e| {
        NativeError::Format(format!(
            "{path}: not a usable snarkjs Groth16 key: {}",
            detail(e)
        ))
    })
}

fn parse(data: &[u8]) -> Result<Zkey> {
    let all = sections(data, b"zkey", 1, "file")?;
    let mut protocol = Reader::new(section(&all, 1)?, "section 1");
    if protocol.u32("protocol")? != 1 {
        return Err(bad("not a Groth16 key"));
    }
    let mut h = Reader::new(section(&all, 2)?, "section 2");
    let n8q = h.u32("n8q")? as usize;
    if n8q != 32 || limbs(h.take(32, "q")?) != Fq::MODULUS {
        return Err(bad("not over BN254's base field"));
    }
    let n8r = h.u32("n8r")? as usize;
    if n8r != 32 || limbs(h.take(32, "r")?) != Fr::MODULUS {
        return Err(bad("not over BN254's scalar field"));
    }
    let n_vars = h.u32("nVars")? as usize;
    let n_public = h.u32("nPublic")? as usize;
    let domain_size = h.u32("domainSize")? as usize;
    if n_public + 1 > n_vars || !domain_size.is_power_of_two() {
        return Err(bad(format!(
            "{n_public} public signals, {n_vars} variables, domain {domain_size}"
        )));
    }
    let mut head_point = |size: usize, name: &str| -> Result<&[u8]> { h.take(size, name) };
    let alpha1 = g1(head_point(64, "alpha1")?).ok_or_else(|| bad("alpha1"))?;
    let beta1 = g1(head_point(64, "beta1")?).ok_or_else(|| bad("beta1"))?;
    let beta2 = g2(head_point(128, "beta2")?).ok_or_else(|| bad("beta2"))?;
    let gamma2 = g2(head_point(128, "gamma2")?).ok_or_else(|| bad("gamma2"))?;
    let delta1 = g1(head_point(64, "delta1")?).ok_or_else(|| bad("delta1"))?;
    let delta2 = g2(head_point(128, "delta2")?).ok_or_else(|| bad("delta2"))?;

    let ic = points(section(&all, 3)?, 64, n_public + 1, g1, "IC")?;
    let a_query = points(section(&all, 5)?, 64, n_vars, g1, "A")?;
    let b_g1_query = points(section(&all, 6)?, 64, n_vars, g1, "B1")?;
    let b_g2_query = points(section(&all, 7)?, 128, n_vars, g2, "B2")?;
    let l_query = points(section(&all, 8)?, 64, n_vars - n_public - 1, g1, "C")?;
    let h_query = points(section(&all, 9)?, 64, domain_size, g1, "H")?;

    // Coefficients: value stored as v * R^2 mod r, read as an integer: v = stored / R^2.
    let mut c = Reader::new(section(&all, 4)?, "section 4");
    let count = c.u32("coefficient count")? as usize;
    if c.rest() != count * 44 {
        return Err(bad(format!("{count} coefficients in {} bytes", c.rest())));
    }
    let r2_inv = Fr::from(2u64)
        .pow([512u64])
        .inverse()
        .expect("R^2 is nonzero");
    let mut a: Matrix<Fr> = Vec::new();
    let mut b: Matrix<Fr> = Vec::new();
    for i in 0..count {
        let matrix = c.u32("matrix")?;
        let row = c.u32("row")? as usize;
        let signal = c.u32("signal")? as usize;
        let raw = limbs(c.take(32, "value")?);
        if signal >= n_vars || row >= domain_size || raw >= Fr::MODULUS {
            return Err(bad(format!(
                "coefficient {i} (row {row}, signal {signal}) is out of range"
            )));
        }
        let value = Fr::from_bigint(raw).expect("reduced") * r2_inv;
        let target = match matrix {
            0 => &mut a,
            1 => &mut b,
            other => return Err(bad(format!("coefficient {i} names matrix {other}"))),
        };
        if target.len() <= row {
            target.resize(row + 1, Vec::new());
        }
        target[row].push((value, signal));
    }
    let rows = a.len().max(b.len());
    a.resize(rows, Vec::new());
    b.resize(rows, Vec::new());
    if rows > domain_size {
        return Err(bad(format!("{rows} rows for a domain of {domain_size}")));
    }
    let vk = VerifyingKey {
        alpha_g1: alpha1,
        beta_g2: beta2,
        gamma_g2: gamma2,
        delta_g2: delta2,
        gamma_abc_g1: ic,
    };
    let pk = ProvingKey {
        vk,
        beta_g1: beta1,
        delta_g1: delta1,
        a_query,
        b_g1_query,
        b_g2_query,
        h_query,
        l_query,
    };
    Ok(Zkey {
        pk,
        a,
        b,
        n_vars,
        n_public,
        domain_size,
    })
}
