//! Times the optimised Poseidon permutation per width on one core (random constants of
//! circomlib's shape: 8 full rounds and the partial rounds of that width).
//!
//!     cargo run --release --example poseidon_speed
use ark_bn254::Fr;
use ark_std::UniformRand;
use std::time::Instant;
use zkmargin_core::poseidon::Schedule;

fn random_schedule(t: usize, partial: usize) -> Schedule {
    let mut rng = ark_std::test_rng();
    let mut vec = |n: usize| (0..n).map(|_| Fr::rand(&mut rng)).collect::<Vec<Fr>>();
    let square = |v: &mut dyn FnMut(usize) -> Vec<Fr>| (0..t).map(|_| v(t)).collect::<Vec<_>>();
    let first_full = (0..4).map(|_| vec(t)).collect();
    let first_mds = (0..4).map(|_| square(&mut vec)).collect();
    let partial_scalars = vec(partial);
    let sparse_corner = vec(1)[0];
    let sparse_row = (0..partial).map(|_| vec(t - 1)).collect();
    let sparse_col = (0..partial).map(|_| vec(t - 1)).collect();
    let last_full = (0..4).map(|_| vec(t)).collect();
    let mds = square(&mut vec);
    Schedule {
        width: t,
        first_full,
        first_mds,
        partial_scalars,
        sparse_corner,
        sparse_row,
        sparse_col,
        last_full,
        mds,
    }
}

fn main() {
    // circomlib's partial rounds per width 2..17
    let partial = [
        56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68,
    ];
    for t in [3usize, 17] {
        let s = random_schedule(t, partial[t - 2]);
        let inputs: Vec<Fr> = (0..t - 1).map(|i| Fr::from(i as u64 + 1)).collect();
        let n = if t == 3 { 200_000 } else { 20_000 };
        let start = Instant::now();
        let mut acc = Fr::from(0u64);
        for _ in 0..n {
            acc += s.hash(&inputs).unwrap();
        }
        let us = start.elapsed().as_secs_f64() / n as f64 * 1e6;
        println!("width {t}: {us:.2} us per hash on one core ({acc})");
    }
}
