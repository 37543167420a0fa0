//! `--plot FILE.svg`: the simulated P&L with its VaR and ES lines (`var`),
//! the running estimate with its 95% band (`price`), and a strip's smile
//! (`price --strikes`), drawn with plotters' SVG backend.

use std::path::Path;

use anyhow::{Context, anyhow};
use plotters::prelude::*;

use quantmc::{PricingResult, VarResult};

const SIZE: (u32, u32) = (960, 560);

/// Draws with `draw` into an SVG document, then writes it to `path` whole
/// or not at all ([`quantmc::files::write_atomic`]).
fn save(path: &Path, draw: impl FnOnce(&mut String) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut svg = String::new();
    draw(&mut svg)?;
    quantmc::files::write_atomic(path, svg.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// [`draw_var_svg`] to `path`.
pub fn var_svg(path: &Path, sample: &[f64], result: &VarResult) -> anyhow::Result<()> {
    save(path, |svg| draw_var_svg(svg, sample, result))
}

/// [`draw_price_svg`] to `path`.
pub fn price_svg(path: &Path, runs: &[PricingResult]) -> anyhow::Result<()> {
    save(path, |svg| draw_price_svg(svg, runs))
}

/// [`draw_strip_svg`] to `path`.
pub fn strip_svg(path: &Path, result: &quantmc::strip::StripResult) -> anyhow::Result<()> {
    save(path, |svg| draw_strip_svg(svg, result))
}

/// [`draw_backtest_svg`] to `path`.
pub fn backtest_svg(path: &Path, result: &quantmc::backtest::BacktestResult) -> anyhow::Result<()> {
    save(path, |svg| draw_backtest_svg(svg, result))
}

/// Colours of the confidence levels' lines, in order.
const LEVEL_COLOURS: [RGBColor; 4] = [RED, MAGENTA, RGBColor(230, 120, 0), RGBColor(120, 0, 160)];

/// The histogram of `sample` (the first scenarios of the run, regenerated)
/// as a density, the normal with the run's mean and spread, and a vertical
/// line at minus each level's VaR and ES.
fn draw_var_svg(svg: &mut String, sample: &[f64], result: &VarResult) -> anyhow::Result<()> {
    let mut sorted = sample.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    if sorted.len() < 2 {
        return Err(anyhow!("too few scenarios to plot"));
    }
    // The axis covers the sample but for its extreme 0.05% either side, and
    // every VaR and ES line.
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q) as usize];
    let lines = result.levels.iter().flat_map(|l| [-l.var, -l.es]);
    let low = lines.clone().fold(at(0.0005), f64::min);
    let high = lines.fold(at(0.9995), f64::max);
    let (low, high) = (low - 0.02 * (high - low), high + 0.02 * (high - low));
    let bins = 120;
    let width = (high - low) / bins as f64;
    let mut counts = vec![0u64; bins];
    for &x in &sorted {
        if (low..high).contains(&x) {
            counts[(((x - low) / width) as usize).min(bins - 1)] += 1;
        }
    }
    let n = sorted.len() as f64;
    let density: Vec<f64> = counts.iter().map(|&c| c as f64 / (n * width)).collect();
    let normal = |x: f64| {
        let z = (x - result.mean) / result.std;
        (-0.5 * z * z).exp() / (result.std * (2.0 * std::f64::consts::PI).sqrt())
    };
    let top = density.iter().copied().fold(normal(result.mean), f64::max) * 1.1;

    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Simulated P&L: {} scenarios ({} shown), {}",
                result.scenarios,
                sorted.len(),
                result.backend
            ),
            ("sans-serif", 18),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(low..high, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("P&L over the horizon")
        .y_desc("density")
        .draw()?;
    chart
        .draw_series(density.iter().enumerate().map(|(i, &d)| {
            let x = low + i as f64 * width;
            Rectangle::new([(x, 0.0), (x + width, d)], BLUE.mix(0.35).filled())
        }))?
        .label("simulated P&L")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], BLUE.mix(0.35).filled()));
    chart
        .draw_series(LineSeries::new(
            (0..=400).map(|i| {
                let x = low + (high - low) * i as f64 / 400.0;
                (x, normal(x))
            }),
            BLACK.stroke_width(2),
        ))?
        .label("normal with the same mean and spread")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
    for (level, colour) in result.levels.iter().zip(LEVEL_COLOURS.iter().cycle()) {
        for (name, loss, style) in [
            ("VaR", level.var, colour.stroke_width(2)),
            ("ES", level.es, colour.mix(0.6).stroke_width(1)),
        ] {
            chart
                .draw_series(LineSeries::new(vec![(-loss, 0.0), (-loss, top)], style))?
                .label(format!("{name} {}: {loss:.2}", level.confidence.label))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The estimate and its 95% interval at each of `runs` (the same job at
/// growing path counts: every run extends the one before on the same
/// streams), against the number of paths on a log scale, with the closed
/// form where there is one.
fn draw_price_svg(svg: &mut String, runs: &[PricingResult]) -> anyhow::Result<()> {
    let last = runs.last().ok_or_else(|| anyhow!("nothing to plot"))?;
    let points: Vec<(f64, f64, f64, f64)> = runs
        .iter()
        .map(|r| (r.paths as f64, r.price, r.ci95[0], r.ci95[1]))
        .collect();
    let mut low = points.iter().map(|p| p.2).fold(f64::INFINITY, f64::min);
    let mut high = points.iter().map(|p| p.3).fold(f64::NEG_INFINITY, f64::max);
    if let Some(exact) = last.closed_form {
        low = low.min(exact);
        high = high.max(exact);
    }
    let pad = 0.05 * (high - low).max(1e-12);
    let (first, end) = (points[0].0, last.paths as f64);

    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Running estimate, {} ({})", last.method, last.backend),
            ("sans-serif", 18),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (first..end.max(first * 2.0)).log_scale(),
            (low - pad)..(high + pad),
        )?;
    chart
        .configure_mesh()
        .x_desc("paths")
        .y_desc("price")
        .draw()?;
    chart
        .draw_series(std::iter::once(Polygon::new(
            points
                .iter()
                .map(|p| (p.0, p.3))
                .chain(points.iter().rev().map(|p| (p.0, p.2)))
                .collect::<Vec<_>>(),
            BLUE.mix(0.2).filled(),
        )))?
        .label("95% interval")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], BLUE.mix(0.2).filled()));
    chart
        .draw_series(LineSeries::new(
            points.iter().map(|p| (p.0, p.1)),
            BLUE.stroke_width(2),
        ))?
        .label(format!(
            "estimate: {:.6} at {} paths",
            last.price, last.paths
        ))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE.stroke_width(2)));
    if let Some(exact) = last.closed_form {
        chart
            .draw_series(LineSeries::new(
                vec![(first, exact), (end, exact)],
                RED.stroke_width(2),
            ))?
            .label(format!("closed form: {exact:.6}"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()?;
    root.present()?;
    Ok(())
}

/// A strip's smile: each maturity's implied volatilities (or, without
/// them, prices) against strike, with 95% error bars, and the closed
/// form's curve where the model has one.
fn draw_strip_svg(svg: &mut String, result: &quantmc::strip::StripResult) -> anyhow::Result<()> {
    let implied = result.strikes.iter().any(|q| q.implied_vol.is_some());
    // (strike, value, half-width, reference) of each quote that has a value.
    let point = |q: &quantmc::strip::StripQuote| -> Option<(f64, f64, f64, Option<f64>)> {
        if implied {
            Some((
                q.strike,
                q.implied_vol?,
                quantmc::Z_95 * q.implied_vol_std_error.unwrap_or(0.0),
                q.closed_form_implied_vol,
            ))
        } else {
            Some((q.strike, q.price, q.ci95[1] - q.price, q.closed_form))
        }
    };
    let mut maturities: Vec<f64> = Vec::new();
    for q in &result.strikes {
        if !maturities.contains(&q.maturity) {
            maturities.push(q.maturity);
        }
    }
    let series: Vec<(f64, Vec<_>)> = maturities
        .iter()
        .map(|&t| {
            let points = result
                .strikes
                .iter()
                .filter(|q| q.maturity == t)
                .filter_map(point)
                .collect::<Vec<_>>();
            (t, points)
        })
        .collect();
    let all = series.iter().flat_map(|(_, points)| points.iter());
    let (mut left, mut right) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(strike, value, half, reference) in all {
        left = left.min(strike);
        right = right.max(strike);
        low = low
            .min(value - half)
            .min(reference.unwrap_or(f64::INFINITY));
        high = high
            .max(value + half)
            .max(reference.unwrap_or(f64::NEG_INFINITY));
    }
    if !(left.is_finite() && low.is_finite()) {
        return Err(anyhow!(
            "nothing to plot: no quote has an implied volatility (every price is outside Black's bounds)"
        ));
    }
    let (pad_x, pad_y) = (
        0.05 * (right - left).max(1e-9),
        0.08 * (high - low).max(1e-9),
    );
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let what = if implied {
        "Implied volatility"
    } else {
        "Price"
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{what} by strike, {} ({})",
                result.model.describe(),
                result.backend
            ),
            ("sans-serif", 18),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (left - pad_x)..(right + pad_x),
            (low - pad_y)..(high + pad_y),
        )?;
    chart
        .configure_mesh()
        .x_desc("strike")
        .y_desc(if implied {
            "Black implied volatility"
        } else {
            "price"
        })
        .draw()?;
    for (i, (maturity, points)) in series.iter().enumerate() {
        let colour = LEVEL_COLOURS[i % LEVEL_COLOURS.len()];
        let colour = if maturities.len() == 1 { BLUE } else { colour };
        chart.draw_series(points.iter().map(|&(x, y, half, _)| {
            ErrorBar::new_vertical(x, y - half, y, y + half, colour.filled(), 6)
        }))?;
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.0, p.1)),
                colour.stroke_width(2),
            ))?
            .label(format!(
                "T = {maturity}: estimate, 95% bars ({} paths)",
                result.paths
            ))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        let reference: Vec<(f64, f64)> = points.iter().filter_map(|p| Some((p.0, p.3?))).collect();
        if !reference.is_empty() {
            chart
                .draw_series(LineSeries::new(reference, colour.mix(0.6).stroke_width(1)))?
                .label(format!("T = {maturity}: closed form"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.mix(0.6).stroke_width(1))
                });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The realised P&L of each backtested day (points), minus the VaR and ES
