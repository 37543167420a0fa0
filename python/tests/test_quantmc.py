"""The Python package against the CLI and the library's contracts: same
numbers as the CLI for the same seed, errors as ValueError / RuntimeError
naming the field, the GIL released during compute, Ctrl-C as
KeyboardInterrupt, NumPy in and out."""

import _thread
import json
import os
import pathlib
import pickle
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import quantmc

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def cli_binary():
    """The CLI that cargo built beside the package: `cargo test` builds it in
    target/debug (optimised: the test profile); QUANTMC_BIN points elsewhere."""
    default = ROOT / "target" / "debug" / "quantmc"
    if not default.exists():
        default = ROOT / "target" / "release" / "quantmc"
    return os.environ.get("QUANTMC_BIN", str(default))


def cli(*args):
    """The CLI's --json output."""
    out = subprocess.run([cli_binary(), *args, "--json"], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout)


def test_price_matches_the_cli_bit_for_bit():
    args = dict(spot=150.0, strike=155.0, maturity=0.25, vol=0.3, paths=200_000, seed=7)
    result = quantmc.price(**args, backend="simd")
    reference = cli("price", "--spot", "150", "--strike", "155", "--maturity", "0.25",
                    "--vol", "0.3", "--paths", "200000", "--seed", "7", "--backend", "simd")
    assert result.price == reference["price"]
    assert result.std_error == reference["std_error"]
    assert result.ci95 == tuple(reference["ci95"])
    assert result.closed_form == pytest.approx(reference["closed_form"])
    assert result.tier == "simd" and result.paths == 200_000
    assert result.to_dict()["price"] == reference["price"]


def test_defaults_are_the_clis():
    result = quantmc.price(paths=20_000, backend="scalar")
    reference = cli("price", "--paths", "20000", "--backend", "scalar")
    assert result.price == reference["price"]


def test_a_basket_from_a_path_or_a_dict_matches_the_cli_bit_for_bit():
    path = EXAMPLES / "basket.json"
    args = dict(strike=220.0, paths=50_000, control_variate=True, backend="rayon")
    from_path = quantmc.price_basket(str(path), **args)
    from_dict = quantmc.price_basket(json.loads(path.read_text()), **args)
    reference = cli("price", "--assets", str(path), "--style", "basket", "--strike", "220",
                    "--paths", "50000", "--control-variate", "--backend", "rayon")
    assert from_path.price == from_dict.price == reference["price"]
    assert from_path.std_error == reference["std_error"]
    assert from_path.assets == ["AAPL", "MSFT", "NVDA", "AMZN"]
    assert from_path.style == "basket" and from_path.tier == "rayon"
    assert from_path.geometric_basket == pytest.approx(reference["geometric_basket"])
    assert from_path.variance_reduction > 20
    assert from_path.to_dict()["style"] == "basket"
    assert from_path.greeks is None
    greeks = quantmc.price_basket(str(path), **args, greeks=True).greeks
    reference = cli("price", "--assets", str(path), "--style", "basket", "--strike", "220",
                    "--paths", "50000", "--control-variate", "--backend", "rayon", "--greeks")
    assert [g["asset"] for g in greeks] == ["AAPL", "MSFT", "NVDA", "AMZN"]
    assert greeks == reference["asset_greeks"]
    assert reference["greeks"] is None
    targeted = quantmc.price_basket(str(path), strike=220.0, paths=4096, target_se=0.05)
    assert targeted.std_error <= 0.05 and targeted.paths > 4096
    assert targeted.to_dict()["target_reached"] is True


def test_a_spread_at_strike_zero_meets_margrabe():
    assets = {
        "assets": [
            {"name": "one", "spot": 100, "vol": 0.2, "dividend": 0.01, "weight": 1},
            {"name": "two", "spot": 95, "vol": 0.3, "dividend": 0.03, "weight": -1},
        ],
        "correlation": [[1, 0.3], [0.3, 1]],
    }
    result = quantmc.price_basket(assets, style="spread", strike=0.0, paths=100_000,
                                  antithetic=True)
    # QuantLib 1.44's AnalyticEuropeanMargrabeEngine.
    assert result.closed_form == pytest.approx(15.36455964454186, rel=1e-10)
    assert abs(result.price - result.closed_form) < 4 * result.std_error


def test_a_bad_basket_raises_value_error_naming_the_field():
    assets = json.loads((EXAMPLES / "basket.json").read_text())
    assets["correlation"][0][1] = 0.9
    with pytest.raises(ValueError, match="not symmetric"):
        quantmc.price_basket(assets, paths=1000)
    with pytest.raises(ValueError, match="style"):
        quantmc.price_basket(EXAMPLES / "basket.json", style="rainbow")
    with pytest.raises(ValueError, match="assets"):
        quantmc.price_basket(42)


