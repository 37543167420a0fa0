//! `quantmc` for Python: a thin layer over the library's jobs and results.
//!
//! Each call builds the library's own job from keyword arguments (with the
//! CLI's defaults), runs it on a worker thread with the GIL released, and
//! polls for signals on the calling thread every 20 ms, so Ctrl-C cancels
//! the run through the library's `Control` and surfaces as
//! `KeyboardInterrupt`. Bad input raises `ValueError` (the library's message
//! names the field), a tier that cannot run `RuntimeError`; no panic crosses
//! the boundary (PyO3 turns one into `PanicException`, and the library has
//! none on any input).

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyKeyboardInterrupt, PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use quantmc::exercise::{Basis, Exercise};
use quantmc::hardware::Isa;
use quantmc::market::{Barrier, BarrierKind, Monitoring};
use quantmc::models::{HestonScheme, ModelKind, ModelParameters};
use quantmc::pricing::{GreeksMethod, Precision, Sampler, Target};
use quantmc::{
    Asset, Backend, Confidence, Control, Gpus, Market, OptionKind, OptionSpec, Portfolio,
    PricingJob, ReturnDistribution, RunOptions, Style, VarJob,
};

/// The volatility of bs and merton unless told (the CLI's).
const DEFAULT_VOL: f64 = 0.2;

/// The most paths a run with a target may take unless told (the CLI's).
const DEFAULT_MAX_PATHS: u64 = 1_000_000_000;

/// The library's error as the Python exception a caller expects.
fn py_error(err: quantmc::Error) -> PyErr {
    match err {
        quantmc::Error::Input(err) => PyValueError::new_err(err.to_string()),
        // A sample that does not fit (`return_pnl` at 4e8 scenarios under
        // `ulimit -v`): the exception Python raises for it.
        quantmc::Error::Backend(
            err @ quantmc::error::BackendError::Failed {
                backend: "memory", ..
            },
        ) => PyMemoryError::new_err(err.to_string()),
        quantmc::Error::Backend(err) => PyRuntimeError::new_err(err.to_string()),
        quantmc::Error::Cancelled => PyKeyboardInterrupt::new_err("the run was cancelled"),
    }
}

fn input_error(err: quantmc::InputError) -> PyErr {
    PyValueError::new_err(err.to_string())
}

/// Parses a named choice (`"call"`, `"rayon"`, ...) with the library's
/// message on failure.
fn choice<T: std::str::FromStr<Err = quantmc::InputError>>(text: &str) -> PyResult<T> {
    text.parse().map_err(input_error)
}

/// A count (paths, scenarios) as Python users write it: an int, or a whole
/// float such as `1e6`, as the CLI takes `1e6`; `None` when not given.
/// Anything else is a `ValueError` naming the argument.
fn count(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u64>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if let Ok(count) = value.extract::<u64>() {
        return Ok(Some(count));
    }
    match value.extract::<f64>() {
        Ok(whole)
            if whole.is_finite() && whole >= 0.0 && whole.fract() == 0.0 && whole <= MAX_COUNT =>
        {
            Ok(Some(whole as u64))
        }
        _ => Err(PyValueError::new_err(format!(
            "{name}: expected a count, a non-negative int or a whole float such as 1e6 below \
             2^52, not {}",
            value.repr()?
        ))),
    }
}

/// The largest count a float gives exactly (the CLI's limit too).
const MAX_COUNT: f64 = (1u64 << 52) as f64;

/// Paths and scenarios when not given (`None`): the CLI's 1e6.
const DEFAULT_COUNT: u64 = 1_000_000;

/// How often a waiting caller checks for signals (Ctrl-C) while the worker
/// runs. The wait ends the moment the worker finishes, whatever this is.
const SIGNAL_CHECK: Duration = Duration::from_millis(20);

/// Runs `work` on a worker thread with the GIL released; checks for signals
/// (Ctrl-C) on this thread meanwhile and cancels the run when one arrives.
/// The caller waits on the worker's outcome, so a small job returns as soon
/// as it is done (it slept in whole 20 ms slices before: every call cost at
/// least 20 ms).
fn run_released<T: Send>(
    py: Python<'_>,
    work: impl FnOnce(&Control) -> quantmc::Result<T> + Send,
) -> PyResult<T> {
    let control = Control::new();
    // The worker's outcome (its panic caught), and the signal that it is in.
    let outcome = (Mutex::new(None), Condvar::new());
    let panicked = || PyRuntimeError::new_err("the quantmc worker thread panicked");
    // Waits up to `limit` for the outcome, without the GIL.
    let wait = |limit: Option<Duration>| {
        py.detach(|| {
            let (slot, ready) = &outcome;
            let guard = slot.lock().unwrap_or_else(|poison| poison.into_inner());
            let mut guard = match limit {
                Some(limit) => {
                    ready
                        .wait_timeout_while(guard, limit, |o| o.is_none())
                        .unwrap_or_else(|poison| poison.into_inner())
                        .0
                }
                None => ready
                    .wait_while(guard, |o| o.is_none())
                    .unwrap_or_else(|poison| poison.into_inner()),
            };
            guard.take()
        })
    };
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // A panic is caught here and reported as an error: the scope
            // would otherwise re-raise it in the caller.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&control)));
            let (slot, ready) = &outcome;
            *slot.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(result);
            ready.notify_one();
        });
        loop {
            match wait(Some(SIGNAL_CHECK)) {
                Some(Ok(result)) => return result.map_err(py_error),
                Some(Err(_)) => return Err(panicked()),
                None => {}
            }
            if let Err(signal) = py.check_signals() {
                control.cancel();
                // The run stops within a fraction of a second; wait for it
                // without the GIL, then raise the signal's exception.
                let _ = wait(None);
                return Err(signal);
            }
        }
    })
}

/// A serde value as Python objects (through JSON: results are small).
fn to_python<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|err| PyRuntimeError::new_err(format!("serialising a result: {err}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// What `__reduce__` gives pickle: `_restore` and its arguments, the
/// class's name and its state as JSON (exact: the floats round-trip).
type Reduced<'py> = (Bound<'py, PyAny>, (&'static str, String));

/// Pickles a result of `class` whose state is `state` (see [`Reduced`]), so
/// `multiprocessing`, `joblib` and `copy` take results.
fn reduce<'py>(
    py: Python<'py>,
    class: &'static str,
    state: &impl serde::Serialize,
) -> PyResult<Reduced<'py>> {
    let text = serde_json::to_string(state)
        .map_err(|err| PyRuntimeError::new_err(format!("pickling a {class}: {err}")))?;
    Ok((
        py.import("quantmc._quantmc")?.getattr("_restore")?,
        (class, text),
    ))
}

/// A `VarResult`'s pickled state: the result, its P&L sample, the
/// contributions and the historical figures.
#[derive(serde::Serialize, serde::Deserialize)]
struct VarState {
    inner: quantmc::VarResult,
    pnl: Option<Vec<f64>>,
    contributions: Option<Vec<quantmc::contributions::LevelContributions>>,
    historical: Option<quantmc::historical::HistoricalResult>,
    #[serde(default)]
    what_if: Option<quantmc::whatif::WhatIf>,
}

/// Rebuilds a pickled result (each result's `__reduce__` names this).
#[pyfunction]
fn _restore<'py>(py: Python<'py>, class: &str, state: &str) -> PyResult<Bound<'py, PyAny>> {
    fn parse<T: serde::de::DeserializeOwned>(class: &str, state: &str) -> PyResult<T> {
        serde_json::from_str(state).map_err(|err| {
            PyValueError::new_err(format!("state: not a pickled quantmc {class}: {err}"))
        })
    }
    Ok(match class {
        "PriceResult" => Bound::new(
            py,
            PriceResult {
                inner: parse(class, state)?,
            },
        )?
        .into_any(),
        "StripResult" => Bound::new(
            py,
            StripResult {
                inner: parse(class, state)?,
            },
        )?
        .into_any(),
        "ExerciseResult" => Bound::new(
            py,
            ExerciseResult {
                inner: parse(class, state)?,
            },
        )?
        .into_any(),
        "BasketResult" => Bound::new(
            py,
            BasketResult {
                inner: parse(class, state)?,
            },
        )?
        .into_any(),
        "BacktestResult" => Bound::new(
            py,
            BacktestResult {
                inner: parse(class, state)?,
            },
        )?
        .into_any(),
        "VarResult" => {
            let state: VarState = parse(class, state)?;
            Bound::new(
                py,
                VarResult {
                    inner: state.inner,
                    pnl: state.pnl.map(|pnl| PyArray1::from_vec(py, pnl).unbind()),
                    contributions: state.contributions,
                    historical: state.historical,
                    what_if: state.what_if,
                },
            )?
            .into_any()
        }
        _ => {
            return Err(PyValueError::new_err(format!(
                "class: {class:?} is not a quantmc result"
            )));
        }
    })
}

