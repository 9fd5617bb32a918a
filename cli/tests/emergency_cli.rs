//! `jingwei nearest` and `jingwei impact` end to end on the demo city and Andorra.

use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ok_json(args: &[&str]) -> J {
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei")).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn nearest_by_straight_line_matches_brute_force() {
    let catalog = root().join("assets/demo/catalog.json");
    let v = ok_json(&[
        "nearest",
        "--catalog",
        catalog.to_str().unwrap(),
        "--at",
        "121.500,31.240",
        "--in",
        "EPSG:4490",
        "-k",
        "3",
        "--json",
    ]);
    let rows = v["resources"].as_array().unwrap();
    // Brute force over the resources, in the same workspace.
    let ws = jingwei_layers::Workspace::open_catalog(&catalog, None, jingwei_layers::RepairMode::Repair).unwrap();
    let res = &ws.layer("emergency_resources").unwrap().layer;
    let (x, y) = (v["at"][0].as_f64().unwrap(), v["at"][1].as_f64().unwrap());
    let cat = res.field_index("category").unwrap();
    let mut by_type: std::collections::BTreeMap<String, Vec<(f64, i64)>> = Default::default();
    for f in res.features() {
        let g = &f.geo().unwrap();
        let d = geo::Distance::distance(&geo::Euclidean, &geo::Point::new(x, y), g);
        by_type
            .entry(f.value(cat).as_str().unwrap().to_string())
            .or_default()
            .push((d, f.fid()));
    }
    let mut want = Vec::new();
    for (ty, mut list) in by_type {
        list.sort_by(|a, b| a.0.total_cmp(&b.0));
        want.extend(list.into_iter().take(3).map(|(d, fid)| (ty.clone(), fid, d)));
    }
    let mut got: Vec<(String, i64, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().to_string(),
                r["fid"].as_i64().unwrap(),
                r["distance_m"].as_f64().unwrap(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((&g.0, g.1), (&w.0, w.1));
        assert!((g.2 - w.2).abs() < 1e-6);
    }
}

#[test]
fn nearest_by_road_on_andorra_with_routes() {
    let gpkg = root().join("../shared/data/osm/andorra_osm.gpkg");
    let res = format!("{}:emergency_pois", gpkg.display());
    let roads = format!("{}:roads", gpkg.display());
    let v = ok_json(&[
        "nearest",
        "--resources",
        &res,
        "--roads",
        &roads,
        "--by",
        "road",
        "--at",
        "1.5218,42.5063",
        "-k",
        "2",
        "--json",
    ]);
    let rows = v["resources"].as_array().unwrap();
    assert!(rows.len() >= 4, "{v}");
    assert!(v["graph"]["nodes"].as_u64().unwrap() > 10_000);
    for w in rows.windows(2) {
        if w[0]["type"] == w[1]["type"] {
            assert!(w[0]["travel_s"].as_f64() <= w[1]["travel_s"].as_f64());
        }
    }
    for r in rows {
        let line = r["route"]["coordinates"].as_array().unwrap();
        let first = &line[0];
        assert!((first[0].as_f64().unwrap() - 1.5218).abs() < 1e-6 && (first[1].as_f64().unwrap() - 42.5063).abs() < 1e-6);
        // By road is never shorter than the straight line.
        assert!(r["route_m"].as_f64().unwrap() > 0.0 && r["travel_s"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn impact_rings_and_shelter_allocation() {
    let catalog = root().join("assets/demo/catalog.json");
    let v = ok_json(&[
        "impact",
        "--catalog",
        catalog.to_str().unwrap(),
        "--at",
        "121.500,31.240",
        "--type",
        "gas_leak",
        "--allocate",
        "--limit-min",
        "12",
        "--json",
    ]);
    let rings = v["rings"].as_array().unwrap();
    assert_eq!(
        rings.iter().map(|r| r["radius_m"].as_f64().unwrap()).collect::<Vec<_>>(),
        vec![100.0, 300.0, 600.0]
    );
    let al = &v["allocation"];
    let people = al["people"].as_f64().unwrap();
    assert!((people - rings[2]["population"].as_f64().unwrap()).abs() <= 1.0);
    assert!((al["placed"].as_f64().unwrap() + al["left_over"].as_f64().unwrap() - people).abs() < 1e-6 * people.max(1.0));
    for s in al["shelters"].as_array().unwrap() {
        assert!(s["placed"].as_f64().unwrap() <= s["capacity"].as_f64().unwrap() + 1e-9);
    }
    assert!(al["placed"].as_f64().unwrap() > 0.0);
}

#[test]
fn incidents_from_a_feed_event_and_a_drill_copy() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("ws.gpkg");
    let ws = w.to_str().unwrap();
    let cap = root().join("../shared/data/hazards/cap/oasiscap_fixtures/v1dot2_appendix_adot3.xml");
    let inc = ok_json(&[
        "incidents",
        "create",
        "-w",
        ws,
        "--from-feed",
        cap.to_str().unwrap(),
        "--event",
        "trinet@caltech.edu,TRI13970876.2",
        "--json",
    ]);
    assert_eq!(inc["kind"], "earthquake");
    assert_eq!(inc["event_id"], "trinet@caltech.edu,TRI13970876.2");
    assert_eq!(inc["rings_m"], serde_json::json!([1000.0, 5000.0, 10000.0]));
    let no = inc["incident_no"].as_str().unwrap().to_string();
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_jingwei")).args(args).output().unwrap();
    assert!(run(&["incidents", "log", "-w", ws, &no, "派出救援队"]).status.success());
    let resized = ok_json(&["incidents", "set-rings", "-w", ws, &no, "2000,8000", "--json"]);
    assert_eq!(resized["rings_m"], serde_json::json!([2000.0, 8000.0]));
    assert!(!run(&["incidents", "set-rings", "-w", ws, &no, "-5"]).status.success());
    let drill = dir.path().join("drill.gpkg");
    assert!(
        run(&["incidents", "drill", "-w", ws, "--out", drill.to_str().unwrap()])
            .status
            .success()
    );
    let before = std::fs::read(&w).unwrap();
    let out = run(&["incidents", "set-status", "-w", drill.to_str().unwrap(), &no, "closed"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DRILL"), "the drill says so");
    assert_eq!(std::fs::read(&w).unwrap(), before, "the drill never writes into the real workspace");
    let real = ok_json(&["incidents", "show", "-w", ws, &no, "--json"]);
    assert_eq!(real["incident"]["status"], "active");
    assert_eq!(real["drill"], false);
    assert_eq!(real["log"].as_array().unwrap().len(), 3);
}
