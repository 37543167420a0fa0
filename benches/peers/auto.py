#!/usr/bin/env python3
"""Backend::Auto beside every explicit CPU tier, across job sizes.

Usage: python3 benches/peers/auto.py [--binary target/release/quantmc] [--repeat 5] [--gpu]

For European calls 10^3..10^8 paths, arithmetic Asians with 64 steps
10^3..10^6 paths, and 10-asset VaR 10^4..10^7 scenarios, runs `--backend auto`
and each explicit tier in turn (best of N, 3N for jobs up to 10^8 work units,
quantmc's own `elapsed_s`) and prints a
Markdown table with Auto's time over the fastest tier's. `--gpu` adds the GPU
tier (a real adapter, or lavapipe with QUANTMC_ALLOW_SOFTWARE_GPU=1) and
larger jobs: European calls to 10^10 paths, Asians to 10^8, VaR to 10^9
scenarios (best of at most 2 past 10^9 work units), timed as whole processes
so that the GPU's device setup counts, as it does for a user's first call.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def once(binary, args, wall=False):
    """One run: quantmc's `elapsed_s`, or with `wall` the whole process (a GPU
    run's device setup included, which `elapsed_s` leaves out), and Auto's
    reason."""
    start = time.perf_counter()
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {out.stderr}")
    result = json.loads(out.stdout)
    return (seconds if wall else result["elapsed_s"]), result["selection"]


def interleaved(binary, repeat, variants, wall=False):
    """Best of `repeat` for each of `variants` (argument lists), run in turn
    (one of each, then again), so a slow spell of the machine falls on every
    variant alike, the order rotated each round, so that no variant always
    follows the same one (a process right after a GPU process ran slower on
    an H100 host); the best times and the last reason of each."""
    best = [float("inf")] * len(variants)
    reasons = [""] * len(variants)
    for round_ in range(repeat):
        for k in range(len(variants)):
            i = (k + round_) % len(variants)
            args = variants[i]
            if args is None:
                continue
            seconds, reasons[i] = once(binary, args, wall)
            best[i] = min(best[i], seconds)
    return [None if args is None else t for args, t in zip(variants, best)], reasons


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "quantmc"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gpu", action="store_true")
    args = parser.parse_args()
    tiers = ["simd", "rayon"] + (["gpu"] if args.gpu else [])
    portfolio = os.path.join(ROOT, "examples", "portfolio.json")
    # With a GPU the sizes go on to where it wins: European calls to 10^10
    # paths, Asians to 10^8, VaR to 10^9 scenarios. One core is left out past
    # 10^8 work units, where it is far behind (shown as "-").
    european, asian, var = (10, 8, 9) if args.gpu else (8, 6, 7)
    jobs = []
    for p in range(3, european + 1):
        jobs.append((f"European, 1e{p} paths", 10**p, ["price", "--paths", f"1e{p}"]))
    for p in range(3, asian + 1):
        jobs.append((f"Asian 64 steps, 1e{p} paths", 64 * 10**p,
                     ["price", "--style", "asian-arithmetic", "--steps", "64", "--paths", f"1e{p}"]))
    for p in range(4, var + 1):
        jobs.append((f"VaR 10 assets, 1e{p} scenarios", 10 * 10**p,
                     ["var", "--portfolio", portfolio, "--scenarios", f"1e{p}"]))
    header = " | ".join(f"{t} (s)" for t in tiers)
    print(f"| job | {header} | auto (s) | auto / fastest | auto picked |")
    print("|---|" + "---:|" * (len(tiers) + 2) + "---|")
    worst = 0.0
    for name, work, job in jobs:
        # Short jobs are timed more often: a whole process's time varies by
        # milliseconds from run to run.
        repeat = 3 * args.repeat if work <= 10**8 else args.repeat if work <= 10**9 else min(args.repeat, 2)
        variants = [None if t == "simd" and work > 10**8 and args.gpu else [*job, "--backend", t]
                    for t in tiers] + [[*job, "--backend", "auto"]]
        found, reasons = interleaved(args.binary, repeat, variants, args.gpu)
        times, auto, selection = found[:-1], found[-1], reasons[-1]
        ratio = auto / min(t for t in times if t is not None)
        worst = max(worst, ratio)
        cells = " | ".join("-" if t is None else f"{t:.6f}" for t in times)
        print(f"| {name} | {cells} | {auto:.6f} | {ratio:.2f} | {selection.split(':')[0]} |", flush=True)
    print(f"\nworst auto / fastest: {worst:.2f}")


if __name__ == "__main__":
    main()
