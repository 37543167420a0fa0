//! `--plot FILE.svg`: the simulated P&L with its VaR and ES lines (`var`),
//! and the running estimate with its 95% band (`price`), drawn with
//! plotters' SVG backend.

use std::path::Path;

use anyhow::{Context, anyhow};
use plotters::prelude::*;

use quantmc::{PricingResult, VarResult};

const SIZE: (u32, u32) = (960, 560);

/// Colours of the confidence levels' lines, in order.
const LEVEL_COLOURS: [RGBColor; 4] = [RED, MAGENTA, RGBColor(230, 120, 0), RGBColor(120, 0, 160)];

/// The histogram of `sample` (the first scenarios of the run, regenerated)
/// as a density, the normal with the run's mean and spread, and a vertical
/// line at minus each level's VaR and ES.
pub fn var_svg(path: &Path, sample: &[f64], result: &VarResult) -> anyhow::Result<()> {
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

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
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
    root.present()
        .with_context(|| format!("writing {}", path.display()))
}

/// The estimate and its 95% interval at each of `runs` (the same job at
/// growing path counts: every run extends the one before on the same
/// streams), against the number of paths on a log scale, with the closed
/// form where there is one.
pub fn price_svg(path: &Path, runs: &[PricingResult]) -> anyhow::Result<()> {
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

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
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
    root.present()
        .with_context(|| format!("writing {}", path.display()))
}
