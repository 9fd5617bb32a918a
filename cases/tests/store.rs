//! The case store on the demo city: the loop, the audit trail, the GeoPackage GDAL reads, the
//! exports, and bad files.

use gdal::vector::LayerAccess;
use geo::Geometry;
use jingwei_analysis::violations::{
    BuildingFields, Buildings, Inputs, PermitFields, Thresholds, ZoneFields, Zones, detect, field_names, find_field,
};
use jingwei_cases::{CaseError, CaseStore, CsvOptions, Filter, Status, csv_string, geojson_value};
use jingwei_layers::{Crs, RepairMode, Transformer, Workspace};
use std::path::Path;

fn demo() -> Workspace {
    Workspace::open_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        RepairMode::Repair,
    )
    .unwrap()
}

fn findings(ws: &Workspace) -> Vec<jingwei_analysis::violations::Finding> {
    let b = &ws.layer("buildings").unwrap().layer;
    let p = &ws.layer("permits").unwrap().layer;
    let z = &ws.layer("control_zones").unwrap().layer;
    let inputs = Inputs {
        buildings: Buildings {
            layer: b,
            fields: BuildingFields {
                height: b.field_index("height"),
                floors: None,
            },
        },
        permits: Some((
            p,
            PermitFields {
                number: find_field(p, None, field_names::PERMIT_NUMBER).unwrap(),
                approved_height: find_field(p, None, field_names::APPROVED_HEIGHT).unwrap(),
                approved_floors: find_field(p, None, field_names::APPROVED_FLOORS).unwrap(),
                approved_area: find_field(p, None, field_names::APPROVED_AREA).unwrap(),
            },
        )),
        zones: vec![Zones {
            layer: z,
            fields: ZoneFields {
                zone_type: z.field_index("zone_type"),
                name: z.field_index("name"),
                default_type: String::new(),
            },
        }],
        previous: None,
    };
    detect(&inputs, &Thresholds::default()).findings
}