/// The result of `price`: the estimate, its uncertainty and provenance.
#[pyclass(frozen, module = "quantmc")]
pub struct PriceResult {
    inner: quantmc::PricingResult,
}

#[pymethods]
impl PriceResult {
    /// The discounted Monte Carlo estimate.
    #[getter]
    fn price(&self) -> f64 {
        self.inner.price
    }
    /// Its standard error.
    #[getter]
    fn std_error(&self) -> f64 {
        self.inner.std_error
    }
    /// The 95% confidence interval `(low, high)`.
    #[getter]
    fn ci95(&self) -> (f64, f64) {
        (self.inner.ci95[0], self.inner.ci95[1])
    }
    /// The closed form where the product has one, else None.
    #[getter]
    fn closed_form(&self) -> Option<f64> {
        self.inner.closed_form
    }
    /// Paths the run took (with a target, the pilot's among them).
    #[getter]
    fn paths(&self) -> u64 {
        self.inner.paths
    }
    /// With a target: whether the estimate's standard error is within it;
    /// else None.
    #[getter]
    fn target_reached(&self) -> Option<bool> {
        self.inner.target_reached
    }
    /// With a target: the paths of the pilot that sized the run, in
    /// `paths` but not in the estimate; else None.
    #[getter]
    fn pilot_paths(&self) -> Option<u64> {
        self.inner.pilot_paths
    }
    /// The tier that ran, for scripts: scalar, simd, rayon or gpu.
    #[getter]
    fn tier(&self) -> &'static str {
        self.inner.tier.name()
    }
    /// The tier that ran, with what it ran on.
    #[getter]
    fn backend(&self) -> &str {
        &self.inner.backend
    }
    /// Why that tier: "requested", or Auto's reason.
    #[getter]
    fn selection(&self) -> &str {
        &self.inner.selection
    }
    /// What the caller should know about the run.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }
    /// Seconds the tier spent on the job.
    #[getter]
    fn elapsed_s(&self) -> f64 {
        self.inner.elapsed_s
    }
    /// The seed of the Philox streams.
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }
    /// Greeks with standard errors as a dict (`{"delta": {"value": ..,
    /// "std_error": ..}, ...}`), or None when not asked for.
    #[getter]
    fn greeks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.greeks)
    }
    /// Pickles the result (`multiprocessing`, `joblib`, `copy`).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "PriceResult", &self.inner)
    }
    /// Every field as a dict, the CLI's `--json` names.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "PriceResult(price={:.6}, std_error={:.6}, paths={}, backend={:?})",
            self.inner.price, self.inner.std_error, self.inner.paths, self.inner.backend
        )
    }
}

/// The result of `price` with `strikes`, `maturities` or `implied_vol`: one
/// quote a strike and maturity, every quote on the same paths, as NumPy
/// arrays in the order asked (maturity by maturity, strike by strike);
/// NaN where a quote has no value (no closed form, or a price outside
/// Black's bounds).
#[pyclass(frozen, module = "quantmc")]
pub struct StripResult {
    inner: quantmc::strip::StripResult,
}

impl StripResult {
    fn column<'py>(
        &self,
        py: Python<'py>,
        pick: impl Fn(&quantmc::strip::StripQuote) -> Option<f64>,
    ) -> Bound<'py, PyArray1<f64>> {
        let values = self
            .inner
            .strikes
            .iter()
            .map(|q| pick(q).unwrap_or(f64::NAN));
        PyArray1::from_vec(py, values.collect())
    }
}

#[pymethods]
impl StripResult {
    /// Each quote's strike.
    #[getter]
    fn strikes<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.column(py, |q| Some(q.strike))
    }
    /// Each quote's maturity (years).
    #[getter]
    fn maturities<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.column(py, |q| Some(q.maturity))
    }
    /// Each quote's Monte Carlo price.
    #[getter]
    fn prices<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.column(py, |q| Some(q.price))
    }
    /// Each price's standard error.
    #[getter]
    fn std_errors<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.column(py, |q| Some(q.std_error))
    }
    /// Each quote's closed or semi-analytic price (NaN where none).
    #[getter]
    fn closed_forms<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.column(py, |q| q.closed_form)
    }
    /// Each price's Black implied volatility (with `implied_vol=True`).
    #[getter]
    fn implied_vols<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.column(py, |q| q.implied_vol)
    }
    /// Each implied volatility's standard error.
    #[getter]
    fn implied_vol_std_errors<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.column(py, |q| q.implied_vol_std_error)
    }
    /// The closed form's implied volatilities.
    #[getter]
    fn closed_form_implied_vols<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        self.column(py, |q| q.closed_form_implied_vol)
    }
    /// Paths of each quote.
    #[getter]
    fn paths(&self) -> u64 {
        self.inner.paths
    }
    /// The tier that ran.
    #[getter]
    fn backend(&self) -> &str {
        &self.inner.backend
    }
    /// Pickles the result (`multiprocessing`, `joblib`, `copy`).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "StripResult", &self.inner)
    }
    /// Every field as a dict, the CLI's `--json` names (`strikes`: a list
    /// of quotes).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner)
    }
    fn __len__(&self) -> usize {
        self.inner.strikes.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "StripResult({} quotes, paths={}, backend={:?})",
            self.inner.strikes.len(),
            self.inner.paths,
            self.inner.backend
        )
    }
}

/// The result of `var`: VaR and ES per level, beside their closed forms.
#[pyclass(frozen, module = "quantmc")]
pub struct VarResult {
    inner: quantmc::VarResult,
    pnl: Option<Py<PyArray1<f64>>>,
    contributions: Option<Vec<quantmc::contributions::LevelContributions>>,
    historical: Option<quantmc::historical::HistoricalResult>,
    what_if: Option<quantmc::whatif::WhatIf>,
}

impl VarResult {
    /// `{"0.95": f(level), ...}` keyed by the levels as given, a
    /// `quantmc.Levels` (the level as a number finds its entry too).
    fn by_level<'py>(
        &self,
        py: Python<'py>,
        pick: impl Fn(&quantmc::RiskLevel) -> Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let dict = PyDict::new(py);
        for level in &self.inner.levels {
            dict.set_item(level.confidence.label.clone(), pick(level))?;
        }
        py.import("quantmc")?.getattr("Levels")?.call1((dict,))
    }
}

