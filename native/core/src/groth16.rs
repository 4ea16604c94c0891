//! Groth16 proofs from a snarkjs proving key, exactly as snarkjs makes them.
//!
//! The key (`.zkey`, read once, zkey.rs) holds the QAP in the form snarkjs uses: H is
//! given on the odd points of a domain twice the constraint count, so the witness map must
//! be snarkjs's (qap.rs), not arkworks' default. With it the proof is accepted unchanged by
//! `snarkjs groth16 verify`, by snarkjs's Solidity verifier and by any other Groth16
//! verifier holding the key's verification key.
use std::time::Instant;

/// The scalar field, re-exported for the bindings.
pub use ark_bn254::Fr as ScalarField;
use ark_bn254::{Bn254, Fr};
use ark_groth16::{prepare_verifying_key, Groth16, PreparedVerifyingKey, Proof, ProvingKey};
use ark_relations::utils::matrix::Matrix;
use ark_std::UniformRand;
use rand::thread_rng;

use crate::field::decimal;
use crate::qap::SnarkjsReduction;
use crate::zkey;
use crate::{NativeError, Result};

/// A proving key loaded once, for many proofs.
pub struct Prover {
    pk: ProvingKey<Bn254>,
    pvk: PreparedVerifyingKey<Bn254>,
    matrices: Vec<Matrix<Fr>>,
    /// Instance variables, the constant 1 included (1 + public signals).
    pub num_instance: usize,
    /// Every variable of the circuit (the constant 1, public and private signals): the
    /// length of a witness.
    pub num_variables: usize,
    pub num_constraints: usize,
}

/// A proof in snarkjs's JSON shape (decimal strings), with the public signals.
#[derive(Debug, Clone, PartialEq)]
pub struct SnarkjsProof {
    pub pi_a: [String; 3],
    pub pi_b: [[String; 2]; 3],
    pub pi_c: [String; 3],
    pub public_signals: Vec<String>,
    pub seconds: f64,
    /// The key's own verification key accepts the proof (checked once it is made).
    pub verified: bool,
}

impl Prover {
    /// Read a snarkjs `.zkey` (Groth16, BN254).
    pub fn load(path: &str) -> Result<Self> {
        let data = std::fs::read(path).map_err(|source| NativeError::Io {
            path: path.to_string(),
            source,
        })?;
        let key = zkey::read(&data, path)?;
        drop(data);
        let pvk = prepare_verifying_key(&key.pk.vk);
        let mut a = key.a;
        let mut b = key.b;
        a.resize(key.domain_size, Vec::new()); // the witness map works on the whole domain
        b.resize(key.domain_size, Vec::new());
        Ok(Prover {
            num_instance: key.n_public + 1,
            num_variables: key.n_vars,
            num_constraints: key.domain_size,
            matrices: vec![a, b],
            pk: key.pk,
            pvk,
        })
    }

    /// Public signals the key expects (its instance variables without the constant 1).
    pub fn num_public(&self) -> usize {
        self.num_instance - 1
    }

    /// A proof for the full witness (circom's order: 1, public signals, the rest), with fresh
    /// randomness r, s. The witness must be the circuit's own: a wrong length is refused; a
    /// witness that does not satisfy the constraints gives a proof no verifier accepts.
    pub fn prove(&self, witness: &[Fr]) -> Result<(Proof<Bn254>, f64)> {
        let expected = self.num_variables;
        if witness.len() != expected {
            return Err(NativeError::Proof(format!(
                "the witness has {} values, the key's circuit {expected}: a witness of another circuit?",
                witness.len()
            )));
        }
        if witness[0] != Fr::from(1u64) {
            return Err(NativeError::Proof(
                "witness value 0 must be the constant 1".into(),
            ));
        }
        let started = Instant::now();
        let mut rng = thread_rng();
        let r = Fr::rand(&mut rng);
        let s = Fr::rand(&mut rng);
        let proof = Groth16::<Bn254, SnarkjsReduction>::create_proof_with_reduction_and_matrices(
            &self.pk,
            r,
            s,
            &self.matrices,
            self.num_instance,
            self.num_constraints,
            witness,
        )
        .map_err(|e| NativeError::Proof(format!("proving failed: {e}")))?;
        Ok((proof, started.elapsed().as_secs_f64()))
    }

