//! Backtesting a VaR model the way a bank's model validation does: each
//! day after a first window, VaR and ES are forecast from the trailing
//! window alone and compared with the book's P&L that day; the exceptions
//! are tested for their number (Kupiec), their independence and both
//! together (Christoffersen), placed in the Basel traffic light, and the ES
//! forecasts are tested by Acerbi and Szekely's `Z2` with its p-value by
//! simulation under the model.
//!
//! The P&L is the current book's on each day's returns (a hypothetical P&L:
//! the linear positions, and the options revalued as `var --historical`
//! revalues them), so the forecasts and the realised P&L read the same
//! book. Day `t`'s forecast reads the returns of days `t - window .. t`
//! only: nothing at or after day `t`.
//!
//! Methods:
//! * **historical**: VaR and ES of the window's P&L with `var`'s rank rule
//!   (VaR minus the `ceil((1 - c) n)`-th smallest P&L, ES minus the mean of
//!   those);
//! * **filtered**: the window's returns rescaled to the volatility of the
//!   window's end by an EWMA started at the window's mean square (Hull and
//!   White), then as historical;
//! * **parametric**: a normal P&L with the window's mean and standard
//!   deviation.
//!
//! Sources: Kupiec (1995), "Techniques for verifying the accuracy of risk
//! measurement models", J. Derivatives 3; Christoffersen (1998),
//! "Evaluating interval forecasts", Int. Econ. Rev. 39; Basel Committee
//! (1996), "Supervisory framework for the use of backtesting", Table 2 (and
//! MAR99); Acerbi and Szekely (2014), "Back-testing expected shortfall",
//! Risk.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ChiSquared, ContinuousCDF, DiscreteCDF};

use crate::error::InputError;
use crate::fit::PriceHistory;
use crate::historical::{BookPnl, book_columns, book_returns, filtered};
use crate::risk::{Confidence, Portfolio};
use crate::rng::{
    SUBSTREAM_BACKTEST, normal_pair, philox4x32_10, seed_key, stream_counter, uniform,
};
use crate::stats::{Moments, tails_of_counts};

/// How a day's VaR and ES are forecast from the trailing window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "name")]
pub enum Method {
    /// The window's P&L, `var --historical`'s rank rule.
    Historical,
    /// The window's returns rescaled to its end's EWMA volatility.
    Filtered {
        /// The EWMA decay.
        lambda: f64,
    },
    /// A normal P&L with the window's mean and standard deviation.
    Parametric,
}

impl Method {
    /// The method in words.
    pub fn describe(&self) -> String {
        match self {
            Method::Historical => "historical".to_string(),
            Method::Filtered { lambda } => format!("filtered historical (EWMA {lambda})"),
            Method::Parametric => {
                "parametric (normal P&L, the window's mean and spread)".to_string()
            }
        }
    }
}

/// A backtest: the window, the level, the method, and the ES test's
/// simulations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestJob {
    /// Days of returns each forecast reads.
    pub window: usize,
    /// The VaR and ES level.
    pub confidence: Confidence,
    /// How the forecasts are made.
    pub method: Method,
    /// The horizon: one day (the realised P&L is a day's).
    pub horizon_days: f64,
    /// Simulations of the ES test's p-value.
    pub es_simulations: u32,
    /// The seed of the ES test's simulations.
    pub seed: u64,
}

impl Default for BacktestJob {
    /// Basel's: a 250-day window at 99%, historical, one day; 1,000
    /// simulations, seed 42.
    fn default() -> Self {
        Self {
            window: 250,
            confidence: Confidence::new(0.99),
            method: Method::Historical,
            horizon_days: 1.0,
            es_simulations: 1000,
            seed: 42,
        }
    }
}

/// Most simulations of the ES test.
pub const MAX_ES_SIMULATIONS: u32 = 1_000_000;

impl BacktestJob {
    /// Checks the job's own fields (the history is checked by
    /// [`backtest`]).
    pub fn validate(&self) -> Result<(), InputError> {
        self.confidence.validate()?;
        if self.window < 2 {
            return Err(InputError::invalid(
                "window",
                self.window,
                "needs at least 2 days of returns",
            ));
        }
        if self.horizon_days != 1.0 {
            return Err(InputError::invalid(
                "horizon-days",
                self.horizon_days,
                "a backtest compares one day's P&L with a one-day VaR: it must be 1",
            ));
        }
        if let Method::Filtered { lambda } = self.method {
            crate::fit::check_decay("ewma", lambda)?;
        }
        if !(100..=MAX_ES_SIMULATIONS).contains(&self.es_simulations) {
            return Err(InputError::invalid(
                "es-simulations",
                self.es_simulations,
                &format!("must be between 100 and {MAX_ES_SIMULATIONS}"),
            ));
        }
        Ok(())
    }
}