def test_greeks_barriers_and_targets_are_reachable():
    greeks = quantmc.price(greeks=True, paths=100_000, backend="rayon").greeks
    assert set(greeks) >= {"delta", "gamma", "vega", "rho", "theta"}
    assert 0.5 < greeks["delta"]["value"] < 0.7 and greeks["delta"]["std_error"] > 0
    barrier = quantmc.price(style="barrier", barrier=120.0, barrier_kind="up-and-out",
                            monitoring="continuous", steps=50, paths=100_000)
    assert barrier.closed_form is not None
    assert abs(barrier.price - barrier.closed_form) < 5 * barrier.std_error
    target = quantmc.price(target_rel_se=1e-3, paths=10_000, control_variate=True)
    assert target.std_error <= 1e-3 * target.price
    # A pilot of the first round sized a final stage of fresh paths, which
    # alone make the estimate.
    assert target.target_reached is True
    assert target.pilot_paths >= 10_000 and target.paths > target.pilot_paths
    assert quantmc.price(paths=10_000).pilot_paths is None


def test_var_from_a_path_a_dict_and_numpy_arrays_agree():
    path = EXAMPLES / "portfolio.json"
    from_path = quantmc.var(str(path), scenarios=50_000, backend="simd")
    from_dict = quantmc.var(json.loads(path.read_text()), scenarios=50_000, backend="simd")
    book = json.loads(path.read_text())
    arrays = quantmc.var(
        weights=np.array([a["weight"] for a in book["assets"]]),
        mu=np.array([a["mu"] for a in book["assets"]]),
        sigma=np.array([a["sigma"] for a in book["assets"]]),
        corr=np.array(book["correlation"]),
        value=book["value"],
        scenarios=50_000,
        backend="simd",
    )
    assert from_path.var == from_dict.var == arrays.var
    assert from_path.es == from_dict.es == arrays.es
    reference = cli("var", "--portfolio", str(path), "--scenarios", "50000", "--backend", "simd")
    assert from_path.var == reference["var"]
    assert from_path.es == reference["es"]
    assert from_path.parametric_var == reference["parametric_var"]


def test_var_returns_the_pnl_as_numpy_and_its_quantile_is_the_var():
    result = quantmc.var(str(EXAMPLES / "portfolio.json"), scenarios=20_000,
                         confidence=[0.99], return_pnl=True, backend="rayon")
    pnl = result.pnl
    assert isinstance(pnl, np.ndarray) and pnl.dtype == np.float64 and pnl.shape == (20_000,)
    m = int(np.ceil(0.01 * 20_000))
    assert -np.sort(pnl)[m - 1] == pytest.approx(result.var["0.99"], rel=1e-9)
    assert pnl.mean() == pytest.approx(result.mean, rel=1e-9)


