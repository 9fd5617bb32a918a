//! Save the demo workspace into the GeoPackage that holds its cases and open it again: the same
//! layers, features, tree and view, and the cases untouched.

use jingwei_cases::{CaseStore, Filter};
use jingwei_layers::saved::{is_saved_workspace, open_workspace, save_workspace};
use jingwei_layers::{RepairMode, Workspace};
use std::path::Path;

#[test]
fn save_and_reopen_keeps_layers_tree_view_and_cases() {
    let mut ws = Workspace::open_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        RepairMode::Repair,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("work.gpkg");
    // A case first, so that the save has something to keep.
    {
        let mut store = CaseStore::open_or_create(&path, &ws.crs).unwrap();
        let g = ws.layer("buildings").unwrap().layer.geometries.geometry(0).unwrap();
        store
            .flag(&g, Some(("buildings_polygon", 1)), "保存前的线索", Some("备注"), "tester")
            .unwrap();
    }
    assert!(!is_saved_workspace(&path));
    ws.layers.iter_mut().find(|l| l.id == "roads").unwrap().visible = false;
    let view = serde_json::json!({"target": [1.0, 2.0, 3.0], "distance_m": 850.0, "pitch_deg": 40.0, "yaw_deg": 15.0, "fov_deg": 45.0});
    save_workspace(&ws, &path, Some(view.clone())).unwrap();
    assert!(is_saved_workspace(&path));

    let (back, v) = open_workspace(&path).unwrap();
    assert_eq!(v, Some(view));
    assert_eq!(back.crs.epsg, ws.crs.epsg);
    assert_eq!(back.origin_xy, ws.origin_xy);
    assert_eq!(back.attribution, ws.attribution);
    assert_eq!(back.layers.len(), ws.layers.len());
    for (a, b) in ws.layers.iter().zip(&back.layers) {
        assert_eq!(
            (&a.id, &a.title, a.group, a.visible, a.synthetic),
            (&b.id, &b.title, b.group, b.visible, b.synthetic)
        );
        assert_eq!(a.layer.len(), b.layer.len(), "{}", a.id);
        assert_eq!(a.layer.geometries, b.layer.geometries, "{}: geometries identical", a.id);
        assert_eq!(
            a.layer.fields.iter().map(|f| &f.name).collect::<Vec<_>>(),
            b.layer.fields.iter().map(|f| &f.name).collect::<Vec<_>>()
        );
        for row in [0, a.layer.len() / 2, a.layer.len() - 1] {
            let (fa, fb) = (a.layer.feature(row), b.layer.feature(row));
            for i in 0..a.layer.fields.len() {
                assert_eq!(
                    fa.value(i).to_string(),
                    fb.value(i).to_string(),
                    "{} row {row} field {}",
                    a.id,
                    a.layer.fields[i].name
                );
            }
        }
    }
    assert!(!back.layer("roads").unwrap().visible);
    // The case is still there, with its note.
    let store = CaseStore::open(&path).unwrap();
    let cases = store.list(&Filter::default()).unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(store.detail(&cases[0].case_no).unwrap().notes.len(), 1);
    drop(store);

    // Saving again without a layer drops its table; no temporary file is left behind.
    let mut fewer = back;
    fewer.layers.retain(|l| l.id != "pois");
    save_workspace(&fewer, &path, None).unwrap();
    let (again, v) = open_workspace(&path).unwrap();
    assert_eq!(again.layers.len(), ws.layers.len() - 1);
    assert_eq!(v, None);
    let ds = gdal::Dataset::open(&path).unwrap();
    assert!(ds.layer_by_name("layer_pois").is_err());
    assert!(ds.layer_by_name("layer_buildings").is_ok() && ds.layer_by_name("cases").is_ok());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // A GeoPackage without a saved workspace says so.
    let e = open_workspace(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/planning_synthetic.gpkg"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no saved workspace"), "{e}");
}
