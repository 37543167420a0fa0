#!/usr/bin/env python3
"""What a Python call costs beside the work: small jobs in a loop, as a
notebook calls them.

Times `quantmc.price` on a few path counts (best of `--repeat` loops of
`--calls` calls each) and, for scale, the same job's `elapsed_s` (the
library's own time on the tier): the difference is the binding's cost per
call (argument checks, a worker thread, the result object).

Usage: python3 benches/peers/python_call_cost.py [--calls 50] [--repeat 5]
       [--backend scalar]
"""

import argparse
import time

import quantmc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", default="scalar")
    args = parser.parse_args()
    print(f"{'paths':>8}  {'per call':>12}  {'library':>12}  {'binding':>12}")
    for paths in [2, 1000, 10_000]:
        best, library = float("inf"), float("inf")
        for _ in range(args.repeat):
            start, spent = time.perf_counter(), 0.0
            for _ in range(args.calls):
                spent += quantmc.price(paths=paths, backend=args.backend).elapsed_s
            elapsed = time.perf_counter() - start
            if elapsed < best * args.calls:
                best, library = elapsed / args.calls, spent / args.calls
        print(f"{paths:>8}  {best * 1e3:>9.3f} ms  {library * 1e3:>9.3f} ms  "
              f"{(best - library) * 1e3:>9.3f} ms")


if __name__ == "__main__":
    main()