def test_an_options_book_reports_its_shortcuts_and_contributions():
    result = quantmc.var(str(EXAMPLES / "options_book.json"), scenarios=50_000,
                         contributions=True)
    assert result.delta_gamma_var["0.99"] > 0
    names = [p["name"] for p in result.contributions["0.95"]]
    # Keyed by level as var and es are, and as the JSON document is.
    assert list(result.contributions) == list(result.var)
    assert result.contributions[0.99] == result.to_dict()["contributions"]["0.99"]
    assert "AAPL call K=250 T=0.25" in names
    document = result.to_dict()
    assert set(document["contributions"]) == {"0.95", "0.99"}
    assert document["delta_gamma_var"]["0.99"] == result.delta_gamma_var["0.99"]


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: quantmc.price(spot=-1.0), "spot"),
        (lambda: quantmc.price(vol=float("nan")), "vol"),
        (lambda: quantmc.price(kind="straddle"), "straddle"),
        (lambda: quantmc.price(backend="tpu"), "tpu"),
        (lambda: quantmc.price(paths=1), "paths"),
        (lambda: quantmc.price(style="barrier", barrier=120.0), "barrier_kind"),
        (lambda: quantmc.var(str(EXAMPLES / "portfolio.json"), confidence=[1.5]), "confidence"),
        (lambda: quantmc.var("/nonexistent.json"), "nonexistent"),
        (lambda: quantmc.var({"value": 1, "assets": [], "correlation": []}), "assets"),
        (lambda: quantmc.var(weights=np.ones(2), mu=np.zeros(2), sigma=np.ones(3),
                             corr=np.eye(2)), "sigma"),
        (lambda: quantmc.var(weights=np.ones(2), mu=np.zeros(2), sigma=np.ones(2) * 0.01,
                             corr=np.array([[1.0, 2.0], [2.0, 1.0]])), "correlation"),
        (lambda: quantmc.var(str(EXAMPLES / "portfolio.json"), dist="normal", dof=4.0), "dof"),
        (lambda: quantmc.price(backend="gpu", gpus="0,x", paths=1000), "gpus"),
        (lambda: quantmc.var(str(EXAMPLES / "portfolio.json"), backend="simd", gpus="0"),
         "gpus"),
        # Contradictions the CLI refuses are refused here too, not ignored.
        (lambda: quantmc.price(target_se=0.01, target_rel_se=1e-3, paths=1000), "target_rel_se"),
        (lambda: quantmc.price(max_paths=10_000, paths=1000), "max_paths"),
        (lambda: quantmc.price(greeks_method="bogus", paths=1000), "greeks_method"),
        (lambda: quantmc.price(greeks=True, greeks_method="bogus", paths=1000), "bogus"),
        (lambda: quantmc.price(style="asian-arithmetic", rebate=5.0, paths=1000), "rebate"),
        (lambda: quantmc.price(style="digital", monitoring="continuous", paths=1000),
         "monitoring"),
        (lambda: quantmc.price(replicates=8, paths=1000), "replicates"),
        (lambda: quantmc.price_basket(str(EXAMPLES / "basket.json"), replicates=8, paths=1000),
         "replicates"),
        (lambda: quantmc.fit(str(EXAMPLES / "prices.csv")), "weights"),
        (lambda: quantmc.var(str(EXAMPLES / "portfolio.json"), scenarios=1), "scenarios"),
        (lambda: quantmc.var(str(EXAMPLES / "portfolio.json"), horizon_days=1e300),
         "horizon_days"),
    ],
)
def test_bad_input_raises_value_error_naming_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_a_missing_gpu_is_a_runtime_error_not_a_panic():
    # Without allow_software_gpu a CPU-type adapter is refused too, so this
    # holds on any machine without a real GPU.
    if any("Discrete" in a or "Integrated" in a for a in quantmc.info()["gpu_adapters"]):
        pytest.skip("a real GPU is present")
    with pytest.raises(RuntimeError, match="gpu"):
        quantmc.price(backend="gpu", paths=1000)


def test_compute_releases_the_gil():
    # Two Python threads each run a job. With the GIL held, the second call
    # could not begin until the first returned; released, their runs overlap,
    # and a third thread keeps running Python meanwhile.
    ticks = []
    done = threading.Event()

    def spin():
        while not done.is_set():
            ticks.append(1)
            time.sleep(0.001)

    spans = []

    def job():
        start = time.perf_counter()
        result = quantmc.price(style="asian-arithmetic", steps=64, paths=400_000, backend="simd")
        spans.append((start, time.perf_counter(), result.price))

    spinner = threading.Thread(target=spin)
    spinner.start()
    start = time.perf_counter()
    jobs = [threading.Thread(target=job) for _ in range(2)]
    for thread in jobs:
        thread.start()
    for thread in jobs:
        thread.join()
    elapsed = time.perf_counter() - start
    done.set()
    spinner.join()
    assert len(spans) == 2 and spans[0][2] == spans[1][2]
    # Both ran at once: each began before the other ended.
    assert max(s[0] for s in spans) < min(s[1] for s in spans)
    # And the spinner was never starved for the whole run.
    assert len(ticks) > 30 * elapsed


def test_ctrl_c_raises_keyboard_interrupt_promptly():
    # A shell starting a background job leaves SIGINT ignored, and then
    # Python installs no handler of its own: install the default one here, as
    # an interactive session has it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            # About 10 s on 2 cores if the interrupt were lost: the test then
            # fails instead of hanging.
            quantmc.price(paths=1 << 34, backend="rayon")
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    # Hang guard, not a timing.
    assert time.perf_counter() - start < 30


def test_info_lists_the_tiers():
    info = quantmc.info()
    assert info["version"] == quantmc.__version__
    assert set(info["tiers"]) == {"scalar", "simd", "rayon", "gpu"}
    assert info["tiers"]["simd"].startswith("available")


