//! Raw flags (clap) turned into typed library jobs, run, and printed.

mod count;
mod output;
mod plot;
mod watch;

use std::path::{Path, PathBuf};

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

use quantmc::market::{Barrier, BarrierKind, Monitoring};
use quantmc::models::{HestonScheme, Model, ModelKind, ModelParameters};
use quantmc::pricing::{GreeksMethod, Precision, Sampler, Target};
use quantmc::selector::{self, Calibration};
use quantmc::{
    Backend, Confidence, Gpus, Market, OptionKind, OptionSpec, Portfolio, PricingJob,
    ReturnDistribution, RunOptions, Style, Tuning, VarJob,
    basket::BasketStyle,
    exercise::{Basis, Exercise},
};

/// Where the calibration is read and written, overriding the cache directory.
pub const CALIBRATION_ENV: &str = "QUANTMC_CALIBRATION";
/// Lets `--backend gpu` run on a software (CPU-type) adapter such as lavapipe.
pub const ALLOW_SOFTWARE_ENV: &str = "QUANTMC_ALLOW_SOFTWARE_GPU";
/// Forces the SIMD and rayon tiers' instruction set (`avx512`, `avx2`, `sse2`,
/// `neon`, `portable`), for tests and comparisons.
pub const SIMD_ENV: &str = "QUANTMC_SIMD";

/// What the command takes from the environment, read once here: the library
/// reads none of it itself.
pub struct Environment {
    /// `$QUANTMC_CALIBRATION`, else `<cache dir>/quantmc/calibration.json`.
    pub calibration_path: Option<PathBuf>,
    /// The calibration at that path, when it is usable.
    pub calibration: Option<Calibration>,
    /// `QUANTMC_ALLOW_SOFTWARE_GPU=1`.
    pub allow_software_gpu: bool,
    /// `RAYON_NUM_THREADS`, the rayon tier's threads when `--threads` is not
    /// given.
    pub rayon_threads: Option<String>,
    /// `QUANTMC_SIMD`, unparsed.
    pub simd: Option<String>,
}

impl Environment {
    /// Reads the environment and the calibration file; a corrupt or stale file
    /// is reported on stderr and ignored.
    fn read(load_calibration: bool) -> Self {
        let calibration_path = match std::env::var_os(CALIBRATION_ENV) {
            Some(path) => Some(PathBuf::from(path)),
            None => dirs::cache_dir().map(|dir| dir.join("quantmc").join("calibration.json")),
        };
        let calibration = match (&calibration_path, load_calibration) {
            (Some(path), true) => selector::load_from(path).unwrap_or_else(|problem| {
                to_stderr(&format!(
                    "warning: ignoring the calibration file: {problem}"
                ));
                None
            }),
            _ => None,
        };
        Self {
            calibration_path,
            calibration,
            allow_software_gpu: std::env::var(ALLOW_SOFTWARE_ENV).is_ok_and(|v| v == "1"),
            rayon_threads: std::env::var("RAYON_NUM_THREADS").ok(),
            simd: std::env::var(SIMD_ENV).ok().filter(|text| !text.is_empty()),
        }
    }

    /// The instruction set `QUANTMC_SIMD` asks for, if any.
    pub fn simd(&self) -> Result<Option<quantmc::hardware::Isa>, quantmc::InputError> {
        self.simd
            .as_deref()
            .map(|text| {
                text.trim()
                    .parse()
                    .map_err(|_| quantmc::InputError::Unknown {
                        field: SIMD_ENV.to_string(),
                        value: text.to_string(),
                        expected: quantmc::hardware::Isa::NAMES.join(", "),
                    })
            })
            .transpose()
    }

    /// Auto's crossovers: the calibration's; without one the library's
    /// built-in ones for the run's cores.
    pub fn tuning(&self) -> Option<Tuning> {
        self.calibration.as_ref().map(|c| c.tuning)
    }
}

use count::parse_count;

/// An error with the exit code the command ends with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input or a tier that cannot run: exit 2.
    #[error(transparent)]
    Library(quantmc::Error),
    /// Ctrl-C stopped the run: exit 130, as a shell reports SIGINT.
    #[error("interrupted")]
    Interrupted,
    /// Anything else (e.g. writing the output failed): exit 1.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Bad input from the library's parts that return [`quantmc::InputError`]
/// alone (price files, fits, historical simulation): exit 2.
impl From<quantmc::Error> for CliError {
    fn from(err: quantmc::Error) -> Self {
        match err {
            quantmc::Error::Cancelled => Self::Interrupted,
            err => Self::Library(err),
        }
    }
}

impl From<quantmc::InputError> for CliError {
    fn from(err: quantmc::InputError) -> Self {
        Self::Library(err.into())
    }
}