/// A day whose loss exceeded its VaR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    /// The day, as the price file writes it.
    pub date: String,
    /// The book's P&L that day.
    pub pnl: f64,
    /// The VaR forecast for that day.
    pub var: f64,
}

/// A likelihood-ratio test: the statistic and its chi-square p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrTest {
    /// The likelihood-ratio statistic.
    pub lr: f64,
    /// Its p-value under the null (chi-square).
    pub p_value: f64,
}

/// Christoffersen's tests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Christoffersen {
    /// Independence of the exceptions (a first-order Markov chain against
    /// independent days): chi-square with 1 degree of freedom.
    pub independence: LrTest,
    /// Kupiec's statistic plus independence's: the right number of
    /// exceptions, independent; chi-square with 2 degrees of freedom.
    pub conditional_coverage: LrTest,
}

/// The Basel traffic light's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Zone {
    /// The model is fine: fewer exceptions than 95% of accurate models see.
    Green,
    /// Doubt: between the 95% and 99.99% cumulative binomial probability.
    Yellow,
    /// The model is wrong: at or past 99.99%.
    Red,
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Zone::Green => "green",
            Zone::Yellow => "yellow",
            Zone::Red => "red",
        })
    }
}

/// The Basel traffic light over the last [`BASEL_DAYS`] days (or every day
/// of a shorter backtest).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrafficLight {
    /// The zone.
    pub zone: Zone,
    /// Exceptions in the days it counts.
    pub exceptions: u64,
    /// The days it counts.
    pub days: u64,
    /// The Basel table's plus factor (added to the capital multiplier of
    /// 3); `None` off the table's 250 days at 99%.
    pub plus_factor: Option<f64>,
}

/// Acerbi and Szekely's second ES test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EsTest {
    /// `Z2 = sum_t X_t I_t / (T alpha ES_t) + 1`: 0 in expectation under a
    /// right model, negative where the ES forecasts understate the tail.
    pub z2: f64,
    /// The probability of a `Z2` at most this low under the model (by
    /// simulation of each day's forecast distribution).
    pub p_value: f64,
    /// Simulations behind the p-value.
    pub simulations: u32,
}

/// A backtest's result: the tests, the exceptions, and each day's series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestResult {
    /// The method in words.
    pub method: String,
    /// The level.
    pub confidence: Confidence,
    /// Days of returns each forecast read.
    pub window: usize,
    /// Days backtested (the history's returns less the first window).
    pub days: usize,
    /// Days whose loss exceeded the VaR.
    pub exception_count: u64,
    /// `exception_count / days`.
    pub exception_rate: f64,
    /// `1 - confidence`: the rate a right model has.
    pub expected_rate: f64,
    /// The exceptions, oldest first.
    pub exceptions: Vec<Exception>,
    /// Kupiec's proportion-of-failures test (chi-square, 1 degree of
    /// freedom).
    pub kupiec: LrTest,
    /// Christoffersen's independence and conditional-coverage tests.
    pub christoffersen: Christoffersen,
    /// The Basel traffic light.
    pub traffic_light: TrafficLight,
    /// The ES test.
    pub es_test: EsTest,
    /// Each backtested day, as the price file writes it.
    pub dates: Vec<String>,
    /// The book's P&L each day.
    pub pnl: Vec<f64>,
    /// The VaR forecast for each day (a positive loss).
    pub var: Vec<f64>,
    /// The ES forecast for each day.
    pub es: Vec<f64>,
}

/// Days of Basel's traffic light.
pub const BASEL_DAYS: u64 = 250;

/// The plus factor of Basel's table for 0..=9 exceptions in 250 days at
/// 99% (10 or more: 1).
const BASEL_PLUS: [f64; 10] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.40, 0.50, 0.65, 0.75, 0.85];

/// `x ln y`, 0 where `x` is 0 (the likelihoods' convention `0 ln 0 = 0`).
fn xlny(x: f64, y: f64) -> f64 {
    if x == 0.0 { 0.0 } else { x * y.ln() }
}

/// The chi-square p-value of `lr` with `dof` degrees of freedom (a
/// statistic a rounding below 0 is 0).
fn lr_test(lr: f64, dof: f64) -> LrTest {
    let lr = lr.max(0.0);
    let p_value = ChiSquared::new(dof).map_or(f64::NAN, |chi| 1.0 - chi.cdf(lr));
    LrTest { lr, p_value }
}

