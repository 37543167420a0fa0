#!/usr/bin/env python3
"""quantmc binaries side by side on the same jobs, interleaved, in one run.

For refactors that must not cost speed: each job runs on every variant in
turn, `--repeat` times, and the best `elapsed_s` of each is compared with the
first variant's. A variant is a binary, or `BINARY@SET` to force the SIMD
instruction set by `QUANTMC_SIMD` (run-time dispatch: compare a
`target-cpu=native` build with the dispatched one on each set).

Usage: python3 benches/peers/ab.py BEFORE AFTER [MORE...] [--repeat 5]
e.g.   python3 benches/peers/ab.py native/quantmc target/release/quantmc \
           target/release/quantmc@avx2 target/release/quantmc@sse2
"""

import argparse
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PORTFOLIO = os.path.join(ROOT, "examples", "portfolio.json")
OPTIONS_BOOK = os.path.join(ROOT, "examples", "options_book.json")

JOBS = [
    ("scalar European 1e6", ["price", "--paths", "1e6", "--backend", "scalar"]),
    ("simd European 1e8", ["price", "--paths", "1e8", "--backend", "simd"]),
    ("rayon European 1e8", ["price", "--paths", "1e8", "--backend", "rayon"]),
    ("simd Asian-arith 64 x 2e6", ["price", "--style", "asian-arithmetic", "--steps", "64", "--paths", "2e6", "--backend", "simd"]),
    ("rayon Asian-arith 64 x 2e6 anti", ["price", "--style", "asian-arithmetic", "--steps", "64", "--paths", "2e6", "--antithetic", "--backend", "rayon"]),
    ("simd VaR 1e7", ["var", "--portfolio", PORTFOLIO, "--scenarios", "1e7", "--backend", "simd"]),
    ("rayon VaR 1e7", ["var", "--portfolio", PORTFOLIO, "--scenarios", "1e7", "--backend", "rayon"]),
    ("rayon VaR t 1e7", ["var", "--portfolio", PORTFOLIO, "--scenarios", "1e7", "--dist", "student-t", "--backend", "rayon"]),
    ("simd options book VaR t 1e6", ["var", "--portfolio", OPTIONS_BOOK, "--scenarios", "1e6", "--dist", "student-t", "--backend", "simd"]),
    ("simd European Greeks 2e7", ["price", "--paths", "2e7", "--greeks", "--backend", "simd"]),
    ("simd barrier continuous 64 x 1e6", ["price", "--style", "barrier", "--barrier", "170", "--barrier-kind", "up-and-out", "--monitoring", "continuous", "--steps", "64", "--paths", "1e6", "--backend", "simd"]),
]


def elapsed(variant, args):
    binary, _, isa = variant.partition("@")
    env = dict(os.environ)
    env.pop("QUANTMC_SIMD", None)
    if isa:
        env["QUANTMC_SIMD"] = isa
    out = subprocess.run(
        [binary, *args, "--json"], check=True, capture_output=True, text=True, env=env
    )
    return json.loads(out.stdout)["elapsed_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", metavar="BINARY[@SET]")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    names = args.variants
    head = " | ".join(f"{v} s" for v in names)
    ratios = " | ".join(f"{v} / {names[0]}" for v in names[1:])
    print(f"| job | {head} | {ratios} |")
    print("|---|" + "---:|" * (2 * len(names) - 1))
    for label, job in JOBS:
        best = dict.fromkeys(names, float("inf"))
        for _ in range(args.repeat):
            for variant in names:
                best[variant] = min(best[variant], elapsed(variant, job))
        times = " | ".join(f"{best[v]:.4f}" for v in names)
        rel = " | ".join(f"{best[v] / best[names[0]]:.3f}" for v in names[1:])
        print(f"| {label} | {times} | {rel} |", flush=True)

if __name__ == "__main__":
    main()