impl CliError {
    /// Whether the error is a write to a closed pipe.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            CliError::Other(err) => err.chain().any(|cause| {
                cause
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }),
            CliError::Library(_) | CliError::Interrupted => false,
        }
    }

    /// The exit code the error ends the command with.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Library(_) => 2,
            CliError::Interrupted => 130,
            CliError::Other(_) => 1,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "quantmc",
    version,
    about = "Reproducible Monte Carlo option pricing and portfolio VaR/ES",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Price an option by Monte Carlo.
    Price(Box<PriceArgs>),
    /// Portfolio Value-at-Risk and Expected Shortfall by Monte Carlo.
    Var(VarArgs),
    /// Fit a portfolio (means, volatilities, correlations) to a price history.
    Fit(FitArgs),
    /// Backtest the book's VaR and ES on a price history: each day's forecast
    /// from the trailing window against that day's P&L; Kupiec,
    /// Christoffersen, the Basel traffic light and the ES test.
    Backtest(BacktestArgs),
    /// Show the detected hardware, the available backends and Auto's choices.
    Info,
    /// Time each tier at a few sizes and store where each starts to win, for Auto.
    Calibrate {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Options shared by the simulating commands.
#[derive(Debug, Args)]
struct RunArgs {
    /// Seed of the Philox streams; the same seed gives the same sample on every backend.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Compute tier.
    #[arg(long, default_value = "auto", value_parser = parse_backend)]
    backend: Backend,
    /// Worker threads for the rayon backend (default: RAYON_NUM_THREADS, else all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// GPUs the gpu backend runs on: `all` (every GPU like the best one),
    /// adapter indices such as `0,2` (as `quantmc info` lists them), or
    /// `local-rank` under `--executor mpi` (each process the GPU of its rank
    /// on its node). Default: the best GPU.
    #[arg(long)]
    gpus: Option<String>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// No progress bar (it shows only on a terminal, after the first second,
    /// and never with --json).
    #[arg(long, short)]
    quiet: bool,
}

impl RunArgs {
    /// Whether the progress bar stays hidden.
    fn silent(&self) -> bool {
        self.quiet || self.json
    }

    /// The library's options; `executor` decides whether `--gpus local-rank`
    /// can be resolved (under MPI, once the process knows its rank).
    fn options(&self, env: &Environment, executor: Executor) -> Result<RunOptions, quantmc::Error> {
        let threads = match (self.threads, env.rayon_threads.as_deref()) {
            (Some(threads), _) => Some(threads),
            // rayon's own reading: unset, empty or 0 means one per core.
            (None, None | Some("" | "0")) => None,
            (None, Some(text)) => Some(text.trim().parse().map_err(|_| {
                quantmc::InputError::invalid("RAYON_NUM_THREADS", text, "is not a thread count")
            })?),
        };
        Ok(RunOptions {
            backend: self.backend,
            threads,
            tuning: env.tuning(),
            allow_software_gpu: env.allow_software_gpu,
            simd: env.simd()?,
            gpus: self.gpus((executor == Executor::Mpi).then_some(0))?,
        })
    }

    /// `--gpus` as the library takes it; `local_rank` is this process's rank
    /// on its node under MPI (`None` elsewhere, where `local-rank` is an
    /// error; `Some(0)` checks the option before MPI starts).
    fn gpus(&self, local_rank: Option<usize>) -> Result<Gpus, quantmc::Error> {
        let Some(text) = self.gpus.as_deref() else {
            return Ok(Gpus::Best);
        };
        if text.trim() == "local-rank" {
            return match local_rank {
                Some(rank) => Ok(Gpus::Rank(rank)),
                None => Err(quantmc::InputError::invalid(
                    "gpus",
                    text,
                    "picks a GPU by the process's rank on its node, so it needs --executor mpi",
                )
                .into()),
            };
        }
        Gpus::parse(text)
            .map_err(|reason| quantmc::InputError::invalid("gpus", text, &reason).into())
    }
}

/// Prints the library's warnings about a run on stderr.
fn warn(warnings: &[String]) {
    for warning in warnings {
        to_stderr(&format!("warning: {warning}"));
    }
}

/// Writes a line to stderr, ignoring a failure: `eprintln!` panics when
/// stderr cannot be written (`2>/dev/full`), which would lose the result
/// the run is about to print. Control characters other than line breaks
/// are escaped: messages quote names read from input files.
pub fn to_stderr(line: &str) {
    use std::io::Write;
    let lines: Vec<_> = line.split('\n').map(output::shown).collect();
    let _ = writeln!(std::io::stderr().lock(), "{}", lines.join("\n"));
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
struct PriceArgs {
    /// call or put.
    #[arg(long, default_value = "call", value_parser = parse_option_kind)]
    option: OptionKind,
    /// The product: european, asian-arithmetic, asian-geometric, digital,
    /// barrier; or, on the assets of --assets, basket, worst-of, best-of,
    /// spread.
    #[arg(long, default_value = "european", value_parser = clap::builder::PossibleValuesParser::new(Style::NAMES.iter().chain(BasketStyle::NAMES)).try_map(|name| parse_style(&name)))]
    style: StyleArg,
    /// The underlying's price today (default 100).
    #[arg(long, allow_hyphen_values = true)]
    spot: Option<f64>,
    #[arg(long, default_value_t = 100.0, allow_hyphen_values = true)]
    strike: f64,
    /// Years to expiry.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    maturity: f64,
    /// Continuously compounded risk-free rate.
    #[arg(long, default_value_t = 0.05, allow_hyphen_values = true)]
    rate: f64,
    /// Continuous dividend yield (default 0).
    #[arg(long, allow_hyphen_values = true)]
    dividend: Option<f64>,
    /// The assets of a basket, worst-of, best-of or spread: a JSON file
    /// `{"assets": [{"name", "spot", "vol", "dividend", "weight"}, ...],
    /// "correlation": [[...], ...]}` (see examples/basket.json).
    #[arg(long)]
    assets: Option<PathBuf>,
    /// Replace a correlation matrix of --assets that is not positive
    /// semi-definite by the nearest one that is.
    #[arg(long, requires = "assets")]
    nearest_psd: bool,
    /// When the holder may exercise: european (at expiry), american (at
    /// every time step: --steps dates, default 50 a year) or bermudan (at
    /// --exercise-dates dates), priced by Longstaff-Schwartz with the
    /// lattice's value of the same dates beside it.
    #[arg(long, default_value = "european", value_parser = clap::builder::PossibleValuesParser::new(Exercise::NAMES).try_map(|name| name.parse::<Exercise>()))]
    exercise: Exercise,
    /// A bermudan option's exercise dates, equally spaced, the last at
    /// expiry (--steps, if given, must be a multiple).
    #[arg(long, value_parser = parse_count)]
    exercise_dates: Option<u64>,
    /// The regression's basis for the continuation value: laguerre
    /// (weighted Laguerre polynomials of S/K) or monomial (powers of S/K).
    #[arg(long, default_value = "laguerre", value_parser = clap::builder::PossibleValuesParser::new(Basis::NAMES).try_map(|name| name.parse::<Basis>()))]
    basis: Basis,
    /// The basis' degree (regressors: the constant and this many).
    #[arg(long, default_value_t = quantmc::exercise::DEFAULT_DEGREE)]
    basis_degree: u32,
    /// Paths the exercise policy is fitted on, apart from the pricing
    /// paths (default a quarter of --paths, within 16384 ..= 131072).
    #[arg(long, value_parser = parse_count)]
    calibration_paths: Option<u64>,
    /// An upper bound beside the price: Andersen and Broadie's duality
    /// estimator, this many nested paths for each continuation value.
    #[arg(long, value_parser = parse_count, value_name = "INNER_PATHS")]
    upper_bound: Option<u64>,
    /// Outer paths of the upper bound (default 1024).
    #[arg(long, value_parser = parse_count, requires = "upper_bound")]
    upper_bound_paths: Option<u64>,
    /// Annualised volatility (bs and merton; default 0.2). Heston's and
    /// Bates' volatility is their variance's (--v0, --theta).
    #[arg(long, allow_hyphen_values = true)]
    vol: Option<f64>,
    /// What moves the paths: bs (Black-Scholes), heston (stochastic
    /// variance: --v0 --kappa --theta --xi --rho), merton (lognormal jumps:
    /// --jump-intensity --jump-mean --jump-vol) or bates (both).
    #[arg(long, default_value = "bs", value_parser = clap::builder::PossibleValuesParser::new(ModelKind::NAMES).try_map(|name| name.parse::<ModelKind>()))]
    model: ModelKind,
    /// Heston and Bates: the variance today (>= 0).
    #[arg(long, allow_hyphen_values = true)]
    v0: Option<f64>,
    /// Heston and Bates: the variance's speed of mean reversion (> 0).
    #[arg(long, allow_hyphen_values = true)]
    kappa: Option<f64>,
    /// Heston and Bates: the long-run variance (> 0).
    #[arg(long, allow_hyphen_values = true)]
    theta: Option<f64>,
    /// Heston and Bates: the volatility of the variance (> 0).
    #[arg(long, allow_hyphen_values = true)]
    xi: Option<f64>,
    /// Heston and Bates: the correlation of price and variance, in (-1, 1).
    #[arg(long, allow_hyphen_values = true)]
    rho: Option<f64>,
    /// Heston and Bates: the discretisation, qe (Andersen's
    /// quadratic-exponential with martingale correction) or euler (full
    /// truncation). Default qe.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(HestonScheme::NAMES).try_map(|name| name.parse::<HestonScheme>()))]
    scheme: Option<HestonScheme>,
    /// Merton and Bates: jumps a year on average (>= 0).
    #[arg(long, allow_hyphen_values = true)]
    jump_intensity: Option<f64>,
    /// Merton and Bates: the mean of the log jump size (QuantLib's nu).
    #[arg(long, allow_hyphen_values = true)]
    jump_mean: Option<f64>,
    /// Merton and Bates: the standard deviation of the log jump size
    /// (QuantLib's delta, >= 0).
    #[arg(long, allow_hyphen_values = true)]
    jump_vol: Option<f64>,
    /// Fixings of an Asian option or a barrier's monitoring dates (equally
    /// spaced, t = T/N .. T); under heston and bates, the time steps of
    /// every product's paths (default 12; a basket's 1, its terminal law
    /// being exact).
    #[arg(long, value_parser = parse_count)]
    steps: Option<u64>,
    /// Simulated paths (1000000, 1e6, 1_000_000 and 1M all work).
    #[arg(long, default_value = "1000000", value_parser = parse_count)]
    paths: u64,
    /// Antithetic pairs: N paths are N/2 pairs (z, -z).
    #[arg(long)]
    antithetic: bool,
    /// Also estimate delta, gamma, vega, rho and theta, with standard errors,
    /// in the same pass (a basket: each asset's delta and vega, pathwise).
    #[arg(long)]
    greeks: bool,
    /// pathwise (one pass: pathwise where the payoff is continuous,
    /// likelihood ratio where it jumps) or fd (bump and revalue on common
    /// random numbers).
    /// (default pathwise)
    #[arg(long, requires = "greeks", value_parser = clap::builder::PossibleValuesParser::new(GreeksMethod::NAMES).try_map(|name| name.parse::<GreeksMethod>()))]
    greeks_method: Option<GreeksMethod>,
    /// A barrier option's barrier level (with --style barrier).
    #[arg(long, allow_hyphen_values = true)]
    barrier: Option<f64>,
    /// up-and-out, up-and-in, down-and-out or down-and-in.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(BarrierKind::NAMES).try_map(|name| name.parse::<BarrierKind>()))]
    barrier_kind: Option<BarrierKind>,
    /// Cash paid at expiry when the barrier option is not alive then.
    #[arg(long, allow_hyphen_values = true)]
    rebate: Option<f64>,
    /// Watch the barrier at the fixings (--steps) or continuously.
    /// [default: discrete]
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Monitoring::NAMES).try_map(|name| name.parse::<Monitoring>()))]
    monitoring: Option<Monitoring>,
    /// Correct the estimate with the product's control variate (European and
    /// digital: the terminal price; arithmetic Asian: the geometric Asian).
    #[arg(long)]
    control_variate: bool,
    /// mc (Philox streams) or rqmc (Owen-scrambled Sobol points through a
    /// Brownian bridge, in independent replicates).
    #[arg(long, default_value = "mc", value_parser = clap::builder::PossibleValuesParser::new(Sampler::NAMES).try_map(|name| name.parse::<Sampler>()))]
    sampler: Sampler,
    /// Independent randomizations of an rqmc run (>= 2); paths are split
    /// evenly between them.
    /// [default: 16]
    #[arg(long, value_parser = parse_count)]
    replicates: Option<u64>,
    /// Run to a standard error of at most this (price units): a pilot of
    /// --paths sizes a final stage of fresh paths, which alone make the
    /// estimate.
    #[arg(long, group = "target", allow_hyphen_values = true)]
    target_se: Option<f64>,
    /// Run to a standard error of at most this fraction of the price (a
    /// pilot and a final stage, as --target-se).
    #[arg(long, group = "target", allow_hyphen_values = true)]
    target_rel_se: Option<f64>,
    /// The most paths a run with a target may take, pilot and final stage
    /// together (default 1e9, and at least twice --paths).
    #[arg(long, requires = "target", value_parser = parse_count)]
    max_paths: Option<u64>,
    /// A strike strip: price every one of these strikes (comma-separated)
    /// on the same paths, each with its standard error (in place of
    /// --strike).
    #[arg(
        long,
        value_delimiter = ',',
        conflicts_with = "strike",
        allow_hyphen_values = true
    )]
    strikes: Vec<f64>,
    /// And at each of these maturities (years, comma-separated; in place of
    /// --maturity).
    #[arg(
        long,
        value_delimiter = ',',
        conflicts_with = "maturity",
        allow_hyphen_values = true
    )]
    maturities: Vec<f64>,
    /// Report each European price's Black implied volatility, with its
    /// standard error (and the closed form's, where there is one).
    #[arg(long)]
    implied_vol: bool,
    /// Draw the run as an SVG picture (price: the running estimate and its
    /// 95% band against paths, or a strip's smile: implied volatility, or
    /// price, against strike; var: the P&L histogram with the VaR and ES
    /// lines).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// local (this process) or mpi (under mpirun or srun: each rank prices a
    /// share of the job's blocks on its --backend tier, the CPU's; rank 0
    /// prints; the same result as one process, bit for bit). mpi needs a
    /// build with `--features mpi`.
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    executor: Executor,
    #[command(flatten)]
    run: RunArgs,
}

