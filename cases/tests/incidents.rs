//! Incidents with their action log in the workspace GeoPackage, and drill mode on a copy that
//! never touches the real records.

use gdal::vector::LayerAccess;
use geo::{Geometry, Point};
use jingwei_cases::CaseStore;
use jingwei_cases::incidents::{IncidentStatus, NewIncident};
use jingwei_layers::Crs;

fn incident<'a>(g: &'a Geometry, title: &'a str) -> NewIncident<'a> {
    NewIncident {
        kind: "fire",
        severity: Some("Severe"),
        title,
        source: "manual",
        event_id: None,
        rings_m: &[100.0, 300.0, 500.0],
        occurred_at: Some("2026-11-22T14:00:00+08:00"),
        geometry: g,
    }
}

#[test]
fn incidents_their_log_and_a_drill_that_leaves_the_real_records_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.gpkg");
    let mut store = CaseStore::open_or_create(&path, &Crs::from_epsg(4550).unwrap()).unwrap();
    let g = Geometry::Point(Point::new(356_500.0, 3_458_300.0));
    let inc = store.create_incident(&incident(&g, "陆家嘴某大厦火灾"), "值班长").unwrap();
    assert_eq!(inc.status, IncidentStatus::Active);
    assert_eq!(inc.geometry.as_ref(), Some(&g));
    store
        .log_action(&inc.incident_no, "调派东昌消防救援站 2 车 10 人", "值班长")
        .unwrap();
    store.set_incident_rings(&inc.incident_no, &[150.0, 400.0], "值班长").unwrap();
    let contained = store
        .set_incident_status(&inc.incident_no, IncidentStatus::Contained, "指挥员")
        .unwrap();
    assert_eq!(contained.rings_m, vec![150.0, 400.0]);
    let log = store.incident_log(&inc.incident_no).unwrap();
    let actions: Vec<&str> = log.iter().map(|l| l.action.as_str()).collect();
    assert_eq!(actions, ["create", "action", "rings", "status"]);
    assert_eq!(log[3].detail.as_deref(), Some("active → contained"));
    assert!(!store.is_drill().unwrap());

    // The drill: a copy, marked, with its own incidents; the real file does not change.
    let before = std::fs::read(&path).unwrap();
    let drill_path = dir.path().join("ws.drill.gpkg");
    let mut drill = store.drill_copy(&drill_path, "演练组").unwrap();
    assert!(drill.is_drill().unwrap());
    assert_eq!(drill.incidents(true).unwrap().len(), 1, "the drill starts from the real state");
    let d = drill.create_incident(&incident(&g, "演练：危化品泄漏"), "演练组").unwrap();
    drill.log_action(&d.incident_no, "疏散半径 800 m", "演练组").unwrap();
    drill
        .set_incident_status(&inc.incident_no, IncidentStatus::Closed, "演练组")
        .unwrap();
    drop(drill);
    assert_eq!(std::fs::read(&path).unwrap(), before, "the real store is byte for byte unchanged");
    let real = store.incidents(true).unwrap();
    assert_eq!(real.len(), 1);
    assert_eq!(real[0].status, IncidentStatus::Contained);
    assert!(store.drill_copy(&drill_path, "x").is_err(), "never overwrite a drill");

    // The log is append-only; GDAL sees the incidents layer.
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert!(conn.execute("DELETE FROM incident_log", []).is_err());
    assert!(conn.execute("UPDATE incident_log SET actor = 'x'", []).is_err());
    drop(conn);
    let ds = gdal::Dataset::open(&path).unwrap();
    assert_eq!(ds.layer_by_name("incidents").unwrap().feature_count(), 1);
}
