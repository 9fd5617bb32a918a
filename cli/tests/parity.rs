//! The same input gives the same answer through either front door: the application API (as
//! the desktop app calls it) and the `jingwei` command line. Each of the three drifts the two
//! had (cases found in the app printed without a site map; population read from different
//! field names; a CAP event mapped to different incident types) has a test here, and the
//! case store refuses rings that would read back as none.

use jingwei_analysis::impact::point;
use jingwei_analysis::violations::Thresholds;
use jingwei_app::Session;
use jingwei_app::data::{self, DataRequest};
use jingwei_app::emergency::{self, IncidentInput};
use jingwei_layers::Job;
use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn demo() -> PathBuf {
    root().join("assets/demo/catalog.json")
}

fn jingwei(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(args)
        .env("USER", "ci")
        .output()
        .unwrap()
}

/// Equal JSON, numbers to 1e-9 relative (workspaces opened apart differ in the last bits).
fn close(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-6)
        }
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y)),
        (J::Object(x), J::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w))),
        _ => a == b,
    }
}

/// The rows of a sheet of an XLSX file as GDAL's XLSX driver reads them (GeoJSON features).
fn xlsx_rows(path: &Path, sheet: &str) -> Vec<J> {
    let out = Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", "/vsistdout/"])
        .arg(path)
        .arg(sheet)
        .output()
        .unwrap();
    let v: J =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: {e}: {}", path.display(), String::from_utf8_lossy(&out.stderr)));
    v["features"].as_array().unwrap().clone()
}

fn ok_json(args: &[&str]) -> J {
    let out = jingwei(args);
    assert!(out.status.success(), "jingwei {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (fid, rules, priority to 1e-9) of each finding.
fn findings(v: &J) -> Vec<(i64, Vec<String>, i64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["building_fid"].as_i64().unwrap(),
                f["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
                    .collect(),
                (f["priority"].as_f64().unwrap() * 1e9).round() as i64,
            )
        })
        .collect()
}

