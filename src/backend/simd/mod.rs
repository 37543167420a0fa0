//! The SIMD tier: one core, eight lanes of f64 per group, built with `wide`.

mod kernels;
pub mod math;
mod philox;

pub use kernels::{fill_pnl, price_chunk};
pub use math::{box_muller_x8, exp, sin_cos_turn, uniform_x8};
pub use philox::{LANE_STREAM, LANES, RoundKeys, StreamGroup, Streams, philox_x8};

use super::{Backend, CHUNK, ComputeBackend, chunk_bounds, finish_price};
use crate::error::Result;
use crate::hardware::compiled_simd;
use crate::pricing::{PathSetup, PricingEstimate, PricingJob};
use crate::risk::{RiskEstimate, RiskModel, VarJob};

/// One core, vectorised.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimdBackend;

impl ComputeBackend for SimdBackend {
    fn kind(&self) -> Backend {
        Backend::Simd
    }

    fn describe(&self) -> String {
        format!("simd ({}, f64x{LANES}, 1 thread)", compiled_simd())
    }

    fn price(&self, job: &PricingJob) -> Result<PricingEstimate> {
        let setup = PathSetup::new(job);
        let chunks = chunk_bounds(job.samples())
            .map(|(start, end)| price_chunk(&setup, job.seed, job.antithetic, start, end));
        Ok(finish_price(job, chunks))
    }

    fn risk(&self, job: &VarJob, model: &RiskModel) -> Result<RiskEstimate> {
        let mut pnl = vec![0.0; job.scenarios as usize];
        for (chunk, out) in pnl.chunks_mut(CHUNK as usize).enumerate() {
            fill_pnl(model, job.seed, chunk as u64 * CHUNK, out);
        }
        Ok(RiskEstimate::of_sample(&mut pnl, &job.confidences))
    }
}
