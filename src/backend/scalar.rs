//! The scalar tier: the plain f64 reference every other tier is checked against.
//! It favours reading like the mathematics over speed.

use super::{Backend, CHUNK, ComputeBackend, chunk_bounds, finish_price};
use crate::error::Result;
use crate::pricing::{PathSetup, PricingEstimate, PricingJob, Style};
use crate::risk::{RiskEstimate, RiskModel, VarJob};
use crate::rng::{SUBSTREAM_NORMALS, chi_square, fill_normals, path_normal};
use crate::stats::Moments;

/// The reference tier: one path at a time, f64, one thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScalarBackend;

/// Undiscounted payoff of the path of sample `sample`, its normals multiplied
/// by `sign` (+1, or -1 for the antithetic twin).
fn path_payoff(setup: &PathSetup, seed: u64, sample: u64, sign: f64) -> f64 {
    let mut log_price = setup.log_spot;
    let mut arithmetic_sum = 0.0;
    let mut log_sum = 0.0;
    for step in 0..setup.steps {
        let z = path_normal(seed, sample, step);
        log_price += setup.drift + setup.diffusion * sign * z;
        match setup.style {
            Style::European => {}
            Style::AsianArithmetic => arithmetic_sum += log_price.exp(),
            Style::AsianGeometric => log_sum += log_price,
        }
    }
    let fixings = f64::from(setup.steps);
    let underlying = match setup.style {
        Style::European => log_price.exp(),
        Style::AsianArithmetic => arithmetic_sum / fixings,
        Style::AsianGeometric => (log_sum / fixings).exp(),
    };
    setup.payoff(underlying)
}

/// One independent sample: a path's payoff, or the mean of a pair's.
pub(crate) fn sample_payoff(setup: &PathSetup, job: &PricingJob, index: u64) -> f64 {
    if job.antithetic {
        0.5 * (path_payoff(setup, job.seed, index, 1.0) + path_payoff(setup, job.seed, index, -1.0))
    } else {
        path_payoff(setup, job.seed, index, 1.0)
    }
}

/// P&L of scenario `index`; `normals` is scratch of the portfolio's size.
pub(crate) fn scenario_pnl(model: &RiskModel, seed: u64, index: u64, normals: &mut [f64]) -> f64 {
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

impl ComputeBackend for ScalarBackend {
    fn kind(&self) -> Backend {
        Backend::Scalar
    }

    fn describe(&self) -> String {
        "scalar (f64, 1 thread)".to_string()
    }

    fn price(&self, job: &PricingJob) -> Result<PricingEstimate> {
        let setup = PathSetup::new(job);
        let mut chunk = Vec::with_capacity(CHUNK as usize);
        let moments = chunk_bounds(job.samples()).map(|(start, end)| {
            chunk.clear();
            chunk.extend((start..end).map(|index| sample_payoff(&setup, job, index)));
            Moments::of(&chunk)
        });
        Ok(finish_price(job, moments))
    }

    fn risk(&self, job: &VarJob, model: &RiskModel) -> Result<RiskEstimate> {
        let mut normals = vec![0.0; model.loadings.len()];
        let mut pnl: Vec<f64> = (0..job.scenarios)
            .map(|index| scenario_pnl(model, job.seed, index, &mut normals))
            .collect();
        Ok(RiskEstimate::of_sample(&mut pnl, &job.confidences))
    }
}