def test_fit_and_historical_simulation_match_the_cli(tmp_path):
    prices = str(EXAMPLES / "prices.csv")
    book = quantmc.fit(prices, portfolio=str(EXAMPLES / "overlay.json"), ewma=0.94)
    assert [o["asset"] for o in book["options"]] == ["AAPL", "NVDA", "NVDA", "JPM"]
    path = tmp_path / "book.json"
    subprocess.run(
        [cli_binary(), "fit", "--prices", prices, "--portfolio", str(EXAMPLES / "overlay.json"),
         "--ewma", "0.94", "--output", str(path)],
        check=True, capture_output=True)
    assert json.loads(path.read_text()) == book
    result = quantmc.var(book, scenarios=20_000, historical=prices, confidence=[0.95])
    reference = cli("var", "--portfolio", str(path), "--scenarios", "20000",
                    "--historical", prices, "--confidence", "0.95")
    assert result.historical["levels"][0]["var"] == reference["historical"]["var"]["0.95"]
    assert result.var == reference["var"]
    # to_dict() is the CLI's document, one definition for both.
    document = result.to_dict()
    for timing in ("elapsed_s", "backend", "selection", "tier"):
        document.pop(timing)
        reference.pop(timing)
    assert document == reference
    equal = quantmc.fit(prices, weights="equal")
    assert all(a["weight"] == pytest.approx(1 / 6) for a in equal["assets"])
    with pytest.raises(ValueError, match="weights"):
        quantmc.fit(prices, weights={"AAPL": 1.0})
    with pytest.raises(ValueError, match="filtered_ewma"):
        quantmc.var(book, filtered_ewma=0.94)


def test_quantmc_simd_forces_the_instruction_set():
    # Each set this CPU runs, forced in a fresh interpreter (the variable is
    # read per call, but a subprocess keeps this one's environment clean).
    info = quantmc.info()
    assert info["simd"] in info["simd_supported"]
    script = ("import quantmc; r = quantmc.price(paths=100_000, backend='simd'); "
              "print(r.backend); print(repr(r.price))")
    best = quantmc.price(paths=100_000, backend="simd")
    for isa in info["simd_supported"]:
        env = dict(os.environ, QUANTMC_SIMD=isa)
        out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                             capture_output=True, text=True).stdout.split("\n")
        assert f"({isa}, f64x8" in out[0]
        assert float(out[1]) == pytest.approx(best.price, rel=1e-12)


def test_a_bad_quantmc_simd_is_a_value_error(monkeypatch):
    monkeypatch.setenv("QUANTMC_SIMD", "avx9")
    with pytest.raises(ValueError, match="QUANTMC_SIMD"):
        quantmc.price(paths=1_000)
    monkeypatch.delenv("QUANTMC_SIMD")
    supported = quantmc.info()["simd_supported"]
    missing = next(isa for isa in ("neon", "avx512", "avx2") if isa not in supported)
    monkeypatch.setenv("QUANTMC_SIMD", missing)
    with pytest.raises(ValueError, match=f"simd.*{missing}"):
        quantmc.price(paths=1_000, backend="simd")


HESTON = dict(v0=0.04, kappa=1.5, theta=0.05, xi=0.6, rho=-0.7)
JUMPS = dict(jump_intensity=0.5, jump_mean=-0.1, jump_vol=0.15)


def test_models_match_the_cli_bit_for_bit_and_their_closed_forms():
    cases = [
        ("heston", HESTON, ["--v0", "0.04", "--kappa", "1.5", "--theta", "0.05", "--xi", "0.6",
                            "--rho", "-0.7"]),
        ("merton", dict(vol=0.2, **JUMPS), ["--vol", "0.2", "--jump-intensity", "0.5",
                                            "--jump-mean", "-0.1", "--jump-vol", "0.15"]),
        ("bates", dict(scheme="euler", **HESTON, **JUMPS),
         ["--scheme", "euler", "--v0", "0.04", "--kappa", "1.5", "--theta", "0.05", "--xi", "0.6",
          "--rho", "-0.7", "--jump-intensity", "0.5", "--jump-mean", "-0.1", "--jump-vol", "0.15"]),
    ]
    for model, params, flags in cases:
        result = quantmc.price(model=model, steps=32, paths=100_000, seed=3, backend="simd", **params)
        reference = cli("price", "--model", model, *flags, "--steps", "32", "--paths", "100000",
                        "--seed", "3", "--backend", "simd")
        assert result.price == reference["price"], model
        assert result.to_dict()["model"] == reference["model"]
        assert abs(result.price - result.closed_form) < 4 * result.std_error, model


def test_model_parameters_that_do_not_fit_raise_value_error_naming_them():
    with pytest.raises(ValueError, match="v0"):
        quantmc.price(v0=0.04, paths=1000)
    with pytest.raises(ValueError, match="kappa"):
        quantmc.price(model="heston", v0=0.04, paths=1000)
    with pytest.raises(ValueError, match="vol"):
        quantmc.price(model="heston", vol=0.2, **HESTON, paths=1000)
    with pytest.raises(ValueError, match="rho"):
        quantmc.price(model="heston", **dict(HESTON, rho=-1.0), paths=1000)
    with pytest.raises(ValueError, match="model"):
        quantmc.price(model="sabr", paths=1000)


