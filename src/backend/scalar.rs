//! The scalar kernel: the plain f64 reference every other tier is checked
//! against. It runs the products' own definitions on `f64`, one path at a
//! time, with its normals from [`crate::rng`]'s scalar functions (libm's `ln`,
//! `sin_cos` and `exp`), so it shares no arithmetic with the SIMD kernels
//! beyond the products' formulas.

use super::{Chunk, ChunkKernel, CpuKernel};
use crate::pricing::PricingJob;
use crate::products::{PathSetup, PathState, Product};
use crate::risk::RiskModel;
use crate::rng::{SUBSTREAM_NORMALS, chi_square, fill_normals, path_normal};
use crate::stats::Moments;

/// One path at a time, f64: the oracle.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ScalarKernel;

/// Undiscounted payoff of the path of sample `sample`, its normals multiplied
/// by `sign` (+1, or -1 for the antithetic twin).
fn path_payoff<P: Product, const PUT: bool>(
    setup: &PathSetup,
    seed: u64,
    sample: u64,
    sign: f64,
) -> f64 {
    let mut path = PathState::start(setup.log_spot);
    for step in 0..setup.steps {
        let z = path_normal(seed, sample, step);
        path.advance::<P>(setup.drift + setup.diffusion * sign * z);
    }
    P::payoff::<f64, PUT>(&path, &setup.terms())
}

impl ChunkKernel for ScalarKernel {
    fn moments<P: Product, const PUT: bool, const ANTITHETIC: bool>(
        setup: &PathSetup,
        seed: u64,
        start: u64,
        end: u64,
    ) -> Moments {
        let samples: Vec<f64> = (start..end)
            .map(|index| {
                let up = path_payoff::<P, PUT>(setup, seed, index, 1.0);
                if ANTITHETIC {
                    0.5 * (up + path_payoff::<P, PUT>(setup, seed, index, -1.0))
                } else {
                    up
                }
            })
            .collect();
        Moments::of(&samples)
    }
}

/// P&L of scenario `index`; `normals` is scratch of the portfolio's size.
fn scenario_pnl(model: &RiskModel, seed: u64, index: u64, normals: &mut [f64]) -> f64 {
    fill_normals(seed, SUBSTREAM_NORMALS, index, normals);
    let shock: f64 = model
        .loadings
        .iter()
        .zip(normals.iter())
        .map(|(b, z)| b * z)
        .sum();
    let scale = match model.dof {
        None => 1.0,
        Some(dof) => ((dof - 2.0) / chi_square(seed, index, dof)).sqrt(),
    };
    model.mean + scale * shock
}

impl CpuKernel for ScalarKernel {
    fn describe(&self) -> String {
        "f64".to_string()
    }

    fn price_chunk(&self, setup: &PathSetup, job: &PricingJob, start: u64, end: u64) -> Moments {
        Chunk::<Self>::moments(setup, job, start, end)
    }

    fn fill_pnl(&self, model: &RiskModel, seed: u64, first: u64, out: &mut [f64]) {
        let mut normals = vec![0.0; model.loadings.len()];
        for (index, value) in (first..).zip(out.iter_mut()) {
            *value = scenario_pnl(model, seed, index, &mut normals);
        }
    }
}
