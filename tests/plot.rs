//! `--plot FILE.svg`: the files parse as SVG and hold the marked lines.

mod common;
use assert_cmd::Command;
use common::cli_json;
use std::ffi::OsStr;

fn svg_text(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let document = roxmltree::Document::parse(&text).expect("the plot parses as XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    document
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .filter(|t| !t.is_empty())
        .collect()
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("quantmc-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn the_var_picture_marks_each_var_and_es() {
    let path = temp("var.svg");
    let portfolio = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/portfolio.json");
    let args = [
        "var",
        "--portfolio",
        portfolio,
        "--scenarios",
        "200000",
        "--json",
        "--plot",
    ];
    let v = cli_json(args.iter().map(OsStr::new).chain([path.as_os_str()]));
    let texts = svg_text(&path);
    for level in ["0.95", "0.99"] {
        for (name, key) in [("VaR", "var"), ("ES", "es")] {
            let label = format!("{name} {level}: {:.2}", v[key][level].as_f64().unwrap());
            assert!(
                texts.iter().any(|t| t == &label),
                "{label} missing from {texts:?}"
            );
        }
    }
    assert!(
        texts
            .iter()
            .any(|t| t == "normal with the same mean and spread")
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Simulated P&L: 200000 scenarios (200000 shown)"))
    );
}

#[test]
fn the_price_picture_shows_the_running_estimate_and_the_closed_form() {
    let path = temp("price.svg");
    let args = [
        "price",
        "--paths",
        "65536",
        "--backend",
        "simd",
        "--json",
        "--plot",
    ];
    let v = cli_json(args.iter().map(OsStr::new).chain([path.as_os_str()]));
    let texts = svg_text(&path);
    let estimate = format!(
        "estimate: {:.6} at 65536 paths",
        v["price"].as_f64().unwrap()
    );
    let exact = format!("closed form: {:.6}", v["closed_form"].as_f64().unwrap());
    for label in [estimate.as_str(), exact.as_str(), "95% interval"] {
        assert!(
            texts.iter().any(|t| t == label),
            "{label} missing from {texts:?}"
        );
    }
    // An unwritable path is an error, not a panic.
    Command::cargo_bin("quantmc")
        .unwrap()
        .args([
            "price",
            "--paths",
            "4096",
            "--plot",
            "/nonexistent/dir/p.svg",
        ])
        .assert()
        .failure()
        .code(1);
}

#[test]
fn a_baskets_picture_shows_its_running_estimate_and_stulzs_price() {
    let path = temp("worst-of.svg");
    let assets = temp("pair.json");
    std::fs::write(
        &assets,
        r#"{"assets": [{"name": "one", "spot": 100, "vol": 0.2},
                       {"name": "two", "spot": 95, "vol": 0.3, "dividend": 0.03}],
            "correlation": [[1, 0.3], [0.3, 1]]}"#,
    )
    .unwrap();
    let v = cli_json(
        [
            OsStr::new("price"),
            OsStr::new("--assets"),
            assets.as_os_str(),
            OsStr::new("--style"),
            OsStr::new("worst-of"),
            OsStr::new("--strike"),
            OsStr::new("98"),
            OsStr::new("--paths"),
            OsStr::new("16384"),
            OsStr::new("--json"),
            OsStr::new("--plot"),
        ]
        .into_iter()
        .chain([path.as_os_str()]),
    );
    let texts = svg_text(&path);
    let estimate = format!(
        "estimate: {:.6} at 16384 paths",
        v["price"].as_f64().unwrap()
    );
    let exact = format!("closed form: {:.6}", v["closed_form"].as_f64().unwrap());
    for label in [estimate.as_str(), exact.as_str(), "95% interval"] {
        assert!(
            texts.iter().any(|t| t == label),
            "{label} missing from {texts:?}"
        );
    }
}

#[test]
fn the_smile_picture_draws_each_maturity_and_its_closed_form() {
    let path = temp("smile.svg");
    let args = ["price"]
        .into_iter()
        .chain(common::HESTON_FLAGS)
        .chain([
            "--steps",
            "8",
            "--paths",
            "10000",
            "--strikes",
            "85,100,115",
        ])
        .chain(["--maturities", "0.5,1", "--implied-vol", "--json", "--plot"]);
    let v = cli_json(args.map(OsStr::new).chain([path.as_os_str()]));
    assert_eq!(v["strikes"].as_array().unwrap().len(), 6);
    let texts = svg_text(&path);
    for label in [
        "T = 0.5: estimate, 95% bars (10000 paths)",
        "T = 1: closed form",
        "Black implied volatility",
        "strike",
    ] {
        assert!(
            texts.iter().any(|t| t == label),
            "{label} missing from {texts:?}"
        );
    }
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("Implied volatility by strike, heston"))
    );
}
