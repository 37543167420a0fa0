//! The rayon executor: chunks on all cores, partial results combined in chunk
//! order, so the bits never depend on the thread count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;

use super::{Executor, Span};
use crate::error::{BackendError, Result};
use crate::rng::CHUNK;
use crate::stats::Figures;

/// All cores, or a pool of a requested size.
pub(crate) struct Rayon {
    pool: Arc<rayon::ThreadPool>,
}

/// Pools by thread count, built once per count for the process: a job never
/// pays for starting threads after the first one of its size.
fn pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(pool) = pools.get(&threads) {
        return Ok(Arc::clone(pool));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|err| BackendError::Failed {
            backend: "rayon",
            reason: format!("cannot start {threads} threads: {err}"),
        })?;
    let pool = Arc::new(pool);
    pools.insert(threads, Arc::clone(&pool));
    Ok(pool)
}

impl Rayon {
    /// The executor on `threads` threads, or one per logical core. (It never
    /// uses rayon's global pool, whose size `RAYON_NUM_THREADS` sets: the
    /// library reads no environment; the CLI passes that variable on.)
    pub fn new(threads: Option<usize>) -> Result<Self> {
        let threads = threads.unwrap_or_else(|| crate::hardware::detect().logical_cores);
        Ok(Self {
            pool: pool(threads)?,
        })
    }

    fn install<T: Send>(&self, work: impl FnOnce() -> T + Send) -> T {
        self.pool.install(work)
    }
}

impl Executor for Rayon {
    fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    fn map_chunks(
        &self,
        chunks: &[Span],
        chunk: &(dyn Fn(Span) -> Figures + Sync),
    ) -> Vec<Figures> {
        self.install(|| chunks.par_iter().map(|&span| chunk(span)).collect())
    }

    fn fill_chunks(&self, pnl: &mut [f64], fill: &(dyn Fn(u64, &mut [f64]) + Sync)) {
        self.install(|| {
            pnl.par_chunks_mut(CHUNK as usize)
                .enumerate()
                .for_each(|(chunk, out)| fill(chunk as u64 * CHUNK, out))
        })
    }

    fn map_indexed<T: Send>(
        &self,
        chunks: std::ops::Range<u64>,
        work: &(dyn Fn(u64) -> T + Sync),
    ) -> Vec<T> {
        self.install(|| chunks.into_par_iter().map(work).collect())
    }
}