#[pymethods]
impl VarResult {
    /// Simulated VaR by confidence level (`{"0.95": ..., "0.99": ...}`;
    /// `result.var[0.99]` finds the same entry as `result.var["0.99"]`).
    #[getter]
    fn var<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.by_level(py, |l| Some(l.var))
    }
    /// Simulated ES by confidence level.
    #[getter]
    fn es<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.by_level(py, |l| Some(l.es))
    }
    /// Closed-form VaR (a linear book's exact one; the delta shortcut for a
    /// book with options).
    #[getter]
    fn parametric_var<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.by_level(py, |l| Some(l.parametric_var))
    }
    /// Closed-form ES, as `parametric_var`.
    #[getter]
    fn parametric_es<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.by_level(py, |l| Some(l.parametric_es))
    }
    /// Delta-gamma Cornish-Fisher VaR of a book with options (None values
    /// for a linear book).
    #[getter]
    fn delta_gamma_var<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.by_level(py, |l| l.delta_gamma_var)
    }
    /// Mean simulated P&L.
    #[getter]
    fn mean(&self) -> f64 {
        self.inner.mean
    }
    /// Standard deviation of the simulated P&L.
    #[getter]
    fn std(&self) -> f64 {
        self.inner.std
    }
    /// Simulated scenarios.
    #[getter]
    fn scenarios(&self) -> u64 {
        self.inner.scenarios
    }
    /// The tier that ran: scalar, simd, rayon or gpu.
    #[getter]
    fn tier(&self) -> &'static str {
        self.inner.tier.name()
    }
    /// The tier that ran, with what it ran on.
    #[getter]
    fn backend(&self) -> &str {
        &self.inner.backend
    }
    /// Why that tier.
    #[getter]
    fn selection(&self) -> &str {
        &self.inner.selection
    }
    /// What the caller should know about the run.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }
    /// Seconds the tier spent on the job.
    #[getter]
    fn elapsed_s(&self) -> f64 {
        self.inner.elapsed_s
    }
    /// The simulated P&L (a NumPy array that owns the library's buffer, no
    /// copy), when asked for with `return_pnl=True`; else None.
    #[getter]
    fn pnl<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<f64>>> {
        self.pnl.as_ref().map(|pnl| pnl.bind(py).clone())
    }
    /// Per-position contributions by level (`contributions=True`), else
    /// None: a `quantmc.Levels` dict as `var` and `es` (and the JSON
    /// document's `contributions`), each level's positions a list of dicts.
    #[getter]
    fn contributions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let Some(levels) = &self.contributions else {
            return Ok(py.None().into_bound(py));
        };
        let dict = PyDict::new(py);
        for level in levels {
            dict.set_item(
                level.confidence.label.clone(),
                to_python(py, &level.positions)?,
            )?;
        }
        py.import("quantmc")?.getattr("Levels")?.call1((dict,))
    }
    /// Historical-simulation figures (`historical=PRICES.csv`), else None.
    #[getter]
    fn historical<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.historical)
    }
    /// A trade's incremental VaR and ES (`what_if=`), keyed by level as
    /// `var` is: `{"0.99": {"var_before", "var_after", "var_change",
    /// "var_change_std_error", "es_change", ...}}`; else None.
    #[getter]
    fn what_if<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let Some(what_if) = &self.what_if else {
            return Ok(py.None().into_bound(py));
        };
        let document = quantmc::report::var_document(
            &self.inner,
            quantmc::report::VarExtras {
                what_if: Some(what_if),
                ..Default::default()
            },
        );
        let dict = to_python(py, &document["what_if"])?;
        py.import("quantmc")?.getattr("Levels")?.call1((dict,))
    }
    /// Pickles the result (`multiprocessing`, `joblib`, `copy`), its P&L
    /// sample included.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        let state = VarState {
            inner: self.inner.clone(),
            pnl: match &self.pnl {
                Some(pnl) => Some(pnl.bind(py).to_vec()?),
                None => None,
            },
            contributions: self.contributions.clone(),
            historical: self.historical.clone(),
            what_if: self.what_if.clone(),
        };
        reduce(py, "VarResult", &state)
    }
    /// Every field as a dict: the CLI's `--json` document, the same
    /// definition (figures keyed by level; `historical` and
    /// `contributions` where the run computed them).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let document = quantmc::report::var_document(
            &self.inner,
            quantmc::report::VarExtras {
                historical: self.historical.as_ref(),
                contributions: self.contributions.as_deref(),
                what_if: self.what_if.as_ref(),
            },
        );
        to_python(py, &document)
    }
    fn __repr__(&self) -> String {
        let levels: Vec<String> = self
            .inner
            .levels
            .iter()
            .map(|l| format!("{}: VaR {:.2} ES {:.2}", l.confidence, l.var, l.es))
            .collect();
        format!(
            "VarResult({}, scenarios={}, backend={:?})",
            levels.join(", "),
            self.inner.scenarios,
            self.inner.backend
        )
    }
}

/// The instruction set `QUANTMC_SIMD` forces on the SIMD and rayon tiers (as
/// for the CLI), if set.
fn simd_from_environment() -> PyResult<Option<Isa>> {
    match std::env::var("QUANTMC_SIMD") {
        Ok(text) if !text.trim().is_empty() => text.trim().parse::<Isa>().map(Some).map_err(|_| {
            PyValueError::new_err(format!(
                "unknown QUANTMC_SIMD '{text}' (expected one of: {})",
                Isa::NAMES.join(", ")
            ))
        }),
        _ => Ok(None),
    }
}

/// `gpus` as the CLI's `--gpus` takes it: `"all"` or indices such as
/// `"0,2"`; `None` for the best GPU.
fn run_options(
    backend: &str,
    threads: Option<usize>,
    allow_software_gpu: bool,
    gpus: Option<&str>,
) -> PyResult<RunOptions> {
    let gpus = match gpus {
        None => Gpus::Best,
        Some(text) => Gpus::parse(text)
            .map_err(|reason| PyValueError::new_err(format!("gpus = {text:?}: {reason}")))?,
    };
    Ok(RunOptions {
        backend: choice::<Backend>(backend)?,
        threads,
        tuning: None,
        allow_software_gpu,
        simd: simd_from_environment()?,
        gpus,
    })
}

/// The target of `target_se` or `target_rel_se` (the first given), capped
/// at `max_paths` (default 1e9 and at least two rounds of `paths`), as the CLI's.
fn target_of(
    target_se: Option<f64>,
    target_rel_se: Option<f64>,
    max_paths: Option<u64>,
    paths: u64,
) -> PyResult<Option<Target>> {
    let precision = match (target_se, target_rel_se) {
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err(
                "target_rel_se: give one target, target_se or target_rel_se, not both",
            ));
        }
        (Some(se), None) => Precision::StdError(se),
        (None, Some(relative)) => Precision::RelStdError(relative),
        (None, None) if max_paths.is_some() => {
            return Err(PyValueError::new_err(
                "max_paths: caps a run with a target; give target_se or target_rel_se",
            ));
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(Target {
        precision,
        max_paths: max_paths.unwrap_or_else(|| DEFAULT_MAX_PATHS.max(paths.saturating_mul(2))),
    }))
}

/// The randomizations of `replicates` (16 unless given), which only the
/// rqmc sampler takes: the CLI's rule.
fn replicates_of(replicates: Option<u32>, sampler: &str) -> PyResult<u32> {
    match replicates {
        None => Ok(quantmc::pricing::DEFAULT_REPLICATES),
        Some(_) if choice::<Sampler>(sampler)? != Sampler::Rqmc => {
            Err(PyValueError::new_err(format!(
                "replicates: only the rqmc sampler takes replicates (sampler={sampler:?} draws independent paths)"
            )))
        }
        Some(replicates) => Ok(replicates),
    }
}

