//! Rule 4 on a real pair of surveys: the OpenStreetMap buildings of Liechtenstein in 2013 and
//! 2015 (`../shared/data/osm/pbf/`). The number of new buildings the rule finds must equal a
//! direct comparison of the two snapshots done another way: GEOS overlays through GDAL, a grid
//! of candidates instead of an R-tree, and areas in lon/lat (the covered *share* of a building
//! does not depend on the projection at this scale).

use gdal::vector::LayerAccess;
use jingwei_analysis::violations::{BuildingFields, Buildings, Inputs, Rule, Thresholds, detect};
use jingwei_layers::{Layer, OpenOptions, RepairMode, Source, Workspace};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn pbf(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/osm/pbf").join(name)
}

/// The buildings (closed ways and multipolygon relations tagged building=*) of a snapshot.
fn buildings(path: &Path) -> Layer {
    let src = Source::open(path, &OpenOptions::default()).unwrap();
    let mut l = src.read_layer(Some("multipolygons")).unwrap();
    let bi = l.field_index("building").expect("building field");
    let keep: Vec<usize> = (0..l.len()).filter(|r| !l.feature(*r).value(bi).is_null()).collect();
    l.geometries = keep.iter().map(|r| l.geometries.geometry(*r)).collect();
    l.fids = keep.iter().map(|r| l.fids[*r]).collect();
    l.columns.clear();
    l.fields.clear();
    l
}

/// GDAL's own reading of the same buildings, as GEOS geometries (made valid where needed).
fn gdal_buildings(path: &Path) -> Vec<gdal::vector::Geometry> {
    let ds = gdal::Dataset::open(path).unwrap();
    let mut layer = ds.layer_by_name("multipolygons").unwrap();
    layer.set_attribute_filter("building IS NOT NULL").unwrap();
    layer
        .features()
        .filter_map(|f| f.geometry().cloned())
        .map(|g| {
            if g.is_valid() {
                g
            } else {
                g.make_valid(&gdal::cpl::CslStringList::new()).unwrap()
            }
        })
        .collect()
}

#[test]
fn new_buildings_between_the_2013_and_2015_surveys() {
    let (p2013, p2015) = (
        pbf("osm2pgsql_liechtenstein-2013-08-03.osm.pbf"),
        pbf("valhalla_liechtenstein-latest.osm.pbf"),
    );
    let (old, new) = (buildings(&p2013), buildings(&p2015));
    assert_eq!((old.len(), new.len()), (3723, 8994), "counts of the MANIFEST");

    let mut ws = Workspace::for_layer(&new).unwrap();
    ws.add_layer(new, RepairMode::Repair).unwrap();
    ws.add_layer(old, RepairMode::Repair).unwrap();
    let (cur, prev) = (&ws.layers[0].layer, &ws.layers[1].layer);
    let inputs = Inputs {
        buildings: Buildings {
            layer: cur,
            fields: BuildingFields::default(),
        },
        permits: None,
        zones: vec![],
        previous: Some(Buildings {
            layer: prev,
            fields: BuildingFields::default(),
        }),
    };
    let t = Thresholds::default();
    let report = detect(&inputs, &t);
    let ours = report.findings.iter().filter(|f| f.rules.contains(&Rule::NewSinceSurvey)).count();

    // The other way.
    let (g_old, g_new) = (gdal_buildings(&p2013), gdal_buildings(&p2015));
    assert_eq!((g_old.len(), g_new.len()), (3723, 8994));
    const CELL: f64 = 0.002; // degrees, ≈ 150-220 m
    let cell = |x: f64, y: f64| ((x / CELL).floor() as i64, (y / CELL).floor() as i64);
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, g) in g_old.iter().enumerate() {
        let e = g.envelope();
        let (a, b) = (cell(e.MinX, e.MinY), cell(e.MaxX, e.MaxY));
        for cx in a.0..=b.0 {
            for cy in a.1..=b.1 {
                grid.entry((cx, cy)).or_default().push(i);
            }
        }
    }
    let mut direct = 0;
    for g in &g_new {
        let area = g.area();
        if area <= 0.0 {
            continue;
        }
        let e = g.envelope();
        let (a, b) = (cell(e.MinX, e.MinY), cell(e.MaxX, e.MaxY));
        let mut cands: Vec<usize> = (a.0..=b.0)
            .flat_map(|cx| (a.1..=b.1).map(move |cy| (cx, cy)))
            .flat_map(|k| grid.get(&k).cloned().unwrap_or_default())
            .collect();
        cands.sort_unstable();
        cands.dedup();
        let covered: f64 = cands
            .iter()
            .filter(|i| g.intersects(&g_old[**i]))
            .map(|i| g.intersection(&g_old[*i]).map_or(0.0, |x| x.area()))
            .sum();
        if covered / area < t.new_max_overlap {
            direct += 1;
        }
    }
    eprintln!("new buildings 2013 → 2015: rule {ours}, direct GEOS comparison {direct}");
    assert!(ours > 4000, "most of 2015's buildings were mapped after 2013: {ours}");
    assert_eq!(ours, direct);
}
