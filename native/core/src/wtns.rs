//! circom's binary witness file (`.wtns`, version 2), as written by snarkjs `wtns calculate`
//! and circom's witness generators:
//!
//! ```text
//! "wtns" | version u32 | sections u32 | { type u32 | size u64 | bytes }...
//! section 1 (header):  n8 u32 | prime (n8 bytes, LE) | witness count u32
//! section 2 (values):  count x n8 bytes, each a little-endian integer < prime
//! ```
use ark_bn254::Fr;
use ark_ff::PrimeField;
use num_bigint::BigUint;

use crate::field::modulus;
use crate::{NativeError, Result};

fn bad(msg: impl Into<String>) -> NativeError {
    NativeError::Format(format!("wtns: {}", msg.into()))
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| bad(format!("{what}: length overflow")))?;
        if end > self.data.len() {
            return Err(bad(format!(
                "truncated at {what} (byte {} of {})",
                self.pos,
                self.data.len()
            )));
        }
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
}

/// The witness values of a `.wtns` file: element 0 is the constant 1, then the public
/// outputs, the public inputs, then every other signal (circom's order).
pub fn parse(data: &[u8]) -> Result<Vec<Fr>> {
    let mut r = Reader { data, pos: 0 };
    if r.take(4, "magic")? != b"wtns" {
        return Err(bad("not a witness file (magic is not \"wtns\")"));
    }
    let version = r.u32("version")?;
    if version != 2 {
        return Err(bad(format!("version {version}, expected 2")));
    }
    let sections = r.u32("section count")?;
    let mut header: Option<(usize, u32)> = None;
    let mut values: Option<&[u8]> = None;
    for _ in 0..sections {
        let kind = r.u32("section type")?;
        let size = usize::try_from(r.u64("section size")?).map_err(|_| bad("section too large"))?;
        let body = r.take(size, "section body")?;
        match kind {
            1 => {
                let mut h = Reader { data: body, pos: 0 };
                let n8 = h.u32("n8")? as usize;
                if n8 != 32 {
                    return Err(bad(format!(
                        "field elements of {n8} bytes, expected 32 (BN254)"
                    )));
                }
                let prime = BigUint::from_bytes_le(h.take(n8, "prime")?);
                if prime != modulus() {
                    return Err(bad(
                        "the witness is over another field than BN254's scalar field",
                    ));
                }
                header = Some((n8, h.u32("witness count")?));
            }
            2 => values = Some(body),
            _ => {}
        }
    }
    let (n8, count) = header.ok_or_else(|| bad("no header section"))?;
    let body = values.ok_or_else(|| bad("no values section"))?;
    if body.len() != n8 * count as usize {
        return Err(bad(format!(
            "{} value bytes for {count} values of {n8} bytes",
            body.len()
        )));
    }
    let r_mod = modulus();
    body.chunks_exact(n8)
        .enumerate()
        .map(|(i, chunk)| {
            if BigUint::from_bytes_le(chunk) >= r_mod {
                return Err(bad(format!("value {i} is not reduced (>= r)")));
            }
            Ok(Fr::from_le_bytes_mod_order(chunk))
        })
        .collect()
}

/// A `.wtns` file (version 2) holding ``values``; used by the tests and the benchmarks.
pub fn write(values: &[Fr]) -> Vec<u8> {
    use ark_ff::BigInteger;
    let mut out = Vec::with_capacity(64 + 32 * values.len());
    out.extend_from_slice(b"wtns");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(4u64 + 32 + 4).to_le_bytes());
    out.extend_from_slice(&32u32.to_le_bytes());
    out.extend_from_slice(&Fr::MODULUS.to_bytes_le());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&((32 * values.len()) as u64).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.into_bigint().to_bytes_le());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let values: Vec<Fr> = (0u64..5).map(Fr::from).collect();
        assert_eq!(parse(&write(&values)).unwrap(), values);
    }

    #[test]
    fn refuses_damage() {
        let values: Vec<Fr> = (0u64..3).map(Fr::from).collect();
        let good = write(&values);
        assert!(parse(&good[..good.len() - 1])
            .unwrap_err()
            .to_string()
            .contains("truncated"));
        let mut magic = good.clone();
        magic[0] = b'x';
        assert!(parse(&magic).unwrap_err().to_string().contains("magic"));
        let mut unreduced = good.clone();
        let n = unreduced.len();
        unreduced[n - 32..].copy_from_slice(&[0xff; 32]);
        assert!(parse(&unreduced)
            .unwrap_err()
            .to_string()
            .contains("not reduced"));
    }
}