/// Where a pricing job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Executor {
    /// This process.
    Local,
    /// The ranks of an MPI run.
    Mpi,
}

/// The most paths a run with a target takes unless `--max-paths` says.
const DEFAULT_MAX_PATHS: u64 = 1_000_000_000;

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
struct VarArgs {
    /// Portfolio JSON file (see examples/portfolio.json).
    #[arg(long)]
    portfolio: PathBuf,
    /// Simulated scenarios (1000000, 1e6, 1_000_000 and 1M all work).
    #[arg(long, default_value = "1000000", value_parser = parse_count)]
    scenarios: u64,
    /// Confidence level in (0, 1); repeat for several (default 0.95 and 0.99).
    #[arg(long = "confidence")]
    confidence: Vec<String>,
    /// Horizon in days.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    horizon_days: f64,
    /// Return distribution: normal or student-t.
    #[arg(long, default_value = "normal", value_parser = ["normal", "student-t"])]
    dist: String,
    /// Degrees of freedom of the Student-t distribution (> 2; default 5).
    #[arg(long, allow_hyphen_values = true)]
    dof: Option<f64>,
    /// Also the historical-simulation VaR/ES from this price CSV (the layout
    /// `quantmc fit` reads), beside the Monte Carlo figures.
    #[arg(long)]
    historical: Option<PathBuf>,
    /// Filtered historical simulation: rescale each past return to today's
    /// EWMA volatility with this decay (e.g. 0.94).
    #[arg(long, requires = "historical", allow_hyphen_values = true)]
    filtered_ewma: Option<f64>,
    /// Also the stressed VaR and ES: historical simulation of today's book
    /// over the --stress-days stretch of the price file where its VaR is
    /// largest (every stretch tried), or over --stress-window.
    #[arg(long, requires = "historical")]
    stressed: bool,
    /// Days of returns of the stressed stretch searched for.
    #[arg(long, default_value = "250", value_parser = parse_count, requires = "stressed")]
    stress_days: u64,
    /// The stressed stretch by its dates, FROM..TO (as the price file writes
    /// them), in place of the search.
    #[arg(long, requires = "stressed")]
    stress_window: Option<String>,
    /// Also FRTB's expected shortfall from the price file: 97.5% over
    /// overlapping 10-day returns, scaled through the assets'
    /// liquidity_horizon buckets; with --stressed and assets marked
    /// "reduced", the stressed calibration.
    #[arg(long, requires = "historical")]
    frtb: bool,
    /// Per-position component VaR and ES (Euler allocation from the tail
    /// scenarios, regenerated on the CPU) and marginal VaR.
    #[arg(long)]
    contributions: bool,
    /// Incremental VaR and ES of the trade in this JSON file (positions and
    /// options on the book's assets: see docs): the book with and without
    /// it on the same scenarios (regenerated on the CPU), each change with
    /// its standard error beside two independent runs'.
    #[arg(long)]
    what_if: Option<PathBuf>,
    /// Draw the run as an SVG picture (price: the running estimate and its
    /// 95% band against paths; var: the P&L histogram with the VaR and ES
    /// lines).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// local (this process) or mpi (under mpirun or srun: each rank
    /// simulates a share of the scenarios' chunks on its --backend tier, the
    /// CPU's, the tails found across ranks; rank 0 prints; the same result
    /// on any number of ranks). mpi needs a build with `--features mpi`.
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    executor: Executor,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
struct BacktestArgs {
    /// Portfolio JSON file (see examples/portfolio.json): the book whose
    /// P&L is tested, its assets matched to the price file's columns by name.
    #[arg(long)]
    portfolio: PathBuf,
    /// CSV of closing prices (the layout `quantmc fit` reads).
    #[arg(long)]
    prices: PathBuf,
    /// Days of returns each day's forecast reads (Basel: 250).
    #[arg(long, default_value = "250", value_parser = parse_count)]
    window: u64,
    /// The VaR and ES level in [0.5, 1).
    #[arg(long, default_value = "0.99")]
    confidence: String,
    /// How each day's forecast is made: historical (the window's P&L),
    /// filtered (its returns rescaled to the window's end's EWMA
    /// volatility) or parametric (a normal P&L, the window's mean and
    /// spread).
    #[arg(long, default_value = "historical", value_parser = ["historical", "filtered", "parametric"])]
    method: String,
    /// The filtered method's EWMA decay.
    #[arg(long, default_value_t = 0.94, allow_hyphen_values = true)]
    ewma: f64,
    /// Horizon in days: a backtest compares a day's P&L, so 1.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    horizon_days: f64,
    /// Simulations of the ES test's p-value under the model.
    #[arg(long, default_value = "1000", value_parser = parse_count)]
    es_simulations: u64,
    /// Seed of the ES test's simulations.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Draw the realised P&L against the VaR line, exceptions marked, as SVG.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct FitArgs {
    /// CSV of closing prices: a date column (YYYY-MM-DD), then one column per
    /// asset named in the header (see examples/prices.csv).
    #[arg(long)]
    prices: PathBuf,
    /// The book's weights: `equal`, or NAME=WEIGHT for every asset of the
    /// file, comma-separated (AAPL=0.3,MSFT=0.7).
    #[arg(
        long,
        conflicts_with = "portfolio",
        required_unless_present = "portfolio"
    )]
    weights: Option<String>,
    /// Take the value and weights from this portfolio file (matched by asset
    /// name) instead; its fitted figures are replaced.
    #[arg(long)]
    portfolio: Option<PathBuf>,
    /// The book's value (default 1000000, or the --portfolio file's).
    #[arg(long, allow_hyphen_values = true)]
    value: Option<f64>,
    /// RiskMetrics EWMA volatilities and correlations with this decay (0.94
    /// is RiskMetrics' daily value) instead of the sample ones.
    #[arg(long, allow_hyphen_values = true)]
    ewma: Option<f64>,
    /// Replace a correlation matrix that is not positive semi-definite by the
    /// nearest one that is (Higham), instead of refusing it.
    #[arg(long)]
    nearest_psd: bool,
    /// Write the portfolio JSON here instead of to stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