/// Kupiec's proportion-of-failures test of `exceptions` in `days` days
/// against an exception probability `p`:
/// `LR = -2 ln[(1-p)^(n-x) p^x / ((1-x/n)^(n-x) (x/n)^x)]`.
pub fn kupiec(exceptions: u64, days: u64, p: f64) -> LrTest {
    let (x, n) = (exceptions as f64, days as f64);
    let rate = x / n;
    let null = xlny(n - x, 1.0 - p) + xlny(x, p);
    let fitted = xlny(n - x, 1.0 - rate) + xlny(x, rate);
    lr_test(-2.0 * (null - fitted), 1.0)
}

/// Christoffersen's independence and conditional-coverage tests of the
/// exception series `hits` against an exception probability `p`: the
/// transitions `n_ij` from a day in state `i` to the next in state `j`,
/// `LR_ind = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11) / ((1-pi01)^n00 pi01^n01
/// (1-pi11)^n10 pi11^n11)]`, and `LR_cc = LR_pof + LR_ind`.
pub fn christoffersen(hits: &[bool], p: f64) -> Christoffersen {
    let mut n = [[0.0f64; 2]; 2];
    for pair in hits.windows(2) {
        n[usize::from(pair[0])][usize::from(pair[1])] += 1.0;
    }
    let [[n00, n01], [n10, n11]] = n;
    let pi01 = n01 / (n00 + n01);
    let pi11 = n11 / (n10 + n11);
    let pi = (n01 + n11) / (n00 + n01 + n10 + n11);
    let null = xlny(n00 + n10, 1.0 - pi) + xlny(n01 + n11, pi);
    let markov = xlny(n00, 1.0 - pi01) + xlny(n01, pi01) + xlny(n10, 1.0 - pi11) + xlny(n11, pi11);
    let independence = lr_test(-2.0 * (null - markov), 1.0);
    let exceptions = hits.iter().filter(|&&h| h).count() as u64;
    let pof = kupiec(exceptions, hits.len() as u64, p);
    Christoffersen {
        independence,
        conditional_coverage: lr_test(pof.lr + independence.lr, 2.0),
    }
}

/// The traffic light of `exceptions` in `days` days at an exception
/// probability `p`: green below a 95% cumulative binomial probability,
/// yellow below 99.99%, red from there (Basel's table at 250 days and 99%:
/// green 0-4, yellow 5-9, red 10 or more), with the table's plus factor
/// there.
pub fn traffic_light(exceptions: u64, days: u64, p: f64) -> TrafficLight {
    let cumulative = Binomial::new(p, days).map_or(f64::NAN, |b| b.cdf(exceptions));
    let zone = if cumulative < 0.95 {
        Zone::Green
    } else if cumulative < 0.9999 {
        Zone::Yellow
    } else {
        Zone::Red
    };
    let basel = days == BASEL_DAYS && (p - 0.01).abs() < 1e-12;
    TrafficLight {
        zone,
        exceptions,
        days,
        plus_factor: basel.then(|| BASEL_PLUS.get(exceptions as usize).copied().unwrap_or(1.0)),
    }
}

/// What a day's forecast distribution is, for the ES test's simulations.
enum Forecast {
    /// Equally likely P&L values (historical, filtered).
    Sample(Vec<f64>),
    /// A normal P&L.
    Normal { mean: f64, std: f64 },
}

