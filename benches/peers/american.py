#!/usr/bin/env python3
"""An American put by Longstaff-Schwartz beside QuantLib's and a Numba kernel's, in one run.

Longstaff and Schwartz's Table 1 case (S = 36, K = 40, r = 0.06, vol = 0.2,
T = 1, 50 exercise dates), on quantmc's rayon and SIMD tiers against

* QuantLib's MCAmericanEngine (pseudo-random, 50 time steps, Laguerre
  polynomials of order 3, its own calibration samples), and
* a Numba `@njit(parallel=True)` Longstaff-Schwartz written the way a course
  on parallel Monte Carlo writes it: calibration paths stored, a NumPy
  least-squares fit (`np.linalg.lstsq`) on the in-the-money paths at each
  date backwards, then independent pricing paths in a `prange` following the
  fitted policy,

each estimate printed beside the lattice's value of the same 50 dates
(quantmc's BBSR lattice, within 1e-4 of QuantLib's fine-grid finite
differences), so a fast wrong answer shows.

    python3 benches/peers/american.py [--paths 1e6] [--quantlib-paths 1e5] [--repeat 3]

Times are best-of-N compute times of both passes (calibration and pricing):
Numba's after a warm-up call (JIT excluded), QuantLib's NPV() call,
quantmc's `elapsed_s` (process start-up and the lattice excluded). Rates are
pricing path-steps a second; QuantLib runs fewer paths (it is slow), compared
by rate.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import BINARY, ROOT, best  # noqa: E402  (the peers' shared timing)

SPOT, STRIKE, RATE, VOL, MATURITY, DATES = 36.0, 40.0, 0.06, 0.2, 1.0, 50
CALIBRATION = 131072


def numba_kernel():
    import numpy as np
    from numba import njit, prange

    @njit
    def basis(s):
        m = s / STRIKE
        w = math.exp(-0.5 * m)
        return np.array([1.0, w, w * (1.0 - m), w * (1.0 - 2.0 * m + 0.5 * m * m)])

    @njit
    def calibrate(paths, dt):
        drift = (RATE - 0.5 * VOL * VOL) * dt
        diffusion = VOL * math.sqrt(dt)
        prices = np.empty((paths, DATES))
        for i in range(paths):
            x = 0.0
            for k in range(DATES):
                x += drift + diffusion * np.random.standard_normal()
                prices[i, k] = SPOT * math.exp(x)
        cash = np.maximum(STRIKE - prices[:, DATES - 1], 0.0)
        when = np.full(paths, DATES - 1)
        coefficients = np.zeros((DATES, 4))
        for k in range(DATES - 2, -1, -1):
            itm = np.where(prices[:, k] < STRIKE)[0]
            if itm.shape[0] < 4:
                continue
            a = np.empty((itm.shape[0], 4))
            y = np.empty(itm.shape[0])
            for j in range(itm.shape[0]):
                i = itm[j]
                a[j] = basis(prices[i, k])
                y[j] = cash[i] * math.exp(-RATE * dt * (when[i] - k)) / STRIKE
            beta = np.linalg.lstsq(a, y)[0]
            coefficients[k] = beta
            for j in range(itm.shape[0]):
                i = itm[j]
                exercise = STRIKE - prices[i, k]
                if exercise > STRIKE * np.dot(beta, basis(prices[i, k])):
                    cash[i] = exercise
                    when[i] = k
        return coefficients

    @njit(parallel=True)
    def price(coefficients, paths, dt):
        drift = (RATE - 0.5 * VOL * VOL) * dt
        diffusion = VOL * math.sqrt(dt)
        values = np.empty(paths)
        for i in prange(paths):
            x = 0.0
            value = 0.0
            for k in range(DATES):
                x += drift + diffusion * np.random.standard_normal()
                s = SPOT * math.exp(x)
                exercise = STRIKE - s
                if exercise > 0.0 and (k == DATES - 1 or exercise > STRIKE * np.dot(
                        coefficients[k], basis(s))):
                    value = math.exp(-RATE * dt * (k + 1)) * exercise
                    break
            values[i] = value
        return values.mean(), values.std() / math.sqrt(paths)

    def run(paths):
        dt = MATURITY / DATES
        coefficients = calibrate(CALIBRATION, dt)
        return price(coefficients, paths, dt)

    return run


def quantmc(paths, repeat, backend, extra=()):
    args = [BINARY, "price", "--json", "--backend", backend, "--exercise", "american",
            "--option", "put", "--spot", str(SPOT), "--strike", str(STRIKE), "--rate", str(RATE),
            "--vol", str(VOL), "--maturity", str(MATURITY), "--steps", str(DATES),
            "--paths", str(int(paths)), "--calibration-paths", str(CALIBRATION), *extra]
    results = [json.loads(subprocess.check_output(args)) for _ in range(repeat)]
    fastest = min(results, key=lambda r: r["elapsed_s"])
    return fastest["elapsed_s"], fastest


def quantlib(paths, repeat):
    import QuantLib as ql
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    expiry = today + 365
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(SPOT)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), VOL, dc)))
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Put, STRIKE),
                              ql.AmericanExercise(today, expiry))

    def run():
        engine = ql.MCAmericanEngine(process, "pseudorandom", timeSteps=DATES,
                                     polynomOrder=3, polynomType=ql.LsmBasisSystem.Laguerre,
                                     requiredSamples=int(paths), seed=42)
        option.setPricingEngine(engine)
        return option.NPV(), option.errorEstimate()

    return best(run, repeat)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=float, default=1e6)
    parser.add_argument("--quantlib-paths", type=float, default=1e5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not os.path.exists(BINARY):
        subprocess.check_call(["cargo", "build", "--release"], cwd=ROOT)
    paths = int(args.paths)
    rayon_time, rayon = quantmc(paths, args.repeat, "rayon")
    simd_time, simd = quantmc(paths, args.repeat, "simd")
    cv_time, cv = quantmc(paths, args.repeat, "rayon", ["--antithetic", "--control-variate"])
    kernel = numba_kernel()
    kernel(1000)  # JIT
    numba_time, (numba_price, numba_se) = best(lambda: kernel(paths), args.repeat)
    qpaths = int(args.quantlib_paths)
    ql_time, (ql_price, ql_se) = quantlib(qpaths, args.repeat)
    lattice, american = rayon["closed_form"], rayon["american"]
    work = paths * DATES
    rows = [
        ("quantmc rayon", rayon_time, work, rayon["price"], rayon["std_error"]),
        ("quantmc rayon + antithetic + control", cv_time, work, cv["price"], cv["std_error"]),
        ("quantmc simd (1 core)", simd_time, work, simd["price"], simd["std_error"]),
        ("Numba parallel=True", numba_time, work, numba_price, numba_se),
        ("QuantLib MCAmericanEngine", ql_time, qpaths * DATES, ql_price, ql_se),
    ]
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores; "
          f"American put S={SPOT} K={STRIKE}, {DATES} dates, {paths:.0e} pricing paths "
          f"(QuantLib {qpaths:.0e}), {CALIBRATION} calibration paths, best of {args.repeat}\n")
    print(f"lattice: {lattice:.4f} for the {DATES} dates (American limit {american:.4f}); a "
          "Longstaff-Schwartz estimate is a lower bound on the first\n")
    print("| engine | seconds | path-steps/s | quantmc rayon is | price (SE) | gap to lattice |")
    print("|---|---:|---:|---:|---|---:|")
    our_rate = work / rayon_time
    for engine, seconds, units, price, se in rows:
        rate = units / seconds
        ratio = "" if engine == "quantmc rayon" else f"{our_rate / rate:.1f}x"
        gap = (price - lattice) / se
        print(f"| {engine} | {seconds:.3f} | {rate:.3e} | {ratio} | {price:.4f} ({se:.4f}) | {gap:+.1f} SE |")


if __name__ == "__main__":
    sys.exit(main())