/// Prices an option by Monte Carlo; keyword arguments and defaults as the
/// CLI's `quantmc price` (`paths`: 1e6 when None; counts take an int or a
/// whole float such as `1e6`). The market may come by position, in
/// Black-Scholes' order: `price(spot, strike, maturity, rate, vol)`, e.g.
/// `price(100, 105, 1, 0.05, 0.2, kind="put")`. With `strikes` (a sequence, in place of
/// `strike`), `maturities` (in place of `maturity`) or `implied_vol`, prices
/// the strip on common random numbers and returns a `StripResult`.
#[pyfunction]
#[pyo3(signature = (
    spot=100.0, strike=100.0, maturity=1.0, rate=0.05, vol=None, *, style="european",
    kind="call", dividend=0.0, steps=None, paths=None, seed=42, antithetic=false,
    model="bs", v0=None, kappa=None, theta=None, xi=None, rho=None, scheme=None,
    jump_intensity=None, jump_mean=None, jump_vol=None,
    barrier=None, barrier_kind=None, rebate=None, monitoring=None,
    greeks=false, greeks_method=None, control_variate=false, sampler="mc",
    replicates=None, target_se=None, target_rel_se=None, max_paths=None,
    backend="auto", threads=None, allow_software_gpu=false, gpus=None,
    strikes=None, maturities=None, implied_vol=false,
    exercise="european", exercise_dates=None, basis="laguerre", basis_degree=3,
    calibration_paths=None, upper_bound=None, upper_bound_paths=None,
))]
#[allow(clippy::too_many_arguments)]
fn price<'py>(
    py: Python<'py>,
    spot: f64,
    strike: f64,
    maturity: f64,
    rate: f64,
    vol: Option<f64>,
    style: &str,
    kind: &str,
    dividend: f64,
    steps: Option<u32>,
    paths: Option<&Bound<'py, PyAny>>,
    seed: u64,
    antithetic: bool,
    model: &str,
    v0: Option<f64>,
    kappa: Option<f64>,
    theta: Option<f64>,
    xi: Option<f64>,
    rho: Option<f64>,
    scheme: Option<&str>,
    jump_intensity: Option<f64>,
    jump_mean: Option<f64>,
    jump_vol: Option<f64>,
    barrier: Option<f64>,
    barrier_kind: Option<&str>,
    rebate: Option<f64>,
    monitoring: Option<&str>,
    greeks: bool,
    greeks_method: Option<&str>,
    control_variate: bool,
    sampler: &str,
    replicates: Option<u32>,
    target_se: Option<f64>,
    target_rel_se: Option<f64>,
    max_paths: Option<&Bound<'py, PyAny>>,
    backend: &str,
    threads: Option<usize>,
    allow_software_gpu: bool,
    gpus: Option<&str>,
    strikes: Option<Vec<f64>>,
    maturities: Option<Vec<f64>>,
    implied_vol: bool,
    exercise: &str,
    exercise_dates: Option<u32>,
    basis: &str,
    basis_degree: u32,
    calibration_paths: Option<&Bound<'py, PyAny>>,
    upper_bound: Option<&Bound<'py, PyAny>>,
    upper_bound_paths: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let paths = count("paths", paths)?.unwrap_or(DEFAULT_COUNT);
    let max_paths = count("max_paths", max_paths)?;
    let exercise = ExerciseArgs::parse(
        exercise,
        exercise_dates,
        basis,
        basis_degree,
        count("calibration_paths", calibration_paths)?,
        count("upper_bound", upper_bound)?,
        count("upper_bound_paths", upper_bound_paths)?,
    )?;
    // The CLI's default steps: an American option's 50 dates a year, a
    // Bermudan's dates, 12 fixings otherwise.
    let steps = steps.unwrap_or_else(|| exercise.default_steps(maturity, 12));
    let barrier = match (barrier, barrier_kind) {
        (Some(level), Some(kind)) => Some(Barrier {
            level,
            kind: choice::<BarrierKind>(kind)?,
            rebate: rebate.unwrap_or(0.0),
            monitoring: monitoring.map_or(Ok(Monitoring::Discrete), choice::<Monitoring>)?,
        }),
        (None, None) if rebate.is_some() => {
            return Err(PyValueError::new_err(
                "rebate: only a barrier option (barrier with barrier_kind) pays a rebate",
            ));
        }
        (None, None) if monitoring.is_some() => {
            return Err(PyValueError::new_err(
                "monitoring: only a barrier option (barrier with barrier_kind) is monitored",
            ));
        }
        (None, None) => None,
        (Some(_), None) => {
            return Err(PyValueError::new_err(
                "barrier_kind: a barrier needs its kind (up-and-out, up-and-in, down-and-out or down-and-in)",
            ));
        }
        (None, Some(_)) => {
            return Err(PyValueError::new_err(
                "barrier: barrier_kind needs a barrier level",
            ));
        }
    };
    let model = ModelParameters {
        vol,
        v0,
        kappa,
        theta,
        xi,
        rho,
        scheme: scheme.map(choice::<HestonScheme>).transpose()?,
        jump_intensity,
        jump_mean,
        jump_vol,
    }
    .model(choice::<ModelKind>(model)?)
    .map_err(input_error)?;
    let job = PricingJob {
        market: Market {
            spot,
            rate,
            dividend,
            vol: vol.unwrap_or(DEFAULT_VOL),
        },
        model,
        option: OptionSpec {
            kind: choice::<OptionKind>(kind)?,
            style: choice::<Style>(style)?,
            strike,
            maturity,
            steps,
            barrier,
        },
        paths,
        seed,
        antithetic,
        control_variate,
        sampler: choice::<Sampler>(sampler)?,
        replicates: replicates_of(replicates, sampler)?,
        target: target_of(target_se, target_rel_se, max_paths, paths)?,
        greeks: match (greeks, greeks_method) {
            (true, method) => Some(method.map_or(Ok(GreeksMethod::Pathwise), choice)?),
            (false, None) => None,
            (false, Some(method)) => {
                return Err(PyValueError::new_err(format!(
                    "greeks_method: {method:?} chooses how Greeks are estimated; give greeks=True too"
                )));
            }
        },
    };
    let options = run_options(backend, threads, allow_software_gpu, gpus)?;
    if exercise.early {
        if strikes.is_some() || maturities.is_some() || implied_vol {
            return Err(PyValueError::new_err(
                "strikes: strips of early exercise are not written yet",
            ));
        }
        let job = exercise.job(job);
        let inner = run_released(py, |control| {
            quantmc::price_exercise_with(&job, options, control)
        })?;
        return Ok(Bound::new(py, ExerciseResult { inner })?.into_any());
    }
    if strikes.is_some() || maturities.is_some() || implied_vol {
        let strip = quantmc::strip::Strip {
            strikes: strikes.unwrap_or_default(),
            maturities: maturities.unwrap_or_default(),
            implied_vol,
        };
        let inner = run_released(py, |control| {
            quantmc::price_strip_with(&job, &strip, options, control)
        })?;
        return Ok(Bound::new(py, StripResult { inner })?.into_any());
    }
    let inner = run_released(py, |control| quantmc::price_with(&job, options, control))?;
    Ok(Bound::new(py, PriceResult { inner })?.into_any())
}

/// The early-exercise arguments `price` and `price_basket` share, checked.
struct ExerciseArgs {
    /// Whether they ask for early exercise (or give its terms).
    early: bool,
    exercise: Exercise,
    exercise_dates: Option<u32>,
    basis: Basis,
    degree: u32,
    calibration_paths: Option<u64>,
    upper_bound: Option<quantmc::exercise::UpperBound>,
}

impl ExerciseArgs {
    fn parse(
        exercise: &str,
        exercise_dates: Option<u32>,
        basis: &str,
        degree: u32,
        calibration_paths: Option<u64>,
        upper_bound: Option<u64>,
        upper_bound_paths: Option<u64>,
    ) -> PyResult<Self> {
        let exercise = choice::<Exercise>(exercise)?;
        let upper_bound = match (upper_bound, upper_bound_paths) {
            (Some(inner_paths), outer) => Some(quantmc::exercise::UpperBound {
                inner_paths,
                outer_paths: outer.unwrap_or(quantmc::exercise::DEFAULT_OUTER_PATHS),
            }),
            (None, Some(_)) => {
                return Err(PyValueError::new_err(
                    "upper_bound_paths: the outer paths of an upper bound; give upper_bound \
                     (its inner paths) too",
                ));
            }
            (None, None) => None,
        };
        Ok(Self {
            early: exercise != Exercise::European
                || exercise_dates.is_some()
                || calibration_paths.is_some()
                || upper_bound.is_some(),
            exercise,
            exercise_dates,
            basis: choice::<Basis>(basis)?,
            degree,
            calibration_paths,
            upper_bound,
        })
    }

