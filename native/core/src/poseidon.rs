//! circomlib's Poseidon over BN254 (x^5 S-box, 8 full rounds around the partial ones), run
//! from the *optimised schedule*: the same derivation as the Python engine's fast path
//! (engine/poseidon.py), handed over by it, so the round constants live in one place.
//!
//! Per width t the schedule holds the constants of the first and last four full rounds,
//! the matrices of the first four (the last one has absorbed the partial rounds' dense
//! factor), one scalar constant per partial round, and per partial round a sparse matrix
//! (corner, first row, first column, identity elsewhere): O(t) per partial round.
use ark_bn254::Fr;
use ark_ff::{Field, Zero};
use rayon::prelude::*;

use crate::{NativeError, Result};

/// The optimised constants for one state width (inputs + 1).
#[derive(Clone, Debug)]
pub struct Schedule {
    pub width: usize,
    pub first_full: Vec<Vec<Fr>>,
    pub first_mds: Vec<Vec<Vec<Fr>>>,
    pub partial_scalars: Vec<Fr>,
    pub sparse_corner: Fr,
    pub sparse_row: Vec<Vec<Fr>>,
    pub sparse_col: Vec<Vec<Fr>>,
    pub last_full: Vec<Vec<Fr>>,
    pub mds: Vec<Vec<Fr>>,
}

fn bad(msg: String) -> NativeError {
    NativeError::Format(format!("poseidon schedule: {msg}"))
}

impl Schedule {
    /// Check every dimension against ``width`` (a schedule from elsewhere is not trusted).
    pub fn validate(&self) -> Result<()> {
        let t = self.width;
        if !(2..=17).contains(&t) {
            return Err(bad(format!("width {t} outside 2..17")));
        }
        let square = |m: &Vec<Vec<Fr>>| m.len() == t && m.iter().all(|r| r.len() == t);
        if self.first_full.len() != 4 || self.last_full.len() != 4 || self.first_mds.len() != 4 {
            return Err(bad("expected 4 + 4 full rounds".into()));
        }
        if !self
            .first_full
            .iter()
            .chain(&self.last_full)
            .all(|c| c.len() == t)
        {
            return Err(bad(format!("full-round constants must have {t} values")));
        }
        if !self.first_mds.iter().all(square) || !square(&self.mds) {
            return Err(bad(format!("matrices must be {t} x {t}")));
        }
        let n_p = self.partial_scalars.len();
        if self.sparse_row.len() != n_p || self.sparse_col.len() != n_p {
            return Err(bad("one sparse row and column per partial round".into()));
        }
        if !self
            .sparse_row
            .iter()
            .chain(&self.sparse_col)
            .all(|v| v.len() == t - 1)
        {
            return Err(bad(format!(
                "sparse rows and columns must have {} values",
                t - 1
            )));
        }
        Ok(())
    }

    /// Poseidon of ``inputs`` (t - 1 field elements): the initial state is [0, inputs...].
    pub fn hash(&self, inputs: &[Fr]) -> Result<Fr> {
        if inputs.len() + 1 != self.width {
            return Err(NativeError::Format(format!(
                "poseidon of width {} takes {} inputs, got {}",
                self.width,
                self.width - 1,
                inputs.len()
            )));
        }
        let mut state = Vec::with_capacity(self.width);
        state.push(Fr::zero());
        state.extend_from_slice(inputs);
        Ok(self.permute(state))
    }

    fn full_round(state: &mut Vec<Fr>, constants: &[Fr], mds: &[Vec<Fr>]) {
        for (x, c) in state.iter_mut().zip(constants) {
            *x += c;
            *x = sbox(*x);
        }
        let mixed: Vec<Fr> = mds.iter().map(|row| dot(row, state)).collect();
        *state = mixed;
    }

    fn permute(&self, mut state: Vec<Fr>) -> Fr {
        for (constants, mds) in self.first_full.iter().zip(&self.first_mds) {
            Self::full_round(&mut state, constants, mds);
        }
        for ((scalar, row), col) in self
            .partial_scalars
            .iter()
            .zip(&self.sparse_row)
            .zip(&self.sparse_col)
        {
            let x0 = sbox(state[0] + scalar);
            let new0 = self.sparse_corner * x0 + dot(row, &state[1..]);
            for (w, x) in col.iter().zip(state[1..].iter_mut()) {
                *x += *w * x0;
            }
            state[0] = new0;
        }
        for constants in &self.last_full {
            Self::full_round(&mut state, constants, &self.mds);
        }
        state[0]
    }

    /// Many hashes of one width at once, spread over the machine's cores.
    pub fn hash_many(&self, rows: &[Vec<Fr>]) -> Result<Vec<Fr>> {
        rows.par_iter().map(|r| self.hash(r)).collect()
    }