    /// Does the key's verification key accept ``proof`` for ``public``?
    pub fn verify(&self, proof: &Proof<Bn254>, public: &[Fr]) -> Result<bool> {
        if public.len() != self.num_public() {
            return Err(NativeError::Proof(format!(
                "{} public signals, the key expects {}",
                public.len(),
                self.num_public()
            )));
        }
        Groth16::<Bn254>::verify_proof(&self.pvk, proof, public)
            .map_err(|e| NativeError::Proof(format!("verification failed: {e}")))
    }

    /// The floor of a proof: the multi-scalar multiplications a proof makes, alone (no
    /// witness map, no FFTs): A, B and the private C query over the witness's own values
    /// (`witness`; random values when empty), H over random values (h is dense), in G1; B
    /// in G2. Returns (G1 seconds, G2 seconds).
    pub fn msm_floor(&self, witness: &[Fr]) -> (f64, f64) {
        use ark_bn254::{G1Projective, G2Projective};
        use ark_ec::VariableBaseMSM;
        let mut rng = thread_rng();
        let n = self.num_variables;
        let values: Vec<Fr> = if witness.len() == n {
            witness.to_vec()
        } else {
            (0..n).map(|_| Fr::rand(&mut rng)).collect()
        };
        let h: Vec<Fr> = (0..self.pk.h_query.len())
            .map(|_| Fr::rand(&mut rng))
            .collect();
        let private = &values[self.num_instance..];
        let started = Instant::now();
        let _ = G1Projective::msm_unchecked(&self.pk.a_query, &values);
        let _ = G1Projective::msm_unchecked(&self.pk.b_g1_query, &values);
        let _ = G1Projective::msm_unchecked(
            &self.pk.l_query,
            &private[..self.pk.l_query.len().min(private.len())],
        );
        let _ = G1Projective::msm_unchecked(&self.pk.h_query, &h);
        let g1 = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let _ = G2Projective::msm_unchecked(&self.pk.b_g2_query, &values);
        (g1, started.elapsed().as_secs_f64())
    }

    /// Prove, check the proof against the key's own verification key (one pairing product,
    /// a few milliseconds: a witness that breaks a constraint shows here), and shape the
    /// result as snarkjs's `proof.json` and `public.json`.
    pub fn prove_snarkjs(&self, witness: &[Fr]) -> Result<SnarkjsProof> {
        let (proof, seconds) = self.prove(witness)?;
        let public = &witness[1..self.num_instance];
        let verified = self.verify(&proof, public)?;
        Ok(to_snarkjs(&proof, public, seconds, verified))
    }
}

/// snarkjs's JSON form: affine coordinates as decimals, G2 coordinates as ``[c0, c1]``,
/// and the projective ``z`` as ``"1"`` (``["1", "0"]`` in G2).
pub fn to_snarkjs(proof: &Proof<Bn254>, public: &[Fr], seconds: f64, verified: bool) -> SnarkjsProof {
    SnarkjsProof {
        pi_a: [decimal(&proof.a.x), decimal(&proof.a.y), "1".into()],
        pi_b: [
            [decimal(&proof.b.x.c0), decimal(&proof.b.x.c1)],
            [decimal(&proof.b.y.c0), decimal(&proof.b.y.c1)],
            ["1".into(), "0".into()],
        ],
        pi_c: [decimal(&proof.c.x), decimal(&proof.c.y), "1".into()],
        public_signals: public.iter().map(decimal).collect(),
        seconds,
        verified,
    }
}
