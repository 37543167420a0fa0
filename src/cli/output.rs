//! Printing results: one JSON object with `--json`, else a short aligned table.

use std::io::Write;

use anyhow::Context;
use serde_json::json;

use quantmc::Tier;
use quantmc::calibrate::Timing;
use quantmc::selector::{self, Calibration, Work, Workload};

use super::Environment;
use quantmc::{Portfolio, PricingResult, VarResult, hardware};

fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}").context("writing to stdout")
}

/// `text` with every control character escaped (`\u{1b}`), so a name
/// read from an input file cannot move the cursor, retitle or clear the
/// user's terminal when a table prints it (JSON escapes them already).
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

fn table(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(label, value)| format!("{label:<width$}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints a priced strip: its shared provenance, then one line a quote.
pub fn print_strip(result: &quantmc::strip::StripResult, json: bool) -> anyhow::Result<()> {
    if json {
        return emit(&serde_json::to_string(result)?);
    }
    let implied = result.strikes.iter().any(|q| q.implied_vol.is_some());
    let reference = result.strikes.iter().any(|q| q.closed_form.is_some());
    let mut header = format!(
        "{:>9}  {:>10}  {:>12}  {:>10}",
        "maturity", "strike", "price", "std error"
    );
    if reference {
        header += &format!("  {:>12}", "closed form");
    }
    if implied {
        header += &format!(
            "  {:>11}  {:>8}  {:>14}",
            "implied vol", "SE", "closed-form IV"
        );
    }
    let mut lines = vec![header];
    for q in &result.strikes {
        let mut line = format!(
            "{:>9}  {:>10}  {:>12.6}  {:>10.6}",
            q.maturity, q.strike, q.price, q.std_error
        );
        if reference {
            line += &format!("  {:>12}", fixed(q.closed_form, 6));
        }
        if implied {
            line += &format!(
                "  {:>11}  {:>8}  {:>14}",
                percent(q.implied_vol),
                percent(q.implied_vol_std_error),
                percent(q.closed_form_implied_vol),
            );
        }
        lines.push(line);
    }
    let mut rows = Vec::new();
    if !result.model.is_black_scholes() {
        rows.push(("model", result.model.describe()));
    }
    rows.extend([
        ("method", result.method.clone()),
        (
            "paths",
            format!(
                "{} a quote, the same for every quote (seed {})",
                result.paths, result.seed
            ),
        ),
        ("backend", result.backend.clone()),
        ("selection", result.selection.clone()),
        ("elapsed", format!("{:.3} s", result.elapsed_s)),
    ]);
    emit(&format!("{}\n\n{}", lines.join("\n"), table(&rows)))
}

fn fixed(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

/// A volatility as a percentage with three decimals, or `-` where there is
/// none (a price outside the no-arbitrage bounds).
fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{:.3}%", 100.0 * v))
}

/// Prints a priced option.
pub fn print_price(result: &PricingResult, json: bool) -> anyhow::Result<()> {
    if json {
        return emit(&serde_json::to_string(result)?);
    }
    emit(&table(&price_rows(result)))
}

/// A basket's price as a table (or one JSON object): the single-asset rows
/// with the product, its assets and the geometric basket's closed form.
pub fn print_basket(result: &quantmc::basket::BasketResult, json: bool) -> anyhow::Result<()> {
    if json {
        return emit(&serde_json::to_string(result)?);
    }
    let mut rows = price_rows(&result.pricing);
    let at = rows
        .iter()
        .position(|(name, _)| *name == "method")
        .unwrap_or(0);
    let mut extra = vec![(
        "product",
        format!("{} on {}", result.style, shown(&result.assets.join(", "))),
    )];
    if let Some(geometric) = result.geometric_basket {
        extra.push(("geometric basket", format!("{geometric:.6} (closed form)")));
    }
    for greeks in result.asset_greeks.iter().flatten() {
        for (name, greek) in [("delta", greeks.delta), ("vega", greeks.vega)] {
            extra.push((
                name,
                format!(
                    "{:<10} {:.6} (SE {:.6})",
                    shown(&greeks.asset),
                    greek.value,
                    greek.std_error
                ),
            ));
        }
    }
    if let Some(change) = result.correlation_repaired {
        extra.push((
            "correlation",
            format!("repaired to the nearest PSD (largest change {change:.3e})"),
        ));
    }
    rows.splice(at..at, extra);
    emit(&table(&rows))
}

/// An early-exercise result: the pricing table with the lattice's values
/// and the policy.
pub fn print_exercise(
    result: &quantmc::exercise::ExerciseResult,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        return emit(&serde_json::to_string(result)?);
    }
    let mut rows = price_rows(&result.pricing);
    if let Some(row) = rows.iter_mut().find(|(name, _)| *name == "closed form") {
        row.0 = "lattice";
    }
    let at = rows
        .iter()
        .position(|(name, _)| *name == "method")
        .unwrap_or(0);
    let policy = &result.policy;
    let mut extra = vec![(
        "exercise",
        format!("{} ({} dates)", result.exercise, policy.dates),
    )];
    if let Some(american) = result.american {
        extra.push(("american limit", format!("{american:.6} (lattice)")));
    }
    extra.push((
        "calibration",
        format!(
            "{} paths, {:.1} MiB stored",
            policy.calibration_paths,
            policy.calibration_bytes as f64 / f64::from(1 << 20)
        ),
    ));
    if !policy.held_dates.is_empty() {
        extra.push(("dates held", format!("{:?}", policy.held_dates)));
    }
    if let Some(bound) = &result.upper_bound {
        extra.push((
            "upper bound",
            format!(
                "{:.6} (SE {:.6}; gap {:.6}, SE {:.6})",
                bound.value, bound.std_error, bound.gap, bound.gap_std_error
            ),
        ));
        extra.push((
            "95% bracket",
            format!("[{:.6}, {:.6}]", bound.bracket95[0], bound.bracket95[1]),
        ));
    }
    rows.splice(at..at, extra);
    emit(&table(&rows))
}

/// The rows of a priced option's table.
fn price_rows(result: &PricingResult) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("price", format!("{:.6}", result.price)),
        ("std error", format!("{:.6}", result.std_error)),
        (
            "95% CI",
            format!("[{:.6}, {:.6}]", result.ci95[0], result.ci95[1]),
        ),
    ];
    if let Some(exact) = result.closed_form {
        let gap = if result.std_error > 0.0 {
            format!(
                " ({:+.2} SE from the estimate)",
                (exact - result.price) / result.std_error
            )
        } else {
            String::new()
        };
        rows.push(("closed form", format!("{exact:.6}{gap}")));
    }
    if let Some(greeks) = &result.greeks {
        for (name, greek) in [
            ("delta", greeks.delta),
            ("gamma", greeks.gamma),
            ("vega", greeks.vega),
            ("rho", greeks.rho),
            ("theta", greeks.theta),
        ] {
            rows.push((
                name,
                format!("{:.6} (SE {:.6})", greek.value, greek.std_error),
            ));
        }
        rows.push(("greeks by", greeks.method.clone()));
    }
    if !result.model.is_black_scholes() {
        rows.push(("model", result.model.describe()));
    }
    rows.push(("method", result.method.clone()));
    if let Some(factor) = result.variance_reduction {
        rows.push(("variance reduction", format!("{factor:.1}x")));
    }
    if let Some(coefficient) = result.control_coefficient {
        rows.push(("control coefficient", format!("{coefficient:.6}")));
    }
    if let Some(reached) = result.target_reached {
        rows.push((
            "target",
            if reached { "reached" } else { "NOT reached" }.to_string(),
        ));
    }
    rows.extend([
        (
            "paths",
            match result.pilot_paths {
                Some(pilot) => format!(
                    "{} (a pilot of {pilot} sized the run; the estimate rests on {})",
                    result.paths,
                    result.paths - pilot
                ),
                None => result.paths.to_string(),
            },
        ),
        ("seed", result.seed.to_string()),
        ("backend", result.backend.clone()),
        ("selection", result.selection.clone()),
        ("elapsed", format!("{:.3} s", result.elapsed_s)),
        ("paths/s", format!("{:.3e}", result.paths_per_sec)),
    ]);
    rows
}

