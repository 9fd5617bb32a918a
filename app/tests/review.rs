//! 合规性审查 on the demo city's golden cases (`assets/demo/compliance/cases.json`, written by
//! `scripts/golden-compliance.py` from SpatiaLite/GEOS overlaps and the rules' semantics
//! re-implemented there): every verdict and every overlap area agrees; bad rules files and
//! rules naming a missing layer are one line each.

use std::path::Path;

use jingwei_app::Session;
use jingwei_app::planning::{Redline, read_rules, review_in};
use serde_json::Value;

fn demo(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo").join(p)
}

#[test]
fn the_golden_cases_get_their_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    s.open_catalog(&demo("catalog.json")).unwrap();
    let rules = read_rules(&demo("compliance/rules.toml")).unwrap();
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(demo("compliance/cases.json")).unwrap()).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    let mut seen = std::collections::BTreeSet::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let r = s
            .with_workspace(|ws| {
                review_in(
                    ws,
                    &rules,
                    &Redline::Wkt {
                        wkt: c["wkt"].as_str().unwrap().into(),
                    },
                )
            })
            .unwrap();
        assert_eq!(r.results.len(), rules.rules.len());
        for res in &r.results {
            let want = &c["expect"][&res.id];
            let verdict = serde_json::to_value(res.verdict).unwrap();
            assert_eq!(verdict, want["verdict"], "{name} / {}: {}", res.id, res.reason);
            let area = want["inside_m2"].as_f64().unwrap();
            assert!(
                (res.inside.plane_m2 - area).abs() < 0.01,
                "{name} / {}: {} m² vs GEOS {area} m²",
                res.id,
                res.inside.plane_m2
            );
            assert!(!res.reason.is_empty() && !res.reason.contains('\n'));
            seen.insert(verdict.as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 3, "the cases reach 符合, 不符合 and 部分符合: {seen:?}");
}

#[test]
fn bad_rules_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "title = \"x\"\n[[rule]]\nid = \"a\"\nname = \"b\"\nlayer = \"control_zones\"\nclasses = [\"x\"]\nmust = \"ignore\"\n",
    )
    .unwrap();
    let e = read_rules(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.toml") && e.contains("ignore") && !e.contains('\n'), "{e}");
    // A rule on a layer the workspace does not have.
    let missing = dir.path().join("missing.toml");
    std::fs::write(
        &missing,
        "title = \"x\"\n[[rule]]\nid = \"a\"\nname = \"b\"\nlayer = \"plan_landuse\"\nclasses = [\"07*\"]\nmust = \"within\"\n",
    )
    .unwrap();
    let rules = read_rules(&missing).unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    s.open_catalog(&demo("catalog.json")).unwrap();
    let e = s
        .with_workspace(|ws| {
            review_in(
                ws,
                &rules,
                &Redline::Wkt {
                    wkt: "POLYGON((357400 3458600,357500 3458600,357500 3458700,357400 3458600))".into(),
                },
            )
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("plan_landuse"), "{e}");
}
