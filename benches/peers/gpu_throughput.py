#!/usr/bin/env python3
"""GPU throughput table for a prebuilt quantmc binary, for machines with no
registry or internet access (e.g. a lent NVIDIA H100/H200).

Usage:
  python3 benches/peers/gpu_throughput.py --binary target/release/quantmc \
      [--vulkan-debs .gl] [--max-paths 1e9] [--repeat 3]

Build the binary where the crates registry is reachable (x86-64,
`RUSTFLAGS="-C target-cpu=x86-64-v3" cargo build --release` so it runs on any
recent x86 host). If the machine has no Vulkan loader, pass the folder of
Debian packages to unpack (`apt-get download libvulkan1`); the NVIDIA driver
supplies the ICD. Prints the adapter, then per product and size the device's
paths per second, with the one-off setup (adapter, device, pipelines) apart
from the per-run time (compute plus read-back) that quantmc's `elapsed_s`
reports.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys


def ensure_vulkan_loader(debs):
    have = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    if "libvulkan.so.1" in have:
        return
    if not debs:
        sys.exit("no Vulkan loader on this machine: pass --vulkan-debs with libvulkan1's .deb")
    for deb in glob.glob(os.path.join(debs, "*.deb")):
        subprocess.check_call(["dpkg", "-x", deb, "/"])
    subprocess.check_call(["ldconfig"])


def run(binary, *args):
    out = subprocess.run([binary, *args, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} {' '.join(args)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/quantmc")
    parser.add_argument("--vulkan-debs")
    parser.add_argument("--max-paths", type=lambda t: int(float(t)), default=10**9)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_vulkan_loader(args.vulkan_debs)
    print(subprocess.run([args.binary, "info"], capture_output=True, text=True).stdout)

    workloads = [
        ("European call", ["--style", "european"], 1),
        ("Arithmetic Asian, 64 steps", ["--style", "asian-arithmetic", "--steps", "64"], 64),
        ("Geometric Asian, 64 steps", ["--style", "asian-geometric", "--steps", "64"], 64),
    ]
    market = ["--spot", "150", "--strike", "155", "--maturity", "0.25", "--vol", "0.3"]
    print("| product | paths | setup (s) | run (s) | paths/s | path-steps/s | price |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, flags, steps in workloads:
        paths = 10**7
        while paths <= args.max_paths // steps:
            best = None
            for _ in range(args.repeat):
                result = run(args.binary, "price", *market, *flags, "--paths", str(paths), "--backend", "gpu")
                if best is None or result["elapsed_s"] < best["elapsed_s"]:
                    best = result
            setup = re.search(r"setup ([0-9.]+) s", best["backend"])
            rate = best["paths_per_sec"]
            print(f"| {name} | {paths:.0e} | {setup.group(1) if setup else '?'} | {best['elapsed_s']:.4f} | "
                  f"{rate:.3e} | {rate * steps:.3e} | {best['price']:.5f} |")
            paths *= 10
    for dist in ["normal", "student-t"]:
        portfolio = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "portfolio.json")
        # Best of --repeat, as the pricing rows: the first VaR run on a
        # machine also pays the driver's compile of its pipelines.
        result = min(
            (run(args.binary, "var", "--portfolio", portfolio, "--scenarios", "1e7", "--dist", dist,
                 "--backend", "gpu") for _ in range(args.repeat)),
            key=lambda r: r["elapsed_s"],
        )
        print(f"| VaR 10 assets, {dist} | 1e+07 scenarios | - | {result['elapsed_s']:.4f} | "
              f"{1e7 / result['elapsed_s']:.3e} | - | {result['var']['0.99']:.1f} |")


if __name__ == "__main__":
    main()
