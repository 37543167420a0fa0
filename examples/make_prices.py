#!/usr/bin/env python3
"""Writes examples/prices.csv: a made-up year of daily closes for six assets.

Correlated log-normal daily moves (no download, no real data), on the
weekdays of 2025 less the NYSE holidays, in the layout a yfinance or exchange
export gives: a Date column, then one column of closing prices per asset.
Run it again and the file comes out the same (fixed seed).
"""

import datetime
import math
import os
import random

ASSETS = ["AAPL", "MSFT", "NVDA", "JPM", "TLT", "GLD"]
START = [243.85, 418.58, 138.31, 239.71, 87.33, 242.13]
MU = [0.0006, 0.0005, 0.0012, 0.0005, 0.0001, 0.0004]
SIGMA = [0.018, 0.016, 0.032, 0.017, 0.009, 0.010]
CORRELATION = [
    [1.00, 0.65, 0.60, 0.45, -0.15, 0.05],
    [0.65, 1.00, 0.62, 0.42, -0.12, 0.04],
    [0.60, 0.62, 1.00, 0.38, -0.14, 0.03],
    [0.45, 0.42, 0.38, 1.00, -0.20, 0.02],
    [-0.15, -0.12, -0.14, -0.20, 1.00, 0.25],
    [0.05, 0.04, 0.03, 0.02, 0.25, 1.00],
]
HOLIDAYS = {
    "2025-01-01", "2025-01-09", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26",
    "2025-06-19", "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25",
}


def cholesky(matrix):
    k = len(matrix)
    lower = [[0.0] * k for _ in range(k)]
    for j in range(k):
        lower[j][j] = math.sqrt(matrix[j][j] - sum(lower[j][m] ** 2 for m in range(j)))
        for i in range(j + 1, k):
            lower[i][j] = (matrix[i][j] - sum(lower[i][m] * lower[j][m] for m in range(j))) / lower[j][j]
    return lower


def main():
    rng = random.Random(2025)
    lower = cholesky(CORRELATION)
    prices = list(START)
    day = datetime.date(2025, 1, 2)
    rows = []
    while day.year == 2025:
        if day.weekday() < 5 and day.isoformat() not in HOLIDAYS:
            if rows:
                z = [rng.gauss(0.0, 1.0) for _ in ASSETS]
                for i in range(len(ASSETS)):
                    shock = sum(lower[i][m] * z[m] for m in range(i + 1))
                    prices[i] *= math.exp(MU[i] - 0.5 * SIGMA[i] ** 2 + SIGMA[i] * shock)
            rows.append([day.isoformat()] + [f"{p:.2f}" for p in prices])
        day += datetime.timedelta(days=1)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prices.csv")
    with open(path, "w") as out:
        out.write(",".join(["Date"] + ASSETS) + "\n")
        for row in rows:
            out.write(",".join(row) + "\n")


if __name__ == "__main__":
    main()