def test_a_strike_strip_returns_numpy_columns_on_common_paths():
    strikes = [80.0, 100.0, 120.0]
    strip = quantmc.price(model="heston", **HESTON, steps=16, paths=20_000, antithetic=True,
                          strikes=strikes, maturities=[0.5, 1.0], implied_vol=True,
                          backend="rayon")
    assert isinstance(strip, quantmc.StripResult)
    assert len(strip) == 6
    assert list(strip.strikes) == strikes * 2
    assert list(strip.maturities) == [0.5] * 3 + [1.0] * 3
    gap = np.abs(strip.implied_vols - strip.closed_form_implied_vols)
    assert np.all(gap < 4 * strip.implied_vol_std_errors)
    # Each quote is the job priced alone at its strike, on the same paths.
    alone = quantmc.price(model="heston", **HESTON, steps=16, paths=20_000, antithetic=True,
                          strike=120.0, maturity=1.0, backend="rayon")
    assert strip.prices[5] == alone.price
    assert strip.to_dict()["strikes"][5]["strike"] == 120.0
    reference = cli("price", "--model", "heston", "--v0", "0.04", "--kappa", "1.5", "--theta",
                    "0.05", "--xi", "0.6", "--rho", "-0.7", "--steps", "16", "--paths", "20000",
                    "--antithetic", "--strikes", "80,100,120", "--maturities", "0.5,1",
                    "--implied-vol", "--backend", "rayon")
    assert [q["price"] for q in reference["strikes"]] == list(strip.prices)
    # An Asian strip has prices and no implied volatilities.
    asian = quantmc.price(style="asian-arithmetic", strikes=[90.0, 110.0], paths=10_000)
    assert np.all(np.isnan(asian.implied_vols)) and asian.prices[0] > asian.prices[1]
    with pytest.raises(ValueError, match=r"strikes\[1\]"):
        quantmc.price(strikes=[90.0, -1.0], paths=1000)
    with pytest.raises(ValueError, match="implied_vol"):
        quantmc.price(style="digital", implied_vol=True, paths=1000)


def test_an_american_put_matches_the_cli_bit_for_bit_and_its_lattice():
    args = dict(kind="put", spot=36.0, strike=40.0, rate=0.06, vol=0.2, maturity=1.0,
                paths=40_000, seed=5)
    result = quantmc.price(**args, exercise="american", backend="rayon")
    reference = cli("price", "--option", "put", "--spot", "36", "--strike", "40", "--rate",
                    "0.06", "--vol", "0.2", "--maturity", "1", "--paths", "40000", "--seed",
                    "5", "--exercise", "american", "--backend", "rayon")
    assert isinstance(result, quantmc.ExerciseResult)
    assert result.price == reference["price"]
    assert result.std_error == reference["std_error"]
    assert result.lattice == reference["closed_form"]
    assert result.policy["dates"] == 50 == reference["policy"]["dates"]
    assert result.american == pytest.approx(4.4866, abs=1e-3)
    # A lower bound: at most the lattice's 50-date value plus noise.
    assert result.price < result.lattice + 3 * result.std_error
    assert result.price > 0.995 * result.lattice - 3 * result.std_error
    assert result.upper_bound is None
    bounded = quantmc.price(**args, exercise="american", backend="rayon", upper_bound=64,
                            upper_bound_paths=16)
    reference = cli("price", "--option", "put", "--spot", "36", "--strike", "40", "--rate",
                    "0.06", "--vol", "0.2", "--maturity", "1", "--paths", "40000", "--seed",
                    "5", "--exercise", "american", "--backend", "rayon", "--upper-bound", "64",
                    "--upper-bound-paths", "16")
    assert bounded.upper_bound == reference["upper_bound"]
    assert bounded.upper_bound["value"] >= bounded.price
    assert bounded.upper_bound["outer_paths"] == 16
    assert result.greeks is None
    hedged = quantmc.price(**args, exercise="american", backend="rayon", greeks=True)
    reference = cli("price", "--option", "put", "--spot", "36", "--strike", "40", "--rate",
                    "0.06", "--vol", "0.2", "--maturity", "1", "--paths", "40000", "--seed",
                    "5", "--exercise", "american", "--backend", "rayon", "--greeks")
    assert hedged.greeks == reference["greeks"]
    assert -0.75 < hedged.greeks["delta"]["value"] < -0.5
    with pytest.raises(ValueError, match="upper_bound"):
        quantmc.price(**args, exercise="american", upper_bound_paths=16)
    with pytest.raises(ValueError, match="upper-bound"):
        quantmc.price(**args, exercise="american", upper_bound=0)
    bermudan = quantmc.price(**args, exercise="bermudan", exercise_dates=5)
    assert bermudan.policy["dates"] == 5 and bermudan.american is None
    with pytest.raises(ValueError, match="exercise-dates"):
        quantmc.price(**args, exercise="bermudan", exercise_dates=3, steps=10)
    with pytest.raises(ValueError, match="style"):
        quantmc.price(**args, exercise="american", style="asian-arithmetic")


