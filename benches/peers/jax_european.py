#!/usr/bin/env python3
"""The European-call Monte Carlo kernel in JAX, the peer for quantmc's GPU tier
on the same card.

Usage: python3 benches/peers/jax_european.py [--paths 1e9] [--batch 1e8] [--repeat 3]

Same workload as benches/peers/compare.py (S=150, K=155, T=0.25, r=0.05,
sigma=0.3): normals from jax.random (float32), one exact log-normal step, mean
payoff, discounted. Times are best-of-N after a compile-and-warm-up call, with
`block_until_ready` so the device work is inside the timing. Runs on whatever
device JAX picks (GPU when jax[cuda] is installed).
"""

import argparse
import math
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=lambda t: int(float(t)), default=10**9)
    parser.add_argument("--batch", type=lambda t: int(float(t)), default=10**8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp

    spot, strike, maturity, rate, vol = 150.0, 155.0, 0.25, 0.05, 0.3
    drift = (rate - 0.5 * vol * vol) * maturity
    diffusion = vol * maturity**0.5
    batch = min(args.batch, args.paths)

    @jax.jit
    def batch_payoff_sum(key):
        z = jax.random.normal(key, (batch,), dtype=jnp.float32)
        terminal = spot * jnp.exp(drift + diffusion * z)
        return jnp.sum(jnp.maximum(terminal - strike, 0.0), dtype=jnp.float32)

    def price(seed):
        keys = jax.random.split(jax.random.key(seed), args.paths // batch)
        total = sum(float(batch_payoff_sum(k).block_until_ready()) for k in keys)
        # In Python floats: past 2^31 paths the count overflows the int32 a
        # jitted divide would take it as.
        return math.exp(-rate * maturity) * total / float(batch * len(keys))

    price(0)  # compile and warm up
    best = float("inf")
    for seed in range(1, args.repeat + 1):
        start = time.perf_counter()
        value = price(seed)
        best = min(best, time.perf_counter() - start)
    paths = batch * (args.paths // batch)
    print(f"JAX {jax.__version__} on {jax.devices()[0]}: {paths:.0e} paths in {best:.4f} s, "
          f"{paths / best:.3e} paths/s, price {float(value):.5f}")


if __name__ == "__main__":
    main()