    /// The CLI's default time steps: an American option's 50 dates a
    /// year, a Bermudan's dates, `otherwise` for a European.
    fn default_steps(&self, maturity: f64, otherwise: u32) -> u32 {
        match (self.exercise, self.exercise_dates) {
            (Exercise::American, _) => (50.0 * maturity).ceil().max(1.0) as u32,
            (Exercise::Bermudan, Some(dates)) => dates,
            _ => otherwise,
        }
    }

    /// `job` with these terms.
    fn job<J>(self, job: J) -> quantmc::exercise::ExerciseJob<J> {
        quantmc::exercise::ExerciseJob {
            job,
            exercise: self.exercise,
            exercise_dates: self.exercise_dates,
            basis: self.basis,
            degree: self.degree,
            calibration_paths: self.calibration_paths,
            upper_bound: self.upper_bound,
        }
    }
}

/// The result of `price(..., exercise="american" | "bermudan")`: the
/// Longstaff-Schwartz estimate (a lower bound, with its uncertainty), the
/// lattice's value of the same dates beside it, and the fitted policy.
#[pyclass(frozen, module = "quantmc")]
pub struct ExerciseResult {
    inner: quantmc::exercise::ExerciseResult,
}

#[pymethods]
impl ExerciseResult {
    /// The pricing paths' discounted cash flows under the fitted policy:
    /// a low-biased estimate.
    #[getter]
    fn price(&self) -> f64 {
        self.inner.pricing.price
    }
    /// Its standard error.
    #[getter]
    fn std_error(&self) -> f64 {
        self.inner.pricing.std_error
    }
    /// The 95% confidence interval `(low, high)`.
    #[getter]
    fn ci95(&self) -> (f64, f64) {
        (self.inner.pricing.ci95[0], self.inner.pricing.ci95[1])
    }
    /// The lattice's value with the same exercise dates (Black-Scholes
    /// only: None under another model).
    #[getter]
    fn lattice(&self) -> Option<f64> {
        self.inner.pricing.closed_form
    }
    /// The lattice's American limit (exercise at any time), for an
    /// American option under Black-Scholes; else None.
    #[getter]
    fn american(&self) -> Option<f64> {
        self.inner.american
    }
    /// european, american or bermudan.
    #[getter]
    fn exercise(&self) -> &'static str {
        self.inner.exercise.name()
    }
    /// The policy as a dict: basis, degree, dates, calibration_paths, each
    /// date's coefficients and the dates that hold.
    #[getter]
    fn policy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.policy)
    }
    /// The Greeks as a dict (delta, gamma, vega, rho, theta: each
    /// `{"value", "std_error"}`, and the method) when `greeks=True`, else
    /// None.
    #[getter]
    fn greeks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.pricing.greeks)
    }
    /// The duality upper bound as a dict (value, std_error, gap,
    /// gap_std_error, bracket95, outer_paths, inner_paths) when
    /// `upper_bound=` asked for one, else None.
    #[getter]
    fn upper_bound<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.upper_bound)
    }
    /// The variance reduction of the control variate, else None.
    #[getter]
    fn variance_reduction(&self) -> Option<f64> {
        self.inner.pricing.variance_reduction
    }
    /// Pricing paths the run took.
    #[getter]
    fn paths(&self) -> u64 {
        self.inner.pricing.paths
    }
    /// The tier that ran, with what it ran on.
    #[getter]
    fn backend(&self) -> &str {
        &self.inner.pricing.backend
    }
    /// What the caller should know about the run.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.pricing.warnings.clone()
    }
    /// Pickles the result (`multiprocessing`, `joblib`, `copy`).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "ExerciseResult", &self.inner)
    }
    /// Every field as a dict, the CLI's `--json` names.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "ExerciseResult(exercise={:?}, price={:.6}, std_error={:.6}, lattice={:.6}, paths={}, backend={:?})",
            self.inner.exercise.name(),
            self.inner.pricing.price,
            self.inner.pricing.std_error,
            self.inner.pricing.closed_form.unwrap_or(f64::NAN),
            self.inner.pricing.paths,
            self.inner.pricing.backend
        )
    }
}

/// The result of `price_basket`: the estimate with its uncertainty and
/// provenance, and what the basket was.
#[pyclass(frozen, module = "quantmc")]
pub struct BasketResult {
    inner: quantmc::basket::BasketResult,
}

#[pymethods]
impl BasketResult {
    /// The discounted Monte Carlo estimate.
    #[getter]
    fn price(&self) -> f64 {
        self.inner.pricing.price
    }
    /// Its standard error.
    #[getter]
    fn std_error(&self) -> f64 {
        self.inner.pricing.std_error
    }
    /// The 95% confidence interval `(low, high)`.
    #[getter]
    fn ci95(&self) -> (f64, f64) {
        (self.inner.pricing.ci95[0], self.inner.pricing.ci95[1])
    }
    /// Margrabe's or Stulz's closed form where the product has one, else
    /// None.
    #[getter]
    fn closed_form(&self) -> Option<f64> {
        self.inner.pricing.closed_form
    }
    /// The geometric basket's closed-form price (the control variate's
    /// mean), for the basket style with positive weights; else None.
    #[getter]
    fn geometric_basket(&self) -> Option<f64> {
        self.inner.geometric_basket
    }
    /// The style: basket, worst-of, best-of or spread.
    #[getter]
    fn style(&self) -> &'static str {
        self.inner.style.name()
    }
    /// The assets' names, in order.
    #[getter]
    fn assets(&self) -> Vec<String> {
        self.inner.assets.clone()
    }
    /// The variance reduction of the control variate or RQMC, else None.
    #[getter]
    fn variance_reduction(&self) -> Option<f64> {
        self.inner.pricing.variance_reduction
    }
    /// Paths the run took.
    #[getter]
    fn paths(&self) -> u64 {
        self.inner.pricing.paths
    }
    /// The tier that ran: scalar, simd or rayon.
    #[getter]
    fn tier(&self) -> &'static str {
        self.inner.pricing.tier.name()
    }
    /// The tier that ran, with what it ran on.
    #[getter]
    fn backend(&self) -> &str {
        &self.inner.pricing.backend
    }
    /// What the caller should know about the run.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.pricing.warnings.clone()
    }
    /// Each asset's pathwise delta and vega with standard errors, as a
    /// list of dicts (`[{"asset": .., "delta": {"value": .., "std_error":
    /// ..}, "vega": {..}}, ...]`), or None when not asked for.
    #[getter]
    fn greeks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.asset_greeks)
    }
    /// Pickles the result (`multiprocessing`, `joblib`, `copy`).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "BasketResult", &self.inner)
    }
    /// Every field as a dict, the CLI's `--json` names.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "BasketResult(style={:?}, price={:.6}, std_error={:.6}, paths={}, backend={:?})",
            self.inner.style.name(),
            self.inner.pricing.price,
            self.inner.pricing.std_error,
            self.inner.pricing.paths,
            self.inner.pricing.backend
        )
    }
}