/// Backtests `book`'s VaR and ES on `history` (every asset of the book
/// needs a column, matched by name) by `job`.
pub fn backtest(
    book: &Portfolio,
    history: &PriceHistory,
    job: &BacktestJob,
) -> Result<BacktestResult, InputError> {
    book.validate()?;
    job.validate()?;
    let columns = book_columns(book, history, "prices")?;
    let daily = book_returns(history, &columns);
    let window = job.window;
    if daily.len() < window + 2 {
        return Err(InputError::invalid(
            "window",
            window,
            &format!(
                "leaves {} of the price file's {} daily returns to backtest; at least 2 are needed",
                daily.len().saturating_sub(window),
                daily.len()
            ),
        ));
    }
    let mut revalue = BookPnl::new(book, 1.0)?;
    let pnl: Vec<f64> = daily
        .iter()
        .map(|r| revalue.over(std::slice::from_ref(r)))
        .collect();
    let level = job.confidence.level;
    let tail = job.confidence.tail_count(window);
    let z = statrs::distribution::Normal::standard().inverse_cdf(1.0 - level);
    let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let days = daily.len() - window;
    let (mut var, mut es, mut forecasts) = (
        Vec::with_capacity(days),
        Vec::with_capacity(days),
        Vec::with_capacity(days),
    );
    for t in window..daily.len() {
        let forecast = match job.method {
            Method::Historical => Forecast::Sample(pnl[t - window..t].to_vec()),
            Method::Filtered { lambda } => {
                let rescaled = filtered(&daily[t - window..t], lambda);
                Forecast::Sample(
                    rescaled
                        .iter()
                        .map(|r| revalue.over(std::slice::from_ref(r)))
                        .collect(),
                )
            }
            Method::Parametric => {
                let moments = Moments::of(&pnl[t - window..t]);
                Forecast::Normal {
                    mean: moments.mean,
                    std: moments.std_dev(),
                }
            }
        };
        let (v, e) = match &forecast {
            Forecast::Sample(sample) => {
                let measure = tails_of_counts(&mut sample.clone(), &[tail])[0];
                (measure.var, measure.es)
            }
            Forecast::Normal { mean, std } => {
                (-(mean + std * z), std * density / (1.0 - level) - mean)
            }
        };
        var.push(v);
        es.push(e);
        forecasts.push(forecast);
    }
    let realised = &pnl[window..];
    let hits: Vec<bool> = realised.iter().zip(&var).map(|(x, v)| *x < -v).collect();
    let dates: Vec<String> = history.dates[window + 1..].to_vec();
    let exceptions: Vec<Exception> = hits
        .iter()
        .enumerate()
        .filter(|(_, hit)| **hit)
        .map(|(i, _)| Exception {
            date: dates[i].clone(),
            pnl: realised[i],
            var: var[i],
        })
        .collect();
    let p = 1.0 - level;
    let count = exceptions.len() as u64;
    let recent = days.min(BASEL_DAYS as usize);
    let recent_count = hits[days - recent..].iter().filter(|&&h| h).count() as u64;
    let es_test = es_test(
        realised,
        &var,
        &es,
        &forecasts,
        p,
        job.es_simulations,
        job.seed,
    );
    Ok(BacktestResult {
        method: job.method.describe(),
        confidence: job.confidence.clone(),
        window,
        days,
        exception_count: count,
        exception_rate: count as f64 / days as f64,
        expected_rate: p,
        exceptions,
        kupiec: kupiec(count, days as u64, p),
        christoffersen: christoffersen(&hits, p),
        traffic_light: traffic_light(recent_count, recent as u64, p),
        es_test,
        dates,
        pnl: realised.to_vec(),
        var,
        es,
    })
}

/// `Z2` of a P&L series against its VaR and ES forecasts (`p` the tail
/// probability): `sum_t X_t 1{X_t < -VaR_t} / (T p ES_t) + 1`.
fn z2(pnl: impl Iterator<Item = f64>, var: &[f64], es: &[f64], p: f64) -> f64 {
    let days = var.len() as f64;
    let sum: f64 = pnl
        .zip(var.iter().zip(es))
        .map(|(x, (v, e))| if x < -v { x / (days * p * e) } else { 0.0 })
        .sum();
    sum + 1.0
}

/// Acerbi and Szekely's `Z2` of the realised P&L, and its p-value: the
/// share of `simulations` P&L series drawn from each day's forecast
/// distribution (day `t` of simulation `s`: Philox block `t` of stream `s`
/// of [`SUBSTREAM_BACKTEST`]) whose `Z2` is at most the realised one.
fn es_test(
    realised: &[f64],
    var: &[f64],
    es: &[f64],
    forecasts: &[Forecast],
    p: f64,
    simulations: u32,
    seed: u64,
) -> EsTest {
    let observed = z2(realised.iter().copied(), var, es, p);
    let key = seed_key(seed);
    let below = (0..u64::from(simulations))
        .filter(|&s| {
            let draws = forecasts
                .iter()
                .enumerate()
                .map(|(t, forecast)| match forecast {
                    Forecast::Sample(sample) => {
                        let [w0, w1, _, _] =
                            philox4x32_10(stream_counter(t as u32, SUBSTREAM_BACKTEST, s), key);
                        let index = (uniform(w0, w1) * sample.len() as f64) as usize;
                        sample[index.min(sample.len() - 1)]
                    }
                    Forecast::Normal { mean, std } => {
                        mean + std * normal_pair(seed, SUBSTREAM_BACKTEST, s, t as u32).0
                    }
                });
            z2(draws, var, es, p) <= observed
        })
        .count();
    EsTest {
        z2: observed,
        p_value: (below as f64 + 1.0) / (f64::from(simulations) + 1.0),
        simulations,
    }
}
