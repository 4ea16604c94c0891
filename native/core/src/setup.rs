//! A circuit-specific Groth16 setup done here, in one party, writing a snarkjs `.zkey`.
//!
//! For development only: this process draws the secrets (tau, alpha, beta, delta; gamma is
//! 1 as in every snarkjs key) from the operating system's randomness, uses them, and drops
//! them; whoever ran it could have kept them and forge proofs. A production key comes from
//! a public powers-of-tau ceremony and snarkjs phase-2 contributions (docs/prover.md).
//!
//! Knowing tau, every point is one fixed-base multiplication of a generator by a scalar
//! computed in the field, instead of the multi-scalar multiplications over a ptau file
//! that snarkjs does: seconds instead of minutes. The key has snarkjs's layout and meaning
//! exactly (snarkjs `zkey new` then one contribution):
//!
//! * the domain is the smallest power of two above constraints + public signals; the R1CS
//!   gets one extra row `A = signal` per public signal (and the constant 1);
//! * A_s, B_s (G1 and G2) = sum over rows of coefficient x L_row(tau);
//! * IC_s (public, with the 1) = beta A_s + alpha B_s + C_s; C section (private) = the same / delta;
//! * H_i = L'_{2i+1}(tau) / delta, with L' the Lagrange basis of the domain twice as large
//!   (snarkjs's prover evaluates A B - C on those odd points);
//! * points in little-endian Montgomery form, coefficients as value x R^2 (what snarkjs
//!   writes and zkey.rs and rapidsnark read).
//!
//! The circuit-hash field of the contributions section is left zero: there is no ptau to
//! hash against, so `snarkjs zkey verify` cannot apply to such a key.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use ark_bn254::{Fq, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::ScalarMul;
use ark_ec::{AffineRepr, PrimeGroup};
use ark_ff::{BigInteger, Field, One, PrimeField, UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rand::thread_rng;

use crate::r1cs::{self, R1cs};
use crate::{NativeError, Result};

/// What the setup made (for the caller's record).
#[derive(Debug, Clone)]
pub struct SetupSummary {
    pub constraints: usize,
    pub variables: usize,
    pub public: usize,
    pub domain_size: usize,
    pub seconds: f64,
}

fn read_r1cs(path: &str) -> Result<R1cs> {
    let data = std::fs::read(path).map_err(|source| NativeError::Io {
        path: path.to_string(),
        source,
    })?;
    r1cs::read(&data, path)
}

/// Nonzero random field element.
fn secret(rng: &mut impl rand::RngCore) -> Fr {
    loop {
        let x = Fr::rand(rng);
        if !x.is_zero() {
            return x;
        }
    }
}

fn write_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A base-field element as snarkjs stores it: its Montgomery form, little-endian.
fn write_fq(out: &mut Vec<u8>, v: &Fq) {
    out.extend_from_slice(&v.0.to_bytes_le());
}

fn write_g1(out: &mut Vec<u8>, p: &G1Affine) {
    if p.is_zero() {
        out.extend_from_slice(&[0u8; 64]);
    } else {
        write_fq(out, &p.x);
        write_fq(out, &p.y);
    }
}

fn write_g2(out: &mut Vec<u8>, p: &G2Affine) {
    if p.is_zero() {
        out.extend_from_slice(&[0u8; 128]);
    } else {
        for c in [p.x.c0, p.x.c1, p.y.c0, p.y.c1] {
            write_fq(out, &c);
        }
    }
}

fn section(out: &mut impl Write, id: u32, body: &[u8]) -> std::io::Result<()> {
    out.write_all(&id.to_le_bytes())?;
    out.write_all(&(body.len() as u64).to_le_bytes())?;
    out.write_all(body)
}

fn g1_section(points: &[G1Affine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * points.len());
    for p in points {
        write_g1(&mut out, p);
    }
    out
}

/// Run the setup for the circuit in `r1cs_path` and write the key to `zkey_path`.
pub fn setup(r1cs_path: &str, zkey_path: &str) -> Result<SetupSummary> {
    let started = Instant::now();
    let circuit = read_r1cs(r1cs_path)?;
    let n_c = circuit.constraints.len();
    let (n_vars, n_pub) = (circuit.n_wires, circuit.n_public);
    if n_pub + 1 > n_vars {
        return Err(NativeError::Format(format!(
            "{r1cs_path}: {n_pub} public signals but {n_vars} wires"
        )));
    }
    let rows = n_c + n_pub + 1; // constraints, then A = signal for the 1 and each public signal
    let domain_size = (n_c + n_pub).next_power_of_two().max(1)
        * if (n_c + n_pub).is_power_of_two() {
            2
        } else {
            1
        };
    debug_assert!(domain_size >= rows);
    let domain = Radix2EvaluationDomain::<Fr>::new(domain_size).ok_or_else(|| {
        NativeError::Format(format!("domain of {domain_size} is too large for BN254"))
    })?;
    let double = Radix2EvaluationDomain::<Fr>::new(2 * domain_size).ok_or_else(|| {
        NativeError::Format(format!(
            "domain of {} is too large for BN254",
            2 * domain_size
        ))
    })?;

    let mut rng = thread_rng();
    let (tau, alpha, beta, delta) = (
        secret(&mut rng),
        secret(&mut rng),
        secret(&mut rng),
        secret(&mut rng),
    );
    let delta_inv = delta.inverse().expect("delta is nonzero");

    let lagrange = domain.evaluate_all_lagrange_coefficients(tau);
    let mut a = vec![Fr::zero(); n_vars];
    let mut b = vec![Fr::zero(); n_vars];
    let mut c = vec![Fr::zero(); n_vars];
    let check = |s: usize| -> Result<usize> {
        if s >= n_vars {
            return Err(NativeError::Format(format!(
                "{r1cs_path}: a constraint names signal {s} of {n_vars}"
            )));
        }
        Ok(s)
    };
    let r2 = Fr::from(2u64).pow([512u64]); // R^2 mod r, R = 2^256
    let mut coeffs: Vec<u8> = Vec::new();
    let mut n_coeffs: u32 = 0;
    let mut coeff = |out: &mut Vec<u8>, matrix: u32, row: usize, s: usize, v: &Fr| {
        write_u32(out, matrix);
        write_u32(out, row as u32);
        write_u32(out, s as u32);
        out.extend_from_slice(&(*v * r2).into_bigint().to_bytes_le());
        n_coeffs += 1;
    };
    for (row, (ca, cb, cc)) in circuit.constraints.iter().enumerate() {
        for (s, v) in ca {
            a[check(*s)?] += *v * lagrange[row];
            coeff(&mut coeffs, 0, row, *s, v);
        }
        for (s, v) in cb {
            b[check(*s)?] += *v * lagrange[row];
            coeff(&mut coeffs, 1, row, *s, v);
        }
        for (s, v) in cc {
            c[check(*s)?] += *v * lagrange[row];
        }
    }
    for s in 0..=n_pub {
        a[s] += lagrange[n_c + s];
        coeff(&mut coeffs, 0, n_c + s, s, &Fr::one());
    }
    let mut coeff_section = Vec::with_capacity(4 + coeffs.len());
    write_u32(&mut coeff_section, n_coeffs);
    coeff_section.extend_from_slice(&coeffs);
    drop(coeffs);

    let combined = |s: usize| beta * a[s] + alpha * b[s] + c[s];
    let ic: Vec<Fr> = (0..=n_pub).map(combined).collect();
    let private: Vec<Fr> = (n_pub + 1..n_vars)
        .map(|s| combined(s) * delta_inv)
        .collect();
    let double_lagrange = double.evaluate_all_lagrange_coefficients(tau);
    let h: Vec<Fr> = (0..domain_size)
        .map(|i| double_lagrange[2 * i + 1] * delta_inv)
        .collect();

    let g1 = G1Projective::generator();
    let g2 = G2Projective::generator();
    let a_pts = g1.batch_mul(&a);
    let b1_pts = g1.batch_mul(&b);
    let b2_pts = g2.batch_mul(&b);
    let ic_pts = g1.batch_mul(&ic);
    let c_pts = g1.batch_mul(&private);
    let h_pts = g1.batch_mul(&h);
    let alpha1 = (g1 * alpha).into();
    let beta1 = (g1 * beta).into();
    let beta2 = (g2 * beta).into();
    let delta1 = (g1 * delta).into();
    let delta2 = (g2 * delta).into();

    let mut header = Vec::new();
    write_u32(&mut header, 32);
    header.extend_from_slice(&Fq::MODULUS.to_bytes_le());
    write_u32(&mut header, 32);
    header.extend_from_slice(&Fr::MODULUS.to_bytes_le());
    write_u32(&mut header, n_vars as u32);
    write_u32(&mut header, n_pub as u32);
    write_u32(&mut header, domain_size as u32);
    write_g1(&mut header, &alpha1);
    write_g1(&mut header, &beta1);
    write_g2(&mut header, &beta2);
    write_g2(&mut header, &G2Affine::generator()); // gamma = 1
    write_g1(&mut header, &delta1);
    write_g2(&mut header, &delta2);
    let mut b2_section = Vec::with_capacity(128 * n_vars);
    for p in &b2_pts {
        write_g2(&mut b2_section, p);
    }
    let mut contributions = vec![0u8; 64]; // circuit hash: none (no ptau to hash against)
    write_u32(&mut contributions, 0);

    let tmp = format!("{zkey_path}.partial");
    let write = || -> std::io::Result<()> {
        let mut out = BufWriter::new(File::create(&tmp)?);
        out.write_all(b"zkey")?;
        out.write_all(&1u32.to_le_bytes())?;
        out.write_all(&10u32.to_le_bytes())?;
        section(&mut out, 1, &1u32.to_le_bytes())?;
        section(&mut out, 2, &header)?;
        section(&mut out, 3, &g1_section(&ic_pts))?;
        section(&mut out, 4, &coeff_section)?;
        section(&mut out, 5, &g1_section(&a_pts))?;
        section(&mut out, 6, &g1_section(&b1_pts))?;
        section(&mut out, 7, &b2_section)?;
        section(&mut out, 8, &g1_section(&c_pts))?;
        section(&mut out, 9, &g1_section(&h_pts))?;
        section(&mut out, 10, &contributions)?;
        out.flush()?;
        out.get_ref().sync_all()?;
        std::fs::rename(&tmp, zkey_path)
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        NativeError::Io {
            path: zkey_path.to_string(),
            source,
        }
    })?;
    Ok(SetupSummary {
        constraints: n_c,
        variables: n_vars,
        public: n_pub,
        domain_size,
        seconds: started.elapsed().as_secs_f64(),
    })
}
