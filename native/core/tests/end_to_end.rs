//! The crate end to end without Python or circom: a hand-written R1CS (x * y = z, z public;
//! z * z = w), the native setup writing a snarkjs key, the key read back, a proof made and
//! verified; a witness that breaks a constraint gives a proof the key rejects; damaged
//! files are refused with a message naming them.
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use zkmargin_core::groth16::Prover;
use zkmargin_core::{r1cs, setup, wtns, zkey};

fn term(out: &mut Vec<u8>, wire: u32, value: u64) {
    out.extend_from_slice(&wire.to_le_bytes());
    out.extend_from_slice(&Fr::from(value).into_bigint().to_bytes_le());
}

/// Wires: 0 = one, 1 = z (public output), 2 = x, 3 = y, 4 = w.
/// Constraints: x * y = z; z * z = w.
fn tiny_r1cs() -> Vec<u8> {
    let mut header = Vec::new();
    header.extend_from_slice(&32u32.to_le_bytes());
    header.extend_from_slice(&Fr::MODULUS.to_bytes_le());
    for v in [5u32, 1, 0, 2] {
        header.extend_from_slice(&v.to_le_bytes()); // wires, public outputs, public inputs, private inputs
    }
    header.extend_from_slice(&5u64.to_le_bytes()); // labels
    header.extend_from_slice(&2u32.to_le_bytes()); // constraints
    let mut body = Vec::new();
    for (a, b, c) in [(2u32, 3u32, 1u32), (1, 1, 4)] {
        for wire in [a, b, c] {
            body.extend_from_slice(&1u32.to_le_bytes());
            term(&mut body, wire, 1);
        }
    }
    let mut out = b"r1cs".to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    for (kind, section) in [(1u32, &header), (2u32, &body)] {
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(section.len() as u64).to_le_bytes());
        out.extend_from_slice(section);
    }
    out
}

fn witness(x: u64, y: u64) -> Vec<Fr> {
    let z = x * y;
    vec![
        Fr::from(1u64),
        Fr::from(z),
        Fr::from(x),
        Fr::from(y),
        Fr::from(z * z),
    ]
}

#[test]
fn setup_prove_verify() {
    let dir = std::env::temp_dir().join(format!("zkmargin-core-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (r1cs_path, zkey_path) = (dir.join("tiny.r1cs"), dir.join("tiny.zkey"));
    std::fs::write(&r1cs_path, tiny_r1cs()).unwrap();
    let parsed = r1cs::read(&tiny_r1cs(), "tiny.r1cs").unwrap();
    assert_eq!(
        (parsed.n_wires, parsed.n_public, parsed.constraints.len()),
        (5, 1, 2)
    );

    let summary = setup::setup(r1cs_path.to_str().unwrap(), zkey_path.to_str().unwrap()).unwrap();
    assert_eq!(
        (summary.constraints, summary.public, summary.domain_size),
        (2, 1, 4)
    );
    let key = zkey::read(&std::fs::read(&zkey_path).unwrap(), "tiny.zkey").unwrap();
    assert_eq!((key.n_vars, key.n_public, key.domain_size), (5, 1, 4));
    assert_eq!(key.a.len(), 4); // two constraints and the rows A = 1, A = z

    let prover = Prover::load(zkey_path.to_str().unwrap()).unwrap();
    let good = witness(3, 7);
    let (proof, _) = prover.prove(&good).unwrap();
    assert!(prover.verify(&proof, &good[1..2]).unwrap());
    assert!(!prover.verify(&proof, &[Fr::from(22u64)]).unwrap()); // another public value

    let mut bad = witness(3, 7);
    bad[4] = Fr::from(440u64); // w != z * z
    let (forged, _) = prover.prove(&bad).unwrap();
    assert!(!prover.verify(&forged, &bad[1..2]).unwrap());

    assert!(prover
        .prove(&good[..4])
        .unwrap_err()
        .to_string()
        .contains("4 values"));
    let from_file = wtns::parse(&wtns::write(&good)).unwrap();
    assert_eq!(from_file, good);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_files_are_refused() {
    let r1cs_bytes = tiny_r1cs();
    let err = r1cs::read(&r1cs_bytes[..r1cs_bytes.len() - 3], "cut.r1cs")
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("cut.r1cs: not a usable circom R1CS:") && err.contains("truncated"),
        "{err}"
    );
    let err = zkey::read(b"zkey\x01\x00\x00\x00\x00\x00\x00\x00", "empty.zkey")
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("empty.zkey: not a usable snarkjs Groth16 key: section 1 is missing"),
        "{err}"
    );
    let err = zkey::read(b"nope", "x.zkey").err().unwrap().to_string();
    assert!(err.contains("truncated") || err.contains("magic"), "{err}");
}
