#!/usr/bin/env python3
"""Backend::Auto beside every explicit CPU tier, across job sizes.

Usage: python3 benches/peers/auto.py [--binary target/release/quantmc] [--repeat 5] [--gpu]

For European calls 10^3..10^8 paths, arithmetic Asians with 64 steps
10^3..10^6 paths, and 10-asset VaR 10^4..10^7 scenarios, runs `--backend auto`
and each explicit tier (best of N, quantmc's own `elapsed_s`) and prints a
Markdown table with Auto's time over the fastest tier's. `--gpu` adds the GPU
tier (a real adapter, or lavapipe with QUANTMC_ALLOW_SOFTWARE_GPU=1).
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def best(binary, repeat, args):
    times, selection = [], ""
    for _ in range(repeat):
        out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{' '.join(args)} failed: {out.stderr}")
        result = json.loads(out.stdout)
        times.append(result["elapsed_s"])
        selection = result["selection"]
    return min(times), selection


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "quantmc"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gpu", action="store_true")
    args = parser.parse_args()
    tiers = ["simd", "rayon"] + (["gpu"] if args.gpu else [])
    portfolio = os.path.join(ROOT, "examples", "portfolio.json")
    jobs = []
    for p in range(3, 9):
        jobs.append((f"European, 1e{p} paths", ["price", "--paths", f"1e{p}"]))
    for p in range(3, 7):
        jobs.append((f"Asian 64 steps, 1e{p} paths",
                     ["price", "--style", "asian-arithmetic", "--steps", "64", "--paths", f"1e{p}"]))
    for p in range(4, 8):
        jobs.append((f"VaR 10 assets, 1e{p} scenarios",
                     ["var", "--portfolio", portfolio, "--scenarios", f"1e{p}"]))
    header = " | ".join(f"{t} (s)" for t in tiers)
    print(f"| job | {header} | auto (s) | auto / fastest | auto picked |")
    print("|---|" + "---:|" * (len(tiers) + 2) + "---|")
    worst = 0.0
    for name, job in jobs:
        times = [best(args.binary, args.repeat, [*job, "--backend", t])[0] for t in tiers]
        auto, selection = best(args.binary, args.repeat, [*job, "--backend", "auto"])
        ratio = auto / min(times)
        worst = max(worst, ratio)
        cells = " | ".join(f"{t:.6f}" for t in times)
        print(f"| {name} | {cells} | {auto:.6f} | {ratio:.2f} | {selection.split(':')[0]} |")
    print(f"\nworst auto / fastest: {worst:.2f}")


if __name__ == "__main__":
    main()
