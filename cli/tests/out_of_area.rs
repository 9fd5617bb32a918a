//! Coordinates outside the area where a CRS is meant to be used: an unbounded envelope means
//! every feature, a point outside is one clear line, and PROJ never floods the terminal.

use std::io::Write;
use std::process::{Command, Stdio};

fn jingwei(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jingwei")).args(args).output().unwrap()
}

const GBK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/encoding/lujiazui_pois_gbk.shp");

/// The feature count GDAL's `ogrinfo` reports.
fn gdal_count(path: &str) -> usize {
    let out = Command::new("ogrinfo").args(["-so", "-al", path]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("Feature Count:"))
        .expect("ogrinfo gives a count");
    line["Feature Count:".len()..].trim().parse().unwrap()
}

fn count(out: &std::process::Output) -> usize {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .and_then(|l| l.strip_suffix(" feature(s)"))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn unbounded_envelopes_mean_every_feature_without_proj_noise() {
    let all = gdal_count(GBK);
    assert!(all > 300);
    for bbox in ["-1e300,-1e300,1e300,1e300", "-180,-90,180,90", "-1e300,31.0,1e300,1e300"] {
        let out = jingwei(&["query", GBK, "--bbox", bbox]);
        assert!(out.status.success(), "{bbox}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(count(&out), all, "{bbox}");
        assert!(out.stderr.is_empty(), "{bbox}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // Wholly outside the zone and the data: nothing, quietly.
    let out = jingwei(&["query", GBK, "--bbox", "0,0,1,1"]);
    assert!(out.status.success());
    assert_eq!(count(&out), 0);
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn points_outside_the_area_are_one_line() {
    for args in [
        vec!["--point", "0,0"],
        vec!["--nearest", "1", "--at", "1e9,1e9", "--in", "EPSG:4547"],
        vec!["--within", "10", "--at", "-75,40"],
    ] {
        let mut a = vec!["query", GBK];
        a.extend(args.iter().copied());
        let out = jingwei(&a);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("lies outside") && err.contains("longitude"), "{args:?}: {err}");
        assert!(!err.contains("tmerc"), "{err}");
    }
    // Inside: answered.
    let out = jingwei(&["query", GBK, "--nearest", "1", "--at", "121.5,31.24"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&out), 1);
}

#[test]
fn a_national_layer_in_one_zone_is_whole() {
    // Five cities from Kashgar to Harbin: the workspace takes the zone of the centre, far from
    // most of them; "everything" still means all five and a corner query finds Harbin.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cities.geojson");
    let city = |n: &str, lon: f64, lat: f64| {
        format!(r#"{{"type":"Feature","properties":{{"name":"{n}"}},"geometry":{{"type":"Point","coordinates":[{lon},{lat}]}}}}"#)
    };
    let features = [
        city("喀什", 75.99, 39.47),
        city("哈尔滨", 126.63, 45.75),
        city("三亚", 109.51, 18.25),
        city("上海", 121.47, 31.23),
        city("拉萨", 91.13, 29.65),
    ];
    std::fs::write(
        &path,
        format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(",")),
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let out = jingwei(&["query", p, "--bbox", "-1e300,-1e300,1e300,1e300"]);
    assert_eq!(count(&out), 5, "{}", String::from_utf8_lossy(&out.stderr));
    let out = jingwei(&["query", p, "--bbox", "120,40,1e300,1e300"]);
    assert_eq!(count(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("哈尔滨"));
}

#[test]
fn transform_marks_points_outside_and_goes_on() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(["transform", "--from", "EPSG:4326", "--to", "EPSG:4550"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for _ in 0..500 {
        input.push_str("0 0\n");
    }
    input.push_str("123 31\n");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 501);
    assert_eq!(lines[0], "*\t*");
    assert!(lines[500].starts_with("500000.0000\t"), "{}", lines[500]);
    let err = String::from_utf8_lossy(&out.stderr);
    // One line per refused input line, naming it; nothing from PROJ.
    assert_eq!(err.lines().count(), 500);
    assert!(
        err.lines().all(|l| l.contains("lies outside the area of use of EPSG:4550")),
        "{err}"
    );
}

#[test]
fn the_api_refuses_an_incident_point_outside_the_city_zone() {
    // `nearest` takes its point through the application API's user_point.
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/catalog.json");
    let out = jingwei(&["nearest", "--catalog", catalog, "--at", "0,0", "--in", "EPSG:4490", "--json"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("0,0 (EPSG:4490) lies outside the area of use of EPSG:4550"), "{err}");
    let out = jingwei(&[
        "nearest",
        "--catalog",
        catalog,
        "--at",
        "121.500,31.240",
        "--in",
        "EPSG:4490",
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
