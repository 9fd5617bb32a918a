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
        let g = f.geometry().unwrap();
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