/// Prices an option on several correlated assets by Monte Carlo: the
/// CLI's `quantmc price --assets FILE --style basket|worst-of|best-of|
/// spread`. `assets` is the assets file's path or a dict in its layout
/// (`{"assets": [{"name", "spot", "vol", "dividend", "weight"}, ...],
/// "correlation": [[...], ...]}`). A European option returns a
/// `BasketResult`; `exercise="bermudan"` (with `exercise_dates`) or
/// `"american"` prices early exercise by Longstaff-Schwartz as `price`
/// does and returns an `ExerciseResult` (`upper_bound=` adds the duality
/// bound).
#[pyfunction]
#[pyo3(signature = (
    assets, *, style="basket", kind="call", strike=100.0, maturity=1.0, rate=0.05, steps=None,
    paths=None, seed=42, antithetic=false, control_variate=false, sampler="mc",
    replicates=None, greeks=false, target_se=None, target_rel_se=None, max_paths=None,
    nearest_psd=false, backend="auto", threads=None,
    exercise="european", exercise_dates=None, basis="laguerre", basis_degree=3,
    calibration_paths=None, upper_bound=None, upper_bound_paths=None,
))]
#[allow(clippy::too_many_arguments)]
fn price_basket<'py>(
    py: Python<'py>,
    assets: &Bound<'py, PyAny>,
    style: &str,
    kind: &str,
    strike: f64,
    maturity: f64,
    rate: f64,
    steps: Option<u32>,
    paths: Option<&Bound<'py, PyAny>>,
    seed: u64,
    antithetic: bool,
    control_variate: bool,
    sampler: &str,
    replicates: Option<u32>,
    greeks: bool,
    target_se: Option<f64>,
    target_rel_se: Option<f64>,
    max_paths: Option<&Bound<'py, PyAny>>,
    nearest_psd: bool,
    backend: &str,
    threads: Option<usize>,
    exercise: &str,
    exercise_dates: Option<u32>,
    basis: &str,
    basis_degree: u32,
    calibration_paths: Option<&Bound<'py, PyAny>>,
    upper_bound: Option<&Bound<'py, PyAny>>,
    upper_bound_paths: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let paths = count("paths", paths)?.unwrap_or(DEFAULT_COUNT);
    let max_paths = count("max_paths", max_paths)?;
    let exercise = ExerciseArgs::parse(
        exercise,
        exercise_dates,
        basis,
        basis_degree,
        count("calibration_paths", calibration_paths)?,
        count("upper_bound", upper_bound)?,
        count("upper_bound_paths", upper_bound_paths)?,
    )?;
    let assets = if assets.is_instance_of::<PyDict>() {
        let text: String = py
            .import("json")?
            .call_method1("dumps", (assets,))?
            .extract()?;
        quantmc::basket::Assets::from_json(&text, "assets (dict)".as_ref())
    } else {
        let path: std::path::PathBuf = assets.extract().map_err(|_| {
            PyValueError::new_err("assets: expected a path or a dict in the assets-file layout")
        })?;
        quantmc::basket::Assets::from_file(&path)
    }
    .map_err(input_error)?;
    let mut job = quantmc::basket::BasketJob::new(assets, choice(style)?);
    job.kind = choice(kind)?;
    job.strike = strike;
    job.maturity = maturity;
    job.rate = rate;
    job.steps = steps.unwrap_or_else(|| exercise.default_steps(maturity, 1));
    job.paths = paths;
    job.seed = seed;
    job.antithetic = antithetic;
    job.control_variate = control_variate;
    job.sampler = choice::<Sampler>(sampler)?;
    job.replicates = replicates_of(replicates, sampler)?;
    job.nearest_psd = nearest_psd;
    job.greeks = greeks;
    job.target = target_of(target_se, target_rel_se, max_paths, paths)?;
    let options = run_options(backend, threads, false, None)?;
    if exercise.early {
        let job = exercise.job(job);
        let inner = run_released(py, |control| {
            quantmc::price_basket_exercise_with(&job, options, control)
        })?;
        return Ok(Bound::new(py, ExerciseResult { inner })?.into_any());
    }
    let inner = run_released(py, |control| {
        quantmc::price_basket_with(&job, options, control)
    })?;
    Ok(Bound::new(py, BasketResult { inner })?.into_any())
}

/// `value` (argument `name`) as float64 numbers of `dimensions` axes, the
/// way NumPy users expect: lists, float32 and integer arrays and pandas
/// objects convert (`numpy.asarray(value, dtype=float64)`); a masked array
/// is refused (its mask would be silently dropped), and every error names
/// the argument.
fn float_array<'py>(
    py: Python<'py>,
    name: &str,
    value: &Bound<'py, PyAny>,
    dimensions: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let numpy = py.import("numpy")?;
    if numpy
        .getattr("ma")?
        .call_method1("isMaskedArray", (value,))?
        .is_truthy()?
    {
        return Err(PyValueError::new_err(format!(
            "{name}: a masked array; fill or drop the masked values first (its mask would be ignored)"
        )));
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", "float64")?;
    let array = numpy
        .call_method("asarray", (value,), Some(&kwargs))
        .map_err(|err| PyValueError::new_err(format!("{name}: not an array of numbers ({err})")))?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    if ndim != dimensions {
        return Err(PyValueError::new_err(format!(
            "{name}: {ndim}-dimensional; expected {dimensions} dimension{}",
            if dimensions == 1 { "" } else { "s" }
        )));
    }
    Ok(array)
}

/// [`float_array`] of one axis, as a vector.
fn float_vector(py: Python<'_>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let array = float_array(py, name, value, 1)?;
    let array: PyReadonlyArray1<'_, f64> = array.extract()?;
    Ok(array.as_array().to_vec())
}

/// [`float_array`] of two axes, as rows.
fn float_matrix(py: Python<'_>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<f64>>> {
    let array = float_array(py, name, value, 2)?;
    let array: PyReadonlyArray2<'_, f64> = array.extract()?;
    Ok(array
        .as_array()
        .rows()
        .into_iter()
        .map(|row| row.to_vec())
        .collect())
}

/// The portfolio argument: a path, a dict in the JSON layout, or None with
/// NumPy arrays (`weights`, `mu`, `sigma`, `corr`, and `value`).
#[allow(clippy::too_many_arguments)]
fn portfolio_of(
    py: Python<'_>,
    portfolio: Option<&Bound<'_, PyAny>>,
    weights: Option<&Bound<'_, PyAny>>,
    mu: Option<&Bound<'_, PyAny>>,
    sigma: Option<&Bound<'_, PyAny>>,
    corr: Option<&Bound<'_, PyAny>>,
    value: f64,
    names: Option<Vec<String>>,
) -> PyResult<Portfolio> {
    if let Some(portfolio) = portfolio {
        if portfolio.is_instance_of::<PyDict>() {
            let text: String = py
                .import("json")?
                .call_method1("dumps", (portfolio,))?
                .extract()?;
            return Portfolio::from_json(&text, "portfolio (dict)".as_ref()).map_err(input_error);
        }
        let path: std::path::PathBuf = portfolio.extract().map_err(|_| {
            PyValueError::new_err(
                "portfolio: expected a path, a dict in the portfolio-file layout, or None with weights, mu, sigma and corr arrays",
            )
        })?;
        return Portfolio::from_file(&path).map_err(input_error);
    }
    let (Some(weights), Some(mu), Some(sigma), Some(corr)) = (weights, mu, sigma, corr) else {
        return Err(PyValueError::new_err(
            "portfolio: give a path or dict, or all of weights, mu, sigma and corr",
        ));
    };
    let weights = float_vector(py, "weights", weights)?;
    let mu = float_vector(py, "mu", mu)?;
    let sigma = float_vector(py, "sigma", sigma)?;
    let k = weights.len();
    for (field, len) in [("mu", mu.len()), ("sigma", sigma.len())] {
        if len != k {
            return Err(PyValueError::new_err(format!(
                "{field}: {len} values for {k} weights"
            )));
        }
    }
    let corr = float_matrix(py, "corr", corr)?;
    if corr.len() != k || corr.first().is_some_and(|row| row.len() != k) {
        return Err(PyValueError::new_err(format!(
            "corr: shape ({}, {}), expected ({k}, {k})",
            corr.len(),
            corr.first().map_or(0, Vec::len)
        )));
    }
    let names = names.unwrap_or_else(|| (0..k).map(|i| format!("A{i}")).collect());
    if names.len() != k {
        return Err(PyValueError::new_err(format!(
            "names: {} names for {k} weights",
            names.len()
        )));
    }
    let portfolio = Portfolio {
        value,
        assets: (0..k)
            .map(|i| Asset {
                name: names[i].clone(),
                weight: weights[i],
                mu: mu[i],
                sigma: sigma[i],
                ..Default::default()
            })
            .collect(),
        correlation: corr,
        ..Default::default()
    };
    portfolio.validate().map_err(input_error)?;
    Ok(portfolio)
}

