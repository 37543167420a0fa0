#!/usr/bin/env python3
"""QuantLib's finite-difference values of the Bermudan puts that
tests/exercise.rs holds early exercise under Heston and Bates to.

A Bermudan put, S = K = 100, r = 0.05, no dividend, 360 days on
Actual/365 (so 24 dates fall 15 whole days apart), under

* Heston: v0 = theta = 0.04, kappa = 1.5, xi = 0.5, rho = -0.7
  (`FdHestonVanillaEngine`);
* Bates: the same variance with jumps of intensity 0.5, log mean -0.1
  and log vol 0.15 (`FdBatesVanillaEngine`);

Modified Craig-Sneyd on three grids (time x log price x variance), so the
grid error can be read from the refinements. The 400 x 800 x 200 grid
takes about two and a half minutes on one core.

    pip install QuantLib
    python3 benches/peers/american_models.py [--finest 400]
"""

import argparse
import time

import QuantLib as ql

TODAY = ql.Date(1, 1, 2025)
DAYS = 360
DATES = 24
HESTON = dict(v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
JUMPS = dict(lam=0.5, nu=-0.1, delta=0.15)


def bermudan_put(grid, jumps=None):
    ql.Settings.instance().evaluationDate = TODAY
    day_count = ql.Actual365Fixed()
    dates = [TODAY + DAYS * k // DATES for k in range(1, DATES + 1)]
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Put, 100.0), ql.BermudanExercise(dates)
    )
    spot = ql.QuoteHandle(ql.SimpleQuote(100.0))
    rate = ql.YieldTermStructureHandle(ql.FlatForward(TODAY, 0.05, day_count))
    dividend = ql.YieldTermStructureHandle(ql.FlatForward(TODAY, 0.0, day_count))
    h = HESTON
    t, x, v = grid
    scheme = ql.FdmSchemeDesc.ModifiedCraigSneyd()
    if jumps is None:
        process = ql.HestonProcess(
            rate, dividend, spot, h["v0"], h["kappa"], h["theta"], h["xi"], h["rho"]
        )
        engine = ql.FdHestonVanillaEngine(ql.HestonModel(process), t, x, v, 0, scheme)
    else:
        process = ql.BatesProcess(
            rate, dividend, spot, h["v0"], h["kappa"], h["theta"], h["xi"], h["rho"],
            jumps["lam"], jumps["nu"], jumps["delta"],
        )
        engine = ql.FdBatesVanillaEngine(ql.BatesModel(process), t, x, v, 0, scheme)
    option.setPricingEngine(engine)
    return option.NPV()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finest", type=int, default=400, help="time steps of the finest grid")
    args = parser.parse_args()
    for t in (args.finest // 4, args.finest // 2, args.finest):
        grid = (t, 2 * t, t // 2)
        start = time.perf_counter()
        heston = bermudan_put(grid)
        bates = bermudan_put(grid, JUMPS)
        print(
            f"grid {grid}: heston {heston!r} bates {bates!r} "
            f"({time.perf_counter() - start:.1f} s)"
        )


if __name__ == "__main__":
    main()