fn parse_backend(text: &str) -> Result<Backend, String> {
    text.parse()
        .map_err(|err: quantmc::InputError| err.to_string())
}

fn parse_option_kind(text: &str) -> Result<OptionKind, String> {
    text.parse()
        .map_err(|err: quantmc::InputError| err.to_string())
}

/// Parses the arguments, builds typed jobs, runs them (the library validates
/// every job before any work) and prints.
pub fn run() -> Result<(), CliError> {
    let cli = Cli::parse();
    let env = Environment::read(!matches!(cli.command, Command::Calibrate { .. }));
    match cli.command {
        Command::Price(args)
            if (args.assets.is_some() || matches!(args.style, StyleArg::Basket(_)))
                && early_exercise(&args) =>
        {
            let job = exercise_job_of(&args, basket_job(&args)?, |job, steps| job.steps = steps)?;
            let options = args.run.options(&env, args.executor)?;
            let result = watch::watched(args.run.silent(), |control| {
                quantmc::price_basket_exercise_with(&job, options, control)
            })?;
            warn(&result.pricing.warnings);
            output::print_exercise(&result, args.run.json)?;
        }
        Command::Price(args)
            if args.assets.is_some() || matches!(args.style, StyleArg::Basket(_)) =>
        {
            let job = basket_job(&args)?;
            let options = args.run.options(&env, args.executor)?;
            // The picture's reruns (the first paths of the same streams) are
            // part of the watched work.
            let (result, runs) = watch::watched(args.run.silent(), |control| {
                let result = quantmc::price_basket_with(&job, options, control)?;
                let runs = match &args.plot {
                    Some(_) => Some(running_estimates(
                        &result.pricing,
                        job.replicates,
                        |paths| {
                            let step = quantmc::basket::BasketJob {
                                paths,
                                target: None,
                                ..job.clone()
                            };
                            Ok(quantmc::price_basket_with(&step, options, control)?.pricing)
                        },
                    )?),
                    None => None,
                };
                Ok::<_, quantmc::Error>((result, runs))
            })?;
            warn(&result.pricing.warnings);
            // The result is printed before the picture is written, so a
            // plot that cannot be written never loses it.
            output::print_basket(&result, args.run.json)?;
            if let (Some(path), Some(runs)) = (&args.plot, runs) {
                plot::price_svg(path, &runs)?;
            }
        }
        Command::Price(args) if early_exercise(&args) => {
            let job = exercise_job(&args)?;
            let options = args.run.options(&env, args.executor)?;
            let result = watch::watched(args.run.silent(), |control| {
                quantmc::price_exercise_with(&job, options, control)
            })?;
            warn(&result.pricing.warnings);
            output::print_exercise(&result, args.run.json)?;
        }
        Command::Price(args) => {
            let job = price_job(&args)?;
            let options = args.run.options(&env, args.executor)?;
            if let Some(strip) = strip(&args) {
                return price_strip(&job, &strip, options, &args);
            }
            if args.executor == Executor::Mpi {
                return price_on_mpi(&job, options, &args);
            }
            // The picture's reruns are part of the watched (and cancellable)
            // work.
            let (result, runs) = watch::watched(args.run.silent(), |control| {
                let result = quantmc::price_with(&job, options, control)?;
                let runs = match &args.plot {
                    Some(_) => Some(running_estimates(&result, job.replicates, |paths| {
                        let step = PricingJob {
                            paths,
                            target: None,
                            ..job
                        };
                        quantmc::price_with(&step, options, control)
                    })?),
                    None => None,
                };
                Ok::<_, quantmc::Error>((result, runs))
            })?;
            warn(&result.warnings);
            output::print_price(&result, args.run.json)?;
            if let (Some(path), Some(runs)) = (&args.plot, runs) {
                plot::price_svg(path, &runs)?;
            }
        }
        Command::Var(args) => {
            let job = var_job(&args)?;
            // The price file is read and checked before any simulation.
            let historical = match &args.historical {
                Some(path) => {
                    let history = quantmc::fit::PriceHistory::from_file(path)?;
                    let mut result = quantmc::historical::historical_var(
                        &job.portfolio,
                        &history,
                        &job.confidences,
                        job.horizon_days,
                        args.filtered_ewma,
                    )?;
                    let stress = args.stressed.then(|| stress_window(&args)).transpose()?;
                    if let Some(window) = &stress {
                        result.stressed = Some(quantmc::historical::stressed_var(
                            &job.portfolio,
                            &history,
                            &job.confidences,
                            job.horizon_days,
                            window,
                        )?);
                    }
                    if args.frtb {
                        result.frtb = Some(quantmc::frtb::frtb_es(
                            &job.portfolio,
                            &history,
                            stress.as_ref(),
                        )?);
                    }
                    Some(result)
                }
                None => None,
            };
            // The trade is read and checked against the book before any
            // simulation.
            let trade = match &args.what_if {
                Some(path) => {
                    let trade = quantmc::whatif::Trade::from_file(path)?;
                    trade.apply(&job.portfolio)?;
                    Some(trade)
                }
                None => None,
            };
            let options = args.run.options(&env, args.executor)?;
            if args.executor == Executor::Mpi {
                return var_on_mpi(&job, options, &args, historical.as_ref());
            }
            // Contributions walk every scenario again: watched too.
            let (result, contributions) = watch::watched(args.run.silent(), |control| {
                let result = quantmc::var_with(&job, options, control)?;
                let contributions = args
                    .contributions
                    .then(|| quantmc::contributions::contributions_with(&job, &result, control))
                    .transpose()?;
                let what_if = trade
                    .as_ref()
                    .map(|trade| quantmc::whatif::what_if(&job, trade, control))
                    .transpose()?;
                Ok::<_, quantmc::Error>((result, (contributions, what_if)))
            })?;
            let (contributions, what_if) = contributions;
            warn(&result.warnings);
            output::print_var(
                &result,
                quantmc::report::VarExtras {
                    historical: historical.as_ref(),
                    contributions: contributions.as_deref(),
                    what_if: what_if.as_ref(),
                },
                args.run.json,
            )?;
            if let Some(path) = &args.plot {
                // The first 10^6 scenarios, regenerated: the same sample
                // whatever tier ran.
                let sample = quantmc::contributions::regenerate_pnl(&job, 0..PLOTTED_SCENARIOS)?;
                plot::var_svg(path, &sample, &result)?;
            }
        }
        Command::Fit(args) => {
            let job = fit_job(&args)?;
            let history = quantmc::fit::PriceHistory::from_file(&args.prices)?;
            let fitted = quantmc::fit::fit(&history, &job)?;
            output::print_fit(&fitted, args.output.as_deref())?;
        }
        Command::Backtest(args) => {
            refuse_overwrite(
                ("plot", args.plot.as_deref()),
                &[
                    ("--portfolio", Some(&args.portfolio)),
                    ("--prices", Some(&args.prices)),
                ],
            )?;
            let job = backtest_job(&args)?;
            let book = Portfolio::from_file(&args.portfolio)?;
            let history = quantmc::fit::PriceHistory::from_file(&args.prices)?;
            let result = quantmc::backtest::backtest(&book, &history, &job)?;
            output::print_backtest(&result, args.json)?;
            if let Some(path) = &args.plot {
                plot::backtest_svg(path, &result)?;
            }
        }
        Command::Info => output::print_info(&env)?,
        Command::Calibrate { json } => {
            let (calibration, timings) = quantmc::calibrate::run(|t| {
                if !json {
                    to_stderr(&format!(
                        "  {:<7} {:>5} {:>9.2e} work units  {:.6} s",
                        t.backend.name(),
                        format!("{:?}", t.workload).to_lowercase(),
                        t.units,
                        t.seconds
                    ));
                }
            })?;
            let cores = quantmc::hardware::detect().logical_cores;
            if let Some(problem) = quantmc::calibrate::inconsistency(&calibration, cores) {
                return Err(anyhow::anyhow!("calibration {problem}").into());
            }
            let path = env.calibration_path.clone().ok_or_else(|| {
                anyhow::anyhow!("no cache directory; set {CALIBRATION_ENV} to a file path")
            })?;
            quantmc::selector::save_to(&calibration, &path)
                .map_err(|err| anyhow::anyhow!("writing {}: {err}", path.display()))?;
            output::print_calibration(&calibration, &timings, &path, json)?;
        }
    }
    Ok(())
}