/// The `what_if` argument: a trade file's path, or a dict in its layout.
fn trade_of(py: Python<'_>, trade: &Bound<'_, PyAny>) -> PyResult<quantmc::whatif::Trade> {
    if trade.is_instance_of::<PyDict>() {
        let text: String = py
            .import("json")?
            .call_method1("dumps", (trade,))?
            .extract()?;
        return quantmc::whatif::Trade::from_json(&text, "what_if (dict)".as_ref())
            .map_err(input_error);
    }
    let path: std::path::PathBuf = trade.extract().map_err(|_| {
        PyValueError::new_err("what_if: expected a trade file's path or a dict in its layout")
    })?;
    quantmc::whatif::Trade::from_file(&path).map_err(input_error)
}

/// Portfolio VaR and ES by Monte Carlo; keyword arguments and defaults as
/// the CLI's `quantmc var` (`scenarios`: 1e6 when None, an int or a whole
/// float such as `1e6`).
#[pyfunction]
#[pyo3(signature = (
    portfolio=None, *, scenarios=None, confidence=vec![0.95, 0.99], horizon_days=1.0,
    dist="normal", dof=None, seed=42, backend="auto", threads=None, return_pnl=false,
    contributions=false, weights=None, mu=None, sigma=None, corr=None, value=1_000_000.0,
    names=None, historical=None, filtered_ewma=None, stressed=false, stress_days=250,
    stress_window=None, frtb=false, what_if=None, allow_software_gpu=false, gpus=None,
))]
#[allow(clippy::too_many_arguments)]
fn var(
    py: Python<'_>,
    portfolio: Option<&Bound<'_, PyAny>>,
    scenarios: Option<&Bound<'_, PyAny>>,
    confidence: Vec<f64>,
    horizon_days: f64,
    dist: &str,
    dof: Option<f64>,
    seed: u64,
    backend: &str,
    threads: Option<usize>,
    return_pnl: bool,
    contributions: bool,
    weights: Option<&Bound<'_, PyAny>>,
    mu: Option<&Bound<'_, PyAny>>,
    sigma: Option<&Bound<'_, PyAny>>,
    corr: Option<&Bound<'_, PyAny>>,
    value: f64,
    names: Option<Vec<String>>,
    historical: Option<std::path::PathBuf>,
    filtered_ewma: Option<f64>,
    stressed: bool,
    stress_days: usize,
    stress_window: Option<(String, String)>,
    frtb: bool,
    what_if: Option<&Bound<'_, PyAny>>,
    allow_software_gpu: bool,
    gpus: Option<&str>,
) -> PyResult<VarResult> {
    let portfolio = portfolio_of(py, portfolio, weights, mu, sigma, corr, value, names)?;
    if filtered_ewma.is_some() && historical.is_none() {
        return Err(PyValueError::new_err(
            "filtered_ewma: only with historical=PRICES.csv",
        ));
    }
    if (stressed || stress_window.is_some()) && historical.is_none() {
        return Err(PyValueError::new_err(
            "stressed: only with historical=PRICES.csv",
        ));
    }
    if frtb && historical.is_none() {
        return Err(PyValueError::new_err(
            "frtb: only with historical=PRICES.csv",
        ));
    }
    let distribution = match (dist, dof) {
        ("normal", None) => ReturnDistribution::Normal,
        ("normal", Some(_)) => {
            return Err(PyValueError::new_err("dof: only with dist=\"student-t\""));
        }
        ("student-t", dof) => ReturnDistribution::StudentT {
            dof: dof.unwrap_or(5.0),
        },
        (other, _) => {
            return Err(PyValueError::new_err(format!(
                "dist: {other:?} is not one of normal, student-t"
            )));
        }
    };
    let job = VarJob {
        portfolio,
        scenarios: count("scenarios", scenarios)?.unwrap_or(DEFAULT_COUNT),
        confidences: confidence.into_iter().map(Confidence::new).collect(),
        horizon_days,
        distribution,
        seed,
    };
    let options = run_options(backend, threads, allow_software_gpu, gpus)?;
    // The price file is read and checked before any simulation.
    let historical = match historical {
        Some(path) => {
            let history = quantmc::fit::PriceHistory::from_file(&path).map_err(input_error)?;
            let mut result = quantmc::historical::historical_var(
                &job.portfolio,
                &history,
                &job.confidences,
                job.horizon_days,
                filtered_ewma,
            )
            .map_err(input_error)?;
            let stress = match stress_window {
                Some((from, to)) => Some(quantmc::historical::StressWindow::Dates { from, to }),
                None => stressed
                    .then_some(quantmc::historical::StressWindow::Worst { days: stress_days }),
            };
            if let Some(window) = &stress {
                result.stressed = Some(
                    quantmc::historical::stressed_var(
                        &job.portfolio,
                        &history,
                        &job.confidences,
                        job.horizon_days,
                        window,
                    )
                    .map_err(input_error)?,
                );
            }
            if frtb {
                result.frtb = Some(
                    quantmc::frtb::frtb_es(&job.portfolio, &history, stress.as_ref())
                        .map_err(input_error)?,
                );
            }
            Some(result)
        }
        None => None,
    };
    // The trade is read and checked against the book before any simulation.
    let trade = match what_if {
        Some(trade) => {
            let trade = trade_of(py, trade)?;
            trade.apply(&job.portfolio).map_err(input_error)?;
            Some(trade)
        }
        None => None,
    };
    let (inner, pnl, parts, what_if) = run_released(py, |control| {
        let result = quantmc::var_with(&job, options, control)?;
        let parts = contributions
            .then(|| quantmc::contributions::contributions_with(&job, &result, control))
            .transpose()?;
        let what_if = trade
            .as_ref()
            .map(|trade| quantmc::whatif::what_if(&job, trade, control))
            .transpose()?;
        // The sample every CPU tier draws, regenerated (the GPU's is its f32
        // twin of the same scenarios).
        let pnl = return_pnl
            .then(|| quantmc::contributions::regenerate_pnl_with(&job, 0..job.scenarios, control))
            .transpose()?;
        Ok((result, pnl, parts, what_if))
    })?;
    Ok(VarResult {
        inner,
        pnl: pnl.map(|pnl| PyArray1::from_vec(py, pnl).unbind()),
        contributions: parts,
        historical,
        what_if,
    })
}

/// Fits a book to a price file (the CLI's `quantmc fit`): daily simple
/// returns' means, volatilities and correlations, sample or EWMA; returns the
/// portfolio as a dict in the file layout, ready for `var`.
///
/// `weights` is `"equal"` or a dict `{name: weight}` for every column;
/// `portfolio` (a path or dict) takes an existing book's value, weights and
/// options instead.
#[pyfunction]
#[pyo3(signature = (prices, *, weights=None, portfolio=None, value=None, ewma=None, nearest_psd=false))]
fn fit<'py>(
    py: Python<'py>,
    prices: std::path::PathBuf,
    weights: Option<&Bound<'py, PyAny>>,
    portfolio: Option<&Bound<'py, PyAny>>,
    value: Option<f64>,
    ewma: Option<f64>,
    nearest_psd: bool,
) -> PyResult<Bound<'py, PyAny>> {
    use quantmc::fit::{FitJob, Overlay, PriceHistory, Weighting, Weights};
    let (weights, book_value, overlay) = match (weights, portfolio) {
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err(
                "weights: give weights or portfolio, not both",
            ));
        }
        (_, Some(book)) => {
            let book = portfolio_of(py, Some(book), None, None, None, None, 0.0, None)?;
            let named = book.assets.iter().map(|a| (a.name.clone(), a.weight));
            let overlay = Overlay::of(&book);
            (Weights::Named(named.collect()), Some(book.value), overlay)
        }
        (None, None) => {
            return Err(PyValueError::new_err(
                "weights: give weights (\"equal\" or a dict of name: weight) or portfolio",
            ));
        }
        (Some(weights), None) => {
            let weights = if let Ok(text) = weights.extract::<String>() {
                if text != "equal" {
                    return Err(PyValueError::new_err(format!(
                        "weights: {text:?}: expected \"equal\" or a dict of name: weight"
                    )));
                }
                Weights::Equal
            } else {
                let named: Vec<(String, f64)> = weights
                    .cast::<PyDict>()
                    .map_err(|_| {
                        PyValueError::new_err(
                            "weights: expected \"equal\" or a dict of name: weight",
                        )
                    })?
                    .iter()
                    .map(|(name, weight)| Ok((name.extract::<String>()?, weight.extract::<f64>()?)))
                    .collect::<PyResult<_>>()?;
                Weights::Named(named)
            };
            (weights, None, Overlay::default())
        }
    };
    let job = FitJob {
        weighting: ewma.map_or(Weighting::Sample, |lambda| Weighting::Ewma { lambda }),
        nearest_psd,
        value: value.or(book_value).unwrap_or(1_000_000.0),
        weights,
        overlay,
    };
    let fitted = py
        .detach(|| {
            let history = PriceHistory::from_file(&prices)?;
            quantmc::fit::fit(&history, &job)
        })
        .map_err(input_error)?;
    to_python(py, &fitted.portfolio)
}

