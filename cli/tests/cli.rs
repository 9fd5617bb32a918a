//! End-to-end tests of the `jingwei` binary on the demo city and the shared data.

use geo::{BoundingRect, Centroid, Intersects};
use jingwei_layers::{OpenOptions, Source};
use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
fn demo() -> PathBuf {
    root().join("assets/demo/lujiazui_osm.gpkg")
}
fn shared() -> PathBuf {
    std::env::var_os("JINGWEI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"))
}

fn jingwei(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jingwei")).args(args).output().unwrap()
}

fn jingwei_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ok_json(out: Output) -> J {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn info_json_describes_the_demo_city() {
    let v = ok_json(jingwei(&["info", demo().to_str().unwrap(), "--json"]));
    assert_eq!(v["driver"], "GPKG");
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 19);
    let b = layers.iter().find(|l| l["name"] == "buildings_polygon").unwrap();
    assert_eq!(b["feature_count"], 1450);
    assert_eq!(b["geometry_type"], "Polygon");
    assert_eq!(b["crs"]["epsg"], 4326);
    let kind = |n: &str| b["fields"].as_array().unwrap().iter().find(|f| f["name"] == n).unwrap()["kind"].clone();
    assert_eq!(kind("height"), "real");
    assert_eq!(kind("name"), "text");
    assert_eq!(kind("id"), "integer");
    let ll = b["extent_lonlat"].as_array().unwrap();
    assert!((ll[0].as_f64().unwrap() - 121.4802).abs() < 1e-3 && (ll[3].as_f64().unwrap() - 31.2510).abs() < 1e-3);
    // Text output names the same things.
    let text = String::from_utf8(jingwei(&["info", demo().to_str().unwrap(), "--layer", "pois"]).stdout).unwrap();
    assert!(text.contains("Features:  494") && text.contains("EPSG:4326"), "{text}");
}

#[test]
fn info_reports_the_detected_encoding() {
    let shp = shared().join("encoding/nocpg/lujiazui_pois_gbk_nocpg.shp");
    let v = ok_json(jingwei(&["info", shp.to_str().unwrap(), "--json"]));
    assert_eq!(v["layers"][0]["encoding"]["encoding"], "GBK");
    assert_eq!(v["layers"][0]["encoding"]["source"], "detected");
    assert_eq!(v["layers"][0]["feature_count"], 324);
}

