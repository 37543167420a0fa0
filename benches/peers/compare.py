#!/usr/bin/env python3
"""Numba beside quantmc on the same workloads, in one run, on one machine.

Runs the classic Numba Monte Carlo kernels -- `option_price_mc` with `@njit`,
the same with `@njit(parallel=True)` and `prange`, and `calculate_var` /
`var_parallel` on 10 independent assets -- and the quantmc binary's tiers on the
same workloads, then prints a Markdown table of times and ratios.

Usage: python3 benches/peers/compare.py [--paths 1e8] [--scenarios 1e7] [--repeat 3]

It installs numpy and numba with pip when they are missing and builds quantmc
with `cargo build --release` when the binary is missing. Times are best-of-N
compute times: Numba's after a warm-up call (so JIT compilation is excluded),
quantmc's `elapsed_s` from its JSON (process start-up excluded likewise).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "target", "release", "quantmc")


def ensure_python_packages():
    try:
        import numba  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "numpy", "numba"])


def ensure_binary():
    if not os.path.exists(BINARY):
        subprocess.check_call(["cargo", "build", "--release"], cwd=ROOT)


def numba_kernels():
    import numpy as np
    from numba import njit, prange

    @njit
    def option_price_mc(spot, strike, maturity, rate, vol, paths):
        drift = (rate - 0.5 * vol * vol) * maturity
        diffusion = vol * np.sqrt(maturity)
        total = 0.0
        for _ in range(paths):
            z = np.random.standard_normal()
            terminal = spot * np.exp(drift + diffusion * z)
            total += max(terminal - strike, 0.0)
        return np.exp(-rate * maturity) * total / paths

    @njit(parallel=True)
    def option_price_mc_parallel(spot, strike, maturity, rate, vol, paths):
        drift = (rate - 0.5 * vol * vol) * maturity
        diffusion = vol * np.sqrt(maturity)
        total = 0.0
        for _ in prange(paths):
            z = np.random.standard_normal()
            terminal = spot * np.exp(drift + diffusion * z)
            total += max(terminal - strike, 0.0)
        return np.exp(-rate * maturity) * total / paths

    @njit
    def calculate_var(value, weights, mu, sigma, scenarios, confidence):
        pnl = np.empty(scenarios)
        for s in range(scenarios):
            ret = 0.0
            for j in range(weights.shape[0]):
                ret += weights[j] * (mu[j] + sigma[j] * np.random.standard_normal())
            pnl[s] = value * ret
        return -np.percentile(pnl, 100.0 * (1.0 - confidence))

    @njit(parallel=True)
    def var_parallel(value, weights, mu, sigma, scenarios, confidence):
        pnl = np.empty(scenarios)
        for s in prange(scenarios):
            ret = 0.0
            for j in range(weights.shape[0]):
                ret += weights[j] * (mu[j] + sigma[j] * np.random.standard_normal())
            pnl[s] = value * ret
        return -np.percentile(pnl, 100.0 * (1.0 - confidence))

    return option_price_mc, option_price_mc_parallel, calculate_var, var_parallel


def best_of(repeat, fn, *args):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, value


def quantmc(repeat, *args):
    best, value = float("inf"), None
    for _ in range(repeat):
        out = subprocess.run([BINARY, *args, "--json"], check=True, capture_output=True, text=True)
        result = json.loads(out.stdout)
        if result["elapsed_s"] < best:
            best, value = result["elapsed_s"], result
    return best, value


def count(text):
    return int(float(text))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=count, default=10**8)
    parser.add_argument("--scenarios", type=count, default=10**7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-scalar", action="store_true", help="leave out quantmc's scalar tier")
    args = parser.parse_args()

    ensure_python_packages()
    ensure_binary()
    import numba
    import numpy as np

    njit_price, parallel_price, njit_var, parallel_var = numba_kernels()
    spot, strike, maturity, rate, vol = 150.0, 155.0, 0.25, 0.05, 0.3
    # Warm-up: compile every kernel before timing.
    njit_price(spot, strike, maturity, rate, vol, 1000)
    parallel_price(spot, strike, maturity, rate, vol, 1000)

    rows = []
    paths = args.paths
    t_njit, p_njit = best_of(args.repeat, njit_price, spot, strike, maturity, rate, vol, paths)
    t_par, p_par = best_of(args.repeat, parallel_price, spot, strike, maturity, rate, vol, paths)
    rows.append(("European call", "Numba @njit", t_njit, paths, p_njit))
    rows.append(("European call", "Numba parallel=True", t_par, paths, p_par))
    price_args = ["price", "--spot", "150", "--strike", "155", "--maturity", "0.25", "--rate", "0.05",
                  "--vol", "0.3", "--paths", str(paths)]
    tiers = ["simd", "rayon"] if args.skip_scalar else ["scalar", "simd", "rayon"]
    for tier in tiers:
        t, result = quantmc(args.repeat, *price_args, "--backend", tier)
        rows.append(("European call", f"quantmc {tier}", t, paths, result["price"]))

    # VaR: 10 independent assets, Gaussian, 99%.
    k, value, confidence = 10, 1_000_000.0, 0.99
    weights = np.full(k, 1.0 / k)
    mu = np.linspace(0.0002, 0.0008, k)
    sigma = np.linspace(0.01, 0.03, k)
    njit_var(value, weights, mu, sigma, 1000, confidence)
    parallel_var(value, weights, mu, sigma, 1000, confidence)
    scenarios = args.scenarios
    t_vnjit, v_njit = best_of(args.repeat, njit_var, value, weights, mu, sigma, scenarios, confidence)
    t_vpar, v_par = best_of(args.repeat, parallel_var, value, weights, mu, sigma, scenarios, confidence)
    rows.append(("VaR 10 assets", "Numba @njit", t_vnjit, scenarios, v_njit))
    rows.append(("VaR 10 assets", "Numba parallel=True", t_vpar, scenarios, v_par))
    portfolio = {
        "value": value,
        "assets": [{"name": f"A{j}", "weight": float(weights[j]), "mu": float(mu[j]), "sigma": float(sigma[j])}
                   for j in range(k)],
        "correlation": [[1.0 if i == j else 0.0 for j in range(k)] for i in range(k)],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(portfolio, f)
        portfolio_path = f.name
    try:
        for tier in tiers:
            t, result = quantmc(args.repeat, "var", "--portfolio", portfolio_path, "--scenarios", str(scenarios),
                                "--confidence", "0.99", "--backend", tier)
            rows.append(("VaR 10 assets", f"quantmc {tier}", t, scenarios, result["var"]["0.99"]))
    finally:
        os.unlink(portfolio_path)

    print(f"Machine: {cpu_model()}, {os.cpu_count()} logical cores; Python {platform.python_version()}, "
          f"numba {numba.__version__}, numpy {np.__version__}; best of {args.repeat}.")
    print()
    print("| workload | implementation | time (s) | ns / path | vs Numba @njit | vs Numba parallel | estimate |")
    print("|---|---|---:|---:|---:|---:|---:|")
    baselines = {}
    for workload, name, t, n, estimate in rows:
        if name == "Numba @njit":
            baselines[workload] = [t, None]
        elif name == "Numba parallel=True":
            baselines[workload][1] = t
        njit_t, par_t = baselines[workload]
        par_ratio = f"{par_t / t:.1f}x" if par_t else "-"
        print(f"| {workload} ({n:.0e}) | {name} | {t:.3f} | {1e9 * t / n:.2f} | {njit_t / t:.1f}x | "
              f"{par_ratio} | {estimate:.4f} |")


if __name__ == "__main__":
    main()
