//! The scalar kernel: the plain f64 reference every other tier is checked
//! against. It runs the products' own definitions on `f64`, one path at a
//! time, with its normals from [`crate::rng`]'s scalar functions (libm's `ln`,
//! `sin_cos` and `exp`), so it shares no arithmetic with the SIMD kernels
//! beyond the products' formulas.

use super::{ChunkKernel, CpuKernel, Draws};
use crate::greeks::{GREEKS, GreekSetup};
use crate::products::{PathSetup, Product, path_value};
use crate::risk::RiskModel;
use crate::rng::qmc::qmc_normal;
use crate::rng::{SUBSTREAM_NORMALS, chi_square, fill_normals, path_normal};
use crate::stats::{CoMoments, Figures, ShiftedSums};

/// One f64 path at a time: the oracle.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ScalarKernel;

/// Sample `sample`'s step normals: its Philox draws, or its QMC point's
/// normals turned into Brownian increments by the bridge. `w` is scratch.
fn sample_normals(draws: &Draws<'_>, sample: u64, z: &mut [f64], w: &mut [f64]) {
    match *draws {
        Draws::Mc { seed } => {
            for (step, z) in (0..).zip(z.iter_mut()) {
                *z = path_normal(seed, sample, step);
            }
        }
        Draws::Qmc { scrambles, bridge } => {
            for (d, (w, &scramble)) in (0..).zip(w.iter_mut().zip(scrambles)) {
                *w = qmc_normal(sample as u32, d, scramble);
            }
            bridge.increments(w, z, |x| x);
        }
    }
}

impl ChunkKernel for ScalarKernel {
    fn moments<P: Product, const PUT: bool, const ANTITHETIC: bool>(
        &self,
        setup: &PathSetup,
        draws: &Draws<'_>,
        _control: bool,
        start: u64,
        end: u64,
    ) -> CoMoments {
        // The oracle always sums the control: one code path to trust.
        let steps = setup.steps as usize;
        let (mut z, mut w) = (vec![0.0; steps], vec![0.0; steps]);
        let samples: Vec<(f64, f64)> = (start..end)
            .map(|index| {
                sample_normals(draws, index, &mut z, &mut w);
                let up = path_value::<P, PUT, f64>(setup, &z, 1.0);
                if ANTITHETIC {
                    let down = path_value::<P, PUT, f64>(setup, &z, -1.0);
                    (0.5 * (up.0 + down.0), 0.5 * (up.1 + down.1))
                } else {
                    up
                }
            })
            .collect();
        CoMoments::of(&samples)
    }

    fn greeks<P: Product, const PUT: bool, const ANTITHETIC: bool>(
        &self,
        setup: &PathSetup,
        draws: &Draws<'_>,
        greeks: &GreekSetup,
        _control: bool,
        start: u64,
        end: u64,
    ) -> Figures {
        let steps = setup.steps as usize;
        let (mut z, mut w) = (vec![0.0; steps], vec![0.0; steps]);
        // The prices stored as the price alone stores them (sized up front,
        // as its `collect` is); the Greeks' estimates summed as they come:
        // five more stored samples a path cost the oracle its cache.
        let mut prices = Vec::with_capacity((end - start) as usize);
        let mut estimates = [ShiftedSums::default(); GREEKS];
        for index in start..end {
            sample_normals(draws, index, &mut z, &mut w);
            let (mut sample, mut payoff, mut control) = greeks.estimators::<P, PUT, f64>(&z, 1.0);
            if ANTITHETIC {
                let (down, payoff_down, control_down) = greeks.estimators::<P, PUT, f64>(&z, -1.0);
                for (up, down) in sample.iter_mut().zip(down) {
                    *up = 0.5 * (*up + down);
                }
                payoff = 0.5 * (payoff + payoff_down);
                control = 0.5 * (control + control_down);
            }
            prices.push((payoff, control));
            for (sums, value) in estimates.iter_mut().zip(sample) {
                sums.add(value);
            }
        }
        Figures {
            moments: CoMoments::of(&prices),
            greeks: Some(estimates.map(|sums| sums.moments())),
        }
    }
}

/// Scenario `index`'s standard normals, written to `normals`, and the scale
/// of its shocks: 1 for normal scenarios, `sqrt((dof - 2) / W)` for
/// Student-t ones.
pub(crate) fn scenario_draws(dof: Option<f64>, seed: u64, index: u64, normals: &mut [f64]) -> f64 {
    fill_normals(seed, SUBSTREAM_NORMALS, index, normals);
    dof.map_or(1.0, |dof| {
        ((dof - 2.0) / chi_square(seed, index, dof)).sqrt()
    })
}

/// P&L of scenario `index`; `scratch` is [`RiskModel::scratch`]'s.
pub(crate) fn scenario_pnl(model: &RiskModel, seed: u64, index: u64, scratch: &mut [f64]) -> f64 {
    let (normals, returns) = scratch.split_at_mut(model.loadings.len());
    let scale = scenario_draws(model.dof, seed, index, normals);
    let shock: f64 = model
        .loadings
        .iter()
        .zip(normals.iter())
        .map(|(b, z)| b * z)
        .sum();
    let linear = model.mean + scale * shock;
    match &model.book {
        None => linear,
        Some(book) => {
            book.returns(normals, scale, returns);
            linear + book.horizon_value(returns)
        }
    }
}

impl CpuKernel for ScalarKernel {
    fn describe(&self) -> String {
        "f64".to_string()
    }

    fn fill_pnl(&self, model: &RiskModel, seed: u64, first: u64, out: &mut [f64]) {
        let mut scratch = model.scratch();
        for (index, value) in (first..).zip(out.iter_mut()) {
            *value = scenario_pnl(model, seed, index, &mut scratch);
        }
    }
}
