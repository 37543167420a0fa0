#!/usr/bin/env python3
"""Time to a given accuracy: Numba, QuantLib and quantmc's methods, in one run.

Users want a price to a given accuracy, soonest. This prices

* an arithmetic-Asian call, 64 fixings (S = K = 100, T = 1, r = 5%, vol = 20%),
  to a relative standard error of 1e-4, and
* the European call on the same market to a relative standard error of 1e-5,

with

* Numba `@njit(parallel=True)` plain Monte Carlo (the kernel of compare.py,
  extended to the Asian's fixings), run in rounds until its standard error
  reaches the target: the way a Numba user would do it;
* QuantLib's `MCDiscreteArithmeticAPEngine` with its control variate (the
  geometric Asian) and `MCEuropeanEngine`, each with `requiredTolerance`;
* quantmc's rayon tier with every method, each with `--target-rel-se`.

A run that would pass `--budget` seconds stops there, and its time to the
target is projected from its measured rate and variance (marked "projected").

Usage: python3 benches/peers/time_to_accuracy.py [--budget 300] [--skip-european]

Installs numpy, numba and QuantLib with pip when they are missing and builds
quantmc with `cargo build --release` when the binary is missing. Times are
compute times: Numba's after a warm-up call, QuantLib's around
`NPV()`, quantmc's `elapsed_s` (process start-up excluded).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import cpu_model  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "target", "release", "quantmc")

SPOT, STRIKE, MATURITY, RATE, VOL = 100.0, 100.0, 1.0, 0.05, 0.2
FIXINGS = 64


def ensure_python_packages():
    try:
        import numba  # noqa: F401
        import numpy  # noqa: F401
        import QuantLib  # noqa: F401
    except ImportError:
        subprocess.check_call(
            [sys.executable, "-m", "pip", "install", "--quiet", "numpy", "numba", "QuantLib"]
        )


def ensure_binary():
    if not os.path.exists(BINARY):
        subprocess.check_call(["cargo", "build", "--release"], cwd=ROOT)


def numba_kernels():
    import numpy as np
    from numba import njit, prange

    @njit(parallel=True)
    def asian_sums(spot, strike, maturity, rate, vol, fixings, paths, seed):
        """Sums of the discounted payoff and its square over `paths` paths."""
        np.random.seed(seed)
        dt = maturity / fixings
        drift = (rate - 0.5 * vol * vol) * dt
        diffusion = vol * np.sqrt(dt)
        discount = np.exp(-rate * maturity)
        total = 0.0
        squares = 0.0
        for _ in prange(paths):
            log_price = np.log(spot)
            average = 0.0
            for _step in range(fixings):
                log_price += drift + diffusion * np.random.standard_normal()
                average += np.exp(log_price)
            payoff = discount * max(average / fixings - strike, 0.0)
            total += payoff
            squares += payoff * payoff
        return total, squares

    @njit(parallel=True)
    def european_sums(spot, strike, maturity, rate, vol, paths, seed):
        np.random.seed(seed)
        drift = (rate - 0.5 * vol * vol) * maturity
        diffusion = vol * np.sqrt(maturity)
        discount = np.exp(-rate * maturity)
        total = 0.0
        squares = 0.0
        for _ in prange(paths):
            terminal = spot * np.exp(drift + diffusion * np.random.standard_normal())
            payoff = discount * max(terminal - strike, 0.0)
            total += payoff
            squares += payoff * payoff
        return total, squares

    return asian_sums, european_sums


def numba_to_target(sums, relative, budget, batch):
    """Plain MC in batches until the relative SE reaches `relative`; past
    `budget` seconds, the time is projected from the rate and variance."""
    total = squares = 0.0
    paths = 0
    seed = 1
    start = time.perf_counter()
    while True:
        s, q = sums(batch, seed)
        seed += 1
        total, squares, paths = total + s, squares + q, paths + batch
        mean = total / paths
        variance = (squares - total * mean) / (paths - 1)
        se = math.sqrt(variance / paths)
        elapsed = time.perf_counter() - start
        if se <= relative * mean:
            return dict(price=mean, se=se, paths=paths, seconds=elapsed, projected=False)
        if elapsed > budget:
            needed = variance / (relative * mean) ** 2
            return dict(
                price=mean,
                se=math.sqrt(variance / needed),
                paths=int(needed),
                seconds=elapsed * needed / paths,
                projected=True,
            )


def quantlib_market():
    """Today and the Black-Scholes process of the benchmark's market."""
    import QuantLib as ql

    today = ql.Date(2, 1, 2026)
    ql.Settings.instance().evaluationDate = today
    day_count = ql.Actual365Fixed()
    spot = ql.QuoteHandle(ql.SimpleQuote(SPOT))
    rate = ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, day_count))
    dividend = ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, day_count))
    vol = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), VOL, day_count))
    return today, ql.BlackScholesMertonProcess(spot, dividend, rate, vol)


def quantlib_asian(relative, reference):
    import QuantLib as ql

    today, process = quantlib_market()
    # 64 fixings evenly spread over 365 days (whole days, so the fixing times
    # are within half a day of i T / 64).
    fixings = [today + int(round(365 * (i + 1) / FIXINGS)) for i in range(FIXINGS)]
    exercise = ql.EuropeanExercise(fixings[-1])
    payoff = ql.PlainVanillaPayoff(ql.Option.Call, STRIKE)
    option = ql.DiscreteAveragingAsianOption(ql.Average.Arithmetic, 0.0, 0, fixings, payoff, exercise)
    engine = ql.MCDiscreteArithmeticAPEngine(
        process,
        "pseudorandom",
        brownianBridge=False,
        antitheticVariate=False,
        controlVariate=True,
        requiredTolerance=relative * reference,
        maxSamples=10**9,
        seed=42,
    )
    option.setPricingEngine(engine)
    start = time.perf_counter()
    price = option.NPV()
    seconds = time.perf_counter() - start
    se = option.errorEstimate()
    return dict(price=price, se=se, paths=None, seconds=seconds, projected=False)


