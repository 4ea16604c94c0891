//! Python bindings (PyO3) of zkmargin-core: `zkmargin_native.Groth16Prover` and
//! `zkmargin_native.PoseidonSchedule`. Integers cross as Python ints; anything out of the
//! field is refused with ValueError, never reduced. Long work runs without the GIL.
use num_bigint::BigUint;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use zkmargin_core::field::{fr_from_biguint, fr_to_biguint};
use zkmargin_core::groth16::Prover;
use zkmargin_core::poseidon::Schedule;
use zkmargin_core::{wtns, NativeError};

fn to_py(err: NativeError) -> PyErr {
    match err {
        NativeError::Io { .. } => PyOSError::new_err(err.to_string()),
        _ => PyValueError::new_err(err.to_string()),
    }
}

fn fr_vec(values: &[BigUint], what: &str) -> PyResult<Vec<ark_bn254_fr::Fr>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| fr_from_biguint(v, &format!("{what}[{i}]")).map_err(to_py))
        .collect()
}

mod ark_bn254_fr {
    pub use zkmargin_core::groth16::ScalarField as Fr;
}

/// A snarkjs Groth16 proving key, loaded once; proofs from circom witness files.
#[pyclass(frozen)]
struct Groth16Prover {
    inner: Prover,
}

#[pymethods]
impl Groth16Prover {
    #[new]
    fn new(py: Python<'_>, zkey_path: &str) -> PyResult<Self> {
        let inner = py
            .allow_threads(|| Prover::load(zkey_path))
            .map_err(to_py)?;
        Ok(Groth16Prover { inner })
    }

    /// Number of public signals of the key's circuit.
    #[getter]
    fn num_public(&self) -> usize {
        self.inner.num_public()
    }

    #[getter]
    fn num_constraints(&self) -> usize {
        self.inner.num_constraints
    }

    /// The multi-scalar multiplications of one proof alone, over this key's bases and the
    /// witness in `wtns_bytes` (random values if empty): (G1 seconds, G2 seconds), the floor
    /// a proof's time is compared with.
    #[pyo3(signature = (wtns_bytes = None))]
    fn msm_floor(&self, py: Python<'_>, wtns_bytes: Option<&[u8]>) -> PyResult<(f64, f64)> {
        let witness = match wtns_bytes {
            Some(b) => wtns::parse(b).map_err(to_py)?,
            None => vec![],
        };
        Ok(py.allow_threads(|| self.inner.msm_floor(&witness)))
    }

    /// Prove from the bytes of a `.wtns` file. Returns a dict: `proof` (snarkjs's proof.json
    /// shape), `public_signals` (decimal strings), `seconds` (proving time) and `verified`
    /// (the key's verification key accepts the proof).
    fn prove_wtns<'py>(&self, py: Python<'py>, wtns_bytes: &[u8]) -> PyResult<Bound<'py, PyDict>> {
        let witness = wtns::parse(wtns_bytes).map_err(to_py)?;
        let out = py
            .allow_threads(|| self.inner.prove_snarkjs(&witness))
            .map_err(to_py)?;
        let proof = PyDict::new(py);
        proof.set_item("pi_a", out.pi_a.to_vec())?;
        proof.set_item(
            "pi_b",
            out.pi_b.iter().map(|p| p.to_vec()).collect::<Vec<_>>(),
        )?;
        proof.set_item("pi_c", out.pi_c.to_vec())?;
        proof.set_item("protocol", "groth16")?;
        proof.set_item("curve", "bn128")?;
        let result = PyDict::new(py);
        result.set_item("proof", proof)?;
        result.set_item("public_signals", out.public_signals)?;
        result.set_item("seconds", out.seconds)?;
        result.set_item("verified", out.verified)?;
        Ok(result)
    }
}

/// circomlib Poseidon of one width, from the optimised schedule the engine derives.
#[pyclass(frozen)]
struct PoseidonSchedule {
    inner: Schedule,
}

fn matrix(rows: Vec<Vec<BigUint>>, what: &str) -> PyResult<Vec<Vec<ark_bn254_fr::Fr>>> {
    rows.iter()
        .enumerate()
        .map(|(i, r)| fr_vec(r, &format!("{what}[{i}]")))
        .collect()
}

