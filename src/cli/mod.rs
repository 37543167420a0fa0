//! Raw flags (clap) turned into typed library jobs, run, and printed.

mod count;
mod output;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use quantmc::{
    Backend, Confidence, Market, OptionKind, OptionSpec, Portfolio, PricingJob, ReturnDistribution,
    RunOptions, Style, VarJob,
};

use count::parse_count;

/// An error with the exit code the command ends with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input or a tier that cannot run: exit 2.
    #[error(transparent)]
    Library(#[from] quantmc::Error),
    /// Anything else (e.g. writing the output failed): exit 1.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Library(_) => 2,
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
    /// Price a European or Asian option by Monte Carlo.
    Price(PriceArgs),
    /// Portfolio Value-at-Risk and Expected Shortfall by Monte Carlo.
    Var(VarArgs),
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
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    fn options(&self) -> RunOptions {
        RunOptions {
            backend: self.backend,
            threads: self.threads,
        }
    }
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
struct PriceArgs {
    /// call or put.
    #[arg(long, default_value = "call", value_parser = parse_option_kind)]
    option: OptionKind,
    /// european, asian-arithmetic or asian-geometric.
    #[arg(long, default_value = "european", value_parser = parse_style)]
    style: Style,
    #[arg(long, default_value_t = 100.0)]
    spot: f64,
    #[arg(long, default_value_t = 100.0)]
    strike: f64,
    /// Years to expiry.
    #[arg(long, default_value_t = 1.0)]
    maturity: f64,
    /// Continuously compounded risk-free rate.
    #[arg(long, default_value_t = 0.05)]
    rate: f64,
    /// Continuous dividend yield.
    #[arg(long, default_value_t = 0.0)]
    dividend: f64,
    /// Annualised volatility.
    #[arg(long, default_value_t = 0.2)]
    vol: f64,
    /// Fixings of an Asian option (equally spaced, t = T/N .. T).
    #[arg(long, default_value = "12", value_parser = parse_count)]
    steps: u64,
    /// Simulated paths (1000000, 1e6, 1_000_000 and 1M all work).
    #[arg(long, default_value = "1000000", value_parser = parse_count)]
    paths: u64,
    /// Antithetic pairs: N paths are N/2 pairs (z, -z).
    #[arg(long)]
    antithetic: bool,
    #[command(flatten)]
    run: RunArgs,
}

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
    #[arg(long, default_value_t = 1.0)]
    horizon_days: f64,
    /// Return distribution: normal or student-t.
    #[arg(long, default_value = "normal", value_parser = ["normal", "student-t"])]
    dist: String,
    /// Degrees of freedom of the Student-t distribution (> 2).
    #[arg(long, default_value_t = 5.0)]
    dof: f64,
    #[command(flatten)]
    run: RunArgs,
}

fn parse_backend(text: &str) -> Result<Backend, String> {
    text.parse()
        .map_err(|err: quantmc::InputError| err.to_string())
}

fn parse_option_kind(text: &str) -> Result<OptionKind, String> {
    text.parse()
        .map_err(|err: quantmc::InputError| err.to_string())
}

fn parse_style(text: &str) -> Result<Style, String> {
    text.parse()
        .map_err(|err: quantmc::InputError| err.to_string())
}

/// Parses the arguments, builds typed jobs, runs them (the library validates
/// every job before any work) and prints.
pub fn run() -> Result<(), CliError> {
    let cli = Cli::parse();
    match cli.command {
        Command::Price(args) => {
            let job = price_job(&args)?;
            let result = quantmc::price(&job, args.run.options())?;
            output::print_price(&result, args.run.json)?;
        }
        Command::Var(args) => {
            let job = var_job(&args)?;
            let result = quantmc::var(&job, args.run.options())?;
            output::print_var(&result, args.run.json)?;
        }
        Command::Info => output::print_info()?,
        Command::Calibrate { json } => {
            let (calibration, timings) = quantmc::calibrate::run(|t| {
                if !json {
                    eprintln!(
                        "  {:<7} {:>5} {:>9.2e} work units  {:.6} s",
                        t.backend.name(),
                        format!("{:?}", t.workload).to_lowercase(),
                        t.units,
                        t.seconds
                    );
                }
            })?;
            let path = quantmc::selector::calibration_path().ok_or_else(|| {
                anyhow::anyhow!(
                    "no cache directory; set {} to a file path",
                    quantmc::selector::CALIBRATION_ENV
                )
            })?;
            quantmc::selector::save_to(&calibration, &path)
                .map_err(|err| anyhow::anyhow!("writing {}: {err}", path.display()))?;
            output::print_calibration(&calibration, &timings, &path, json)?;
        }
    }
    Ok(())
}

fn price_job(args: &PriceArgs) -> Result<PricingJob, quantmc::Error> {
    let steps = u32::try_from(args.steps)
        .map_err(|_| quantmc::InputError::invalid("steps", args.steps, "must be below 2^32"))?;
    let job = PricingJob {
        market: Market {
            spot: args.spot,
            rate: args.rate,
            dividend: args.dividend,
            vol: args.vol,
        },
        option: OptionSpec {
            kind: args.option,
            style: args.style,
            strike: args.strike,
            maturity: args.maturity,
            steps,
        },
        paths: args.paths,
        seed: args.run.seed,
        antithetic: args.antithetic,
    };
    Ok(job)
}

fn var_job(args: &VarArgs) -> Result<VarJob, quantmc::Error> {
    let confidences = if args.confidence.is_empty() {
        vec![Confidence::new(0.95), Confidence::new(0.99)]
    } else {
        args.confidence
            .iter()
            .map(|text| text.parse())
            .collect::<Result<_, _>>()?
    };
    let distribution = match args.dist.as_str() {
        "student-t" => ReturnDistribution::StudentT { dof: args.dof },
        _ => ReturnDistribution::Normal,
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
