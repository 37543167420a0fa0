#!/usr/bin/env python3
"""The GPU tier on 1, 2, 4, 8 ... GPUs of one machine: paths per second and
the parallel efficiency against one GPU, in one run.

For each job (a European call and a 64-fixing arithmetic Asian, priced; VaR
of the options book, Student-t), runs `--backend gpu --gpus 0`, then
`--gpus 0,1`, `--gpus 0,1,2,3`, ... up to every adapter `quantmc info` lists,
each warm-up run discarded and the best `elapsed_s` of `--repeat` kept. The
rounds rotate the device counts so a drifting clock favours none. Every run
of a job must print the same figures (the tier's contract: one device or
several give the same bits); the table says so, or stops on the first
difference.

Usage: python3 benches/peers/gpu_scaling.py --binary PATH [--paths 1e11]
           [--scenarios 1e9] [--repeat 3] [--max-gpus 8]

On a machine with one adapter the table has its one row (the script still
checks that the device's answer does not move between runs).
"""

import argparse
import json
import os
import re
import subprocess
import sys

BOOK = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "options_book.json")
# Fields that describe the run rather than its answer.
RUN_FIELDS = ("backend", "selection", "elapsed_s", "paths_per_sec", "warnings")


def run(binary, args):
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout)


def adapters(binary):
    """Indices `quantmc info` numbers as `--gpus` takes them."""
    text = subprocess.run([binary, "info"], capture_output=True, text=True).stdout
    print(text)
    return sorted({int(m) for m in re.findall(r"^\s+(\d+): ", text, re.MULTILINE)})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/quantmc")
    parser.add_argument("--paths", type=float, default=1e11)
    parser.add_argument("--scenarios", type=float, default=1e9)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-gpus", type=int, default=8)
    parser.add_argument("--gpus", help="the adapters to use, in order (default: those `info` lists)")
    args = parser.parse_args()
    found = [int(i) for i in args.gpus.split(",")] if args.gpus else adapters(args.binary)
    if not found:
        sys.exit("no adapter listed: pass --gpus 0,1,...")
    counts = [c for c in (1, 2, 4, 8, 16) if c <= min(len(found), args.max_gpus)]
    market = ["--spot", "150", "--strike", "155", "--maturity", "0.25", "--vol", "0.3"]
    jobs = [
        ("European call", ["price", *market, "--paths", f"{args.paths:.0f}"], args.paths, "paths/s"),
        (
            "arithmetic Asian, 64 fixings",
            ["price", *market, "--style", "asian-arithmetic", "--steps", "64", "--paths", f"{args.paths / 64:.0f}"],
            args.paths / 64,
            "paths/s",
        ),
        (
            "VaR options book, Student-t",
            ["var", "--portfolio", BOOK, "--dist", "student-t", "--scenarios", f"{args.scenarios:.0f}"],
            args.scenarios,
            "scenarios/s",
        ),
    ]
    print("| job | GPUs | best (s) | rate | speed-up | efficiency | same figures |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, job, units, unit in jobs:
        best, answers = {}, {}
        for count in counts:
            # Warm-up: the driver's pipeline cache and the first allocation.
            run(args.binary, [*job, "--backend", "gpu", "--gpus", ",".join(map(str, found[:count]))])
        for round_ in range(args.repeat):
            order = counts[round_ % len(counts):] + counts[:round_ % len(counts)]
            for count in order:
                result = run(args.binary, [*job, "--backend", "gpu", "--gpus", ",".join(map(str, found[:count]))])
                best[count] = min(best.get(count, float("inf")), result["elapsed_s"])
                answer = {k: v for k, v in result.items() if k not in RUN_FIELDS}
                answers.setdefault(count, answer)
                if answer != answers[count] or answer != answers[counts[0]]:
                    sys.exit(f"{name}: {count} GPUs gave {answer}, not {answers[counts[0]]}")
        for count in counts:
            speed_up = best[counts[0]] / best[count]
            print(
                f"| {name} | {count} | {best[count]:.4f} | {units / best[count]:.3e} {unit} | "
                f"{speed_up:.2f}x | {speed_up / count:.0%} | yes |",
                flush=True,
            )


if __name__ == "__main__":
    main()
