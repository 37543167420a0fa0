#!/usr/bin/env python3
"""A 10-asset basket beside QuantLib's and a Numba kernel's, in one run.

The model axis's basket target: a weighted arithmetic basket call on ten
correlated geometric Brownian motions, 64 time steps a path, on quantmc's
rayon and SIMD tiers against

* QuantLib's MCEuropeanBasketEngine (pseudo-random, the same 64 steps, a
  StochasticProcessArray of ten Black-Scholes-Merton processes), and
* a Numba `@njit(parallel=True)` kernel written the way a course on
  parallel Monte Carlo writes it (`prange` over paths, the correlation's
  Cholesky factor applied to NumPy's normals at every step),

every estimate printed beside a reference so a fast wrong answer shows: the
arithmetic basket has no closed form, and QuantLib's Choi engine (exact for
a few assets) needs more than 24 GB at ten, so the reference is quantmc's
rayon tier with the geometric-basket control variate on ten times the paths,
its standard error printed with it.

    python3 benches/peers/baskets.py [--paths 1e5] [--quantlib-paths 1e4] [--repeat 3]

Times are best-of-N compute times: Numba's after a warm-up call (JIT
excluded), QuantLib's NPV() call, quantmc's `elapsed_s` (process start-up
excluded). Rates are path-steps a second; QuantLib runs fewer paths (it is
slow), compared by rate.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import BINARY, ROOT, best  # noqa: E402  (the peers' shared timing)

D, STEPS, STRIKE, MATURITY, RATE = 10, 64, 100.0, 1.0, 0.03
SPOTS = [90.0 + 2.5 * i for i in range(D)]
VOLS = [0.15 + 0.02 * i for i in range(D)]
DIVIDENDS = [0.01 * (i % 3) for i in range(D)]
WEIGHTS = [1.0 / D] * D
CORRELATION = [[1.0 if i == j else 0.2 + 0.5 / (1 + abs(i - j)) for j in range(D)] for i in range(D)]


def assets_document():
    return {
        "assets": [
            {"name": f"A{i}", "spot": SPOTS[i], "vol": VOLS[i], "dividend": DIVIDENDS[i],
             "weight": WEIGHTS[i]}
            for i in range(D)
        ],
        "correlation": CORRELATION,
    }


def numba_kernel():
    import numpy as np
    from numba import njit, prange

    @njit(parallel=True)
    def basket_call(spots, vols, dividends, weights, lower, strike, maturity, rate, steps, paths):
        d = spots.shape[0]
        dt = maturity / steps
        drift = (rate - dividends - 0.5 * vols * vols) * dt
        diffusion = vols * math.sqrt(dt)
        payoffs = np.empty(paths)
        for i in prange(paths):
            x = np.zeros(d)
            for _ in range(steps):
                z = np.random.standard_normal(d)
                w = lower @ z
                x += drift + diffusion * w
            basket = 0.0
            for a in range(d):
                basket += weights[a] * spots[a] * math.exp(x[a])
            payoffs[i] = max(basket - strike, 0.0)
        discount = math.exp(-rate * maturity)
        return discount * payoffs.mean(), discount * payoffs.std() / math.sqrt(paths)

    return basket_call


def quantmc(path, paths, repeat, backend, extra=()):
    args = [BINARY, "price", "--json", "--backend", backend, "--assets", path, "--style",
            "basket", "--strike", str(STRIKE), "--maturity", str(MATURITY), "--rate", str(RATE),
            "--steps", str(STEPS), "--paths", str(int(paths)), *extra]
    results = [json.loads(subprocess.check_output(args)) for _ in range(repeat)]
    fastest = min(results, key=lambda r: r["elapsed_s"])
    return fastest["elapsed_s"], fastest


def quantlib(paths, repeat):
    import QuantLib as ql
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    expiry = today + 365
    r = ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, dc))
    processes = [
        ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(SPOTS[i])),
            ql.YieldTermStructureHandle(ql.FlatForward(today, DIVIDENDS[i], dc)), r,
            ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), VOLS[i], dc)))
        for i in range(D)
    ]
    matrix = ql.Matrix(D, D)
    for i in range(D):
        for j in range(D):
            matrix[i][j] = CORRELATION[i][j]
    payoff = ql.AverageBasketPayoff(ql.PlainVanillaPayoff(ql.Option.Call, STRIKE), ql.Array(WEIGHTS))
    option = ql.BasketOption(payoff, ql.EuropeanExercise(expiry))
    array = ql.StochasticProcessArray(processes, matrix)

    def run():
        engine = ql.MCEuropeanBasketEngine(array, "pseudorandom", timeSteps=STEPS,
                                           requiredSamples=int(paths), seed=42)
        option.setPricingEngine(engine)
        return option.NPV(), option.errorEstimate()

    return best(run, repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=float, default=1e5)
    parser.add_argument("--quantlib-paths", type=float, default=1e4)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not os.path.exists(BINARY):
        subprocess.check_call(["cargo", "build", "--release"], cwd=ROOT)
    import numpy as np
    paths = int(args.paths)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "basket10.json")
        with open(path, "w") as file:
            json.dump(assets_document(), file)
        rayon_time, rayon = quantmc(path, paths, args.repeat, "rayon")
        simd_time, simd = quantmc(path, paths, args.repeat, "simd")
        cv_time, cv = quantmc(path, paths, args.repeat, "rayon", ["--control-variate"])
        _, reference = quantmc(path, 10 * paths, 1, "rayon", ["--control-variate"])
    kernel = numba_kernel()
    lower = np.linalg.cholesky(np.array(CORRELATION))
    call = lambda: kernel(np.array(SPOTS), np.array(VOLS), np.array(DIVIDENDS), np.array(WEIGHTS),
                          lower, STRIKE, MATURITY, RATE, STEPS, paths)
    call()  # JIT
    numba_time, (numba_price, numba_se) = best(call, args.repeat)
    qpaths = int(args.quantlib_paths)
    ql_time, (ql_price, ql_se) = quantlib(qpaths, args.repeat)
    exact, exact_se = reference["price"], reference["std_error"]
    work = paths * STEPS
    rows = [
        ("quantmc rayon", rayon_time, work, rayon["price"], rayon["std_error"]),
        ("quantmc rayon + control variate", cv_time, work, cv["price"], cv["std_error"]),
        ("quantmc simd (1 core)", simd_time, work, simd["price"], simd["std_error"]),
        ("Numba parallel=True", numba_time, work, numba_price, numba_se),
        ("QuantLib MCEuropeanBasketEngine", ql_time, qpaths * STEPS, ql_price, ql_se),
    ]
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores; "
          f"{D} assets, {paths:.0e} paths x {STEPS} steps (QuantLib {qpaths:.0e}), best of {args.repeat}\n")
    print(f"reference: {exact:.4f} (SE {exact_se:.4f}), quantmc rayon with the control variate on "
          f"{10 * paths:.0e} paths\n")
    print("| engine | seconds | path-steps/s | quantmc rayon is | price (SE) | gap to reference |")
    print("|---|---:|---:|---:|---|---:|")
    our_rate = work / rayon_time
    for engine, seconds, units, price, se in rows:
        rate = units / seconds
        ratio = "" if engine == "quantmc rayon" else f"{our_rate / rate:.1f}x"
        gap = (price - exact) / math.hypot(se, exact_se)
        print(f"| {engine} | {seconds:.3f} | {rate:.3e} | {ratio} | {price:.4f} ({se:.4f}) | {gap:+.1f} SE |")


if __name__ == "__main__":
    sys.exit(main())
