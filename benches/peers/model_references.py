#!/usr/bin/env python3
"""Reference prices from QuantLib for the model axis's semi-analytic prices.

Writes tests/data/model_references.json, which tests/models.rs holds
quantmc's Heston, Bates and Merton prices to (1e-8 absolute, per unit of
spot):

* Heston European calls and puts from QuantLib's AnalyticHestonEngine
  (adaptive Gauss-Lobatto at a relative tolerance of 1e-13) on random
  parameter sets, Feller's condition met and violated;
* Bates from QuantLib's BatesEngine alike;
* Merton from BatesEngine with a variance that cannot move (v0 = theta =
  vol^2, xi = 1e-6, rho = 0: prices then agree with xi = 1e-5 to about
  1e-11; xi = 1e-4 still moves them by 1e-8), since QuantLib's Python
  bindings do not wrap its JumpDiffusionEngine.

Each case also records the spread between QuantLib's adaptive and its
Gauss-Laguerre (order 144) integrations, a measure of QuantLib's own
accuracy on that case; cases where the two disagree by more than 1e-9
are left out (they are QuantLib's, not ours, to settle).

    pip install QuantLib numpy
    python3 benches/peers/model_references.py [--cases 200] [--seed 7]
"""

import argparse
import json
import math
import os
import random

import QuantLib as ql


def setup(spot, rate, dividend, maturity):
    today = ql.Date(15, 1, 2025)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    # A maturity in whole days, and the year fraction QuantLib will use.
    days = max(1, round(maturity * 365))
    expiry = today + days
    t = dc.yearFraction(today, expiry)
    r = ql.YieldTermStructureHandle(ql.FlatForward(today, rate, dc))
    q = ql.YieldTermStructureHandle(ql.FlatForward(today, dividend, dc))
    s = ql.QuoteHandle(ql.SimpleQuote(spot))
    return today, expiry, t, r, q, s


def price(engine_of, kind, strike, expiry):
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if kind == "call" else ql.Option.Put, strike)
    option = ql.VanillaOption(payoff, ql.EuropeanExercise(expiry))
    values = []
    for engine in engine_of():
        option.setPricingEngine(engine)
        values.append(option.NPV())
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "model_references.json"),
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases = []
    skipped = 0
    for model in ["heston", "bates", "merton"]:
        made = 0
        while made < args.cases:
            spot = 100.0
            strike = spot * math.exp(rng.uniform(-0.6, 0.6))
            maturity = rng.choice([0.05, 0.25, 0.5, 1.0, 2.0, 5.0]) * rng.uniform(0.8, 1.2)
            rate = rng.uniform(-0.01, 0.08)
            dividend = rng.uniform(0.0, 0.05)
            today, expiry, t, r, q, s = setup(spot, rate, dividend, maturity)
            case = {
                "model": model,
                "spot": spot,
                "strike": strike,
                "maturity": t,
                "rate": rate,
                "dividend": dividend,
            }
            if model in ("heston", "bates"):
                v0 = rng.uniform(0.005, 0.4)
                kappa = rng.uniform(0.2, 8.0)
                theta = rng.uniform(0.01, 0.4)
                xi = rng.uniform(0.1, 1.5)
                rho = rng.uniform(-0.95, 0.4)
            else:
                vol = rng.uniform(0.1, 0.5)
                v0 = theta = vol * vol
                kappa, xi, rho = 1.0, 1e-6, 0.0
                case["vol"] = vol
            if model in ("bates", "merton"):
                lam = rng.uniform(0.05, 2.0)
                nu = rng.uniform(-0.3, 0.15)
                delta = rng.uniform(0.02, 0.4)
                case.update(jump_intensity=lam, jump_mean=nu, jump_vol=delta)
            if model != "merton":
                case.update(v0=v0, kappa=kappa, theta=theta, xi=xi, rho=rho)
                case["feller"] = 2 * kappa * theta >= xi * xi
            process = ql.HestonProcess(r, q, s, v0, kappa, theta, xi, rho)
            if model == "heston":
                hmodel = ql.HestonModel(process)
                engines = lambda: [
                    ql.AnalyticHestonEngine(hmodel, 1e-13, 10_000_000),
                    ql.AnalyticHestonEngine(hmodel, 144),
                ]
            else:
                bprocess = ql.BatesProcess(r, q, s, v0, kappa, theta, xi, rho, lam, nu, delta)
                bmodel = ql.BatesModel(bprocess)
                engines = lambda: [
                    ql.BatesEngine(bmodel, 1e-13, 10_000_000),
                    ql.BatesEngine(bmodel, 144),
                ]
            for kind in ("call", "put"):
                adaptive, laguerre = price(engines, kind, strike, expiry)
                if abs(adaptive - laguerre) > 1e-9 * spot:
                    skipped += 1
                    continue
                cases.append(dict(case, kind=kind, price=adaptive, quantlib_spread=abs(adaptive - laguerre)))
            made += 1
    document = {
        "source": f"QuantLib {ql.__version__}: AnalyticHestonEngine / BatesEngine, adaptive Gauss-Lobatto at 1e-13",
        "generator": "benches/peers/model_references.py",
        "seed": args.seed,
        "skipped_quantlib_disagrees": skipped,
        "cases": cases,
    }
    with open(args.out, "w") as f:
        json.dump(document, f, indent=1)
    print(f"wrote {len(cases)} cases to {args.out} ({skipped} left out where QuantLib's integrations disagree)")


if __name__ == "__main__":
    main()
