//! circom's constraint system file (`.r1cs`, version 1): header (section 1) and
//! constraints (section 2); the wire-to-label map (section 3) is not needed here.
//!
//! ```text
//! header:      field size u32 (32) | prime | wires u32 | public outputs u32 |
//!              public inputs u32 | private inputs u32 | labels u64 | constraints u32
//! constraint:  A, B, C, each: terms u32 | { wire u32 | coefficient (32 bytes, LE) }
//! ```
use ark_bn254::Fr;
use ark_ff::{BigInt, PrimeField};

use crate::binfile::{detail, section, sections, Reader};
use crate::{NativeError, Result};

pub type Terms = Vec<(usize, Fr)>;

/// The parts of an R1CS the setup needs.
pub struct R1cs {
    pub n_wires: usize,
    pub n_public: usize,
    pub constraints: Vec<(Terms, Terms, Terms)>,
}

fn bad(msg: impl std::fmt::Display) -> NativeError {
    NativeError::Format(msg.to_string())
}

fn value(bytes: &[u8]) -> Option<Fr> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        *limb = u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    }
    Fr::from_bigint(BigInt(limbs))
}

/// Read an `.r1cs` from its bytes (``path`` names it in errors).
pub fn read(data: &[u8], path: &str) -> Result<R1cs> {
    parse(data).map_err(|e| {
        NativeError::Format(format!("{path}: not a usable circom R1CS: {}", detail(e)))
    })
}

fn parse(data: &[u8]) -> Result<R1cs> {
    let all = sections(data, b"r1cs", 1, "file")?;
    let mut h = Reader::new(section(&all, 1)?, "section 1");
    let size = h.u32("field size")? as usize;
    let prime = h.take(size, "prime")?;
    let modulus: Vec<u8> = Fr::MODULUS.0.iter().flat_map(|l| l.to_le_bytes()).collect();
    if size != 32 || prime != modulus.as_slice() {
        return Err(bad("not over BN254's scalar field"));
    }
    let n_wires = h.u32("wires")? as usize;
    let n_public = (h.u32("public outputs")? + h.u32("public inputs")?) as usize;
    let _private = h.u32("private inputs")?;
    let _labels = h.u64("labels")?;
    let n_constraints = h.u32("constraints")? as usize;
    if n_public + 1 > n_wires {
        return Err(bad(format!(
            "{n_public} public signals but {n_wires} wires"
        )));
    }
    let mut c = Reader::new(section(&all, 2)?, "section 2");
    let mut constraints = Vec::with_capacity(n_constraints);
    for row in 0..n_constraints {
        let mut parts: [Terms; 3] = Default::default();
        for part in parts.iter_mut() {
            let terms = c.u32("term count")? as usize;
            if terms > n_wires {
                return Err(bad(format!(
                    "constraint {row} has {terms} terms for {n_wires} wires"
                )));
            }
            for _ in 0..terms {
                let wire = c.u32("wire")? as usize;
                let coefficient = value(c.take(32, "coefficient")?).ok_or_else(|| {
                    bad(format!("constraint {row}: a coefficient is not reduced"))
                })?;
                if wire >= n_wires {
                    return Err(bad(format!(
                        "constraint {row} names wire {wire} of {n_wires}"
                    )));
                }
                part.push((wire, coefficient));
            }
        }
        let [a, b, cc] = parts;
        constraints.push((a, b, cc));
    }
    Ok(R1cs {
        n_wires,
        n_public,
        constraints,
    })
}
