#!/usr/bin/env python3
"""quantmc's models beside QuantLib's and a Numba kernel's, in one run.

The model axis's speed targets: a Heston (QE, 64 steps) European call on
quantmc's rayon tier against

* QuantLib's MCEuropeanHestonEngine (pseudo-random, the same steps, the
  process's default QuadraticExponentialMartingale scheme: Andersen's QE
  with the martingale correction, as quantmc's), and
* a Numba `@njit(parallel=True)` QE kernel written the way a course on
  parallel Monte Carlo writes it (`prange` over paths, NumPy's generator in
  each thread),

and the same for Bates (Heston plus lognormal jumps, quantmc's QE against a
Numba kernel; QuantLib has no Monte Carlo Bates engine in its Python
bindings). Every estimate is printed beside the semi-analytic price with
its standard error, so a fast wrong answer shows.

    python3 benches/peers/models.py [--paths 1e6] [--quantlib-paths 1e5] [--repeat 3]

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
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, "target", "release", "quantmc")

SPOT, STRIKE, MATURITY, RATE, DIVIDEND = 100.0, 100.0, 1.0, 0.03, 0.01
HESTON = dict(v0=0.04, kappa=1.5, theta=0.05, xi=0.6, rho=-0.7)
JUMPS = dict(jump_intensity=0.5, jump_mean=-0.1, jump_vol=0.15)
STEPS = 64


def numba_kernels():
    import numpy as np
    from numba import njit, prange

    @njit(fastmath=False)
    def qe_step(v, x, dt, kappa, theta, xi, rho, drift, zv, u, zx):
        e = math.exp(-kappa * dt)
        m = theta + (v - theta) * e
        s2 = v * xi * xi * e * (1.0 - e) / kappa + theta * xi * xi * (1.0 - e) ** 2 / (2.0 * kappa)
        psi = s2 / (m * m)
        k0 = -rho * kappa * theta * dt / xi
        k1 = 0.5 * dt * (kappa * rho / xi - 0.5) - rho / xi
        k2 = 0.5 * dt * (kappa * rho / xi - 0.5) + rho / xi
        k3 = 0.5 * dt * (1.0 - rho * rho)
        k4 = k3
        a_ = k2 + 0.5 * k4
        if psi <= 1.5:
            b2 = 2.0 / psi - 1.0 + math.sqrt(2.0 / psi) * math.sqrt(2.0 / psi - 1.0)
            a = m / (1.0 + b2)
            vn = a * (math.sqrt(b2) + zv) ** 2
            if a_ < 1.0 / (2.0 * a):
                k0 = -a_ * b2 * a / (1.0 - 2.0 * a_ * a) + 0.5 * math.log(1.0 - 2.0 * a_ * a) - (k1 + 0.5 * k3) * v
        else:
            p = (psi - 1.0) / (psi + 1.0)
            beta = (1.0 - p) / m
            vn = 0.0 if u <= p else math.log((1.0 - p) / (1.0 - u)) / beta
            if a_ < beta:
                k0 = -math.log(p + beta * (1.0 - p) / (beta - a_)) - (k1 + 0.5 * k3) * v
        xn = x + drift + k0 + k1 * v + k2 * vn + math.sqrt(k3 * v + k4 * vn) * zx
        return vn, xn

    @njit(parallel=True)
    def heston_call(spot, strike, maturity, rate, dividend, v0, kappa, theta, xi, rho,
                    lam, nu, delta, steps, paths):
        dt = maturity / steps
        k = math.exp(nu + 0.5 * delta * delta) - 1.0
        drift = (rate - dividend - lam * k) * dt
        payoffs = np.empty(paths)
        for i in prange(paths):
            x = math.log(spot)
            v = v0
            for _ in range(steps):
                zv = np.random.standard_normal()
                u = np.random.random()
                zx = np.random.standard_normal()
                v, x = qe_step(v, x, dt, kappa, theta, xi, rho, drift, zv, u, zx)
                if lam > 0.0:
                    n = np.random.poisson(lam * dt)
                    if n > 0:
                        x += n * nu + math.sqrt(n) * delta * np.random.standard_normal()
            payoffs[i] = max(math.exp(x) - strike, 0.0)
        discount = math.exp(-rate * maturity)
        return discount * payoffs.mean(), discount * payoffs.std() / math.sqrt(paths)

    return heston_call


def best(function, repeat):
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), value


def quantmc(model_args, paths, repeat, backend):
    args = [BINARY, "price", "--json", "--backend", backend, "--spot", str(SPOT),
            "--strike", str(STRIKE), "--maturity", str(MATURITY), "--rate", str(RATE),
            "--dividend", str(DIVIDEND), "--steps", str(STEPS), "--paths", str(int(paths))]
    args += model_args
    results = [json.loads(subprocess.check_output(args)) for _ in range(repeat)]
    fastest = min(results, key=lambda r: r["elapsed_s"])
    return fastest["elapsed_s"], fastest


def quantlib_heston(paths, repeat):
    import QuantLib as ql
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    expiry = today + 365
    r = ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, dc))
    q = ql.YieldTermStructureHandle(ql.FlatForward(today, DIVIDEND, dc))
    s = ql.QuoteHandle(ql.SimpleQuote(SPOT))
    h = HESTON
    process = ql.HestonProcess(r, q, s, h["v0"], h["kappa"], h["theta"], h["xi"], h["rho"])
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, STRIKE), ql.EuropeanExercise(expiry))

    def run():
        engine = ql.MCEuropeanHestonEngine(process, "pseudorandom", timeSteps=STEPS,
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
    heston_call = numba_kernels()
    paths = int(args.paths)
    heston_args = ["--model", "heston"] + [f"--{k}={v}" for k, v in HESTON.items()]
    bates_args = ["--model", "bates"] + [f"--{k}={v}" for k, v in HESTON.items()] + [
        f"--{k.replace('_', '-')}={v}" for k, v in JUMPS.items()]
    rows = []
    work = paths * STEPS
    for name, model_args, lam in [("heston", heston_args, 0.0), ("bates", bates_args, JUMPS["jump_intensity"])]:
        nu, delta = (JUMPS["jump_mean"], JUMPS["jump_vol"]) if lam > 0 else (0.0, 0.0)
        call = lambda: heston_call(SPOT, STRIKE, MATURITY, RATE, DIVIDEND, HESTON["v0"], HESTON["kappa"],
                                   HESTON["theta"], HESTON["xi"], HESTON["rho"], lam, nu, delta, STEPS, paths)
        call()  # JIT
        numba_time, (numba_price, numba_se) = best(call, args.repeat)
        rayon_time, rayon = quantmc(model_args, paths, args.repeat, "rayon")
        simd_time, simd = quantmc(model_args, paths, args.repeat, "simd")
        exact = rayon["closed_form"]
        rows.append((name, "quantmc rayon", rayon_time, work, rayon["price"], rayon["std_error"], exact))
        rows.append((name, "quantmc simd (1 core)", simd_time, work, simd["price"], simd["std_error"], exact))
        rows.append((name, "Numba parallel=True", numba_time, work, numba_price, numba_se, exact))
        if name == "heston":
            qpaths = int(args.quantlib_paths)
            ql_time, (ql_price, ql_se) = quantlib_heston(qpaths, args.repeat)
            rows.append((name, "QuantLib MCEuropeanHestonEngine", ql_time, qpaths * STEPS, ql_price, ql_se, exact))
    cores = os.cpu_count()
    print(f"\n{platform.processor() or platform.machine()}, {cores} logical cores; "
          f"{paths:.0e} paths x {STEPS} steps (QuantLib {args.quantlib_paths:.0e}), best of {args.repeat}\n")
    print("| model | engine | seconds | path-steps/s | quantmc rayon is | price (SE) | semi-analytic |")
    print("|---|---|---:|---:|---:|---|---:|")
    for model in ("heston", "bates"):
        ours = next(r for r in rows if r[0] == model and r[1] == "quantmc rayon")
        our_rate = ours[3] / ours[2]
        for name, engine, seconds, units, price, se, exact in (r for r in rows if r[0] == model):
            rate = units / seconds
            ratio = "" if engine == "quantmc rayon" else f"{our_rate / rate:.1f}x"
            print(f"| {name} | {engine} | {seconds:.3f} | {rate:.3e} | {ratio} | {price:.4f} ({se:.4f}) | {exact:.4f} |")


if __name__ == "__main__":
    sys.exit(main())