def test_early_exercise_under_heston_matches_the_cli_bit_for_bit():
    heston = dict(model="heston", v0=0.04, kappa=1.5, theta=0.04, xi=0.5, rho=-0.7)
    args = dict(kind="put", strike=100.0, rate=0.05, maturity=1.0, paths=20_000, seed=3,
                steps=24, antithetic=True, upper_bound=32, upper_bound_paths=16)
    result = quantmc.price(**args, **heston, exercise="american", backend="rayon")
    reference = cli("price", "--option", "put", "--strike", "100", "--rate", "0.05",
                    "--maturity", "1", "--paths", "20000", "--seed", "3", "--steps", "24",
                    "--antithetic", "--upper-bound", "32", "--upper-bound-paths", "16",
                    "--model", "heston", "--v0", "0.04", "--kappa", "1.5", "--theta", "0.04",
                    "--xi", "0.5", "--rho", "-0.7", "--exercise", "american",
                    "--backend", "rayon")
    assert result.price == reference["price"]
    assert result.std_error == reference["std_error"]
    assert result.upper_bound == reference["upper_bound"]
    assert result.policy == reference["policy"]
    # The variance, its square, and each times the moneyness join the fit.
    assert len(result.policy["coefficients"][0]) == 8
    # No lattice off Black-Scholes; the duality bound is the check.
    assert result.lattice is None and result.american is None
    assert result.upper_bound["value"] >= result.price
    with pytest.raises(ValueError, match="greeks"):
        quantmc.price(**args, **heston, exercise="american", greeks=True)


def test_a_bermudan_max_call_matches_the_cli_bit_for_bit(tmp_path):
    assets = {"assets": [{"name": n, "spot": 100.0, "vol": 0.2, "dividend": 0.1}
                         for n in ("A", "B")],
              "correlation": [[1.0, 0.0], [0.0, 1.0]]}
    args = dict(style="best-of", strike=100.0, rate=0.05, maturity=3.0, paths=20_000,
                seed=5, backend="rayon")
    result = quantmc.price_basket(assets, **args, exercise="bermudan", exercise_dates=9,
                                  upper_bound=16, upper_bound_paths=8)
    assert isinstance(result, quantmc.ExerciseResult)
    path = tmp_path / "max_call.json"
    path.write_text(json.dumps(assets))
    reference = cli("price", "--assets", str(path), "--style", "best-of", "--strike", "100",
                    "--rate", "0.05", "--maturity", "3", "--paths", "20000", "--seed", "5",
                    "--exercise", "bermudan", "--exercise-dates", "9", "--upper-bound", "16",
                    "--upper-bound-paths", "8", "--backend", "rayon")
    assert result.price == reference["price"]
    assert result.upper_bound == reference["upper_bound"]
    assert result.policy == reference["policy"]
    # Two assets: 1 + 3 of the largest, the other, and two cross terms.
    assert len(result.policy["coefficients"][0]) == 7
    assert result.lattice is None
    # Worth more than the European max-call (Stulz's formula, 11.3).
    european = quantmc.price_basket(assets, **args)
    assert result.price > european.closed_form
    with pytest.raises(ValueError, match="greeks"):
        quantmc.price_basket(assets, **args, exercise="american", greeks=True)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    # It used to block in open() forever, holding the interpreter lock.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        quantmc.var(str(fifo))


def test_var_takes_lists_and_any_numeric_dtype_and_refuses_masked_arrays():
    args = dict(scenarios=20_000, backend="scalar", value=1e6)
    weights, mu, sigma = [0.5, 0.5], [0.0, 0.0], [0.01, 0.02]
    corr = [[1.0, 0.3], [0.3, 1.0]]
    reference = quantmc.var(weights=np.array(weights), mu=np.array(mu),
                            sigma=np.array(sigma), corr=np.array(corr), **args)
    # Lists, and float32 values that are exact in both widths.
    as_lists = quantmc.var(weights=weights, mu=mu, sigma=sigma, corr=corr, **args)
    assert as_lists.var == reference.var
    exact = quantmc.var(weights=np.array(weights, dtype=np.float32),
                        mu=np.zeros(2, dtype=np.int64), sigma=np.array(sigma),
                        corr=np.array(corr), **args)
    assert exact.var == reference.var
    with pytest.raises(ValueError, match="weights: a masked array"):
        quantmc.var(weights=np.ma.masked_array(weights, mask=[0, 1]), mu=mu, sigma=sigma,
                    corr=corr, **args)
    with pytest.raises(ValueError, match="sigma: not an array of numbers"):
        quantmc.var(weights=weights, mu=mu, sigma=["a", "b"], corr=corr, **args)
    with pytest.raises(ValueError, match="corr: 1-dimensional"):
        quantmc.var(weights=weights, mu=mu, sigma=sigma, corr=[1.0, 0.3], **args)