/// `price --executor mpi`: every rank runs its share; rank 0 prints.
#[cfg(feature = "mpi")]
fn price_on_mpi(job: &PricingJob, options: RunOptions, args: &PriceArgs) -> Result<(), CliError> {
    use quantmc::distributed::Communicator;
    not_under_mpi("plot", args.plot.as_ref().map(|p| p.display().to_string()))?;
    let world = quantmc::distributed::mpi::World::initialize()?;
    let options = RunOptions {
        gpus: args.run.gpus(Some(world.local_rank()))?,
        ..options
    };
    let result = quantmc::distributed::price(job, options, &world)?;
    if world.rank() == 0 {
        warn(&result.warnings);
        output::print_price(&result, args.run.json)?;
    }
    Ok(())
}

/// `var --executor mpi`: every rank runs its share; rank 0 prints.
#[cfg(feature = "mpi")]
fn var_on_mpi(
    job: &VarJob,
    options: RunOptions,
    args: &VarArgs,
    historical: Option<&quantmc::historical::HistoricalResult>,
) -> Result<(), CliError> {
    use quantmc::distributed::Communicator;
    not_under_mpi("plot", args.plot.as_ref().map(|p| p.display().to_string()))?;
    not_under_mpi(
        "contributions",
        args.contributions.then(|| "true".to_string()),
    )?;
    not_under_mpi(
        "what-if",
        args.what_if.as_ref().map(|p| p.display().to_string()),
    )?;
    let world = quantmc::distributed::mpi::World::initialize()?;
    let options = RunOptions {
        gpus: args.run.gpus(Some(world.local_rank()))?,
        ..options
    };
    let result = quantmc::distributed::var(job, options, &world)?;
    if world.rank() == 0 {
        warn(&result.warnings);
        output::print_var(
            &result,
            quantmc::report::VarExtras {
                historical,
                ..Default::default()
            },
            args.run.json,
        )?;
    }
    Ok(())
}

/// `var --executor mpi` in a build without MPI: a clear error.
#[cfg(not(feature = "mpi"))]
fn var_on_mpi(
    _: &VarJob,
    _: RunOptions,
    _: &VarArgs,
    _: Option<&quantmc::historical::HistoricalResult>,
) -> Result<(), CliError> {
    mpi_not_compiled_in()
}

