//! The demo city opens as a workspace: every catalog layer loads, lands in the CGCS2000
//! Gauss-Krüger zone of its centre, is indexed, and keeps its catalog group and flags.

use jingwei_layers::catalog::{Catalog, Group};
use jingwei_layers::{RepairMode, Workspace};
use std::path::Path;

#[test]
fn demo_catalog_opens_in_the_cgcs2000_zone_of_its_centre() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json");
    let catalog = Catalog::load(&path).unwrap();
    let ws = Workspace::open_catalog(&path, None, RepairMode::Repair).unwrap();
    // Lujiazui's centre (121.50°E) lies in the 3-degree zone of CM 123E.
    assert_eq!(ws.crs.epsg, Some(4550));
    assert_eq!(ws.layers.len(), catalog.layers.len());
    for (entry, wl) in catalog.layers.iter().zip(&ws.layers) {
        assert_eq!(entry.id, wl.id);
        assert_eq!(entry.group, wl.group);
        assert_eq!(entry.synthetic, wl.synthetic);
        assert_eq!(wl.layer.crs.as_ref().unwrap().epsg, Some(4550));
        let with_geometry = wl.layer.geometries.iter().filter(|g| g.is_some()).count();
        assert_eq!(wl.index.len(), with_geometry, "{}", wl.id);
        assert!(with_geometry > 0, "{}", wl.id);
    }
    let b = ws.layer("buildings").unwrap();
    assert_eq!(b.layer.len(), 1450);
    let e = b.layer.extent().unwrap();
    // Metres in the zone, and an origin inside the data so that f32 offsets stay small.
    assert!(
        (300_000.0..400_000.0).contains(&e[0]) && (3_400_000.0..3_500_000.0).contains(&e[1]),
        "{e:?}"
    );
    assert!(ws.origin_xy[0] > e[0] && ws.origin_xy[0] < e[2] && ws.origin_xy[1] > e[1] && ws.origin_xy[1] < e[3]);
    assert!(e[2] - ws.origin_xy[0] < 5_000.0);
    assert!(ws.layers.iter().any(|l| l.group == Group::Control && l.synthetic));
    assert!(ws.layers.iter().any(|l| l.group == Group::Emergency));
    assert!(!ws.attribution.is_empty() && ws.attribution[0].contains("OpenStreetMap"));
    // Invalid geometries of the real OSM data are reported with ids, never silently dropped.
    for wl in &ws.layers {
        let s = wl.layer.validity_summary();
        assert_eq!(s.invalid_features, s.repaired + s.skipped + s.kept);
        for issue in &wl.layer.issues {
            assert!(wl.layer.fids.contains(&issue.fid));
        }
    }
}

#[test]
fn outside_china_the_workspace_is_the_utm_zone_of_the_centre() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/osm/liechtenstein_osm.gpkg");
    let path = std::env::var_os("JINGWEI_SHARED_DATA")
        .map(|d| Path::new(&d).join("osm/liechtenstein_osm.gpkg"))
        .unwrap_or(path);
    let src = jingwei_layers::Source::open(&path, &Default::default()).unwrap();
    let layer = src.read_layer(Some("buildings")).unwrap();
    let mut ws = Workspace::for_layer(&layer).unwrap();
    // Liechtenstein (9.5°E, 47.1°N) lies in UTM zone 32 north.
    assert_eq!(ws.crs.epsg, Some(32632));
    ws.add_layer(layer, RepairMode::Repair).unwrap();
    let e = ws.layers[0].layer.extent().unwrap();
    assert!(
        (500_000.0..800_000.0).contains(&e[0]) && (5_200_000.0..5_250_000.0).contains(&e[1]),
        "{e:?}"
    );
}

/// A catalog names a style file by path: it is read with the catalog, kept on the layer, saved
/// with the workspace; a missing one is an error naming it.
#[test]
fn catalog_style_files_are_read_kept_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo");
    let mut catalog: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo.join("catalog.json")).unwrap()).unwrap();
    for l in catalog["layers"].as_array_mut().unwrap() {
        let f = l["file"].as_str().unwrap().to_string();
        l["file"] = serde_json::json!(demo.join(f));
    }
    if let Some(dem) = catalog["dem"].as_str().map(str::to_string) {
        catalog["dem"] = serde_json::json!(demo.join(dem));
    }
    catalog["layers"][0]["style"] = serde_json::json!("styles/landuse.json");
    std::fs::create_dir_all(dir.path().join("styles")).unwrap();
    std::fs::write(dir.path().join("styles/landuse.json"), r##"{"fill": "#123456"}"##).unwrap();
    let path = dir.path().join("catalog.json");
    std::fs::write(&path, catalog.to_string()).unwrap();
    let ws = Workspace::open_catalog(&path, None, RepairMode::Repair).unwrap();
    assert_eq!(ws.layers[0].style, Some(serde_json::json!({"fill": "#123456"})));
    assert_eq!(ws.layers[1].style, None);
    // Saved and reopened with the workspace.
    let saved = dir.path().join("ws.gpkg");
    jingwei_layers::saved::save_workspace(&ws, &saved, None).unwrap();
    let (back, _) = jingwei_layers::saved::open_workspace(&saved).unwrap();
    assert_eq!(back.layers[0].style, ws.layers[0].style);
    // Missing: the error names the style file.
    std::fs::remove_file(dir.path().join("styles/landuse.json")).unwrap();
    let e = Workspace::open_catalog(&path, None, RepairMode::Repair).unwrap_err().to_string();
    assert!(e.contains("landuse.json"), "{e}");
}
