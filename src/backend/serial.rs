//! The serial executor: every chunk on the calling thread, in order. With the
//! scalar kernel it is the scalar tier, with the vector kernel the SIMD tier.

use super::{Executor, Span};
use crate::rng::CHUNK;
use crate::stats::Figures;

/// One thread.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Serial;

impl Executor for Serial {
    fn threads(&self) -> usize {
        1
    }

    fn map_chunks(
        &self,
        chunks: &[Span],
        chunk: &(dyn Fn(Span) -> Figures + Sync),
    ) -> Vec<Figures> {
        chunks.iter().map(|&span| chunk(span)).collect()
    }

    fn fill_chunks(&self, pnl: &mut [f64], fill: &(dyn Fn(u64, &mut [f64]) + Sync)) {
        for (chunk, out) in pnl.chunks_mut(CHUNK as usize).enumerate() {
            fill(chunk as u64 * CHUNK, out);
        }
    }

    fn map_indexed<T: Send>(
        &self,
        chunks: std::ops::Range<u64>,
        work: &(dyn Fn(u64) -> T + Sync),
    ) -> Vec<T> {
        chunks.map(work).collect()
    }
}