/// The version, the tiers this build can run and why not, and the GPU
/// adapters present.
/// The result of `backtest`: the tests as attributes, each day's series as
/// NumPy arrays.
#[pyclass(frozen, module = "quantmc")]
pub struct BacktestResult {
    inner: quantmc::backtest::BacktestResult,
}

#[pymethods]
impl BacktestResult {
    /// The forecast method, in words.
    #[getter]
    fn method(&self) -> &str {
        &self.inner.method
    }
    /// Days backtested.
    #[getter]
    fn days(&self) -> usize {
        self.inner.days
    }
    /// Days whose loss exceeded their VaR.
    #[getter]
    fn exception_count(&self) -> u64 {
        self.inner.exception_count
    }
    /// `exception_count / days`, beside `expected_rate` (1 - confidence).
    #[getter]
    fn exception_rate(&self) -> f64 {
        self.inner.exception_rate
    }
    /// The rate a right model has, 1 - confidence.
    #[getter]
    fn expected_rate(&self) -> f64 {
        self.inner.expected_rate
    }
    /// The exceptions: a list of {"date", "pnl", "var"}.
    #[getter]
    fn exceptions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.exceptions)
    }
    /// Kupiec's proportion-of-failures test: {"lr", "p_value"}.
    #[getter]
    fn kupiec<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.kupiec)
    }
    /// Christoffersen's tests: {"independence": {"lr", "p_value"},
    /// "conditional_coverage": {"lr", "p_value"}}.
    #[getter]
    fn christoffersen<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.christoffersen)
    }
    /// The Basel traffic light: {"zone", "exceptions", "days", "plus_factor"}.
    #[getter]
    fn traffic_light<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.traffic_light)
    }
    /// Acerbi and Szekely's Z2 ES test: {"z2", "p_value", "simulations"}.
    #[getter]
    fn es_test<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner.es_test)
    }
    /// Each backtested day, as the price file writes it.
    #[getter]
    fn dates(&self) -> Vec<String> {
        self.inner.dates.clone()
    }
    /// The book's P&L each day (a NumPy array).
    #[getter]
    fn pnl<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.inner.pnl)
    }
    /// Each day's VaR forecast, a positive loss (a NumPy array).
    #[getter]
    fn var<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.inner.var)
    }
    /// Each day's ES forecast (a NumPy array).
    #[getter]
    fn es<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.inner.es)
    }
    /// Pickles the result (`multiprocessing`, `joblib`, `copy`).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Reduced<'py>> {
        reduce(py, "BacktestResult", &self.inner)
    }
    /// Every field as a dict, the CLI's `--json` names.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "BacktestResult({} days, {} exceptions, kupiec p={:.4}, {} zone)",
            self.inner.days,
            self.inner.exception_count,
            self.inner.kupiec.p_value,
            self.inner.traffic_light.zone
        )
    }
}

/// Backtests a book's VaR and ES on a price file (the CLI's `quantmc
/// backtest`): each day's forecast from the trailing `window` days of
/// returns alone, against the book's P&L that day; Kupiec's and
/// Christoffersen's tests, the Basel traffic light and the ES test.
///
/// `portfolio` is a path or a dict in the portfolio-file layout; `prices` a
/// price CSV (the layout `fit` reads); `method` is "historical", "filtered"
/// (returns rescaled to the window's end's EWMA volatility, decay `ewma`)
/// or "parametric" (a normal P&L, the window's mean and spread).
#[pyfunction]
#[pyo3(signature = (
    portfolio, prices, *, window=250, confidence=0.99, method="historical", ewma=0.94,
    horizon_days=1.0, es_simulations=1000, seed=42,
))]
#[allow(clippy::too_many_arguments)]
fn backtest(
    py: Python<'_>,
    portfolio: &Bound<'_, PyAny>,
    prices: std::path::PathBuf,
    window: usize,
    confidence: f64,
    method: &str,
    ewma: f64,
    horizon_days: f64,
    es_simulations: u32,
    seed: u64,
) -> PyResult<BacktestResult> {
    use quantmc::backtest::{BacktestJob, Method};
    let book = portfolio_of(py, Some(portfolio), None, None, None, None, 0.0, None)?;
    let method = match method {
        "historical" => Method::Historical,
        "filtered" => Method::Filtered { lambda: ewma },
        "parametric" => Method::Parametric,
        other => {
            return Err(PyValueError::new_err(format!(
                "method: {other:?} is not one of historical, filtered, parametric"
            )));
        }
    };
    let job = BacktestJob {
        window,
        confidence: Confidence::new(confidence),
        method,
        horizon_days,
        es_simulations,
        seed,
    };
    let history = quantmc::fit::PriceHistory::from_file(&prices).map_err(input_error)?;
    let inner = py
        .detach(|| quantmc::backtest::backtest(&book, &history, &job))
        .map_err(input_error)?;
    Ok(BacktestResult { inner })
}

#[pyfunction]
#[pyo3(signature = (*, allow_software_gpu=false))]
fn info(py: Python<'_>, allow_software_gpu: bool) -> PyResult<Bound<'_, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("version", env!("CARGO_PKG_VERSION"))?;
    let tiers = PyDict::new(py);
    let simd = simd_from_environment()?;
    let availability = py.detach(|| quantmc::backend::availability(simd, allow_software_gpu));
    for (tier, status) in availability {
        tiers.set_item(tier.name(), status)?;
    }
    dict.set_item("tiers", tiers)?;
    dict.set_item(
        "gpu_adapters",
        PyList::new(py, py.detach(quantmc::backend::gpu_adapters))?,
    )?;
    let hardware = quantmc::hardware::detect();
    dict.set_item("logical_cores", hardware.logical_cores)?;
    dict.set_item("simd", simd.unwrap_or(hardware.simd).name())?;
    dict.set_item(
        "simd_supported",
        PyList::new(py, hardware.simd_supported.iter().map(|isa| isa.name()))?,
    )?;
    Ok(dict)
}

#[pymodule]
fn _quantmc(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<PriceResult>()?;
    module.add_class::<VarResult>()?;
    module.add_class::<StripResult>()?;
    module.add_class::<BasketResult>()?;
    module.add_class::<ExerciseResult>()?;
    module.add_class::<BacktestResult>()?;
    module.add_function(wrap_pyfunction!(price, module)?)?;
    module.add_function(wrap_pyfunction!(price_basket, module)?)?;
    module.add_function(wrap_pyfunction!(var, module)?)?;
    module.add_function(wrap_pyfunction!(info, module)?)?;
    module.add_function(wrap_pyfunction!(fit, module)?)?;
    module.add_function(wrap_pyfunction!(backtest, module)?)?;
    module.add_function(wrap_pyfunction!(_restore, module)?)?;
    Ok(())
}
