//! Regression tests for hostile input: every case here once hung, aborted,
//! panicked or printed a non-finite number with exit 0.

use quantmc::risk::RiskModel;

fn model(dof: Option<f64>) -> RiskModel {
    RiskModel {
        mean: 100.0,
        loadings: vec![3000.0, -1200.0, 400.0],
        dof,
    }
}

#[test]
fn student_t_parametric_figures_are_stable_for_any_dof() {
    let normal = model(None).parametric(0.99).unwrap();
    let mut previous_gap = f64::INFINITY;
    for dof in [
        2.0001, 2.5, 3.0, 5.0, 30.0, 999.0, 1000.0, 1001.0, 1e4, 1e5, 1e6, 1e7, 2e7, 1e8, 1e9,
        1e12,
    ] {
        let t = model(Some(dof)).parametric(0.99).unwrap();
        assert!(t.var.is_finite() && t.es.is_finite(), "dof {dof}: {t:?}");
        assert!(t.es > t.var, "dof {dof}: {t:?}");
        // A standardised t's 99% quantile lies below the normal's only for
        // small dof; from dof 5 on, VaR and ES approach the normal figures
        // monotonically.
        if dof >= 5.0 {
            let gap = (t.es - normal.es).abs() + (t.var - normal.var).abs();
            assert!(gap <= previous_gap * (1.0 + 1e-9), "dof {dof}: {gap} > {previous_gap}");
            previous_gap = gap;
        }
    }
    let far = model(Some(1e12)).parametric(0.99).unwrap();
    assert!((far.var - normal.var).abs() < 1e-6 * normal.var, "{far:?} vs {normal:?}");
    assert!((far.es - normal.es).abs() < 1e-6 * normal.es, "{far:?} vs {normal:?}");
    let big = model(Some(1e7)).parametric(0.99).unwrap();
    assert!((big.es - normal.es).abs() < 1e-5 * normal.es, "{big:?} vs {normal:?}");
    // The two methods meet where they switch (statrs below 1000, the
    // expansion from 1000).
    let below = model(Some(999.999_999)).parametric(0.999).unwrap();
    let above = model(Some(1000.0)).parametric(0.999).unwrap();
    assert!((below.var - above.var).abs() < 1e-8 * above.var, "{below:?} {above:?}");
    assert!((below.es - above.es).abs() < 1e-8 * above.es, "{below:?} {above:?}");
}

#[test]
fn parametric_figures_refuse_bad_levels_and_dof() {
    for dof in [0.0, -1.0, 2.0, f64::NAN, f64::INFINITY] {
        assert!(model(Some(dof)).parametric(0.99).is_err(), "dof {dof}");
    }
    for level in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(model(None).parametric(level).is_err(), "level {level}");
    }
}