/// An option an MPI run does not carry out, refused before MPI starts.
#[cfg(feature = "mpi")]
fn not_under_mpi(field: &str, value: Option<String>) -> Result<(), CliError> {
    match value {
        Some(value) => Err(quantmc::Error::from(quantmc::InputError::invalid(
            field,
            value,
            "is not carried out by an MPI run (run the job on one process for it)",
        ))
        .into()),
        None => Ok(()),
    }
}

/// `price --executor mpi` in a build without MPI: a clear error.
#[cfg(not(feature = "mpi"))]
fn price_on_mpi(_: &PricingJob, _: RunOptions, _: &PriceArgs) -> Result<(), CliError> {
    mpi_not_compiled_in()
}

/// The error of `--executor mpi` in a build without MPI.
#[cfg(not(feature = "mpi"))]
fn mpi_not_compiled_in() -> Result<(), CliError> {
    Err(
        quantmc::Error::from(quantmc::BackendError::NotCompiledWith {
            backend: "mpi",
            feature: "mpi",
        })
        .into(),
    )
}

/// The strip of `--strikes`, `--maturities` and `--implied-vol`, if any
/// was given.
fn strip(args: &PriceArgs) -> Option<quantmc::strip::Strip> {
    (!args.strikes.is_empty() || !args.maturities.is_empty() || args.implied_vol).then(|| {
        quantmc::strip::Strip {
            strikes: args.strikes.clone(),
            maturities: args.maturities.clone(),
            implied_vol: args.implied_vol,
        }
    })
}

/// `price` with a strip: every quote on this process's tier, or each on
/// the ranks of an MPI run (rank 0 prints).
fn price_strip(
    job: &PricingJob,
    strip: &quantmc::strip::Strip,
    options: RunOptions,
    args: &PriceArgs,
) -> Result<(), CliError> {
    let result = match args.executor {
        Executor::Local => watch::watched(args.run.silent(), |control| {
            quantmc::price_strip_with(job, strip, options, control)
        })?,
        Executor::Mpi => match strip_on_mpi(job, strip, options, args)? {
            Some(result) => result,
            None => return Ok(()),
        },
    };
    warn(&result.warnings);
    output::print_strip(&result, args.run.json)?;
    if let Some(path) = &args.plot {
        plot::strip_svg(path, &result)?;
    }
    Ok(())
}

/// A strip's quotes, each priced by every rank; `None` on the ranks other
/// than 0, which print nothing.
#[cfg(feature = "mpi")]
fn strip_on_mpi(
    job: &PricingJob,
    strip: &quantmc::strip::Strip,
    options: RunOptions,
    args: &PriceArgs,
) -> Result<Option<quantmc::strip::StripResult>, CliError> {
    use quantmc::distributed::Communicator;
    let world = quantmc::distributed::mpi::World::initialize()?;
    let options = RunOptions {
        gpus: args.run.gpus(Some(world.local_rank()))?,
        ..options
    };
    let result = strip.price_by(job, |quote| {
        quantmc::distributed::price(quote, options, &world)
    })?;
    Ok((world.rank() == 0).then_some(result))
}

#[cfg(not(feature = "mpi"))]
fn strip_on_mpi(
    _: &PricingJob,
    _: &quantmc::strip::Strip,
    _: RunOptions,
    _: &PriceArgs,
) -> Result<Option<quantmc::strip::StripResult>, CliError> {
    mpi_not_compiled_in().map(|()| None)
}

/// `--style`: a product on one asset, or on the assets of `--assets`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum StyleArg {
    Single(Style),
    Basket(BasketStyle),
}

impl std::fmt::Display for StyleArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StyleArg::Single(style) => style.fmt(f),
            StyleArg::Basket(style) => style.fmt(f),
        }
    }
}

fn parse_style(name: &str) -> Result<StyleArg, quantmc::InputError> {
    match name.parse::<BasketStyle>() {
        Ok(style) => Ok(StyleArg::Basket(style)),
        Err(_) => name.parse::<Style>().map(StyleArg::Single),
    }
}

/// Time steps of a single-asset path unless `--steps` says.
const DEFAULT_STEPS: u64 = 12;
/// The spot unless `--spot` says.
const DEFAULT_SPOT: f64 = 100.0;

/// `--steps`, or `default`, as a step count.
fn steps(args: &PriceArgs, default: u64) -> Result<u32, quantmc::InputError> {
    let steps = args.steps.unwrap_or(default);
    u32::try_from(steps)
        .map_err(|_| quantmc::InputError::invalid("steps", steps, "must be below 2^32"))
}

/// Whether `args` ask for early exercise (or give its flags).
fn early_exercise(args: &PriceArgs) -> bool {
    args.exercise != Exercise::European
        || args.exercise_dates.is_some()
        || args.calibration_paths.is_some()
        || args.upper_bound.is_some()
}

/// Time steps a year of an American option's paths when `--steps` is not
/// given: Longstaff and Schwartz's 50 exercise dates a year.
const AMERICAN_STEPS_A_YEAR: f64 = 50.0;

/// The early-exercise job of `args`: the single-asset job's payoff and
/// market, with the exercise flags.
fn exercise_job(args: &PriceArgs) -> Result<quantmc::exercise::ExerciseJob, quantmc::Error> {
    let pricing = price_job(args)?;
    exercise_job_of(args, pricing, |job, steps| job.option.steps = steps)
}

/// `job` (one asset's, or a basket's) with the exercise flags of `args`,
/// its time steps (`set_steps`) defaulted to the dates; what early
/// exercise cannot carry is refused, naming the flag.
fn exercise_job_of<J: quantmc::exercise::Exercisable>(
    args: &PriceArgs,
    mut job: J,
    set_steps: impl FnOnce(&mut J, u32),
) -> Result<quantmc::exercise::ExerciseJob<J>, quantmc::Error> {
    for (flag, given) in [
        (
            "strikes",
            !args.strikes.is_empty() || !args.maturities.is_empty(),
        ),
        ("implied-vol", args.implied_vol),
        ("plot", args.plot.is_some()),
        ("executor", args.executor == Executor::Mpi),
    ] {
        if given {
            return Err(quantmc::InputError::invalid(
                flag,
                "given",
                &format!(
                    "is not available with --exercise {}: strips, pictures and MPI runs of \
                     early exercise are not written yet",
                    args.exercise
                ),
            )
            .into());
        }
    }
    let dates = args
        .exercise_dates
        .map(|dates| {
            u32::try_from(dates).map_err(|_| {
                quantmc::InputError::invalid("exercise-dates", dates, "must be below 2^32")
            })
        })
        .transpose()?;
    let default_steps = match (args.exercise, dates) {
        (Exercise::Bermudan, Some(dates)) => u64::from(dates),
        (Exercise::American, _) => (AMERICAN_STEPS_A_YEAR * args.maturity).ceil().max(1.0) as u64,
        _ => 1,
    };
    set_steps(&mut job, steps(args, default_steps)?);
    Ok(quantmc::exercise::ExerciseJob {
        job,
        exercise: args.exercise,
        exercise_dates: dates,
        basis: args.basis,
        degree: args.basis_degree,
        calibration_paths: args.calibration_paths,
        upper_bound: args
            .upper_bound
            .map(|inner_paths| quantmc::exercise::UpperBound {
                inner_paths,
                outer_paths: args
                    .upper_bound_paths
                    .unwrap_or(quantmc::exercise::DEFAULT_OUTER_PATHS),
            }),
    })
}