#[test]
fn the_case_loop_with_its_audit_trail_in_a_geopackage() {
    let ws = demo();
    let b = &ws.layer("buildings").unwrap().layer;
    let found = findings(&ws);
    assert!(found.len() > 100);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workspace.gpkg");
    let mut store = CaseStore::open_or_create(&path, &ws.crs).unwrap();
    let geom = |f: &jingwei_analysis::violations::Finding| b.geometries.geometry(f.row);
    let s = store.import_findings(&found, "buildings", geom, "nightly").unwrap();
    assert_eq!(s.created, found.len());
    // Running the detection again makes no duplicates.
    let s2 = store.import_findings(&found, "buildings", geom, "nightly").unwrap();
    assert_eq!((s2.created, s2.updated, s2.unchanged), (0, 0, found.len()));

    let all = store.list(&Filter::default()).unwrap();
    assert_eq!(all.len(), found.len());
    assert!(all.windows(2).all(|w| w[0].priority >= w[1].priority));
    let top = &all[0];
    assert_eq!(top.status, Status::Pending);
    assert_eq!(top.building_fid, Some(found[0].building_fid));
    assert_eq!(top.geometry, b.geometries.geometry(found[0].row));

    // The loop: pending → confirmed → rectifying → closed; illegal moves are refused.
    let err = store.set_status(&top.case_no, Status::Closed, None, "张三").unwrap_err();
    assert!(matches!(err, CaseError::Transition { .. }), "{err}");
    assert!(err.to_string().contains("待核查") && err.to_string().contains("已结案"), "{err}");
    store.assign(&top.case_no, Some("张三"), "李科长").unwrap();
    store
        .set_status(&top.case_no, Status::Confirmed, Some("现场核实：无规划许可，已拍照"), "张三")
        .unwrap();
    let photo = dir.path().join("现场照片.jpg");
    std::fs::write(&photo, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();
    let att = store.attach(&top.case_no, &photo, "张三").unwrap();
    store.set_status(&top.case_no, Status::Rectifying, None, "张三").unwrap();
    store.add_note(&top.case_no, "已下达限期拆除通知书", "张三").unwrap();
    let closed = store.set_status(&top.case_no, Status::Closed, None, "李科长").unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(closed.assignee.as_deref(), Some("张三"));
    let (meta, bytes) = store.attachment_data(att).unwrap();
    assert_eq!(
        (meta.name.as_str(), meta.mime.as_str(), bytes.len() as i64),
        ("现场照片.jpg", "image/jpeg", meta.size)
    );

    let d = store.detail(&top.case_no).unwrap();
    assert_eq!(d.notes.len(), 2);
    assert_eq!(d.attachments.len(), 1);
    let actions: Vec<(&str, Option<&str>, Option<&str>)> = d
        .audit
        .iter()
        .map(|a| (a.action.as_str(), a.old_value.as_deref(), a.new_value.as_deref()))
        .collect();
    assert_eq!(actions[0].0, "create");
    assert!(actions.contains(&("assignee", None, Some("张三"))));
    assert!(actions.contains(&("status", Some("pending"), Some("confirmed"))));
    assert!(actions.contains(&("status", Some("confirmed"), Some("rectifying"))));
    assert!(actions.contains(&("status", Some("rectifying"), Some("closed"))));
    assert!(actions.contains(&("attach", None, Some("现场照片.jpg"))));
    assert!(d.audit.iter().any(|a| a.action == "status" && a.actor == "李科长"));
    // A closed building is detected again: a new case, not the closed one reopened silently.
    let s3 = store.import_findings(&found[..1], "buildings", geom, "nightly").unwrap();
    assert_eq!(s3.created, 1);

    // Nothing is overwritten without trace: the audit trail and cases cannot be erased.
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert!(conn.execute("UPDATE case_audit SET actor = 'x'", []).is_err());
    assert!(conn.execute("DELETE FROM case_audit", []).is_err());
    assert!(conn.execute("DELETE FROM cases", []).is_err());
    drop(conn);

    // GDAL reads it as a GeoPackage: a cases layer with every case, in the workspace CRS.
    let ds = gdal::Dataset::open(&path).unwrap();
    let layer = ds.layer_by_name("cases").unwrap();
    assert_eq!(layer.feature_count() as usize, found.len() + 1);
    let srs = layer.spatial_ref().unwrap();
    assert_eq!(srs.auth_code().unwrap() as u32, ws.crs.epsg.unwrap());
    assert!(ds.layer_by_name("case_audit").is_ok());

    // Filters.
    let store = CaseStore::open(&path).unwrap();
    let closed = store
        .list(&Filter {
            statuses: vec![Status::Closed],
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(closed.len(), 1);
    let eco = store
        .list(&Filter {
            zone_type: Some("ecological_red_line".into()),
            ..Filter::default()
        })
        .unwrap();
    let want = found
        .iter()
        .filter(|f| f.evidence.zones.iter().any(|z| z.zone_type == "ecological_red_line"))
        .count();
    assert!(want > 0);
    assert_eq!(
        eco.iter().map(|c| c.building_fid).collect::<std::collections::BTreeSet<_>>().len(),
        want
    );
    let no_permit = store
        .list(&Filter {
            rule: Some("no_permit".into()),
            ..Filter::default()
        })
        .unwrap();
    assert!(no_permit.iter().all(|c| c.rules.iter().any(|r| r == "no_permit")) && !no_permit.is_empty());
}

#[test]
fn exports_csv_geojson_and_geopackage() {
    let ws = demo();
    let b = &ws.layer("buildings").unwrap().layer;
    let found = findings(&ws);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.gpkg");
    let mut store = CaseStore::open_or_create(&path, &ws.crs).unwrap();
    store
        .import_findings(&found, "buildings", |f| b.geometries.geometry(f.row), "nightly")
        .unwrap();
    let first = store.list(&Filter::default()).unwrap()[0].case_no.clone();
    store.add_note(&first, "备注", "王五").unwrap();
    let cases = store.list(&Filter::default()).unwrap();
    let to_ll = Transformer::new(&ws.crs, &Crs::from_epsg(4490).unwrap()).unwrap();

    let csv = csv_string(&cases, Some(&to_ll), CsvOptions::default());
    assert!(csv.starts_with('\u{feff}'), "UTF-8 BOM for Excel");
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), cases.len() + 1);
    assert!(lines[1].contains("待核查"));
    assert!(csv.contains("无证建设"));
    // Lon/lat of the demo city.
    let cols: Vec<&str> = lines[1].split(',').collect();
    let header: Vec<&str> = lines[0].trim_start_matches('\u{feff}').split(',').collect();
    let lon: f64 = cols[header.iter().position(|h| *h == "lon").unwrap()].parse().unwrap();
    assert!((121.4..121.6).contains(&lon), "{lon}");

    let gj = geojson_value(&cases, Some(&to_ll));
    let feats = gj["features"].as_array().unwrap();
    assert_eq!(feats.len(), cases.len());
    let ring = &feats[0]["geometry"]["coordinates"][0][0];
    assert!((31.2..31.3).contains(&ring[1].as_f64().unwrap()), "{ring}");
    assert_eq!(feats[0]["properties"]["status_zh"], "待核查");

    // GeoPackage export of the pending no-permit cases, with their notes and audit.
    let out = dir.path().join("export.gpkg");
    let filter = Filter {
        rule: Some("no_permit".into()),
        ..Filter::default()
    };
    let n = store.export_gpkg(&filter, &out).unwrap();
    assert_eq!(n, store.list(&filter).unwrap().len());
    let exported = CaseStore::open(&out).unwrap();
    let again = exported.list(&Filter::default()).unwrap();
    assert_eq!(again, store.list(&filter).unwrap());
    let ds = gdal::Dataset::open(&out).unwrap();
    assert_eq!(ds.layer_by_name("cases").unwrap().feature_count() as usize, n);
    // Exporting over an existing file is refused, never overwritten.
    assert!(store.export_gpkg(&filter, &out).unwrap_err().to_string().contains("already exists"));
}

#[test]
fn bad_files_give_one_clear_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.gpkg");
    let e = CaseStore::open(&missing).err().unwrap().to_string();
    assert!(e.contains("nope.gpkg") && e.contains("no such file"), "{e}");
    let text = dir.path().join("notes.gpkg");
    std::fs::write(
        &text,
        "this is not a database, just some text that is long enough to be a header....",
    )
    .unwrap();
    let e = CaseStore::open(&text).err().unwrap().to_string();
    assert!(e.contains("notes.gpkg") && e.contains("not a GeoPackage"), "{e}");
    // The existing file is left as it was.
    assert!(std::fs::read_to_string(&text).unwrap().starts_with("this is not"));
    let e = CaseStore::open(dir.path()).err().unwrap().to_string();
    assert!(e.contains("directory"), "{e}");
    // A GeoPackage without the case tables (the demo's planning layers).
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/planning_synthetic.gpkg");
    let copy = dir.path().join("planning.gpkg");
    std::fs::copy(&demo, &copy).unwrap();
    let e = CaseStore::open(&copy).err().unwrap().to_string();
    assert!(e.contains("without Jingwei's case tables"), "{e}");
    // … to which the tables can be added; its own layers stay readable.
    let crs = Crs::from_epsg(4550).unwrap();
    let mut store = CaseStore::open_or_create(&copy, &crs).unwrap();
    let sq = Geometry::Polygon(geo::Polygon::new(
        geo::LineString::from(vec![
            (356000.0, 3458000.0),
            (356010.0, 3458000.0),
            (356010.0, 3458010.0),
            (356000.0, 3458000.0),
        ]),
        vec![],
    ));
    let c = store.flag(&sq, None, "群众举报：疑似违建", Some("12345热线转办"), "赵六").unwrap();
    assert_eq!(c.source, "manual");
    assert_eq!(store.detail(&c.case_no).unwrap().notes.len(), 1);
    drop(store);
    let ds = gdal::Dataset::open(&copy).unwrap();
    assert!(ds.layer_by_name("permits").is_ok());
    assert_eq!(ds.layer_by_name("cases").unwrap().feature_count(), 1);
    // A store in another CRS is refused rather than mixing coordinates.
    let e = CaseStore::open_or_create(&copy, &Crs::from_epsg(4547).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("4550"), "{e}");
}
