#!/usr/bin/env python3
"""Two quantmc binaries side by side on the same jobs, interleaved, in one run.

For refactors that must not cost speed: each job runs on binary A and binary B
in turn, `--repeat` times, and the best `elapsed_s` of each is compared.

Usage: python3 benches/peers/ab.py BEFORE AFTER [--repeat 5]
"""

import argparse
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PORTFOLIO = os.path.join(ROOT, "examples", "portfolio.json")

JOBS = [
    ("scalar European 1e6", ["price", "--paths", "1e6", "--backend", "scalar"]),
    ("simd European 1e8", ["price", "--paths", "1e8", "--backend", "simd"]),
    ("rayon European 1e8", ["price", "--paths", "1e8", "--backend", "rayon"]),
    ("simd Asian-arith 64 x 2e6", ["price", "--style", "asian-arithmetic", "--steps", "64", "--paths", "2e6", "--backend", "simd"]),
    ("rayon Asian-arith 64 x 2e6 anti", ["price", "--style", "asian-arithmetic", "--steps", "64", "--paths", "2e6", "--antithetic", "--backend", "rayon"]),
    ("simd VaR 1e7", ["var", "--portfolio", PORTFOLIO, "--scenarios", "1e7", "--backend", "simd"]),
    ("rayon VaR 1e7", ["var", "--portfolio", PORTFOLIO, "--scenarios", "1e7", "--backend", "rayon"]),
    ("rayon VaR t 1e7", ["var", "--portfolio", PORTFOLIO, "--scenarios", "1e7", "--dist", "student-t", "--backend", "rayon"]),
]


def elapsed(binary, args):
    out = subprocess.run([binary, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["elapsed_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("| job | before s | after s | after / before |")
    print("|---|---:|---:|---:|")
    for label, job in JOBS:
        best = {args.before: float("inf"), args.after: float("inf")}
        for _ in range(args.repeat):
            for binary in (args.before, args.after):
                best[binary] = min(best[binary], elapsed(binary, job))
        b, a = best[args.before], best[args.after]
        print(f"| {label} | {b:.4f} | {a:.4f} | {a / b:.3f} |", flush=True)


if __name__ == "__main__":
    main()