#[test]
fn query_point_bbox_and_nearest_agree_with_brute_force() {
    let src = Source::open(demo(), &OpenOptions::default()).unwrap();
    let layer = src.read_layer(Some("buildings_polygon")).unwrap();
    // A tall, named building: identify it at its centroid (lon/lat, the layer's own CRS).
    let hi = layer.field_index("height").unwrap();
    let row = (0..layer.len())
        .max_by(|&a, &b| {
            layer
                .feature(a)
                .value(hi)
                .as_f64()
                .unwrap_or(0.0)
                .total_cmp(&layer.feature(b).value(hi).as_f64().unwrap_or(0.0))
        })
        .unwrap();
    let fid = layer.feature(row).fid();
    let c = layer.feature(row).geo().unwrap().centroid().unwrap();
    let at = format!("{},{}", c.x(), c.y());
    let v = ok_json(jingwei(&[
        "query",
        demo().to_str().unwrap(),
        "--layer",
        "buildings_polygon",
        "--point",
        &at,
        "--tolerance",
        "0",
        "--json",
    ]));
    let ids: Vec<i64> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&fid), "{ids:?} lacks {fid}");
    let hit = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"].as_i64() == Some(fid))
        .unwrap();
    assert_eq!(hit["properties"]["height"].as_f64(), layer.feature(row).value(hi).as_f64());
    assert_eq!(hit["properties"]["_distance_m"].as_f64(), Some(0.0));
    // Nearest: every building under the point first, at distance 0 (OSM building parts overlap
    // here), then ascending distances.
    let under = v["features"].as_array().unwrap().len();
    let k = (under + 3).to_string();
    let v = ok_json(jingwei(&[
        "query",
        demo().to_str().unwrap(),
        "--layer",
        "buildings_polygon",
        "--nearest",
        &k,
        "--at",
        &at,
        "--json",
    ]));
    let feats = v["features"].as_array().unwrap();
    assert_eq!(feats.len(), under + 3);
    assert!(feats.iter().any(|f| f["id"].as_i64() == Some(fid)));
    let d: Vec<f64> = feats.iter().map(|f| f["properties"]["_distance_m"].as_f64().unwrap()).collect();
    assert!(d[..under].iter().all(|x| *x == 0.0) && d[under] > 0.0, "{d:?}");
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    // GeoJSON geometry is lon/lat.
    let x0 = feats[0]["geometry"]["coordinates"][0][0][0].as_f64().unwrap();
    assert!((121.4..121.6).contains(&x0));
    // Envelope query equals a brute-force intersection count in lon/lat.
    let bbox = [121.49, 31.23, 121.50, 31.24];
    let rect = geo::Rect::new(geo::coord! {x: bbox[0], y: bbox[1]}, geo::coord! {x: bbox[2], y: bbox[3]});
    let want = layer
        .geometries
        .iter()
        .flatten()
        .map(|g| g.to_geo())
        .filter(|g| g.bounding_rect().is_some_and(|r| r.intersects(&rect)) && g.intersects(&rect))
        .count();
    let v = ok_json(jingwei(&[
        "query",
        demo().to_str().unwrap(),
        "--layer",
        "buildings_polygon",
        "--bbox",
        "121.49,31.23,121.50,31.24",
        "--json",
    ]));
    let got = v["features"].as_array().unwrap().len();
    assert!(want > 10);
    assert_eq!(got, want);
    // Within a distance.
    let v = ok_json(jingwei(&[
        "query",
        demo().to_str().unwrap(),
        "--layer",
        "buildings_polygon",
        "--within",
        "50",
        "--at",
        &at,
        "--json",
    ]));
    assert!(
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["_distance_m"].as_f64().unwrap() <= 50.0)
    );
}

#[test]
fn transform_matches_the_check_vectors_in_both_axis_orders() {
    let input = "116.9 39.1\n116.3975 39.9087 extra\n";
    let out = jingwei_stdin(&["transform", "--from", "EPSG:4490", "--to", "EPSG:4548"], input);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let second: Vec<f64> = lines[1].split_whitespace().take(2).map(|t| t.parse().unwrap()).collect();
    assert!(
        (second[0] - 448_481.5746).abs() < 1e-3 && (second[1] - 4_419_565.4353).abs() < 1e-3,
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with("extra"));
    // Authority order: lat lon in, north east out.
    let out = jingwei_stdin(
        &["transform", "--from", "EPSG:4490", "--to", "EPSG:4548", "--authority-order"],
        "39.9087 116.3975\n",
    );
    let v: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    assert!((v[0] - 4_419_565.4353).abs() < 1e-3 && (v[1] - 448_481.5746).abs() < 1e-3, "{v:?}");
    // GCJ-02 is a CRS name; the published Shanghai reference pair.
    let out = jingwei_stdin(
        &["transform", "--from", "GCJ02", "--to", "EPSG:4326", "--precision", "9"],
        "121.531541859215 31.17530398364597\n",
    );
    let v: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    assert!((v[0] - 121.5272106).abs() < 1e-8 && (v[1] - 31.1774276).abs() < 1e-8, "{v:?}");
    // Shanghai lies outside the CM 117°E zone's area of use: marked, with the area named.
    let out = jingwei_stdin(&["transform", "--from", "EPSG:4490", "--to", "EPSG:4548"], "121.4997 31.2397\n");
    assert!(!out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "*\t*\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside the area of use of EPSG:4548 (longitude 115.50…118.50"));
    // A bad line is reported with its number and marked, the rest still transformed.
    let out = jingwei_stdin(&["transform", "--from", "4490", "--to", "4547"], "abc\n114 30\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
}

/// A made-up but typical 7-parameter shift of Xi'an 1980 to CGCS2000.
const XIAN_SHIFT: &str = "24.5,-126.3,-63.7,0.8,-1.2,2.1,1.5";