/// Drift 1: the rules run in the app (the session) and on the command line find the same
/// cases, and either store prints its reports with a site map.
#[test]
fn violations_and_case_reports_are_the_same_whichever_door() {
    let dir = tempfile::tempdir().unwrap();
    let app_store = dir.path().join("app.gpkg");
    let s = Session::new(app_store.clone(), "inspector".into());
    s.open_catalog(&demo()).unwrap();
    let (report, _) = s.run_violations(&Thresholds::default(), &Job::new()).unwrap();
    drop(s);
    let api = findings(&serde_json::to_value(&report.findings).unwrap());

    let cli_store = dir.path().join("cli.gpkg");
    let v = ok_json(&[
        "violations",
        "--catalog",
        demo().to_str().unwrap(),
        "--out",
        cli_store.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(findings(&v["report"]["findings"]), api, "identical findings");
    assert!(api.len() > 10);

    // The reports of the top cases (a site map each is a software-rendered frame).
    let mut prios: Vec<f64> = report.findings.iter().map(|f| f.priority).collect();
    prios.sort_by(|a, b| b.total_cmp(a));
    let min = prios[2.min(prios.len() - 1)];
    let top = prios.iter().filter(|p| **p >= min).count();
    for (name, store) in [("app", &app_store), ("cli", &cli_store)] {
        let out = dir.path().join(format!("report-{name}"));
        let r = ok_json(&[
            "cases",
            "export",
            "--format",
            "report",
            "-w",
            store.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--status",
            "pending",
            "--min-priority",
            &min.to_string(),
            "--json",
        ]);
        assert_eq!(r["exported"].as_u64().unwrap() as usize, top, "{name}");
        assert_eq!(r["with_map"], r["exported"], "{name}: every case has a site map");
        let first = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap() != "index.html")
            .unwrap();
        let html = std::fs::read_to_string(first).unwrap();
        assert!(html.contains("data:image/png;base64,"), "{name}: the page shows the site");
        // The base map was drawn: the site map is not a picture of the empty ground.
        let b64 = html.split("data:image/png;base64,").nth(1).unwrap().split('"').next().unwrap();
        assert!(
            b64.len() > 20_000,
            "{name}: a map with content, not an empty frame ({} bytes of base64)",
            b64.len()
        );
    }
}

/// Drift 2: both doors read population, floors and height under the same field names — here
/// a buildings file whose population field is `pop` and height `height_m`.
#[test]
fn impact_figures_are_the_same_whichever_door() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blocks.geojson");
    let mut features = Vec::new();
    for i in 0..6 {
        let (x, y) = (121.500 + 0.0008 * f64::from(i), 31.240);
        features.push(serde_json::json!({"type": "Feature", "properties": {"pop": 100 + i * 10, "height_m": 30.0},
            "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.0003, y], [x + 0.0003, y + 0.0003], [x, y + 0.0003], [x, y]]]}}));
    }
    std::fs::write(
        &file,
        serde_json::json!({"type": "FeatureCollection", "features": features}).to_string(),
    )
    .unwrap();
    let spec = file.to_str().unwrap();

    let opened = data::open(&DataRequest {
        catalog: None,
        specs: vec![(spec.to_string(), "blocks".into())],
        crs: None,
    })
    .unwrap();
    let ws = &opened.workspace;
    let (x, y) = data::user_point(ws, (121.5015, 31.2401), None, None).unwrap();
    let api = emergency::impact(ws, &point(x, y), &[100.0, 400.0], Some("blocks"), Some(&[])).unwrap();
    assert!(api.iter().all(|r| r.population_from_field), "the pop field is read: {api:?}");
    assert_eq!(api[1].population, (0..6).map(|i| f64::from(100 + i * 10)).sum::<f64>());

    let v = ok_json(&[
        "impact",
        "--buildings",
        spec,
        "--at",
        "121.5015,31.2401",
        "--in",
        "EPSG:4490",
        "--rings",
        "100,400",
        "--json",
    ]);
    let cli = v["rings"].as_array().unwrap();
    for (a, c) in api.iter().zip(cli) {
        assert_eq!(a.buildings as u64, c["buildings"].as_u64().unwrap());
        assert_eq!(a.population, c["population"].as_f64().unwrap());
        assert_eq!(a.floor_area_m2, c["floor_area_m2"].as_f64().unwrap());
        assert_eq!(a.population_from_field, c["population_from_field"].as_bool().unwrap());
    }

    // And on the demo city, with its points of interest as critical facilities.
    let s = Session::new(dir.path().join("s.gpkg"), "c".into());
    s.open_catalog(&demo()).unwrap();
    let api = s
        .with_workspace(|ws| {
            let (x, y) = data::user_point(ws, (121.500, 31.240), None, None)?;
            emergency::impact(ws, &point(x, y), &[100.0, 300.0, 600.0], None, None)
        })
        .unwrap();
    // By road, no resource is left out silently: each is reached or listed as unreachable.
    let total = s
        .with_workspace(|ws| {
            Ok(jingwei_app::roles::layers(ws, jingwei_app::roles::Role::Resources)
                .iter()
                .map(|l| l.layer.len())
                .sum::<usize>())
        })
        .unwrap();
    let by_road = ok_json(&[
        "nearest",
        "--catalog",
        demo().to_str().unwrap(),
        "--at",
        "121.500,31.240",
        "--by",
        "road",
        "-k",
        "1000",
        "--json",
    ]);
    let (reached, unreachable) = (by_road["resources"].as_array().unwrap(), by_road["unreachable"].as_array().unwrap());
    assert_eq!(reached.len() + unreachable.len(), total, "{by_road}");
    assert!(unreachable.iter().all(|r| r["distance_m"].as_f64().unwrap() > 0.0));
    let v = ok_json(&[
        "impact",
        "--catalog",
        demo().to_str().unwrap(),
        "--at",
        "121.500,31.240",
        "--type",
        "gas_leak",
        "--json",
    ]);
    // Identical figures (floor areas are sums over parallel work: equal to the last bits but one).
    let cli = v["rings"].as_array().unwrap();
    assert_eq!(api.len(), cli.len());
    for (a, c) in api.iter().zip(cli) {
        assert_eq!(a.radius_m, c["radius_m"].as_f64().unwrap());
        assert_eq!(a.buildings as u64, c["buildings"].as_u64().unwrap());
        assert_eq!(a.population, c["population"].as_f64().unwrap());
        assert!((a.floor_area_m2 - c["floor_area_m2"].as_f64().unwrap()).abs() <= 1e-9 * a.floor_area_m2);
        assert_eq!(serde_json::to_value(&a.facilities).unwrap(), c["facilities"]);
    }
}

/// Drift 3: a CAP alert opens the same incident type, with the same default rings, through
/// either door; the store refuses rings that are not distances.
#[test]
fn incidents_from_an_event_are_the_same_whichever_door() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("gas.xml");
    std::fs::write(
        &cap,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>PD-2026-0042</identifier><sender>yjj@pudong.gov.cn</sender><sent>2026-12-05T08:30:00+08:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><language>zh-CN</language><category>Safety</category><event>燃气泄漏</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <headline>陆家嘴环路燃气管道泄漏</headline>
    <area><areaDesc>陆家嘴环路</areaDesc><circle>31.2400,121.5000 0.2</circle></area>
  </info>
</alert>"#,
    )
    .unwrap();
    let parsed = jingwei_feeds::parse(&std::fs::read(&cap).unwrap(), None, &jingwei_feeds::ParseOptions::default()).unwrap();
    let event = &parsed.events[0];
    let input = IncidentInput::from_event(event, None).unwrap();
    assert_eq!(input.kind, "gas_leak");
    let mut store =
        jingwei_cases::CaseStore::open_or_create(&dir.path().join("api.gpkg"), &jingwei_layers::Crs::from_epsg(4528).unwrap()).unwrap();
    let api = emergency::create_incident(&mut store, &input, "commander").unwrap();

    let w = dir.path().join("cli.gpkg");
    let cli = ok_json(&[
        "incidents",
        "create",
        "-w",
        w.to_str().unwrap(),
        "--from-feed",
        cap.to_str().unwrap(),
        "--event",
        &event.id,
        "--crs",
        "EPSG:4528",
        "--json",
    ]);
    assert_eq!(cli["kind"], api.kind);
    assert_eq!(cli["rings_m"], serde_json::json!(api.rings_m));
    assert_eq!(api.rings_m, vec![100.0, 300.0, 600.0], "a gas leak's rings");

    // Rings that are not distances never reach the store (NaN would read back as no rings).
    let no = cli["incident_no"].as_str().unwrap();
    for bad in ["NaN", "-5", "inf"] {
        let out = jingwei(&["incidents", "set-rings", "-w", w.to_str().unwrap(), no, bad]);
        assert!(!out.status.success(), "{bad} accepted");
    }
    assert!(store.set_incident_rings(&api.id.to_string(), &[100.0, f64::NAN], "c").is_err());
    // Latitude and longitude swapped are refused by both doors, with a hint; nothing is stored.
    let swapped = jingwei(&[
        "incidents",
        "create",
        "--type",
        "fire",
        "--at",
        "31.24,121.5",
        "-w",
        w.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&swapped.stderr);
    assert!(
        !swapped.status.success() && err.contains("swapped") && err.trim().lines().count() == 1,
        "{err}"
    );
    let opened = data::open(&DataRequest {
        catalog: Some(demo()),
        specs: vec![],
        crs: None,
    })
    .unwrap();
    assert!(data::user_point(&opened.workspace, (31.24, 121.5), None, None).is_err());
    // A NaN camera is an error, not a panic in the renderer.
    let nan = jingwei(&[
        "render",
        "--workspace",
        demo().to_str().unwrap(),
        "--pitch",
        "NaN",
        "--out",
        dir.path().join("x.png").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&nan.stderr);
    assert_eq!(nan.status.code(), Some(1), "{err}");
    assert!(err.contains("--pitch") && !err.contains("panicked"), "{err}");
    assert_eq!(store.incident(&api.id.to_string()).unwrap().rings_m, vec![100.0, 300.0, 600.0]);
}

/// The batch commands link no graphics stack: `jingwei` holds no wgpu or Bevy code; drawing is
/// `jingwei-render`'s.
#[test]
fn the_batch_cli_links_no_renderer() {
    let bytes = std::fs::read(env!("CARGO_BIN_EXE_jingwei")).unwrap();
    for needle in [&b"wgpu_core"[..], b"wgpu-core", b"bevy_render", b"bevy_ecs"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "jingwei contains {}",
            String::from_utf8_lossy(needle)
        );
    }
    let render = std::fs::read(env!("CARGO_BIN_EXE_jingwei-render")).unwrap();
    assert!(
        render.windows(9).any(|w| w == b"wgpu-core" || w == b"wgpu_core"),
        "the check can see wgpu where it is"
    );
}

/// 压占分析: a red line from a GeoPackage in CGCS2000 lon/lat gives the same table through the
/// session (which also adds the pieces as a layer) and `jingwei overlap --json`; the CSV is
/// UTF-8 with a BOM and carries every class row.
#[test]
fn overlap_is_the_same_in_the_app_and_on_the_command_line() {
    use jingwei_app::planning::{OverlapRequest, Redline, overlap_csv};
    let dir = tempfile::tempdir().unwrap();
    // The site, drawn in EPSG:4490 (the workspace is EPSG:4550): ogr2ogr writes it.
    let site = dir.path().join("site.gpkg");
    let geojson = dir.path().join("site.geojson");
    std::fs::write(
        &geojson,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"项目用地"},"geometry":{"type":"Polygon","coordinates":[[[121.4965,31.2265],[121.5080,31.2265],[121.5080,31.2345],[121.4965,31.2345],[121.4965,31.2265]]]}}]}"#,
    )
    .unwrap();
    let st = Command::new("ogr2ogr")
        .args(["-q", "-f", "GPKG", "-a_srs", "EPSG:4490"])
        .arg(&site)
        .arg(&geojson)
        .status()
        .unwrap();
    assert!(st.success());
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    s.open_catalog(&demo()).unwrap();
    let req = OverlapRequest {
        redline: Redline::File {
            path: site.clone(),
            layer: None,
        },
        layers: vec!["landuse".into(), "control_zones".into(), "buildings".into()],
        sliver_m2: None,
        add_pieces: true,
    };
    let app = s.overlap(&req).unwrap();
    let pieces = app.pieces_layer.clone().expect("the pieces are a layer");
    let n_pieces: usize = app.layers.iter().map(|l| l.total.parcels).sum();
    s.with_workspace(|ws| {
        let l = &ws.layer(&pieces).unwrap().layer;
        assert_eq!(l.len(), n_pieces, "one piece per parcel counted");
        let f = l.field_index("plane_m2").unwrap();
        let sum: f64 = (0..l.len()).map(|r| l.feature(r).value(f).as_f64().unwrap()).sum();
        let want: f64 = app.layers.iter().map(|l| l.total.areas.plane_m2).sum();
        assert!((sum - want).abs() < 0.01, "{sum} vs {want}");
        Ok(())
    })
    .unwrap();
    let cli = ok_json(&[
        "overlap",
        "--catalog",
        demo().to_str().unwrap(),
        "--redline",
        site.to_str().unwrap(),
        "--layers",
        "landuse,control_zones,buildings",
        "--json",
    ]);
    let mut app_json = serde_json::to_value(&app).unwrap();
    app_json["pieces_layer"] = J::Null;
    // The red line as features of a layer: the control zones' farmland parcels, overlaid on
    // the zones themselves — the farmland verdict is 是 with their whole area.
    let farm = ok_json(&[
        "overlap",
        "--catalog",
        demo().to_str().unwrap(),
        "--redline-features",
        "control_zones:5,6",
        "--layers",
        "control_zones",
        "--json",
    ]);
    let farmland = farm["control"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["line"] == "permanent_basic_farmland")
        .unwrap();
    assert_eq!(farmland["hit"], J::Bool(true), "{farm}");
    let (red, hit) = (
        farm["redline"]["plane_m2"].as_f64().unwrap(),
        farmland["areas"]["plane_m2"].as_f64().unwrap(),
    );
    assert!(
        (red - hit).abs() < 0.01 && red > 2.0e5,
        "the whole red line is farmland: {red} vs {hit}"
    );
    // A CAD red line: the same site as a closed polyline in a DXF, which carries no CRS: its
    // points lie in the workspace's zone, so they are read in it.
    let dxf = dir.path().join("site.dxf");
    let line = dir.path().join("site_line.geojson");
    std::fs::write(
        &line,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[356500,3458000],[357600,3458000],[357600,3458900],[356500,3458900],[356500,3458000]]}}]}"#,
    )
    .unwrap();
    let st = Command::new("ogr2ogr")
        .args(["-q", "-f", "DXF"])
        .arg(&dxf)
        .arg(&line)
        .status()
        .unwrap();
    assert!(st.success());
    // Far away (a DXF in another zone), it is refused in one line.
    let far = dir.path().join("far.geojson");
    std::fs::write(&far, std::fs::read_to_string(&line).unwrap().replace("3458", "2458")).unwrap();
    let far_dxf = dir.path().join("far.dxf");
    assert!(
        Command::new("ogr2ogr")
            .args(["-q", "-f", "DXF"])
            .arg(&far_dxf)
            .arg(&far)
            .status()
            .unwrap()
            .success()
    );
    let out = jingwei(&[
        "overlap",
        "--catalog",
        demo().to_str().unwrap(),
        "--redline",
        far_dxf.to_str().unwrap(),
        "--json",
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("far.dxf") && e.contains("no CRS") && e.trim().lines().count() == 1,
        "{e}"
    );
    let cad = ok_json(&[
        "overlap",
        "--catalog",
        demo().to_str().unwrap(),
        "--redline",
        dxf.to_str().unwrap(),
        "--layers",
        "landuse",
        "--json",
    ]);
    assert!(
        (cad["redline"]["plane_m2"].as_f64().unwrap() - 990_000.0).abs() < 0.01,
        "{}",
        cad["redline"]
    );
    // (The same up to the last bits of a double: the two workspaces are opened apart.)
    assert!(
        close(&cli, &app_json),
        "the same answer through both front doors:\n{cli}\n{app_json}"
    );
    // The site is about 1.1 km × 0.9 km; its two areas differ by the zone's scale only.
    let r = &app.redline;
    assert!(r.plane_m2 > 9.0e5 && r.plane_m2 < 1.2e6, "{r:?}");
    assert!((r.plane_m2 / r.ellipsoid_m2 - 1.0).abs() < 1e-3, "{r:?}");
    // The XLSX, read back by GDAL's XLSX driver: the same numbers in numeric cells.
    let xlsx = dir.path().join("压占.xlsx");
    let out = jingwei(&[
        "overlap",
        "--catalog",
        demo().to_str().unwrap(),
        "--redline",
        site.to_str().unwrap(),
        "--layers",
        "landuse,control_zones,buildings",
        "--xlsx",
        xlsx.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = &xlsx_rows(&xlsx, "压占分析");
    let first_layer = &app.layers[0];
    let total = rows
        .iter()
        .find(|f| f["properties"]["图层"] == J::String(first_layer.title.clone()) && f["properties"]["地类"] == "合计")
        .expect("the layer's total row");
    let got = total["properties"]["平面面积(m²)"].as_f64().expect("a number cell");
    assert!(
        (got - first_layer.total.areas.plane_m2).abs() < 1e-6,
        "{got} vs {}",
        first_layer.total.areas.plane_m2
    );
    assert_eq!(rows.len(), app.layers.iter().map(|l| l.rows.len() + 1).sum::<usize>() + 1);
    let csv = overlap_csv(&app);
    assert!(csv.starts_with('\u{feff}'), "a BOM for Excel/WPS");
    let rows = app.layers.iter().map(|l| l.rows.len() + 1).sum::<usize>() + 1 + 1 + app.control.len() + app.sources.len();
    assert!(
        app.sources
            .iter()
            .any(|(id, line)| id == "landuse" && line.contains("OpenStreetMap")),
        "the layers' provenance rides along: {:?}",
        app.sources
    );
    assert!(csv.contains("数据来源,用地现状,OpenStreetMap"));
    assert_eq!(csv.lines().count(), rows, "{csv}");
}

/// 用地平衡表 and 多期对比 give the same tables in the app and on the command line; the
/// balance's shares add up to 100.00 % and its total to the polygons' area; a layer of lines
/// is refused in one line.
#[test]
fn balance_and_change_are_the_same_in_the_app_and_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    s.open_catalog(&demo()).unwrap();
    let app = s.land_use_balance("landuse", None).unwrap();
    let cli = ok_json(&["balance", "--catalog", demo().to_str().unwrap(), "--status", "landuse", "--json"]);
    assert!(
        close(&cli, &serde_json::to_value(&app).unwrap()),
        "the same balance through both front doors"
    );
    // The XLSX, read back by GDAL: one row per class and the total, areas as numbers.
    let xlsx = dir.path().join("平衡表.xlsx");
    let out = jingwei(&[
        "balance",
        "--catalog",
        demo().to_str().unwrap(),
        "--status",
        "landuse",
        "--xlsx",
        xlsx.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = &xlsx_rows(&xlsx, "用地平衡表");
    assert_eq!(rows.len(), app.rows.len() + 1);
    let total = rows.last().unwrap()["properties"]["现状面积(公顷)"].as_f64().unwrap();
    assert!((total - app.status_total_ha).abs() < 1e-9, "{total}");
    let shares: f64 = app.rows.iter().map(|r| r.status_share).sum();
    assert!((shares - 100.0).abs() < 1e-9, "{shares}");
    let polygons: f64 = s
        .with_workspace(|ws| {
            Ok(ws
                .layer("landuse")
                .unwrap()
                .layer
                .geometries
                .iter()
                .flatten()
                .map(|g| geo::Area::unsigned_area(&g.to_geo()))
                .sum::<f64>())
        })
        .unwrap();
    assert!((app.status_total_ha - polygons / 1e4).abs() < 1e-4);
    // Two epochs: the land use against the control zones (a stand-in second epoch).
    let m = s.land_use_change("landuse", "control_zones", true).unwrap();
    let cli = ok_json(&[
        "change",
        "--catalog",
        demo().to_str().unwrap(),
        "--from",
        "landuse",
        "--to",
        "control_zones",
        "--json",
    ]);
    assert_eq!(cli["from"], serde_json::to_value(&m.from).unwrap());
    assert_eq!(cli["to"], serde_json::to_value(&m.to).unwrap());
    // The matrix as XLSX, read back by GDAL: the grand total is every hectare.
    let mx = dir.path().join("变化.xlsx");
    let out = jingwei(&[
        "change",
        "--catalog",
        demo().to_str().unwrap(),
        "--from",
        "landuse",
        "--to",
        "control_zones",
        "--xlsx",
        mx.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows_back = &xlsx_rows(&mx, "多期对比");
    assert_eq!(rows_back.len(), m.from.len() + 1);
    let grand = rows_back.last().unwrap()["properties"]["合计"].as_f64().unwrap();
    let rows: f64 = m.ha.iter().flatten().sum();
    assert!((grand - rows).abs() < 1e-6, "{grand} vs {rows}");
    assert!(
        (rows - app.status_total_ha).abs() < 1e-4,
        "every hectare of the first epoch is somewhere: {rows}"
    );
    assert!(
        m.to.last().is_some_and(|t| t.starts_with('(')),
        "land outside the zones is 'no data'"
    );
    assert!(
        s.describe()
            .unwrap()
            .layers
            .iter()
            .any(|l| l.title == "地类变化" || l.id.contains("地类变化"))
    );
    let out = jingwei(&["balance", "--catalog", demo().to_str().unwrap(), "--status", "roads"]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("roads") && e.contains("no polygons") && e.trim().lines().count() == 1,
        "{e}"
    );
}

/// `jingwei print` and `overlap --report` lay out the same pages as the app: the same scale,
/// frame, ground, scale bar and legend; the files are PDFs that poppler reads.
#[test]
fn prints_are_the_same_in_the_app_and_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    s.open_catalog(&demo()).unwrap();
    let template = demo().parent().unwrap().join("print/template.toml");
    let app = s
        .print_map(&jingwei_app::print::PrintRequest {
            template: Some(template.clone()),
            paper: Some("A3".into()),
            out: dir.path().join("app.pdf"),
            ..Default::default()
        })
        .unwrap();
    let out = dir.path().join("cli.pdf");
    let cli = ok_json(&[
        "print",
        "--catalog",
        demo().to_str().unwrap(),
        "--template",
        template.to_str().unwrap(),
        "--paper",
        "A3",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let mut app = serde_json::to_value(&app).unwrap();
    app["files"] = cli["files"].clone();
    assert!(close(&cli, &app), "the same sheet through both front doors:\n{cli}\n{app}");
    assert_eq!(cli["paper"], "A3");
    let info = Command::new("pdfinfo").arg(&out).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("Pages:           1") && info.contains("1190.55 x 841.89 pts (A3)"),
        "A3 landscape:\n{info}"
    );
    // The overlap report from the command line: a map sheet and the tables.
    let report = dir.path().join("report.pdf");
    let o = jingwei(&[
        "overlap",
        "--catalog",
        demo().to_str().unwrap(),
        "--wkt",
        "POLYGON((357640 3457792,357940 3457792,357940 3457992,357640 3457992,357640 3457792))",
        "--report",
        report.to_str().unwrap(),
        "--scale",
        "2500",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info = Command::new("pdfinfo").arg(&report).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("Pages:           2"), "{info}");
    let bad = jingwei(&[
        "print",
        "--catalog",
        demo().to_str().unwrap(),
        "--out",
        dir.path().join("x.tif").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.trim().lines().count() == 1 && err.contains("x.tif"),
        "{err}"
    );
}

/// The About box and `jingwei about` answer alike for the same workspace; `--version` names the
/// commit (from this checkout's git) and the GDAL the process runs on.
#[test]
fn about_is_the_same_through_both_doors_and_names_the_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Session::new(tmp.path().join("s.gpkg"), "c".into());
    s.open_catalog(&demo()).unwrap();
    let app = serde_json::to_value(s.about().unwrap()).unwrap();
    let demo_path = demo();
    let cli = ok_json(&["about", "--catalog", demo_path.to_str().unwrap(), "--json"]);
    // The licence folder is found from the executable (the test binary vs `jingwei`): both in
    // this source tree, so the same.
    assert_eq!(app, cli);
    let layers = cli["data"].as_array().unwrap();
    assert!(
        layers
            .iter()
            .any(|n| n["licence"] == "ODbL-1.0" && n["what"].as_str().unwrap().contains("建筑现状")),
        "{layers:?}"
    );

    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        .unwrap();
    let commit = String::from_utf8(commit.stdout).unwrap();
    let version = jingwei(&["--version"]);
    assert!(version.status.success());
    let text = String::from_utf8(version.stdout).unwrap();
    assert!(text.contains(commit.trim()), "--version does not name HEAD {commit}: {text}");
    let gdal = cli["components"].as_array().unwrap().iter().find(|c| c["name"] == "GDAL").unwrap()["version"].clone();
    assert!(text.contains(&format!("GDAL {}", gdal.as_str().unwrap())), "{text}");
    let short = String::from_utf8(jingwei(&["-V"]).stdout).unwrap();
    assert!(short.starts_with("jingwei ") && short.lines().count() == 1, "{short}");
}

/// What-if scenarios, burst isolation and cameras: the same answer from the CLI and the API
/// (timings and the view, which depend on the run and the canvas, aside).
#[test]
fn scenarios_pipes_and_cameras_agree_through_both_front_doors() {
    use jingwei_app::scenario::{Model, ScenarioInput};
    use jingwei_app::session::Canvas;
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    s.open_catalog(&demo()).unwrap();
    let canvas = Canvas {
        width: 1280,
        height: 720,
        current: None,
    };
    let strip = |mut v: J| {
        for k in ["ms", "view"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    let app = s
        .run_scenario(
            &ScenarioInput {
                model: Model::Flood {
                    level_m: 5.2,
                    from_m: Some(4.6),
                    steps: 3,
                    passable_m: 0.3,
                },
                incident: None,
                at: Some([121.4948, 31.2354]),
                evacuate_min: Some(20.0),
            },
            canvas,
        )
        .unwrap();
    let cli = ok_json(&[
        "scenario",
        "flood",
        "--at",
        "121.4948,31.2354",
        "--level",
        "5.2",
        "--from",
        "4.6",
        "--steps",
        "3",
        "--evacuate",
        "20",
        "--json",
    ]);
    let app = strip(serde_json::to_value(&app).unwrap());
    assert!(app["buildings"].as_u64().unwrap() > 0);
    assert!(close(&strip(cli), &app), "flood");
    let app = strip(serde_json::to_value(s.pipe_burst(Some([121.5055, 31.2369]), None, canvas).unwrap()).unwrap());
    let cli = strip(ok_json(&["pipes", "burst", "--at", "121.5055,31.2369", "--json"]));
    assert!(close(&cli, &app), "burst:\n{cli}\n{app}");
    let app = serde_json::to_value(s.cameras_seeing(121.5055, 31.2369).unwrap()).unwrap();
    let cli = ok_json(&["cameras", "see", "--at", "121.5055,31.2369", "--json"]);
    assert!(close(&cli, &app), "cameras:\n{cli}\n{app}");
    // A bad parameter is one line naming it, from the CLI as from the API.
    let out = jingwei(&[
        "scenario",
        "plume",
        "--at",
        "121.505,31.235",
        "--rate",
        "100",
        "--wind",
        "0",
        "--wind-from",
        "90",
        "--thresholds",
        "10",
    ]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("wind speed 0 m/s") && e.trim().lines().count() == 1,
        "{e}"
    );
}