/// A portfolio as JSON with one line per asset, option and correlation row.
fn portfolio_json(book: &Portfolio) -> String {
    let lines = |items: Vec<String>| {
        items
            .iter()
            .map(|item| format!("    {item}"))
            .collect::<Vec<_>>()
            .join(",\n")
    };
    fn plain<T: serde::Serialize + ?Sized>(value: &T) -> String {
        serde_json::to_string(value).expect("plain data")
    }
    let mut text = format!("{{\n  \"value\": {},\n", plain(&book.value));
    if book.rate != 0.0 {
        text += &format!("  \"rate\": {},\n", plain(&book.rate));
    }
    text += &format!(
        "  \"assets\": [\n{}\n  ],\n",
        lines(book.assets.iter().map(plain).collect())
    );
    if !book.options.is_empty() {
        text += &format!(
            "  \"options\": [\n{}\n  ],\n",
            lines(book.options.iter().map(plain).collect())
        );
    }
    text + &format!(
        "  \"correlation\": [\n{}\n  ]\n}}",
        lines(
            book.correlation
                .iter()
                .map(|r| plain(r.as_slice()))
                .collect()
        )
    )
}

/// Prints a VaR/ES run.
pub fn print_var(
    result: &VarResult,
    extras: quantmc::report::VarExtras<'_>,
    json: bool,
) -> anyhow::Result<()> {
    let options_book = result.levels.iter().any(|l| l.delta_gamma_var.is_some());
    if json {
        return emit(&quantmc::report::var_document(result, extras).to_string());
    }
    let quantmc::report::VarExtras {
        historical,
        contributions,
        what_if,
    } = extras;
    let header = table(&[
        ("scenarios", result.scenarios.to_string()),
        ("seed", result.seed.to_string()),
        ("backend", result.backend.clone()),
        ("selection", result.selection.clone()),
        ("elapsed", format!("{:.3} s", result.elapsed_s)),
        ("mean P&L", format!("{:.2}", result.mean)),
        ("std P&L", format!("{:.2}", result.std)),
    ]);
    let mut lines = vec![header, String::new()];
    if options_book {
        lines.push(
            "VaR/ES: full revaluation; delta: the linear shortcut's closed form; \
             delta-gamma: Cornish-Fisher under normal returns"
                .to_string(),
        );
        lines.push(format!(
            "{:>10}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}",
            "confidence", "VaR", "ES", "delta VaR", "delta ES", "d-gamma VaR", "d-gamma ES"
        ));
        for level in &result.levels {
            lines.push(format!(
                "{:>10}  {:>12.2}  {:>12.2}  {:>12.2}  {:>12.2}  {:>12.2}  {:>12.2}",
                level.confidence.label,
                level.var,
                level.es,
                level.parametric_var,
                level.parametric_es,
                level.delta_gamma_var.unwrap_or(f64::NAN),
                level.delta_gamma_es.unwrap_or(f64::NAN)
            ));
        }
    } else {
        lines.push(format!(
            "{:>10}  {:>14}  {:>14}  {:>14}  {:>14}",
            "confidence", "VaR", "ES", "parametric VaR", "parametric ES"
        ));
        for level in &result.levels {
            lines.push(format!(
                "{:>10}  {:>14.2}  {:>14.2}  {:>14.2}  {:>14.2}",
                level.confidence.label,
                level.var,
                level.es,
                level.parametric_var,
                level.parametric_es
            ));
        }
    }
    if let Some(h) = historical {
        lines.push(String::new());
        lines.push(format!(
            "{} over {} windows ({} .. {}): mean P&L {:.2}, std {:.2}",
            h.method, h.windows, h.dates.0, h.dates.1, h.mean, h.std
        ));
        historical_levels(&mut lines, &h.levels);
        if let Some(stressed) = &h.stressed {
            lines.push(String::new());
            lines.push(format!(
                "stressed (historical) over {} .. {}: {} days of returns, the worst of {} stretches",
                shown(&stressed.window.from),
                shown(&stressed.window.to),
                stressed.days,
                stressed.searched
            ));
            historical_levels(&mut lines, &stressed.levels);
        }
        if let Some(frtb) = &h.frtb {
            lines.push(String::new());
            lines.push(format!(
                "FRTB ES (97.5%, 10-day base horizon, {} overlapping windows): {:.2}",
                frtb.windows, frtb.es
            ));
            lines.push(format!("{:>18}  {:>14}", "liquidity horizon", "ES_T(P, j)"));
            for bucket in &frtb.buckets {
                lines.push(format!(
                    "{:>18}  {:>14.2}",
                    format!("{} days", bucket.liquidity_horizon),
                    bucket.es
                ));
            }
            if let Some(scaling) = &frtb.stressed_scaling {
                lines.push(format!(
                    "stressed: ES_R,S {:.2} over {} .. {} x max(1, ES_F,C {:.2} / ES_R,C {:.2}) = {:.2}",
                    scaling.es_reduced_stressed,
                    shown(&scaling.window.from),
                    shown(&scaling.window.to),
                    scaling.es_full_current,
                    scaling.es_reduced_current,
                    scaling.es
                ));
            }
        }
    }
    for level in contributions.unwrap_or_default() {
        lines.push(String::new());
        lines.push(format!("contributions at {}", level.confidence.label));
        let width = level
            .positions
            .iter()
            .map(|p| shown(&p.name).chars().count())
            .max()
            .unwrap_or(0)
            .max(10);
        lines.push(format!(
            "{:<width$}  {:>14}  {:>14}  {:>14}",
            "position", "component VaR", "component ES", "marginal VaR"
        ));
        for p in &level.positions {
            lines.push(format!(
                "{:<width$}  {:>14.2}  {:>14.2}  {:>14.2}",
                shown(&p.name),
                p.component_var,
                p.component_es,
                p.marginal_var
            ));
        }
    }
    if let Some(what_if) = what_if {
        lines.push(String::new());
        lines.push(format!(
            "what if (the same {} scenarios with and without the trade; SEs from {} batches)",
            what_if.scenarios, what_if.batches
        ));
        lines.push(format!(
            "{:>10}  {:>12}  {:>12}  {:>22}  {:>22}  {:>14}",
            "confidence",
            "VaR before",
            "VaR after",
            "VaR change (SE)",
            "ES change (SE)",
            "indep. SE"
        ));
        for level in &what_if.levels {
            lines.push(format!(
                "{:>10}  {:>12.2}  {:>12.2}  {:>22}  {:>22}  {:>14.2}",
                level.confidence.label,
                level.var_before,
                level.var_after,
                format!(
                    "{:.2} ({:.2})",
                    level.var_change, level.var_change_std_error
                ),
                format!("{:.2} ({:.2})", level.es_change, level.es_change_std_error),
                level.independent_std_error
            ));
        }
    }
    emit(&lines.join("\n"))
}