#[pymethods]
impl PoseidonSchedule {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        width: usize,
        first_full: Vec<Vec<BigUint>>,
        first_mds: Vec<Vec<Vec<BigUint>>>,
        partial_scalars: Vec<BigUint>,
        sparse_corner: BigUint,
        sparse_row: Vec<Vec<BigUint>>,
        sparse_col: Vec<Vec<BigUint>>,
        last_full: Vec<Vec<BigUint>>,
        mds: Vec<Vec<BigUint>>,
    ) -> PyResult<Self> {
        let inner = Schedule {
            width,
            first_full: matrix(first_full, "first_full")?,
            first_mds: first_mds
                .into_iter()
                .enumerate()
                .map(|(i, m)| matrix(m, &format!("first_mds[{i}]")))
                .collect::<PyResult<_>>()?,
            partial_scalars: fr_vec(&partial_scalars, "partial_scalars")?,
            sparse_corner: fr_from_biguint(&sparse_corner, "sparse_corner").map_err(to_py)?,
            sparse_row: matrix(sparse_row, "sparse_row")?,
            sparse_col: matrix(sparse_col, "sparse_col")?,
            last_full: matrix(last_full, "last_full")?,
            mds: matrix(mds, "mds")?,
        };
        inner.validate().map_err(to_py)?;
        Ok(PoseidonSchedule { inner })
    }

    /// Poseidon of width - 1 field elements.
    fn hash(&self, inputs: Vec<BigUint>) -> PyResult<BigUint> {
        let x = fr_vec(&inputs, "inputs")?;
        Ok(fr_to_biguint(&self.inner.hash(&x).map_err(to_py)?))
    }

    /// The model's chained list hash of each list (chunks of width - 2 values, zero
    /// padded; 0 for an empty list), on every core.
    fn hash_list_many(&self, py: Python<'_>, lists: Vec<Vec<BigUint>>) -> PyResult<Vec<BigUint>> {
        let x = matrix(lists, "lists")?;
        let out = py
            .allow_threads(|| self.inner.hash_list_many(&x))
            .map_err(to_py)?;
        Ok(out.iter().map(fr_to_biguint).collect())
    }

    /// `hash_list_many` of small signed integers: `data` holds the lists one after the
    /// other, each `row_len` little-endian i64 values (a numpy int64 array's bytes); a
    /// negative value is the field element p - |v|, as `to_field` maps it.
    fn hash_list_many_i64(
        &self,
        py: Python<'_>,
        data: &[u8],
        row_len: usize,
    ) -> PyResult<Vec<BigUint>> {
        if row_len == 0 || !data.len().is_multiple_of(8 * row_len) {
            return Err(PyValueError::new_err(format!(
                "hash_list_many_i64: {} bytes are not whole rows of {row_len} int64 values",
                data.len()
            )));
        }
        let values: Vec<ark_bn254_fr::Fr> = data
            .chunks_exact(8)
            .map(|b| ark_bn254_fr::Fr::from(i64::from_le_bytes(b.try_into().unwrap())))
            .collect();
        let lists: Vec<Vec<ark_bn254_fr::Fr>> =
            values.chunks(row_len).map(|r| r.to_vec()).collect();
        let out = py
            .allow_threads(|| self.inner.hash_list_many(&lists))
            .map_err(to_py)?;
        Ok(out.iter().map(fr_to_biguint).collect())
    }

    /// Poseidon of each row (all of width - 1 field elements), on every core.
    fn hash_many(&self, py: Python<'_>, rows: Vec<Vec<BigUint>>) -> PyResult<Vec<BigUint>> {
        let x = matrix(rows, "rows")?;
        let out = py
            .allow_threads(|| self.inner.hash_many(&x))
            .map_err(to_py)?;
        Ok(out.iter().map(fr_to_biguint).collect())
    }
}

/// A single-party (development) circuit-specific Groth16 setup of the circom R1CS at
/// `r1cs_path`, written as a snarkjs key to `zkey_path` (atomically). Returns a dict with
/// constraints, variables, public, domain_size and seconds.
#[pyfunction]
fn groth16_setup<'py>(
    py: Python<'py>,
    r1cs_path: &str,
    zkey_path: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let summary = py
        .allow_threads(|| zkmargin_core::setup::setup(r1cs_path, zkey_path))
        .map_err(to_py)?;
    let out = PyDict::new(py);
    out.set_item("constraints", summary.constraints)?;
    out.set_item("variables", summary.variables)?;
    out.set_item("public", summary.public)?;
    out.set_item("domain_size", summary.domain_size)?;
    out.set_item("seconds", summary.seconds)?;
    Ok(out)
}

#[pymodule]
fn zkmargin_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(groth16_setup, m)?)?;
    m.add_class::<Groth16Prover>()?;
    m.add_class::<PoseidonSchedule>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