/// The basket job of `--assets` and a basket style: every flag that only a
/// single-asset job reads is refused, naming it.
fn basket_job(args: &PriceArgs) -> Result<quantmc::basket::BasketJob, quantmc::Error> {
    refuse_overwrite(
        ("plot", args.plot.as_deref()),
        &[("--assets", args.assets.as_deref())],
    )?;
    let StyleArg::Basket(style) = args.style else {
        return Err(quantmc::InputError::invalid(
            "style",
            args.style.to_string(),
            "is a product on one asset; the assets of --assets take basket, worst-of, \
             best-of or spread",
        )
        .into());
    };
    let Some(path) = &args.assets else {
        return Err(quantmc::InputError::invalid(
            "assets",
            "none",
            &format!("the {style} style needs its assets: --assets FILE"),
        )
        .into());
    };
    let single_asset: [(&str, bool); 18] = [
        ("spot", args.spot.is_some()),
        ("vol", args.vol.is_some()),
        ("dividend", args.dividend.is_some()),
        ("model", args.model != ModelKind::BlackScholes),
        ("v0", args.v0.is_some()),
        ("kappa", args.kappa.is_some()),
        ("theta", args.theta.is_some()),
        ("xi", args.xi.is_some()),
        ("rho", args.rho.is_some()),
        ("scheme", args.scheme.is_some()),
        ("jump-intensity", args.jump_intensity.is_some()),
        ("jump-mean", args.jump_mean.is_some()),
        ("jump-vol", args.jump_vol.is_some()),
        (
            "greeks-method",
            args.greeks_method == Some(GreeksMethod::Fd),
        ),
        (
            "barrier",
            args.barrier.is_some() || args.barrier_kind.is_some(),
        ),
        (
            "strikes",
            !args.strikes.is_empty() || !args.maturities.is_empty(),
        ),
        ("implied-vol", args.implied_vol),
        ("executor", args.executor == Executor::Mpi),
    ];
    if let Some((flag, _)) = single_asset.iter().find(|(_, given)| *given) {
        return Err(quantmc::InputError::invalid(
            *flag,
            "given",
            &format!(
                "is not available for a {style} on --assets: each asset's spot, vol and \
                 dividend come from the file, under Black-Scholes; its Greeks are pathwise \
                 (each asset's delta and vega); strips and MPI runs of baskets are not \
                 written yet"
            ),
        )
        .into());
    }
    let assets = quantmc::basket::Assets::from_file(path)?;
    let mut job = quantmc::basket::BasketJob::new(assets, style);
    job.kind = args.option;
    job.strike = args.strike;
    job.maturity = args.maturity;
    job.rate = args.rate;
    job.steps = steps(args, 1)?;
    job.paths = args.paths;
    job.seed = args.run.seed;
    job.antithetic = args.antithetic;
    job.control_variate = args.control_variate;
    job.sampler = args.sampler;
    job.replicates = replicates(args)?;
    job.nearest_psd = args.nearest_psd;
    job.greeks = args.greeks;
    job.target = target(args);
    Ok(job)
}

fn price_job(args: &PriceArgs) -> Result<PricingJob, quantmc::Error> {
    let StyleArg::Single(style) = args.style else {
        return Err(quantmc::InputError::invalid(
            "style",
            args.style.to_string(),
            "is a product on several assets: give them with --assets FILE",
        )
        .into());
    };
    let steps = steps(args, DEFAULT_STEPS)?;
    let model = model(args)?;
    let job = PricingJob {
        market: Market {
            spot: args.spot.unwrap_or(DEFAULT_SPOT),
            rate: args.rate,
            dividend: args.dividend.unwrap_or(0.0),
            vol: args.vol.unwrap_or(DEFAULT_VOL),
        },
        model,
        option: OptionSpec {
            kind: args.option,
            style,
            strike: args.strike,
            maturity: args.maturity,
            steps,
            barrier: barrier(args)?,
        },
        paths: args.paths,
        seed: args.run.seed,
        antithetic: args.antithetic,
        control_variate: args.control_variate,
        sampler: args.sampler,
        replicates: replicates(args)?,
        target: target(args),
        greeks: args
            .greeks
            .then(|| args.greeks_method.unwrap_or(GreeksMethod::Pathwise)),
    };
    Ok(job)
}

/// The volatility of bs and merton unless `--vol` says.
const DEFAULT_VOL: f64 = 0.2;

/// The model of `--model` and its parameters' flags.
fn model(args: &PriceArgs) -> Result<Model, quantmc::InputError> {
    ModelParameters {
        vol: args.vol,
        v0: args.v0,
        kappa: args.kappa,
        theta: args.theta,
        xi: args.xi,
        rho: args.rho,
        scheme: args.scheme,
        jump_intensity: args.jump_intensity,
        jump_mean: args.jump_mean,
        jump_vol: args.jump_vol,
    }
    .model(args.model)
}

/// The randomizations of `--replicates` (16 unless given), which only the
/// rqmc sampler takes.
fn replicates(args: &PriceArgs) -> Result<u32, quantmc::InputError> {
    let Some(replicates) = args.replicates else {
        return Ok(16);
    };
    if args.sampler != Sampler::Rqmc {
        return Err(quantmc::InputError::invalid(
            "replicates",
            replicates,
            &format!(
                "only the rqmc sampler takes replicates (--sampler {} draws independent paths)",
                args.sampler
            ),
        ));
    }
    u32::try_from(replicates)
        .map_err(|_| quantmc::InputError::invalid("replicates", replicates, "must be below 2^32"))
}

/// The barrier of `--barrier` and `--barrier-kind`: both or neither; its
/// `--rebate` and `--monitoring` only with them.
fn barrier(args: &PriceArgs) -> Result<Option<Barrier>, quantmc::InputError> {
    match (args.barrier, args.barrier_kind) {
        (Some(level), Some(kind)) => Ok(Some(Barrier {
            level,
            kind,
            rebate: args.rebate.unwrap_or(0.0),
            monitoring: args.monitoring.unwrap_or(Monitoring::Discrete),
        })),
        (None, None) => {
            if let Some(rebate) = args.rebate {
                return Err(quantmc::InputError::invalid(
                    "rebate",
                    rebate,
                    "only a barrier option (--barrier with --barrier-kind) pays a rebate",
                ));
            }
            if let Some(monitoring) = args.monitoring {
                return Err(quantmc::InputError::invalid(
                    "monitoring",
                    monitoring.to_string(),
                    "only a barrier option (--barrier with --barrier-kind) is monitored",
                ));
            }
            Ok(None)
        }
        (Some(level), None) => Err(quantmc::InputError::invalid(
            "barrier-kind",
            "none",
            &format!(
                "--barrier {level} needs --barrier-kind (up-and-out, up-and-in, down-and-out or down-and-in)"
            ),
        )),
        (None, Some(kind)) => Err(quantmc::InputError::invalid(
            "barrier",
            "none",
            &format!("--barrier-kind {kind} needs --barrier LEVEL"),
        )),
    }
}