def test_results_pickle_and_come_back_bit_for_bit():
    import copy
    import pickle
    results = [
        quantmc.price(paths=4096, greeks=True),
        quantmc.price(paths=4096, strikes=[95.0, 105.0]),
        quantmc.price(kind="put", spot=36, strike=40, rate=0.06, paths=4096,
                      exercise="bermudan", exercise_dates=4, upper_bound=8, upper_bound_paths=4),
        quantmc.price_basket(str(EXAMPLES / "basket.json"), paths=4096, strike=220.0),
        quantmc.var(str(EXAMPLES / "portfolio.json"), scenarios=4096, return_pnl=True,
                    contributions=True),
    ]
    for result in results:
        back = pickle.loads(pickle.dumps(result))
        assert type(back) is type(result)
        assert back.to_dict() == result.to_dict()
        assert copy.deepcopy(result).to_dict() == result.to_dict()
    var = results[-1]
    back = pickle.loads(pickle.dumps(var))
    assert np.array_equal(back.pnl, var.pnl)
    assert back.contributions == var.contributions
    with pytest.raises(ValueError, match="class"):
        quantmc._quantmc._restore("Nothing", "{}")


def test_counts_take_whole_floats_as_the_cli_does():
    assert quantmc.price(paths=1e4, seed=3).price == quantmc.price(paths=10_000, seed=3).price
    assert quantmc.price(paths=1e4).paths == 10_000
    result = quantmc.var(str(EXAMPLES / "portfolio.json"), scenarios=2e4)
    assert result.scenarios == 20_000
    for bad in (1.5, -1.0, float("nan"), 1e300, "many"):
        with pytest.raises(ValueError, match="paths: expected a count"):
            quantmc.price(paths=bad)


def test_the_market_comes_by_position_in_black_scholes_order():
    by_position = quantmc.price(100, 105, 0.5, 0.03, 0.25, kind="put", paths=1e4)
    by_name = quantmc.price(spot=100, strike=105, maturity=0.5, rate=0.03, vol=0.25,
                            kind="put", paths=10_000)
    timing = {"elapsed_s": 0, "paths_per_sec": 0}
    assert by_position.to_dict() | timing == by_name.to_dict() | timing
    with pytest.raises(TypeError):
        quantmc.price(100, 105, 0.5, 0.03, 0.25, "put")


def test_levels_are_found_by_their_number_too():
    result = quantmc.var(str(EXAMPLES / "portfolio.json"), scenarios=1e4,
                         confidence=[0.95, 0.99])
    assert isinstance(result.var, quantmc.Levels) and isinstance(result.var, dict)
    assert list(result.var) == ["0.95", "0.99"]
    assert result.var[0.99] == result.var["0.99"]
    assert result.es[0.95] == result.es["0.95"]
    assert 0.95 in result.es and "0.99" in result.es and 0.9 not in result.es
    assert result.parametric_var.get(0.99) == result.parametric_var["0.99"]
    assert result.var.get(0.975) is None
    with pytest.raises(KeyError):
        result.var[0.9]
    with pytest.raises(KeyError):
        result.var["0.9"]


def test_backtest_gives_the_tests_and_numpy_series():
    prices = str(EXAMPLES / "prices.csv")
    book = quantmc.fit(prices, weights="equal")
    result = quantmc.backtest(book, prices, window=120, confidence=0.95)
    assert result.days == 249 - 120
    assert isinstance(result.pnl, np.ndarray) and result.pnl.shape == (result.days,)
    assert result.var.shape == result.es.shape == (result.days,)
    # The exceptions are the days whose loss exceeds their VaR.
    hits = result.pnl < -result.var
    assert result.exception_count == int(hits.sum()) == len(result.exceptions)
    assert [e["date"] for e in result.exceptions] == [d for d, h in zip(result.dates, hits) if h]
    assert 0.0 <= result.kupiec["p_value"] <= 1.0
    assert set(result.christoffersen) == {"independence", "conditional_coverage"}
    assert result.traffic_light["zone"] in {"green", "yellow", "red"}
    assert result.es_test["simulations"] == 1000
    # The same as the CLI's JSON document, and pickled whole.
    assert result.to_dict()["kupiec"] == result.kupiec
    again = pickle.loads(pickle.dumps(result))
    assert again.to_dict() == result.to_dict()
    parametric = quantmc.backtest(book, prices, window=120, method="parametric")
    assert "parametric" in parametric.method
    for kwargs, field in [
        (dict(window=400), "window"),
        (dict(method="monte-carlo"), "method"),
        (dict(horizon_days=10.0), "horizon-days"),
    ]:
        with pytest.raises(ValueError, match=field):
            quantmc.backtest(book, prices, **kwargs)


