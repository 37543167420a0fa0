#!/usr/bin/env python3
"""What the Greeks cost: time with `--greeks` over the price alone, per product.

Runs each product priced alone, with pathwise Greeks (one pass) and with
`--greeks-method fd` (nine paths a sample, one pass), interleaved, and reports
the best `elapsed_s` of `--repeat` runs as ratios to the price alone. Several
binaries may be given (an A/B of a kernel change): their runs interleave too.

Usage: python3 benches/peers/greeks_cost.py target/release/quantmc [MORE ...]
       [--repeat 3] [--backend simd]
"""

import argparse
import json
import subprocess

PRODUCTS = [
    ("European call, 2e7 paths", ["--paths", "2e7"]),
    ("arithmetic Asian, 64 fixings, 1e6 paths", ["--style", "asian-arithmetic", "--steps", "64", "--paths", "1e6"]),
    ("digital call, 2e7 paths", ["--style", "digital", "--paths", "2e7"]),
    (
        "up-and-out call, continuous, 64 fixings, 1e6 paths",
        ["--style", "barrier", "--barrier", "120", "--barrier-kind", "up-and-out",
         "--monitoring", "continuous", "--steps", "64", "--paths", "1e6"],
    ),
]

METHODS = [("price", []), ("pathwise", ["--greeks"]), ("fd", ["--greeks", "--greeks-method", "fd"])]


def elapsed(binary, args):
    out = subprocess.run([binary, "price", *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["elapsed_s"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", default="simd")
    args = parser.parse_args()
    for name, product in PRODUCTS:
        best = {}
        for _ in range(args.repeat):
            for binary in args.binaries:
                for method, flags in METHODS:
                    t = elapsed(binary, [*product, *flags, "--backend", args.backend])
                    key = (binary, method)
                    best[key] = min(best.get(key, t), t)
        for binary in args.binaries:
            price = best[(binary, "price")]
            ratios = ", ".join(f"{m} {best[(binary, m)] / price:.2f}x" for m, _ in METHODS[1:])
            print(f"{name} [{binary}]: price {price:.4f} s; {ratios}", flush=True)


if __name__ == "__main__":
    main()
