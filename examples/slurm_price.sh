#!/usr/bin/env bash
# A European call to 1e-5 relative standard error across nodes under Slurm:
# one MPI rank per node, each running the rayon tier on its node's cores.
# Rank 0 prints the result, the same bits as one process with the same seed.
#
#   cargo build --release --features mpi      # needs Open MPI and libclang
#   sbatch examples/slurm_price.sh
#
#SBATCH --job-name=quantmc-price
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=32
#SBATCH --time=00:10:00
#SBATCH --output=quantmc-price-%j.json
set -euo pipefail

# Each rank's rayon pool takes the cores Slurm gave its task.
export RAYON_NUM_THREADS="${SLURM_CPUS_PER_TASK:-0}"

srun --mpi=pmix target/release/quantmc price \
    --spot 150 --strike 155 --maturity 0.25 --vol 0.3 \
    --paths 1e9 --target-rel-se 1e-5 --max-paths 1e11 \
    --executor mpi --backend rayon --seed 42 --json --quiet
