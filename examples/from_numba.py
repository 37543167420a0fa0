"""From Numba to quantmc in one screen: the two classic Numba Monte Carlo
kernels (an option price and a portfolio VaR) beside the quantmc calls that
replace them, each timed on this machine.

    pip install ./python numba      # then:
    python examples/from_numba.py
"""

import time

import numpy as np
from numba import njit, prange

import quantmc

# ---- before: Numba ---------------------------------------------------------


@njit(parallel=True)
def option_price_mc(spot, strike, maturity, rate, vol, paths):
    drift = (rate - 0.5 * vol * vol) * maturity
    diffusion = vol * np.sqrt(maturity)
    total = 0.0
    for _ in prange(paths):
        z = np.random.standard_normal()
        total += max(spot * np.exp(drift + diffusion * z) - strike, 0.0)
    return np.exp(-rate * maturity) * total / paths


@njit(parallel=True)
def calculate_var(value, weights, mu, sigma, scenarios, confidence):
    pnl = np.empty(scenarios)
    for s in prange(scenarios):
        ret = 0.0
        for j in range(weights.shape[0]):
            ret += weights[j] * (mu[j] + sigma[j] * np.random.standard_normal())
        pnl[s] = value * ret
    return -np.percentile(pnl, 100.0 * (1.0 - confidence))


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main():
    paths, scenarios = 10_000_000, 2_000_000
    weights = np.full(10, 0.1)
    mu = np.full(10, 0.0004)
    sigma = np.linspace(0.01, 0.03, 10)
    option_price_mc(150.0, 155.0, 0.25, 0.05, 0.3, 1000)  # JIT warm-up
    calculate_var(1e6, weights, mu, sigma, 1000, 0.99)

    numba_price, t_numba_price = timed(option_price_mc, 150.0, 155.0, 0.25, 0.05, 0.3, paths)
    numba_var, t_numba_var = timed(calculate_var, 1e6, weights, mu, sigma, scenarios, 0.99)

    # ---- after: quantmc (same jobs; the answer comes with its uncertainty) --
    price, t_price = timed(quantmc.price, spot=150.0, strike=155.0, maturity=0.25,
                           rate=0.05, vol=0.3, paths=paths)
    risk, t_var = timed(quantmc.var, weights=weights, mu=mu, sigma=sigma,
                        corr=np.eye(10), value=1e6, scenarios=scenarios, confidence=[0.99])

    print(f"European call, {paths:.0e} paths")
    print(f"  numba parallel  {numba_price:9.4f}                       {t_numba_price:7.3f} s")
    print(f"  quantmc         {price.price:9.4f} +/- {price.std_error:.4f} "
          f"(closed form {price.closed_form:.4f})  {t_price:7.3f} s  on {price.backend}")
    print(f"VaR 99%, 10 assets, {scenarios:.0e} scenarios")
    print(f"  numba parallel  {numba_var:12.2f}                          {t_numba_var:7.3f} s")
    print(f"  quantmc         {risk.var['0.99']:12.2f} (closed form {risk.parametric_var['0.99']:.2f})"
          f"  {t_var:7.3f} s  on {risk.backend}")


if __name__ == "__main__":
    main()