/// forecasts (lines), and the exceptions marked in red, against the day.
fn draw_backtest_svg(
    svg: &mut String,
    result: &quantmc::backtest::BacktestResult,
) -> anyhow::Result<()> {
    if result.days < 2 {
        return Err(anyhow!("too few days to plot"));
    }
    let values = result
        .pnl
        .iter()
        .chain(&result.var.iter().map(|v| -v).collect::<Vec<f64>>())
        .chain(&result.es.iter().map(|e| -e).collect::<Vec<f64>>())
        .copied()
        .filter(|x| x.is_finite())
        .collect::<Vec<f64>>();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = 0.05 * (high - low).max(f64::MIN_POSITIVE);
    let days = result.days as f64;

    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Backtest: {} at {}, {}-day window; {} exceptions in {} days ({} zone)",
                result.method,
                result.confidence.label,
                result.window,
                result.exception_count,
                result.days,
                result.traffic_light.zone
            ),
            ("sans-serif", 16),
        )
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..days, (low - pad)..(high + pad))?;
    let dates = &result.dates;
    chart
        .configure_mesh()
        .x_desc("day")
        .x_label_formatter(&|x| {
            dates.get(*x as usize).map_or_else(String::new, |d| {
                d.chars().filter(|c| !c.is_control()).collect()
            })
        })
        .y_desc("one day's P&L")
        .draw()?;
    chart
        .draw_series(
            result
                .pnl
                .iter()
                .enumerate()
                .map(|(t, &x)| Circle::new((t as f64, x), 2, BLUE.mix(0.5).filled())),
        )?
        .label("realised P&L")
        .legend(|(x, y)| Circle::new((x + 9, y), 3, BLUE.mix(0.5).filled()));
    for (name, series, style) in [
        ("-VaR", &result.var, BLACK.stroke_width(2)),
        ("-ES", &result.es, MAGENTA.stroke_width(1)),
    ] {
        chart
            .draw_series(LineSeries::new(
                series.iter().enumerate().map(|(t, &v)| (t as f64, -v)),
                style,
            ))?
            .label(format!("{name} forecast"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    }
    chart
        .draw_series(
            result
                .pnl
                .iter()
                .zip(&result.var)
                .enumerate()
                .filter(|(_, (x, v))| **x < -**v)
                .map(|(t, (&x, _))| TriangleMarker::new((t as f64, x), 6, RED.filled())),
        )?
        .label("exception")
        .legend(|(x, y)| TriangleMarker::new((x + 9, y), 6, RED.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()?;
    root.present()?;
    Ok(())
}