def test_stressed_var_is_the_worst_stretch():
    prices = str(EXAMPLES / "prices.csv")
    book = quantmc.fit(prices, weights="equal")
    risk = quantmc.var(book, scenarios=10_000, historical=prices, stressed=True, stress_days=100)
    stressed = risk.to_dict()["stressed"]
    assert stressed["days"] == 100 and stressed["searched"] == 150
    assert stressed["var"]["0.99"] >= risk.to_dict()["historical"]["var"]["0.99"] * 0.999
    given = quantmc.var(book, scenarios=10_000, historical=prices,
                        stress_window=(stressed["window"]["from"], stressed["window"]["to"]))
    assert given.to_dict()["stressed"]["var"] == stressed["var"]
    with pytest.raises(ValueError, match="stress-days"):
        quantmc.var(book, scenarios=10_000, historical=prices, stressed=True, stress_days=1000)
    with pytest.raises(ValueError, match="stressed"):
        quantmc.var(book, scenarios=10_000, stressed=True)


def test_what_if_reads_the_same_scenarios():
    book = str(EXAMPLES / "portfolio.json")
    trade = {"positions": [{"asset": "AAPL", "weight": 0.01}]}
    risk = quantmc.var(book, scenarios=100_000, what_if=trade)
    change = risk.what_if[0.99]
    assert change["var_before"] == pytest.approx(risk.var[0.99], rel=1e-9)
    assert change["var_change"] == change["var_after"] - change["var_before"]
    assert 5 * change["var_change_std_error"] < change["independent_std_error"]
    assert risk.to_dict()["what_if"]["0.99"] == change
    assert pickle.loads(pickle.dumps(risk)).what_if == risk.what_if
    assert quantmc.var(book, scenarios=10_000).what_if is None
    with pytest.raises(ValueError, match="IBM"):
        quantmc.var(book, scenarios=10_000, what_if={"positions": [{"asset": "IBM", "weight": 1}]})


def test_frtb_es_equals_a_numpy_cascade():
    prices_path = str(EXAMPLES / "prices.csv")
    book = quantmc.fit(prices_path, weights="equal")
    horizons = {"AAPL": 10, "MSFT": 20, "NVDA": 40, "JPM": 60, "TLT": 120, "GLD": 20}
    for asset in book["assets"]:
        asset["liquidity_horizon"] = horizons[asset["name"]]
    risk = quantmc.var(book, scenarios=10_000, historical=prices_path, frtb=True)
    frtb = risk.to_dict()["frtb"]
    # NumPy, from the CSV: overlapping 10-day returns, the 97.5% ES of the
    # ceil(0.025 n) worst P&Ls, the liquidity-horizon cascade.
    with open(prices_path) as f:
        header = f.readline().strip().split(",")[1:]
    prices = np.loadtxt(prices_path, delimiter=",", skiprows=1, usecols=range(1, len(header) + 1))
    columns = [header.index(a["name"]) for a in book["assets"]]
    weights = np.array([a["weight"] for a in book["assets"]])
    lh = np.array([a["liquidity_horizon"] for a in book["assets"]])
    returns = prices[10:, columns] / prices[:-10, columns] - 1.0

    def es(mask):
        pnl = np.sort(book["value"] * returns @ (weights * mask))
        m = int(np.ceil(round(0.025 * len(pnl), 9)))
        return -pnl[:m].mean()

    levels = [10, 20, 40, 60, 120]
    buckets = [es(lh >= h) if (lh >= h).any() else 0.0 for h in levels]
    total = np.sqrt(buckets[0] ** 2 + sum(
        (buckets[j] * np.sqrt((levels[j] - levels[j - 1]) / 10)) ** 2 for j in range(1, 5)))
    assert frtb["es"] == pytest.approx(total, rel=1e-9)
    assert [b["es"] for b in frtb["buckets"]] == pytest.approx(buckets, rel=1e-9)
    assert frtb["stressed_scaling"] is None
    with pytest.raises(ValueError, match="frtb"):
        quantmc.var(book, scenarios=10_000, frtb=True)
