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
        for c in geo::CoordsIter::coords_iter(&g.to_geo()) {
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

/// Identify on the twin: the CesiumGS city's blocks carry each building's longitude, latitude and
/// height in their batch tables. Looking straight down, the pixel over each building's place
/// (through PROJ into the workspace, then the view) identifies that very building, with its
/// properties, and the ray meets it at its roof.
#[test]
fn identify_on_a_tile_names_the_building_under_the_pixel() {
    use jingwei_app::session::{Pixel, Session};
    use jingwei_layers::{Crs, Transformer};
    use jingwei_scene::local::LocalFrame;
    let dir = tempfile::tempdir().unwrap();
    let city = std::env::var_os("JINGWEI_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
        .join("3d/tiles3d/1.0/TilesetWithRequestVolume/city/tileset.json");
    let s = Session::new(dir.path().join("c.gpkg"), "t".into());
    let ws = s.add_file(&city, &jingwei_layers::Job::new()).unwrap();
    let (w, h) = (1000u32, 800u32);
    // Fly-to the tileset: the view frames its root volume, here straight down.
    let view = s
        .zoom_to_layer(
            &ws.tilesets[0].id,
            jingwei_app::session::Canvas {
                width: w,
                height: h,
                current: Some(jingwei_scene::view::View {
                    pitch_deg: 90.0,
                    ..s.initial_view(w, h).unwrap()
                }),
            },
        )
        .unwrap();
    assert_eq!(view.pitch_deg, 90.0);
    let src = s.twin_sources().unwrap().unwrap();
    let f = jingwei_scene::tiles::settle(&src, &view, w, h, std::time::Duration::from_secs(60));
    assert!(f.settled && f.tiles.len() == 4, "{:?}", f.updates);
    let crs = Crs::parse(&ws.crs).unwrap();
    let to_ws = Transformer::new(&Crs::cgcs2000().unwrap(), &crs).unwrap();
    let frame = LocalFrame::new(ws.origin_xy);
    let bytes = std::fs::read(city.with_file_name("ll.b3dm")).unwrap();
    let (fj, fb, bj) = [12, 16, 20]
        .map(|i| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as usize)
        .into();
    let bt: serde_json::Value = serde_json::from_slice(&bytes[28 + fj + fb..28 + fj + fb + bj]).unwrap();
    let identify_at = |x: f32, y: f32| {
        s.identify(&Pixel {
            x,
            y,
            width: w,
            height: h,
            view,
        })
        .unwrap()
    };
    let mut named = 0;
    let mut on_a_roof = None;
    for k in 0..10 {
        let lon = bt["Longitude"][k].as_f64().unwrap().to_degrees();
        let lat = bt["Latitude"][k].as_f64().unwrap().to_degrees();
        let height = bt["Height"][k].as_f64().unwrap();
        let (x, y) = to_ws.transform(lon, lat).unwrap();
        let [lx, lz] = frame.to_local(x, y);
        let Some([px, py]) = view.project([lx as f32, height as f32, lz as f32], w, h) else {
            continue;
        };
        let hits = identify_at(px, py);
        let top = &hits[0];
        assert_eq!(top.layer, "city", "{hits:?}");
        if top.fid == k as i64 {
            named += 1;
            assert_eq!(top.attributes["Longitude"], bt["Longitude"][k]);
            let roof = top.attributes["height_m"].as_f64().unwrap();
            assert!((roof - height).abs() < 1.0, "building {k}: roof at {roof}, batch table {height}");
            on_a_roof = Some((px, py, roof));
        }
    }
    // Buildings overlap in places (a lower one's centre under a taller neighbour's roof).
    assert!(named >= 8, "{named} of 10 named");
    // 剖切 below that roof: the same pixel no longer hits it, but what stays below the cut.
    let (px, py, roof) = on_a_roof.unwrap();
    let top_m = roof - 5.0;
    s.set_clip(&jingwei_app::twin::ClipRequest {
        top_m: Some(top_m),
        ..Default::default()
    })
    .unwrap();
    let hits = identify_at(px, py);
    if let Some(t) = hits.iter().find(|h| h.layer == "city") {
        let z = t.attributes["height_m"].as_f64().unwrap();
        assert!(z <= top_m + 0.01, "hit at {z} m above the cut at {top_m} m");
    }
}

/// 压平: a square over the Shanghai Tower presses the twin down to 10 m inside it — every vertex
/// drawn there is at most 10 m up, where before the tower rose hundreds of metres — and nothing
/// outside it moves; cleared, the tower stands again.
#[test]
fn flattening_presses_the_twin_down_inside_its_polygons_only() {
    use jingwei_app::session::Session;
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/lujiazui_osm.gpkg");
    build_city_tileset(&BuildRequest {
        source: demo,
        layer: Some("buildings_polygon".into()),
        out: dir.path().join("twin"),
        leaf_max: 400,
    })
    .unwrap();
    let square = dir.path().join("site.geojson");
    std::fs::write(
        &square,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"site"},"geometry":{"type":"Polygon","coordinates":[[[121.4995,31.2340],[121.5030,31.2340],[121.5030,31.2375],[121.4995,31.2375],[121.4995,31.2340]]]}}]}"#,
    )
    .unwrap();
    let s = Session::new(dir.path().join("c.gpkg"), "t".into());
    let ws = s.add_file(&square, &jingwei_layers::Job::new()).unwrap();
    let site = ws.layers[0].id.clone();
    let ws = s
        .add_file(&dir.path().join("twin/tileset.json"), &jingwei_layers::Job::new())
        .unwrap();
    let (w, h) = (800u32, 600u32);
    let view = s
        .zoom_to_layer(
            &site,
            jingwei_app::session::Canvas {
                width: w,
                height: h,
                current: None,
            },
        )
        .unwrap();
    // Every vertex drawn, in workspace metres and height, with the site's box in the workspace.
    let vertices = |s: &Session| -> Vec<[f64; 3]> {
        let src = s.twin_sources().unwrap().unwrap();
        let f = jingwei_scene::tiles::settle(&src, &view, w, h, std::time::Duration::from_secs(60));
        assert!(f.settled);
        f.tiles
            .iter()
            .flat_map(|t| jingwei_scene::tiles::meshes(ws.origin_xy, t))
            .flat_map(|m| {
                m.mesh
                    .positions
                    .iter()
                    .map(|p| {
                        [
                            ws.origin_xy[0] + m.origin[0] + f64::from(p[0]),
                            ws.origin_xy[1] - (m.origin[2] + f64::from(p[2])),
                            m.origin[1] + f64::from(p[1]),
                        ]
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let crs = jingwei_layers::Crs::parse(&ws.crs).unwrap();
    let to_ws = jingwei_layers::Transformer::new(&jingwei_layers::Crs::cgcs2000().unwrap(), &crs).unwrap();
    let corners: Vec<(f64, f64)> = [(121.4995, 31.2340), (121.5030, 31.2340), (121.5030, 31.2375), (121.4995, 31.2375)]
        .iter()
        .map(|(lon, lat)| to_ws.transform(*lon, *lat).unwrap())
        .collect();
    // Well inside the square (its sides are not quite straight in the projection).
    let (x0, x1) = (
        corners.iter().map(|c| c.0).fold(f64::MAX, f64::min) + 10.0,
        corners.iter().map(|c| c.0).fold(f64::MIN, f64::max) - 10.0,
    );
    let (y0, y1) = (
        corners.iter().map(|c| c.1).fold(f64::MAX, f64::min) + 10.0,
        corners.iter().map(|c| c.1).fold(f64::MIN, f64::max) - 10.0,
    );
    let within = |v: &[f64; 3]| v[0] > x0 && v[0] < x1 && v[1] > y0 && v[1] < y1;

    let before = vertices(&s);
    let tallest_inside = before.iter().filter(|v| within(v)).map(|v| v[2]).fold(0.0, f64::max);
    assert!(tallest_inside > 200.0, "the tower stands: {tallest_inside} m");
    assert_eq!(s.set_flatten(Some(&site), 10.0).unwrap(), 1);
    let after = vertices(&s);
    let inside_after: Vec<&[f64; 3]> = after.iter().filter(|v| within(v)).collect();
    assert!(!inside_after.is_empty());
    assert!(inside_after.iter().all(|v| v[2] <= 10.0 + 1e-3), "pressed to 10 m");
    let outside = |vs: &[[f64; 3]]| {
        vs.iter()
            .filter(|v| !within(v) && (v[0] < x0 - 400.0 || v[0] > x1 + 400.0))
            .map(|v| v[2])
            .fold(0.0, f64::max)
    };
    assert_eq!(outside(&before), outside(&after), "nothing moves outside");
    s.set_flatten(None, 0.0).unwrap();
    let again = vertices(&s);
    assert_eq!(again.iter().filter(|v| within(v)).map(|v| v[2]).fold(0.0, f64::max), tallest_inside);

    // 剖切: the triangles drawn, as their three vertices in workspace metres and height.
    let triangles = |s: &Session| -> Vec<[[f64; 3]; 3]> {
        let src = s.twin_sources().unwrap().unwrap();
        let f = jingwei_scene::tiles::settle(&src, &view, w, h, std::time::Duration::from_secs(60));
        let mut out = Vec::new();
        for m in f.tiles.iter().flat_map(|t| jingwei_scene::tiles::meshes(ws.origin_xy, t)) {
            let at = |i: u32| {
                let p = m.mesh.positions[i as usize];
                [
                    ws.origin_xy[0] + m.origin[0] + f64::from(p[0]),
                    ws.origin_xy[1] - (m.origin[2] + f64::from(p[2])),
                    m.origin[1] + f64::from(p[1]),
                ]
            };
            out.extend(m.mesh.indices.chunks_exact(3).map(|t| [at(t[0]), at(t[1]), at(t[2])]));
        }
        out
    };
    let centre = |t: &[[f64; 3]; 3]| [(t[0][0] + t[1][0] + t[2][0]) / 3.0, (t[0][1] + t[1][1] + t[2][1]) / 3.0, 0.0];
    let all = triangles(&s);
    assert!(all.iter().any(|t| within(&centre(t))));
    // A hole where the site is: nothing drawn inside, everything well outside as before.
    s.set_clip(&jingwei_app::twin::ClipRequest {
        area_layer: Some(site.clone()),
        ..Default::default()
    })
    .unwrap();
    let holed = triangles(&s);
    assert!(!holed.iter().any(|t| within(&centre(t))), "the site is cut away");
    let far = |ts: &[[[f64; 3]; 3]]| ts.iter().filter(|t| centre(t)[0] < x0 - 400.0 || centre(t)[0] > x1 + 400.0).count();
    assert_eq!(far(&holed), far(&all));
    // Only the site, and everything cut at 100 m: the tower's top is gone, its base is there.
    s.set_clip(&jingwei_app::twin::ClipRequest {
        top_m: Some(100.0),
        area_layer: Some(site.clone()),
        keep_inside: true,
        ..Default::default()
    })
    .unwrap();
    let kept = triangles(&s);
    assert!(!kept.is_empty() && kept.iter().all(|t| within(&centre(t)) || !far_enough(&centre(t), x0, x1, y0, y1)));
    let top = kept.iter().flatten().map(|v| v[2]).fold(f64::MIN, f64::max);
    assert!(top <= 100.0 + 1e-3 && top > 90.0, "cut at {top} m");
    s.set_clip(&Default::default()).unwrap();
    assert_eq!(triangles(&s).len(), all.len());
}

/// Whether a point is more than 20 m outside the box (triangles straddling the square's
/// slightly curved sides go by their centroids).
fn far_enough(p: &[f64; 3], x0: f64, x1: f64, y0: f64, y1: f64) -> bool {
    p[0] < x0 - 30.0 || p[0] > x1 + 30.0 || p[1] < y0 - 30.0 || p[1] > y1 + 30.0
}
