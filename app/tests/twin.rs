//! The city twin's own tileset: Lujiazui's 1,450 OSM buildings (the demo city) built into 3D
//! Tiles by `build_city_tileset`, checked whole, and read back through the streaming path into
//! the workspace's Gauss-Krüger zone (CGCS2000, northing first in EPSG): every vertex lands
//! within a millimetre of a footprint vertex, and every building is in exactly one tile.

use jingwei_app::tileset::{BuildRequest, build_city_tileset, check_tileset};
use jingwei_layers::Workspace;
use jingwei_layers::tiles3d::{self, decode::Placer, decode::decode_file};
use std::collections::HashMap;
use std::path::Path;

#[test]
fn a_city_becomes_a_tileset_that_reads_back_where_its_buildings_stand() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/lujiazui_osm.gpkg");
    let r = build_city_tileset(&BuildRequest {
        source: demo.clone(),
        layer: Some("buildings_polygon".into()),
        out: dir.path().to_owned(),
        leaf_max: 100,
    })
    .unwrap();
    assert_eq!(r.buildings, 1450);
    assert!(r.tiles > 10 && r.depth >= 2, "{r:?}");
    let check = check_tileset(&dir.path().join("tileset.json")).unwrap();
    assert!(check.broken.is_empty(), "{:?}", check.broken);
    assert_eq!((check.tiles, check.contents["glb"]), (r.tiles, r.tiles));

    // The workspace the demo opens in, and its footprints' vertices on a 1 cm grid.
    let mut ws = None;
    Workspace::load_file(&mut ws, &demo, None).unwrap();
    let ws = ws.unwrap();
    assert!(ws.crs.label().starts_with("EPSG:45"), "{}", ws.crs.label());
    let layer = &ws.layers.iter().find(|l| l.layer.name == "buildings_polygon").unwrap().layer;
    let mut grid: HashMap<(i64, i64), Vec<[f64; 2]>> = HashMap::new();
    for g in layer.geometries.iter().flatten() {
        for c in geo::CoordsIter::coords_iter(g) {
            grid.entry(((c.x * 100.0).floor() as i64, (c.y * 100.0).floor() as i64))
                .or_default()
                .push([c.x, c.y]);
        }
    }
    let near = |x: f64, y: f64| -> f64 {
        let (i, j) = ((x * 100.0).floor() as i64, (y * 100.0).floor() as i64);
        let mut best = f64::INFINITY;
        for di in -1..=1 {
            for dj in -1..=1 {
                for p in grid.get(&(i + di, j + dj)).into_iter().flatten() {
                    best = best.min((p[0] - x).hypot(p[1] - y));
                }
            }
        }
        best
    };
    let placer = Placer::new(&ws.crs).unwrap();
    let ts = tiles3d::open(&dir.path().join("tileset.json")).unwrap();
    let (mut features, mut vertices, mut worst) = (0usize, 0usize, 0f64);
    for t in &ts.tiles {
        let g = decode_file(&t.contents[0].path, t, &placer).unwrap();
        features += g.triangle_features.iter().max().map_or(0, |m| *m as usize + 1);
        for p in &g.positions {
            let d = near(g.origin[0] + f64::from(p[0]), g.origin[1] + f64::from(p[1]));
            worst = worst.max(d);
            vertices += 1;
        }
        // Walls stand on the ground and rise to the buildings' heights.
        assert!(
            g.positions
                .iter()
                .all(|p| (-0.01..700.0).contains(&(g.origin[2] + f64::from(p[2]))))
        );
    }
    assert_eq!(features, 1450, "every building in one tile");
    assert!(vertices > 10_000);
    assert!(worst < 1e-3, "a vertex {worst} m from its footprint");
}