/// Prints the hardware, the tiers and what Auto would pick.
pub fn print_info(env: &Environment) -> anyhow::Result<()> {
    let hw = hardware::detect();
    let physical = hw
        .physical_cores
        .map_or_else(|| "unknown".to_string(), |n| n.to_string());
    let simd = env.simd()?;
    let backends = quantmc::backend::availability(simd, env.allow_software_gpu)
        .into_iter()
        .map(|(backend, status)| format!("  {:<7} {status}", backend.name()))
        .collect::<Vec<_>>()
        .join("\n");
    let adapters = quantmc::backend::gpu_adapters();
    let adapters = if adapters.is_empty() {
        "  none found".to_string()
    } else {
        adapters
            .iter()
            .map(|a| format!("  {a}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let hardware = table(&[
        ("cpu", hw.cpu_model.clone()),
        (
            "cores",
            format!("{} logical, {physical} physical", hw.logical_cores),
        ),
        (
            "simd",
            format!(
                "{} (runs: {}{})",
                simd.unwrap_or(hw.simd),
                hw.simd_supported
                    .iter()
                    .map(|isa| isa.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                match simd {
                    Some(_) => format!("; chosen by {}", super::SIMD_ENV),
                    None => "; the best is chosen at run time".to_string(),
                }
            ),
        ),
    ]);
    let cores = rayon::current_num_threads();
    let tuning = env
        .tuning()
        .unwrap_or_else(|| quantmc::Tuning::builtin_for(cores));
    let choices = [
        (Workload::Pricing, 1, 1e3, "European, 1e3 paths"),
        (Workload::Pricing, 1, 1e5, "European, 1e5 paths"),
        (Workload::Pricing, 1, 1e7, "European, 1e7 paths"),
        (Workload::Pricing, 64, 1e4, "Asian 64 steps, 1e4 paths"),
        (Workload::Pricing, 64, 1e6, "Asian 64 steps, 1e6 paths"),
        (Workload::Pricing, 1, 1e9, "European, 1e9 paths"),
        (Workload::Risk, 10, 1e4, "VaR 10 assets, 1e4 scenarios"),
        (Workload::Risk, 10, 1e7, "VaR 10 assets, 1e7 scenarios"),
        (Workload::Risk, 10, 1e9, "VaR 10 assets, 1e9 scenarios"),
    ]
    .iter()
    .map(|&(workload, per_sample, samples, label)| {
        let work = Work {
            workload,
            units: per_sample as f64 * samples,
            samples: samples as u64,
            gpu_unsupported: None,
        };
        let decision = selector::decide(work, cores, quantmc::backend::gpu_class, &tuning);
        format!("  {label:<30} -> {}", decision.reason)
    })
    .collect::<Vec<_>>()
    .join("\n");
    let source = match (&env.calibration, &env.calibration_path) {
        (Some(_), Some(path)) => format!("calibration: {}", path.display()),
        _ => "calibration: built-in defaults (run `quantmc calibrate` to measure this machine)"
            .to_string(),
    };
    emit(&format!(
        "{hardware}\n\ngpu adapters:\n{adapters}\n\nbackends:\n{backends}\n\nauto would pick ({source}):\n{choices}"
    ))
}

/// Prints a calibration and its timings.
pub fn print_calibration(
    calibration: &Calibration,
    timings: &[Timing],
    path: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        return emit(
            &json!({"path": path, "calibration": calibration, "timings": timings}).to_string(),
        );
    }
    let show =
        |value: Option<f64>| value.map_or_else(|| "never".to_string(), |v| format!("{v:.2e}"));
    let tuning = &calibration.tuning;
    let mut rows = Vec::new();
    for (workload, crossovers) in [("pricing", &tuning.pricing), ("var", &tuning.risk)] {
        for tier in [Tier::Rayon, Tier::Gpu] {
            rows.push((
                format!("{workload}: {tier} from"),
                show(crossovers.get(tier)),
            ));
        }
    }
    let rows: Vec<(&str, String)> = rows.iter().map(|(l, v)| (l.as_str(), v.clone())).collect();
    emit(&format!("wrote {}\n{}", path.display(), table(&rows)))
}

/// The fitted book as portfolio JSON, one asset and one correlation row a
/// line, to `path` (with a one-line summary on stdout) or to stdout. A
/// repaired correlation is said on stderr.
/// A backtest: the tests, the traffic light and the exceptions (table), or
/// the whole result (JSON, the series included).
pub fn print_backtest(
    result: &quantmc::backtest::BacktestResult,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        return emit(&serde_json::to_string(result)?);
    }
    let test = |t: &quantmc::backtest::LrTest| format!("LR {:.3}, p-value {:.4}", t.lr, t.p_value);
    let light = &result.traffic_light;
    let mut lines = vec![table(&[
        (
            "method",
            format!("{} ({}-day window)", result.method, result.window),
        ),
        ("confidence", result.confidence.label.clone()),
        (
            "days",
            format!(
                "{} ({} .. {})",
                result.days,
                shown(result.dates.first().map_or("", String::as_str)),
                shown(result.dates.last().map_or("", String::as_str))
            ),
        ),
        (
            "exceptions",
            format!(
                "{} ({:.2}%; expected {:.2}%)",
                result.exception_count,
                100.0 * result.exception_rate,
                100.0 * result.expected_rate
            ),
        ),
        ("Kupiec POF", test(&result.kupiec)),
        ("independence", test(&result.christoffersen.independence)),
        (
            "cond. coverage",
            test(&result.christoffersen.conditional_coverage),
        ),
        (
            "traffic light",
            format!(
                "{}: {} exceptions in the last {} days{}",
                light.zone,
                light.exceptions,
                light.days,
                light
                    .plus_factor
                    .map_or(String::new(), |plus| format!(", plus factor {plus:.2}"))
            ),
        ),
        (
            "ES test (Z2)",
            format!(
                "{:.4}, p-value {:.4} ({} simulations)",
                result.es_test.z2, result.es_test.p_value, result.es_test.simulations
            ),
        ),
    ])];
    if !result.exceptions.is_empty() {
        lines.push(String::new());
        lines.push(format!("{:<12}  {:>14}  {:>14}", "exception", "P&L", "VaR"));
        for exception in &result.exceptions {
            lines.push(format!(
                "{:<12}  {:>14.2}  {:>14.2}",
                shown(&exception.date),
                exception.pnl,
                exception.var
            ));
        }
    }
    emit(&lines.join("\n"))
}

