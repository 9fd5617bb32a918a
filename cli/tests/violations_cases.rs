//! `jingwei violations` and `jingwei cases` end to end on the demo city: the nightly batch run,
//! the case operations other systems script, the exports and the printable report.

use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn jingwei(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(args)
        .env("USER", "ci")
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn ok_json(out: Output) -> J {
    serde_json::from_str(&ok(out)).unwrap()
}

fn fails_with(out: Output, must: &[&str]) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for m in must {
        assert!(err.contains(m), "'{m}' missing from: {err}");
    }
}

#[test]
fn nightly_detection_into_cases_and_the_case_operations() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws.gpkg");
    let ws_s = ws.to_str().unwrap();
    let demo = root().join("assets/demo");
    let b = format!("{}:buildings_polygon", demo.join("lujiazui_osm.gpkg").display());
    let p = format!("{}:permits", demo.join("planning_synthetic.gpkg").display());
    let z = format!("{}:control_zones", demo.join("planning_synthetic.gpkg").display());
    let r = format!("{}:river_protection_zones", demo.join("planning_synthetic.gpkg").display());
    let run = |extra: &[&str]| {
        let mut args = vec![
            "violations",
            "--buildings",
            &b,
            "--permits",
            &p,
            "--zones",
            &z,
            "--zones",
            &r,
            "--json",
        ];
        args.extend_from_slice(extra);
        ok_json(jingwei(&args))
    };
    let v = run(&["--out", ws_s]);
    let findings = v["report"]["findings"].as_array().unwrap();
    assert!(findings.len() > 100);
    assert_eq!(v["cases"]["created"].as_u64().unwrap() as usize, findings.len());
    let per_rule: Vec<(String, u64)> = v["report"]["per_rule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x[0].as_str().unwrap().to_string(), x[1].as_u64().unwrap()))
        .collect();
    let count = |r: &str| {
        findings
            .iter()
            .filter(|f| f["rules"].as_array().unwrap().iter().any(|x| x == r))
            .count() as u64
    };
    for (rule, n) in &per_rule {
        assert_eq!(*n, count(rule), "{rule}");
    }
    // The catalog form finds the same with the same layers.
    let via_catalog = ok_json(jingwei(&[
        "violations",
        "--catalog",
        demo.join("catalog.json").to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(via_catalog["report"]["findings"].as_array().unwrap().len(), findings.len());
    // A stricter threshold finds more missing permits.
    let strict = run(&["--min-coverage", "0.999"]);
    assert!(strict["report"]["per_rule"][0][1].as_u64() >= v["report"]["per_rule"][0][1].as_u64());
    // The second nightly run adds no duplicates.
    let again = run(&["--out", ws_s]);
    assert_eq!(again["cases"]["created"], 0);
    assert_eq!(again["cases"]["unchanged"].as_u64().unwrap() as usize, findings.len());

    let list = ok_json(jingwei(&["cases", "list", "-w", ws_s, "--json"]));
    let cases = list.as_array().unwrap();
    assert_eq!(cases.len(), findings.len());
    let top = cases[0]["case_no"].as_str().unwrap().to_string();
    assert_eq!(cases[0]["building_fid"], findings[0]["building_fid"]);

    // The loop from the command line; a wrong move is one clear line and changes nothing.
    fails_with(
        jingwei(&["cases", "set-status", &top, "closed", "-w", ws_s]),
        &[&top, "待核查", "已结案"],
    );
    ok(jingwei(&["cases", "assign", &top, "张三", "-w", ws_s, "--actor", "李科长"]));
    ok(jingwei(&[
        "cases",
        "set-status",
        &top,
        "已核实",
        "-w",
        ws_s,
        "--comment",
        "现场核实属实",
        "--actor",
        "张三",
    ]));
    let photo = dir.path().join("IMG_0001.jpg");
    std::fs::write(&photo, [0xffu8, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F']).unwrap();
    ok(jingwei(&["cases", "attach", &top, photo.to_str().unwrap(), "-w", ws_s]));
    ok(jingwei(&["cases", "note", &top, "已下发责令限期改正通知书", "-w", ws_s]));
    ok(jingwei(&["cases", "set-status", &top, "rectifying", "-w", ws_s]));
    let show = ok_json(jingwei(&["cases", "show", &top, "-w", ws_s, "--json"]));
    assert_eq!(show["status"], "rectifying");
    assert_eq!(show["assignee"], "张三");
    assert_eq!(show["notes"].as_array().unwrap().len(), 2);
    assert_eq!(show["attachments"][0]["mime"], "image/jpeg");
    let audit = show["audit"].as_array().unwrap();
    let statuses: Vec<(&str, &str)> = audit
        .iter()
        .filter(|a| a["action"] == "status")
        .map(|a| (a["old_value"].as_str().unwrap(), a["new_value"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, vec![("pending", "confirmed"), ("confirmed", "rectifying")]);
    assert!(audit.iter().any(|a| a["actor"] == "李科长" && a["action"] == "assignee"));
    assert!(audit.iter().any(|a| a["actor"] == "ci" && a["action"] == "note"));
    let lon = show["geometry_lonlat"]["coordinates"][0][0][0].as_f64().unwrap();
    assert!((121.4..121.6).contains(&lon));

    // Flag by hand: a building, and a polygon drawn in lon/lat.
    let flagged = ok_json(jingwei(&[
        "cases",
        "flag",
        "-w",
        ws_s,
        "--building",
        &b,
        "--fid",
        "5",
        "--note",
        "巡查发现",
        "--json",
    ]));
    assert_eq!(flagged["source"], "manual");
    assert_eq!(flagged["building_fid"], 5);
    let drawn = ok_json(jingwei(&[
        "cases",
        "flag",
        "-w",
        ws_s,
        "--wkt",
        "POLYGON((121.500 31.240,121.5005 31.240,121.5005 31.2405,121.500 31.2405,121.500 31.240))",
        "--in",
        "EPSG:4490",
        "--json",
    ]));
    let area = drawn["evidence"]["area_m2"].as_f64().unwrap();
    assert!((2000.0..3000.0).contains(&area), "≈ 47.6 m × 55.5 m: {area}");
    let manual = ok_json(jingwei(&[
        "cases", "list", "-w", ws_s, "--rule", "manual", "--status", "pending", "--json",
    ]));
    assert_eq!(manual.as_array().unwrap().len(), 2);

    // Exports.
    let csv = dir.path().join("cases.csv");
    ok(jingwei(&[
        "cases",
        "export",
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
        "-w",
        ws_s,
    ]));
    let bytes = std::fs::read(&csv).unwrap();
    assert_eq!(&bytes[..3], b"\xef\xbb\xbf", "UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert_eq!(text.trim_end().lines().count(), findings.len() + 3);
    assert!(text.contains("整改中") && text.contains("人工标记"));
    let gj = dir.path().join("cases.geojson");
    ok(jingwei(&[
        "cases",
        "export",
        "--format",
        "geojson",
        "--out",
        gj.to_str().unwrap(),
        "-w",
        ws_s,
        "--status",
        "rectifying",
    ]));
    let gj: J = serde_json::from_slice(&std::fs::read(&gj).unwrap()).unwrap();
    assert_eq!(gj["features"].as_array().unwrap().len(), 1);
    let gp = dir.path().join("export.gpkg");
    ok(jingwei(&[
        "cases",
        "export",
        "--format",
        "gpkg",
        "--out",
        gp.to_str().unwrap(),
        "-w",
        ws_s,
        "--zone-type",
        "ecological_red_line",
    ]));
    let n_eco = findings
        .iter()
        .filter(|f| {
            f["evidence"]["zones"]
                .as_array()
                .unwrap()
                .iter()
                .any(|z| z["zone_type"] == "ecological_red_line")
        })
        .count();
    let info = ok_json(jingwei(&["info", gp.to_str().unwrap(), "--layer", "cases", "--json"]));
    assert_eq!(info["layers"][0]["feature_count"].as_u64().unwrap() as usize, n_eco, "{info}");

    // The printable report: one HTML page per case with the site map rendered by the viewer.
    let rep = dir.path().join("report");
    ok(jingwei(&[
        "cases",
        "export",
        "--format",
        "report",
        "--out",
        rep.to_str().unwrap(),
        "-w",
        ws_s,
        "--status",
        "rectifying",
    ]));
    let html = std::fs::read_to_string(rep.join(format!("{top}.html"))).unwrap();
    for must in [
        "违法建设线索报告",
        "已核实",
        "整改中",
        "现场核实属实",
        "张三",
        "IMG_0001.jpg",
        "许可覆盖率",
    ] {
        assert!(html.contains(must), "report lacks {must}");
    }
    let b64 = html
        .split("data:image/png;base64,")
        .nth(1)
        .unwrap_or_else(|| panic!("no map in {}", &html[..html.len().min(3000)]))
        .split('"')
        .next()
        .unwrap();
    assert!(b64.len() > 10_000, "a real map image");
    assert!(std::fs::read_to_string(rep.join("index.html")).unwrap().contains(&top));
}

#[test]
fn bad_case_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.gpkg");
    fails_with(
        jingwei(&["cases", "list", "-w", missing.to_str().unwrap()]),
        &["nowhere.gpkg", "no such file"],
    );
    let demo = root().join("assets/demo/planning_synthetic.gpkg");
    fails_with(
        jingwei(&["cases", "list", "-w", demo.to_str().unwrap()]),
        &["planning_synthetic.gpkg", "case tables"],
    );
    let b = format!("{}:buildings_polygon", root().join("assets/demo/lujiazui_osm.gpkg").display());
    let z = format!("{}:control_zones", demo.display());
    fails_with(
        jingwei(&["violations", "--buildings", &b, "--zones", &z, "--zone-type-field", "类型"]),
        &["control_zones", "类型", "zone_type"],
    );
    fails_with(jingwei(&["violations", "--buildings", &b]), &["--permits"]);
    fails_with(jingwei(&["cases", "set-status", "1", "finished", "-w", "x.gpkg"]), &["finished"]);
}
