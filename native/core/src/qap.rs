//! snarkjs's witness map (the polynomial H of a Groth16 proof), for arkworks' prover.
//!
//! arkworks' default map divides A B - C by the vanishing polynomial on a coset. snarkjs's
//! keys instead hold H as Lagrange points of the domain twice as large, at its odd points
//! (see setup.rs), so the prover needs A B - C evaluated there:
//!
//! 1. a_i = <A_i, w>, b_i = <B_i, w> on the domain (every row of the key, the public-input
//!    rows included); c_i = a_i b_i (snarkjs never uses the C matrix: a satisfied row has
//!    <C_i, w> = a_i b_i);
//! 2. interpolate a, b, c (inverse FFT) and evaluate them at g w^i, g a primitive root of
//!    order twice the domain size (multiply coefficient k by g^k, then FFT);
//! 3. h_i = a_i b_i - c_i at those points.
//!
//! Setting keys up through arkworks is not supported with this map (setup.rs makes them).
use ark_ff::PrimeField;
use ark_groth16::r1cs_to_qap::{evaluate_constraint, R1CSToQAP};
use ark_poly::EvaluationDomain;
use ark_relations::gr1cs::{ConstraintSystemRef, Matrix, SynthesisError};
use rayon::prelude::*;

/// The witness map of snarkjs's Groth16 keys. `num_constraints` is the number of rows of the
/// matrices, padded to the key's domain size by the caller.
pub struct SnarkjsReduction;

fn odd_points<F: PrimeField, D: EvaluationDomain<F>>(domain: &D, shift: F, values: &mut Vec<F>) {
    domain.ifft_in_place(values);
    values
        .par_chunks_mut(1 << 12)
        .enumerate()
        .for_each(|(chunk, part)| {
            let mut power = shift.pow([(chunk << 12) as u64]);
            for v in part.iter_mut() {
                *v *= power;
                power *= shift;
            }
        });
    domain.fft_in_place(values);
}

impl R1CSToQAP for SnarkjsReduction {
    fn instance_map_with_evaluation<F: PrimeField, D: EvaluationDomain<F>>(
        _cs: ConstraintSystemRef<F>,
        _t: &F,
    ) -> Result<(Vec<F>, Vec<F>, Vec<F>, F, usize, usize), SynthesisError> {
        Err(SynthesisError::AssignmentMissing) // keys come from setup.rs or snarkjs
    }

    fn witness_map_from_matrices<F: PrimeField, D: EvaluationDomain<F>>(
        matrices: &[Matrix<F>],
        _num_inputs: usize,
        num_constraints: usize,
        full_assignment: &[F],
    ) -> Result<Vec<F>, SynthesisError> {
        let domain = D::new(num_constraints).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let n = domain.size();
        let (rows_a, rows_b) = (&matrices[0], &matrices[1]);
        let eval = |rows: &Matrix<F>| -> Vec<F> {
            let mut out = vec![F::zero(); n];
            out.par_iter_mut()
                .zip(rows.par_iter())
                .for_each(|(o, row)| *o = evaluate_constraint(row, full_assignment));
            out
        };
        let mut a = eval(rows_a);
        let mut b = eval(rows_b);
        let mut c: Vec<F> = a.par_iter().zip(&b).map(|(x, y)| *x * y).collect();
        let shift =
            F::get_root_of_unity(2 * n as u64).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        odd_points(&domain, shift, &mut a);
        odd_points(&domain, shift, &mut b);
        odd_points(&domain, shift, &mut c);
        Ok(a.par_iter()
            .zip(&b)
            .zip(&c)
            .map(|((x, y), z)| *x * y - z)
            .collect())
    }

    fn h_query_scalars<F: PrimeField, D: EvaluationDomain<F>>(
        _max_power: usize,
        _t: F,
        _zt: F,
        _delta_inverse: F,
    ) -> Result<Vec<F>, SynthesisError> {
        Err(SynthesisError::AssignmentMissing)
    }
}