    /// The model's chained list hash (docs/margin-model.md section 5, `hash_list` in
    /// engine/commitments.py, the reference this is tested against): h = 0, then for each
    /// chunk of width - 2 values (the last one padded with zeros) h = Poseidon(h, chunk);
    /// 0 for an empty list.
    pub fn hash_list(&self, values: &[Fr]) -> Result<Fr> {
        let chunk = self.width - 2;
        if chunk == 0 {
            return Err(NativeError::Format(
                "hash_list needs a width of at least 3".into(),
            ));
        }
        let mut h = Fr::zero();
        let mut inputs = vec![Fr::zero(); self.width - 1];
        for part in values.chunks(chunk) {
            inputs[0] = h;
            inputs[1..1 + part.len()].copy_from_slice(part);
            for x in inputs[1 + part.len()..].iter_mut() {
                *x = Fr::zero();
            }
            h = self.hash(&inputs)?;
        }
        Ok(h)
    }

    /// `hash_list` of each list, spread over the machine's cores.
    pub fn hash_list_many(&self, lists: &[Vec<Fr>]) -> Result<Vec<Fr>> {
        lists.par_iter().map(|l| self.hash_list(l)).collect()
    }
}

/// The dot product of two equally long slices with one modular reduction for the whole
/// sum (ark-ff's `sum_of_products`, lazy reduction), for the lengths a schedule uses.
fn dot(a: &[Fr], b: &[Fr]) -> Fr {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match a.len() {
                $($n => Fr::sum_of_products::<$n>(a.try_into().unwrap(), b.try_into().unwrap()),)*
                _ => a.iter().zip(b).map(|(x, y)| *x * y).sum(),
            }
        };
    }
    debug_assert_eq!(a.len(), b.len());
    fixed!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17)
}

#[inline]
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// The textbook permutation (dense matrix every round) from the plain constants, to test
/// the optimised one against (and the schedule the engine derives).
pub fn reference_hash(
    inputs: &[Fr],
    constants: &[Fr],
    mds: &[Vec<Fr>],
    partial_rounds: usize,
) -> Fr {
    let t = inputs.len() + 1;
    let mut state = vec![Fr::zero()];
    state.extend_from_slice(inputs);
    for r in 0..(8 + partial_rounds) {
        for (i, x) in state.iter_mut().enumerate() {
            *x += constants[r * t + i];
        }
        if (4..4 + partial_rounds).contains(&r) {
            state[0] = sbox(state[0]);
        } else {
            for x in state.iter_mut() {
                *x = sbox(*x);
            }
        }
        state = mds
            .iter()
            .map(|row| row.iter().zip(&state).map(|(m, x)| *m * x).sum())
            .collect();
    }
    state[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_std::UniformRand;

    /// A width-t schedule with random constants and no partial rounds (then the optimised
    /// schedule is the plain one), with its plain constants and matrix.
    fn plain_schedule(t: usize) -> (Schedule, Vec<Fr>, Vec<Vec<Fr>>) {
        let mut rng = ark_std::test_rng();
        let constants: Vec<Fr> = (0..8 * t).map(|_| Fr::rand(&mut rng)).collect();
        let mds: Vec<Vec<Fr>> = (0..t)
            .map(|_| (0..t).map(|_| Fr::rand(&mut rng)).collect())
            .collect();
        let rows: Vec<Vec<Fr>> = constants.chunks(t).map(|c| c.to_vec()).collect();
        let schedule = Schedule {
            width: t,
            first_full: rows[..4].to_vec(),
            first_mds: vec![mds.clone(); 4],
            partial_scalars: vec![],
            sparse_corner: Fr::zero(),
            sparse_row: vec![],
            sparse_col: vec![],
            last_full: rows[4..].to_vec(),
            mds: mds.clone(),
        };
        (schedule, constants, mds)
    }

    #[test]
    fn full_rounds_match_the_reference() {
        let (schedule, constants, mds) = plain_schedule(3);
        schedule.validate().unwrap();
        let inputs = [Fr::from(1u64), Fr::from(2u64)];
        assert_eq!(
            schedule.hash(&inputs).unwrap(),
            reference_hash(&inputs, &constants, &mds, 0)
        );
        assert!(schedule.hash(&inputs[..1]).is_err());
        let many = schedule
            .hash_many(&[inputs.to_vec(), inputs.to_vec()])
            .unwrap();
        assert_eq!(many[0], many[1]);
    }

    #[test]
    fn hash_list_chains_padded_chunks() {
        let (s, _, _) = plain_schedule(4); // chunks of 2 values
        let v: Vec<Fr> = (1u64..=3).map(Fr::from).collect();
        let first = s.hash(&[Fr::zero(), v[0], v[1]]).unwrap();
        let second = s.hash(&[first, v[2], Fr::zero()]).unwrap();
        assert_eq!(s.hash_list(&v).unwrap(), second);
        assert_eq!(s.hash_list(&[]).unwrap(), Fr::zero());
        assert_eq!(
            s.hash_list_many(&[v.clone(), vec![]]).unwrap(),
            vec![second, Fr::zero()]
        );
    }

    #[test]
    fn a_malformed_schedule_is_refused() {
        let bad = Schedule {
            width: 3,
            first_full: vec![],
            first_mds: vec![],
            partial_scalars: vec![],
            sparse_corner: Fr::zero(),
            sparse_row: vec![],
            sparse_col: vec![],
            last_full: vec![],
            mds: vec![],
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("4 + 4 full rounds"));
    }
}