/// The precision target of `--target-se` / `--target-rel-se`, if any.
fn target(args: &PriceArgs) -> Option<Target> {
    let precision = match (args.target_se, args.target_rel_se) {
        (Some(se), _) => Precision::StdError(se),
        (None, Some(relative)) => Precision::RelStdError(relative),
        (None, None) => return None,
    };
    Some(Target {
        precision,
        max_paths: args
            .max_paths
            .unwrap_or_else(|| DEFAULT_MAX_PATHS.max(args.paths.saturating_mul(2))),
    })
}

/// Scenarios the P&L picture shows.
const PLOTTED_SCENARIOS: u64 = 1_000_000;

/// `job` priced at growing path counts up to the final run's (halving down
/// to about 1,000 paths): each run takes the first paths of the same
/// streams, so the curve is the one estimate growing. About twice the work
/// of the job itself.
fn running_estimates(
    last: &quantmc::PricingResult,
    replicates: u32,
    price_at: impl Fn(u64) -> Result<quantmc::PricingResult, quantmc::Error>,
) -> Result<Vec<quantmc::PricingResult>, quantmc::Error> {
    let smallest = 1000u64.max(2 * u64::from(replicates));
    let mut counts = Vec::new();
    let mut paths = last.paths / 2;
    while paths >= smallest && counts.len() < 24 {
        counts.push(paths);
        paths /= 2;
    }
    let mut runs = counts
        .into_iter()
        .rev()
        .map(price_at)
        .collect::<Result<Vec<_>, _>>()?;
    runs.push(last.clone());
    Ok(runs)
}

/// Refuses an output path (`output`, the flag's name) that names one of
/// the run's input files: `fit --portfolio book.json --output book.json`
/// would replace the book it reads, `--output prices.csv` the price file.
fn refuse_overwrite(
    output: (&str, Option<&Path>),
    inputs: &[(&str, Option<&Path>)],
) -> Result<(), quantmc::Error> {
    let (flag, Some(path)) = output else {
        return Ok(());
    };
    for &(input, other) in inputs {
        if other.is_some_and(|other| quantmc::files::same_file(path, other)) {
            return Err(quantmc::InputError::invalid(
                flag,
                path.display().to_string(),
                &format!(
                    "is also the {input} file: an output may not replace an input of its own run"
                ),
            )
            .into());
        }
    }
    Ok(())
}

fn fit_job(args: &FitArgs) -> Result<quantmc::fit::FitJob, quantmc::Error> {
    refuse_overwrite(
        ("output", args.output.as_deref()),
        &[
            ("--prices", Some(&args.prices)),
            ("--portfolio", args.portfolio.as_deref()),
        ],
    )?;
    use quantmc::fit::{FitJob, Weighting, Weights};
    let (weights, book_value, overlay) = match (&args.weights, &args.portfolio) {
        (_, Some(path)) => {
            let book = Portfolio::from_file(path)?;
            let named = book.assets.iter().map(|a| (a.name.clone(), a.weight));
            let overlay = quantmc::fit::Overlay::of(&book);
            (Weights::Named(named.collect()), Some(book.value), overlay)
        }
        (Some(text), None) if text.trim() == "equal" => (Weights::Equal, None, Default::default()),
        (Some(text), None) => (
            Weights::Named(parse_weights(text)?),
            None,
            Default::default(),
        ),
        (None, None) => unreachable!("clap requires --weights or --portfolio"),
    };
    Ok(FitJob {
        weighting: args
            .ewma
            .map_or(Weighting::Sample, |lambda| Weighting::Ewma { lambda }),
        nearest_psd: args.nearest_psd,
        value: args.value.or(book_value).unwrap_or(1_000_000.0),
        weights,
        overlay,
    })
}

/// `NAME=WEIGHT,NAME=WEIGHT,...`.
fn parse_weights(text: &str) -> Result<Vec<(String, f64)>, quantmc::InputError> {
    text.split(',')
        .map(|pair| {
            let (name, weight) = pair.split_once('=').ok_or_else(|| {
                quantmc::InputError::invalid(
                    "weights",
                    pair,
                    "expected NAME=WEIGHT pairs separated by commas, or 'equal'",
                )
            })?;
            let weight: f64 = weight.trim().parse().map_err(|_| {
                quantmc::InputError::invalid(
                    format!("weights.{}", name.trim()),
                    weight,
                    "not a number",
                )
            })?;
            Ok((name.trim().to_string(), weight))
        })
        .collect()
}

/// The stretch of `--stressed`: `--stress-window FROM..TO`, else the worst
/// of `--stress-days`.
fn stress_window(args: &VarArgs) -> Result<quantmc::historical::StressWindow, quantmc::Error> {
    use quantmc::historical::StressWindow;
    Ok(match &args.stress_window {
        Some(text) => {
            let (from, to) = text.split_once("..").ok_or_else(|| {
                quantmc::InputError::invalid("stress-window", text, "must be FROM..TO")
            })?;
            StressWindow::Dates {
                from: from.trim().to_string(),
                to: to.trim().to_string(),
            }
        }
        None => StressWindow::Worst {
            days: usize::try_from(args.stress_days).map_err(|_| {
                quantmc::InputError::invalid(
                    "stress-days",
                    args.stress_days,
                    "is past the largest supported count",
                )
            })?,
        },
    })
}

fn backtest_job(args: &BacktestArgs) -> Result<quantmc::backtest::BacktestJob, quantmc::Error> {
    use quantmc::backtest::{BacktestJob, Method};
    let method = match args.method.as_str() {
        "filtered" => Method::Filtered { lambda: args.ewma },
        "parametric" => Method::Parametric,
        _ => Method::Historical,
    };
    let too_many = |field: &str, value: u64| {
        quantmc::InputError::invalid(field, value, "is past the largest supported count")
    };
    let job = BacktestJob {
        window: usize::try_from(args.window).map_err(|_| too_many("window", args.window))?,
        confidence: args.confidence.parse()?,
        method,
        horizon_days: args.horizon_days,
        es_simulations: u32::try_from(args.es_simulations)
            .map_err(|_| too_many("es-simulations", args.es_simulations))?,
        seed: args.seed,
    };
    job.validate()?;
    Ok(job)
}

fn var_job(args: &VarArgs) -> Result<VarJob, quantmc::Error> {
    refuse_overwrite(
        ("plot", args.plot.as_deref()),
        &[
            ("--portfolio", Some(&args.portfolio)),
            ("--historical", args.historical.as_deref()),
        ],
    )?;
    let confidences = if args.confidence.is_empty() {
        vec![Confidence::new(0.95), Confidence::new(0.99)]
    } else {
        args.confidence
            .iter()
            .map(|text| text.parse())
            .collect::<Result<_, _>>()?
    };
    let distribution = match (args.dist.as_str(), args.dof) {
        ("student-t", dof) => ReturnDistribution::StudentT {
            dof: dof.unwrap_or(5.0),
        },
        (_, Some(dof)) => {
            return Err(quantmc::InputError::invalid(
                "dof",
                dof,
                "applies only to --dist student-t (the distribution is normal)",
            )
            .into());
        }
        (_, None) => ReturnDistribution::Normal,
    };
    let job = VarJob {
        portfolio: Portfolio::from_file(&args.portfolio)?,
        scenarios: args.scenarios,
        confidences,
        horizon_days: args.horizon_days,
        distribution,
        seed: args.run.seed,
    };
    Ok(job)
}