def quantlib_european(relative, reference, budget):
    import QuantLib as ql

    today, process = quantlib_market()
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, STRIKE), ql.EuropeanExercise(today + 365))
    # A pilot of 10^6 paths gives the rate and the variance; the full run
    # (about 2e10 paths) is projected from them unless it fits the budget.
    pilot = 10**6
    option.setPricingEngine(ql.MCEuropeanEngine(process, "pseudorandom", timeSteps=1, requiredSamples=pilot, seed=42))
    start = time.perf_counter()
    price = option.NPV()
    seconds = time.perf_counter() - start
    se = option.errorEstimate()
    needed = pilot * (se / (relative * reference)) ** 2
    projected_seconds = seconds * needed / pilot
    if projected_seconds > budget:
        return dict(price=price, se=relative * reference, paths=int(needed), seconds=projected_seconds, projected=True)
    option.setPricingEngine(
        ql.MCEuropeanEngine(process, "pseudorandom", timeSteps=1, requiredTolerance=relative * reference, seed=42)
    )
    start = time.perf_counter()
    price = option.NPV()
    return dict(price=price, se=option.errorEstimate(), paths=None, seconds=time.perf_counter() - start, projected=False)


QUANTMC_METHODS = [
    ("mc", []),
    ("mc + antithetic", ["--antithetic"]),
    ("mc + control variate", ["--control-variate"]),
    ("rqmc", ["--sampler", "rqmc"]),
    ("rqmc + control variate", ["--sampler", "rqmc", "--control-variate"]),
]


def quantmc_to_target(style_args, relative, method_args, first_round):
    args = [
        BINARY, "price", *style_args,
        "--spot", str(SPOT), "--strike", str(STRIKE), "--maturity", str(MATURITY),
        "--rate", str(RATE), "--vol", str(VOL),
        "--paths", str(first_round), "--target-rel-se", str(relative), "--max-paths", "6e10",
        "--backend", "rayon", *method_args, "--json",
    ]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    return dict(
        price=result["price"],
        se=result["std_error"],
        paths=result["paths"],
        seconds=result["elapsed_s"],
        projected=not result["target_reached"],
    )


def table(title, rows, baseline_name):
    baseline = next(r for name, r in rows if name == baseline_name)["seconds"]
    print(f"\n### {title}\n")
    print("| implementation | price | std error | paths | seconds | vs " + baseline_name + " |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows:
        paths = f"{r['paths']:.3g}" if r["paths"] else "n/a"
        seconds = f"{r['seconds']:.3g}" + (" (projected)" if r["projected"] else "")
        print(f"| {name} | {r['price']:.6f} | {r['se']:.2e} | {paths} | {seconds} | {baseline / r['seconds']:.1f}x |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=300.0, help="seconds before a run is projected")
    parser.add_argument("--skip-european", action="store_true")
    args = parser.parse_args()
    ensure_python_packages()
    ensure_binary()
    import numba

    asian_sums, european_sums = numba_kernels()
    print(f"machine: {cpu_model()}, {os.cpu_count()} logical cores; numba {numba.__version__}", flush=True)

    # Arithmetic Asian to 1e-4.
    relative = 1e-4
    reference = 5.836847  # tests/data/asian_reference.json
    asian_sums(SPOT, STRIKE, MATURITY, RATE, VOL, FIXINGS, 1000, 0)  # JIT warm-up
    rows = [(
        "Numba @njit(parallel=True), plain MC",
        numba_to_target(
            lambda n, seed: asian_sums(SPOT, STRIKE, MATURITY, RATE, VOL, FIXINGS, n, seed),
            relative, args.budget, 1 << 22,
        ),
    )]
    print("numba done", flush=True)
    rows.append(("QuantLib MCDiscreteArithmeticAPEngine, control variate", quantlib_asian(relative, reference)))
    print("quantlib done", flush=True)
    style = ["--style", "asian-arithmetic", "--steps", str(FIXINGS)]
    for name, method in QUANTMC_METHODS:
        rows.append((f"quantmc rayon, {name}", quantmc_to_target(style, relative, method, 1 << 14)))
    table(f"Arithmetic Asian call, {FIXINGS} fixings, to {relative:g} relative SE", rows, "Numba @njit(parallel=True), plain MC")

    if args.skip_european:
        return
    relative = 1e-5
    reference = 10.450583572185565
    european_sums(SPOT, STRIKE, MATURITY, RATE, VOL, 1000, 0)
    rows = [(
        "Numba @njit(parallel=True), plain MC",
        numba_to_target(
            lambda n, seed: european_sums(SPOT, STRIKE, MATURITY, RATE, VOL, n, seed),
            relative, args.budget, 1 << 24,
        ),
    )]
    rows.append(("QuantLib MCEuropeanEngine", quantlib_european(relative, reference, args.budget)))
    for name, method in QUANTMC_METHODS:
        rows.append((f"quantmc rayon, {name}", quantmc_to_target(["--style", "european"], relative, method, 1 << 20)))
    table(f"European call to {relative:g} relative SE", rows, "Numba @njit(parallel=True), plain MC")


if __name__ == "__main__":
    main()