/// The table of a historical run's levels: VaR, ES and the tail's size.
fn historical_levels(lines: &mut Vec<String>, levels: &[quantmc::historical::HistoricalLevel]) {
    lines.push(format!(
        "{:>10}  {:>14}  {:>14}  {:>8}",
        "confidence", "VaR", "ES", "tail"
    ));
    for level in levels {
        lines.push(format!(
            "{:>10}  {:>14.2}  {:>14.2}  {:>8}",
            level.confidence.label, level.var, level.es, level.tail
        ));
    }
}

pub fn print_fit(fit: &quantmc::fit::Fit, path: Option<&std::path::Path>) -> anyhow::Result<()> {
    let book = &fit.portfolio;
    let text = portfolio_json(book);
    if let Some(change) = fit.repaired {
        super::to_stderr(&format!(
            "note: the fitted correlation was not positive semi-definite; replaced by the nearest correlation matrix (largest change of an entry {change:.3e})"
        ));
    }
    match path {
        Some(path) => {
            quantmc::files::write_atomic(path, (text + "\n").as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            emit(&format!(
                "fitted {} assets to {} daily returns ({} .. {}); wrote {}",
                book.assets.len(),
                fit.observations,
                fit.dates.0,
                fit.dates.1,
                path.display()
            ))
        }
        None => emit(&text),
    }
}
