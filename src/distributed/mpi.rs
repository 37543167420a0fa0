//! MPI ranks as a [`Communicator`](super::Communicator), through the `mpi`
//! crate (rsmpi) over the system's MPI (Open MPI on the machines this is
//! tested on). Built with the `mpi` cargo feature.

use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, CommunicatorCollectives as _};

use crate::error::{BackendError, Result};

/// The MPI world of this process: MPI is initialised when it is made and
/// finalised when it is dropped (once per process).
pub struct World {
    world: SimpleCommunicator,
    // Dropped last: finalises MPI.
    _universe: Universe,
}

impl World {
    /// Initialises MPI; an error when it was initialised before in this
    /// process.
    pub fn initialize() -> Result<Self> {
        let universe = mpi::initialize().ok_or_else(|| BackendError::Unavailable {
            backend: "mpi",
            reason: "MPI was already initialised in this process".to_string(),
        })?;
        Ok(Self {
            world: universe.world(),
            _universe: universe,
        })
    }
}

impl World {
    /// This process's rank among the processes on its node (0 on the
    /// first): what `--gpus local-rank` picks a GPU by. A collective call.
    pub fn local_rank(&self) -> usize {
        self.world.split_shared(0).rank() as usize
    }
}

impl super::Communicator for World {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    /// Two collectives: every rank's word count, then the words. An MPI
    /// failure aborts every rank (MPI's default error handler), so no rank
    /// waits on one that is gone.
    fn all_gather(&self, words: &[u64]) -> Result<Vec<Vec<u64>>> {
        let too_long = || BackendError::Failed {
            backend: "mpi",
            reason: format!("a message of {} words is past MPI's counts", words.len()),
        };
        let count = mpi::Count::try_from(words.len()).map_err(|_| too_long())?;
        let mut counts = vec![0 as mpi::Count; self.world.size() as usize];
        self.world.all_gather_into(&count, &mut counts[..]);
        let mut displacements = Vec::with_capacity(counts.len());
        let mut total: mpi::Count = 0;
        for &count in &counts {
            displacements.push(total);
            total = total.checked_add(count).ok_or_else(too_long)?;
        }
        let mut all = vec![0u64; total as usize];
        {
            let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displacements[..]);
            self.world.all_gather_varcount_into(words, &mut partition);
        }
        Ok(counts
            .iter()
            .zip(&displacements)
            .map(|(&count, &at)| all[at as usize..(at + count) as usize].to_vec())
            .collect())
    }
}
