//! The JSON document of a VaR run: one definition the CLI's `--json` and the
//! Python package's `VarResult.to_dict()` both print, so the two cannot
//! drift apart.

use serde_json::{Map, Value, json};

use crate::contributions::LevelContributions;
use crate::historical::{HistoricalLevel, HistoricalResult};
use crate::risk::{RiskLevel, VarResult};
use crate::whatif::WhatIf;

/// `{"0.95": pick(level), ...}`, keyed by the levels as the user wrote them.
fn by_level(result: &VarResult, pick: impl Fn(&RiskLevel) -> f64) -> Value {
    let map: Map<String, Value> = result
        .levels
        .iter()
        .map(|level| (level.confidence.label.clone(), json!(pick(level))))
        .collect();
    Value::Object(map)
}

/// What a VaR run computed beside the simulation, each when asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct VarExtras<'a> {
    /// The historical-simulation figures (with the stressed ones).
    pub historical: Option<&'a HistoricalResult>,
    /// The positions' contributions.
    pub contributions: Option<&'a [LevelContributions]>,
    /// A trade's incremental VaR and ES.
    pub what_if: Option<&'a WhatIf>,
}

/// The document of `result`, with the extras the run computed: `scenarios,
/// seed, tier, backend, selection, warnings, elapsed_s, mean, std`, then
/// `var, es, parametric_var, parametric_es` (and for a book with options
/// `delta_gamma_var, delta_gamma_es` and `delta_gamma_returns: "normal"`)
/// keyed by level, then `historical` (and `stressed`), `contributions` and
/// `what_if` (keyed by level) when present.
pub fn var_document(result: &VarResult, extras: VarExtras<'_>) -> Value {
    let VarExtras {
        historical,
        contributions,
        what_if,
    } = extras;
    let mut object = json!({
        "scenarios": result.scenarios,
        "seed": result.seed,
        "tier": result.tier,
        "backend": result.backend,
        "selection": result.selection,
        "warnings": result.warnings,
        "elapsed_s": result.elapsed_s,
        "mean": result.mean,
        "std": result.std,
        "var": by_level(result, |l| l.var),
        "es": by_level(result, |l| l.es),
        "parametric_var": by_level(result, |l| l.parametric_var),
        "parametric_es": by_level(result, |l| l.parametric_es),
    });
    if result.levels.iter().any(|l| l.delta_gamma_var.is_some()) {
        object["delta_gamma_var"] = by_level(result, |l| l.delta_gamma_var.unwrap_or(0.0));
        object["delta_gamma_es"] = by_level(result, |l| l.delta_gamma_es.unwrap_or(0.0));
        // Cornish-Fisher on the normal cumulants, whatever the job's
        // distribution.
        object["delta_gamma_returns"] = json!("normal");
    }
    if let Some(h) = historical {
        let pick = |f: fn(&HistoricalLevel) -> f64| historical_by_level(&h.levels, f);
        object["historical"] = json!({
            "method": h.method,
            "windows": h.windows,
            "from": h.dates.0,
            "to": h.dates.1,
            "mean": h.mean,
            "std": h.std,
            "var": pick(|l| l.var),
            "es": pick(|l| l.es),
        });
        if let Some(stressed) = &h.stressed {
            let pick = |f: fn(&HistoricalLevel) -> f64| historical_by_level(&stressed.levels, f);
            object["stressed"] = json!({
                "var": pick(|l| l.var),
                "es": pick(|l| l.es),
                "window": stressed.window,
                "days": stressed.days,
                "searched": stressed.searched,
            });
        }
        if let Some(frtb) = &h.frtb {
            object["frtb"] = json!(frtb);
        }
    }
    if let Some(levels) = contributions {
        object["contributions"] = Value::Object(
            levels
                .iter()
                .map(|level| (level.confidence.label.clone(), json!(level.positions)))
                .collect(),
        );
    }
    if let Some(what_if) = what_if {
        object["what_if"] = Value::Object(
            what_if
                .levels
                .iter()
                .map(|level| {
                    (
                        level.confidence.label.clone(),
                        json!({
                            "var_before": level.var_before,
                            "var_after": level.var_after,
                            "var_change": level.var_change,
                            "var_change_std_error": level.var_change_std_error,
                            "es_before": level.es_before,
                            "es_after": level.es_after,
                            "es_change": level.es_change,
                            "es_change_std_error": level.es_change_std_error,
                            "independent_std_error": level.independent_std_error,
                            "es_independent_std_error": level.es_independent_std_error,
                        }),
                    )
                })
                .collect(),
        );
        object["what_if_batches"] = json!(what_if.batches);
    }
    object
}

/// A figure of each historical level, keyed by the level as written.
fn historical_by_level(levels: &[HistoricalLevel], f: fn(&HistoricalLevel) -> f64) -> Value {
    Value::Object(
        levels
            .iter()
            .map(|l| (l.confidence.label.clone(), json!(f(l))))
            .collect(),
    )
}
