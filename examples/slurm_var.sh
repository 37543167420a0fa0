#!/usr/bin/env bash
# VaR and ES of the example book at 99% and 97.5% over 10^10 Student-t
# scenarios across nodes under Slurm: one MPI rank per node, each running the
# rayon tier on its node's cores over its share of every batch of scenario
# chunks; the tails are found across the ranks (exact quantiles, memory about
# 100 MB a rank). Rank 0 prints the result, the same bits on any number of
# ranks (and as one process with the same seed, past 2^26 scenarios).
#
#   cargo build --release --features mpi      # needs Open MPI and libclang
#   sbatch examples/slurm_var.sh
#
#SBATCH --job-name=quantmc-var
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=1
#SBATCH --cpus-per-task=32
#SBATCH --time=00:30:00
#SBATCH --output=quantmc-var-%j.json
set -euo pipefail

# Each rank's rayon pool takes the cores Slurm gave its task.
export RAYON_NUM_THREADS="${SLURM_CPUS_PER_TASK:-0}"

srun --mpi=pmix target/release/quantmc var \
    --portfolio examples/options_book.json \
    --scenarios 1e10 --dist student-t --dof 5 \
    --confidence 0.99 --confidence 0.975 --horizon-days 10 \
    --executor mpi --backend rayon --seed 42 --json --quiet