/// The Xi'an 1980 test point (EPSG:2385, 448000 4419000) in CGCS2000 lon/lat through
/// `jingwei transform`, shifted by `towgs84` when given.
fn xian_point_in_cgcs2000(towgs84: Option<&str>) -> Vec<String> {
    let mut args = vec!["transform", "--from", "EPSG:2385"];
    if let Some(p) = towgs84 {
        args.extend(["--from-towgs84", p]);
    }
    args.extend(["--to", "EPSG:4490", "--precision", "10"]);
    let out = jingwei_stdin(&args, "448000 4419000\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn seven_parameter_shift_is_applied() {
    // Xi'an 1980 / 3-degree GK CM 120E (EPSG:2385) with a made-up but typical shift, compared
    // with PROJ's own cs2cs on the equivalent PROJ strings.
    let params = XIAN_SHIFT;
    let parse = |v: Vec<String>| -> Vec<f64> { v.iter().map(|t| t.parse().unwrap()).collect() };
    let ours = parse(xian_point_in_cgcs2000(Some(params)));
    let unshifted = parse(xian_point_in_cgcs2000(None));
    // The shift moves the point by metres, not millimetres.
    let moved_m = ((ours[0] - unshifted[0]) * 85_000.0).hypot((ours[1] - unshifted[1]) * 111_000.0);
    assert!(moved_m > 1.0, "{moved_m}");
    // Independent reference: PROJ's own +towgs84 handling (a BoundCRS to WGS 84) through
    // cs2cs. CGCS2000 and WGS 84 differ by well under a millimetre in the ellipsoid here.
    let mut child = Command::new("cs2cs")
        .args([
            "-f",
            "%.10f",
            &format!("+proj=tmerc +lat_0=0 +lon_0=120 +k=1 +x_0=500000 +y_0=0 +ellps=IAU76 +towgs84={params} +units=m +no_defs +type=crs"),
            "+to",
            "EPSG:4326",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cs2cs (proj-bin) is installed");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"448000 4419000\n").unwrap();
    // EPSG:4326 in cs2cs is latitude first.
    let cs: Vec<f64> = String::from_utf8(child.wait_with_output().unwrap().stdout)
        .unwrap()
        .split_whitespace()
        .take(2)
        .map(|t| t.parse().unwrap())
        .collect();
    assert!(
        (ours[0] - cs[1]).abs() < 1e-8 && (ours[1] - cs[0]).abs() < 1e-8,
        "ours {ours:?} cs2cs {cs:?}"
    );
    // And back again.
    let back = jingwei_stdin(
        &["transform", "--from", "EPSG:4490", "--to", "EPSG:2385", "--to-towgs84", params],
        &format!("{} {}\n", ours[0], ours[1]),
    );
    let b: Vec<f64> = String::from_utf8(back.stdout)
        .unwrap()
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    assert!((b[0] - 448_000.0).abs() < 1e-3 && (b[1] - 4_419_000.0).abs() < 1e-3, "{b:?}");
}

/// Bad input: one line on stderr naming the file and the problem, non-zero exit, no panic.
fn assert_clean_error(args: &[&str], must_contain: &[&str]) {
    let out = jingwei(args);
    assert!(!out.status.success(), "{args:?} succeeded");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace") && !err.contains("internal error"),
        "{err}"
    );
    for m in must_contain {
        assert!(err.contains(m), "{args:?}: '{err}' lacks '{m}'");
    }
}

#[test]
fn bad_input_gives_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |n: &str| d.join(n).to_string_lossy().into_owned();
    assert_clean_error(&["info", &p("nothing.gpkg")], &["nothing.gpkg", "no such file"]);
    assert_clean_error(&["info", d.to_str().unwrap()], &["is a directory"]);
    std::fs::write(d.join("notes.txt"), "hello, this is not GIS data\n").unwrap();
    assert_clean_error(&["info", &p("notes.txt")], &["notes.txt", "unknown or unsupported format"]);
    std::fs::write(d.join("empty.geojson"), "").unwrap();
    assert_clean_error(&["info", &p("empty.geojson")], &["empty.geojson", "empty"]);
    // A GeoPackage cut in half.
    let bytes = std::fs::read(demo()).unwrap();
    std::fs::write(d.join("truncated.gpkg"), &bytes[..bytes.len() / 2]).unwrap();
    let out = jingwei(&[
        "query",
        &p("truncated.gpkg"),
        "--layer",
        "buildings_polygon",
        "--bbox",
        "0,0,200,200",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated.gpkg") && !err.contains("panicked") && err.lines().count() == 1,
        "{err}"
    );
    // Shapefile without its .shx, and without its .dbf.
    let src = shared().join("encoding/nocpg");
    for (skip, what) in [("shx", ".shx"), ("dbf", ".dbf")] {
        let sub = d.join(format!("no_{skip}"));
        std::fs::create_dir(&sub).unwrap();
        for e in ["shp", "shx", "dbf", "prj"] {
            if e != skip {
                std::fs::copy(src.join(format!("lujiazui_pois_gbk_nocpg.{e}")), sub.join(format!("pois.{e}"))).unwrap();
            }
        }
        assert_clean_error(&["info", sub.join("pois.shp").to_str().unwrap()], &["pois.shp", what]);
    }
    // Wrong encoding, unknown encoding.
    let shp = src.join("lujiazui_pois_gbk_nocpg.shp");
    assert_clean_error(
        &["info", shp.to_str().unwrap(), "--encoding", "UTF-8"],
        &["lujiazui_pois_gbk_nocpg.shp", "not valid UTF-8"],
    );
    assert_clean_error(&["info", shp.to_str().unwrap(), "--encoding", "EBCDIC-XYZ"], &["unknown encoding"]);
    // Unknown CRS; unknown layer; bad query syntax.
    assert_clean_error(
        &["transform", "--from", "EPSG:999999", "--to", "EPSG:4326"],
        &["unknown CRS", "EPSG:999999"],
    );
    assert_clean_error(
        &["info", demo().to_str().unwrap(), "--layer", "nope"],
        &["lujiazui_osm.gpkg", "no layer named 'nope'"],
    );
    assert_clean_error(&["query", demo().to_str().unwrap(), "--bbox", "1,2,3"], &["--bbox"]);
}

#[test]
fn output_to_a_closed_pipe_is_not_a_crash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(["info", shared().join("osm/liechtenstein_osm.gpkg").to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// Both absent, or the same coordinates in the same order within 10 µm.
fn same_shape(a: Option<&geo::Geometry>, b: Option<&geo::Geometry>) -> bool {
    use geo::CoordsIter;
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.coords_count() == b.coords_count()
                && a.coords_iter()
                    .zip(b.coords_iter())
                    .all(|(p, q)| (p.x - q.x).abs() <= 1e-5 && (p.y - q.y).abs() <= 1e-5)
        }
        _ => false,
    }
}

/// Every layer of a regenerated GeoPackage equals the shipped one's (geometry to 10 µm, values
/// to 1e-9 relative) and every feature is marked synthetic.
fn same_layers(shipped: &Path, fresh: &Path) {
    let shipped = Source::open(shipped, &OpenOptions::default()).unwrap();
    let again = Source::open(fresh, &OpenOptions::default()).unwrap();
    assert_eq!(shipped.layer_names(), again.layer_names());
    for name in shipped.layer_names() {
        let (a, b) = (shipped.read_layer(Some(&name)).unwrap(), again.read_layer(Some(&name)).unwrap());
        assert!(!a.is_empty(), "{name} is empty");
        assert_eq!(a.len(), b.len(), "{name}");
        // The same to 10 µm and 1e-9 relative, not to the bit: GCC fuses multiply-adds in GEOS
        // and PROJ on aarch64, so the shipped x86_64 file and an aarch64 run differ in the last
        // bits (0.56 µm at most, measured).
        for (r, (ga, gb)) in a.geometries.to_vec().iter().zip(&b.geometries.to_vec()).enumerate() {
            assert!(same_shape(ga.as_ref(), gb.as_ref()), "{name} row {r}: {ga:?} vs {gb:?}");
        }
        for r in 0..a.len() {
            let (va, vb) = (a.feature(r).attributes(), b.feature(r).attributes());
            assert_eq!(va.len(), vb.len(), "{name} row {r}");
            for ((ka, x), (kb, y)) in va.iter().zip(&vb) {
                let same = match (x, y) {
                    (jingwei_layers::Value::Real(x), jingwei_layers::Value::Real(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                    _ => x == y,
                };
                assert!(ka == kb && same, "{name} row {r}: {ka}={x:?} vs {kb}={y:?}");
            }
            // Marked as synthetic on every feature.
            assert_eq!(a.feature(r).value_by_name("synthetic"), Some(jingwei_layers::Value::Integer(1)));
        }
    }
}

#[test]
fn the_demo_generator_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("again.gpkg");
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei-tools"))
        .args(["generate-demo", "--osm", demo().to_str().unwrap(), "--out", fresh.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    same_layers(&root().join("assets/demo/planning_synthetic.gpkg"), &fresh);
    // And in the layer description.
    let sql = Command::new("sqlite3")
        .arg(root().join("assets/demo/planning_synthetic.gpkg"))
        .arg("SELECT description FROM gpkg_contents")
        .output();
    if let Ok(o) = sql
        && o.status.success()
    {
        let d = String::from_utf8_lossy(&o.stdout);
        assert_eq!(d.matches("SYNTHETIC").count(), 4, "{d}");
    }
}

#[test]
fn a_layer_in_xian_1980_takes_a_seven_parameter_shift() {
    // One point in Xi'an 1980 / 3-degree GK CM 120E; where is it in CGCS2000 with and without
    // the user's shift? The shift moves it by about a hundred metres.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("p.csv");
    std::fs::write(&csv, "id,x,y\n1,448000,4419000\n").unwrap();
    let gpkg = dir.path().join("xian80.gpkg");
    let out = Command::new("ogr2ogr")
        .args([
            "-f",
            "GPKG",
            gpkg.to_str().unwrap(),
            csv.to_str().unwrap(),
            "-oo",
            "X_POSSIBLE_NAMES=x",
            "-oo",
            "Y_POSSIBLE_NAMES=y",
            "-a_srs",
            "EPSG:2385",
            "-nln",
            "p",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let params = XIAN_SHIFT;
    // Where cs2cs-checked transform puts the shifted point, in CGCS2000 lon/lat.
    let at = xian_point_in_cgcs2000(Some(params));
    let at = format!("{},{}", at[0], at[1]);
    let g = gpkg.to_str().unwrap();
    let shifted = ok_json(jingwei(&[
        "query",
        g,
        "--nearest",
        "1",
        "--at",
        &at,
        "--in",
        "EPSG:4490",
        "--towgs84",
        params,
        "--json",
    ]));
    let d_shifted = shifted["features"][0]["properties"]["_distance_m"].as_f64().unwrap();
    assert!(d_shifted < 0.01, "with the shift the point is where cs2cs puts it: {d_shifted} m");
    let plain = ok_json(jingwei(&["query", g, "--nearest", "1", "--at", &at, "--in", "EPSG:4490", "--json"]));
    let d_plain = plain["features"][0]["properties"]["_distance_m"].as_f64().unwrap();
    assert!(d_plain > 50.0, "without it the point is elsewhere: {d_plain} m");
}

#[test]
fn render_draws_plain_files_headless() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("andorra.png");
    let andorra = shared().join("osm/andorra_osm.gpkg");
    let r = jingwei(&[
        "render",
        andorra.to_str().unwrap(),
        "--size",
        "320x200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let img = image::open(&out).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (320, 200));
    let background = [238u8, 241, 244];
    let drawn = img.pixels().filter(|p| (0..3).any(|i| p.0[i].abs_diff(background[i]) > 3)).count();
    assert!(drawn > 320 * 200 / 20, "only {drawn} pixels drawn");
    // A bad size is one clear line.
    assert_clean_error(
        &["render", andorra.to_str().unwrap(), "--size", "0x0", "--out", out.to_str().unwrap()],
        &["0×0"],
    );
}

#[test]
fn progress_bar_only_on_a_terminal() {
    let gpkg = shared().join("osm/liechtenstein_osm.gpkg");
    let args = [
        "query",
        gpkg.to_str().unwrap(),
        "--layer",
        "buildings",
        "--bbox",
        "9.5,47.1,9.6,47.2",
        "--in",
        "EPSG:4326",
    ];
    // Not a terminal: stderr stays quiet.
    let out = jingwei(&args);
    assert!(out.status.success());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("reading"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A terminal (util-linux `script` gives the command a pty): the bar is drawn on stderr.
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("tty.log");
    let cmd = format!(
        "{} {} > /dev/null",
        env!("CARGO_BIN_EXE_jingwei"),
        args.map(|a| format!("'{a}'")).join(" ")
    );
    let status = Command::new("script")
        .args(["-qec", &cmd])
        .arg(&typescript)
        .stdout(Stdio::null())
        .status();
    let Ok(status) = status else {
        panic!("`script` (bsdutils/util-linux) is not installed")
    };
    assert!(status.success());
    let tty = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
    assert!(tty.contains("reading ["), "no progress bar on a terminal: {tty:?}");
}

#[test]
fn render_takes_style_files_and_names_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json");
    let out = dir.path().join("styled.png");
    let count_blue = |p: &Path| {
        let img = image::open(p).unwrap().to_rgba8();
        img.pixels().filter(|p| p.0[0] < 8 && p.0[1] < 8 && p.0[2] > 247).count()
    };
    let base = [
        "render",
        "--workspace",
        catalog.to_str().unwrap(),
        "--view",
        "top",
        "--size",
        "320x200",
        "--out",
        out.to_str().unwrap(),
    ];
    let r = jingwei(&base);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let before = count_blue(&out);
    // Residential land in pure blue, by a categorised style file.
    let style = dir.path().join("landuse.json");
    std::fs::write(
        &style,
        r##"{ "categorized": { "field": "kind", "classes": { "residential": "#0000ff" } }, "stroke_width_m": 0 }"##,
    )
    .unwrap();
    let arg = format!("landuse={}", style.display());
    let mut args = base.to_vec();
    args.extend(["--style", &arg]);
    let r = jingwei(&args);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let after = count_blue(&out);
    assert!(after > before + 300, "blue pixels {before} → {after}");
    // A broken one: one clear line naming the file and the problem.
    std::fs::write(
        &style,
        r##"{ "graduated": { "field": "height", "breaks": [10, 20], "colors": ["#fff"] } }"##,
    )
    .unwrap();
    assert_clean_error(&args, &["landuse.json", "2 breaks need 3 colors"]);
    std::fs::write(&style, r##"{ "fil": "#fff" }"##).unwrap();
    assert_clean_error(&args, &["landuse.json", "unknown field `fil`"]);
}

#[test]
fn the_lifelines_generator_is_deterministic_and_marks_its_data_synthetic() {
    let dir = tempfile::tempdir().unwrap();
    let (gpkg, tif) = (dir.path().join("l.gpkg"), dir.path().join("t.tif"));
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei-tools"))
        .args([
            "generate-lifelines",
            "--osm",
            demo().to_str().unwrap(),
            "--out",
            gpkg.to_str().unwrap(),
            "--dem",
        ])
        .arg(&tif)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    same_layers(&root().join("assets/demo/lifelines_synthetic.gpkg"), &gpkg);
    // The DEM: the same heights (to a millimetre: aarch64 fuses multiply-adds) and marked.
    let (d1, d2) = (
        jingwei_layers::dem::Dem::open(&root().join("assets/demo/terrain_synthetic.tif")).unwrap(),
        jingwei_layers::dem::Dem::open(&tif).unwrap(),
    );
    assert_eq!(d1.size, d2.size);
    assert!(d1.heights.iter().zip(&d2.heights).all(|(a, b)| (a - b).abs() < 1e-3));
    let info = Command::new("gdalinfo").arg(&tif).output().unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("SYNTHETIC=YES"));
}
