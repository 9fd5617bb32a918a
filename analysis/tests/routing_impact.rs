//! Road routing on the real Andorra network (GraphHopper's test extract), checked by the Bellman
//! condition and hand-made one-way cases, and impact rings on the demo city against brute force.

use geo::{Distance, Euclidean, Geometry, LineString};
use jingwei_analysis::impact::{BuildingsIn, FacilitiesIn, impact, point};
use jingwei_analysis::routing::RoadGraph;
use jingwei_layers::{Column, FieldDef, FieldKind, Layer, OpenOptions, RepairMode, Source, Value, Workspace};
use std::path::Path;

fn andorra() -> Workspace {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/osm/pbf/graphhopper_andorra.osm.pbf");
    let src = Source::open(&path, &OpenOptions::default()).unwrap();
    let roads = src.read_layer(Some("lines")).unwrap();
    let mut ws = Workspace::for_layer(&roads).unwrap();
    ws.add_layer(roads, RepairMode::Repair).unwrap();
    ws
}

#[test]
fn dijkstra_on_andorra_satisfies_the_bellman_condition() {
    let ws = andorra();
    assert_eq!(ws.crs.epsg, Some(32631), "outside China the workspace is the UTM zone");
    let roads = &ws.layers[0].layer;
    let g = RoadGraph::from_layer(roads, 2.0).unwrap();
    assert!(
        g.lines_used > 1000 && g.lines_skipped > 0,
        "{} used, {} skipped",
        g.lines_used,
        g.lines_skipped
    );
    // From the middle of Andorra la Vella.
    let e = roads.extent().unwrap();
    let (x, y) = ((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0);
    let tree = g.from_point(x, y).unwrap();
    // No edge can improve any settled time: the times are the shortest ones.
    assert!(g.worst_violation(&tree) <= 1e-3, "{}", g.worst_violation(&tree));
    let reached = tree.time_s.iter().filter(|t| t.is_finite()).count();
    assert!(
        reached * 10 > g.node_count() * 8,
        "most of the network is connected: {reached} of {}",
        g.node_count()
    );
    // Routes to a grid of points: most reachable; each ends where asked and is no faster than
    // the straight line at motorway speed.
    let mut reachable = 0;
    for i in 1..5 {
        for j in 1..5 {
            let (tx, ty) = (e[0] + (e[2] - e[0]) * f64::from(i) / 5.0, e[1] + (e[3] - e[1]) * f64::from(j) / 5.0);
            let Some((t, route)) = g.to_point(&tree, tx, ty) else { continue };
            reachable += 1;
            assert_eq!(route.first(), Some(&[x, y]));
            assert_eq!(route.last(), Some(&[tx, ty]));
            let straight = ((tx - x).powi(2) + (ty - y).powi(2)).sqrt();
            assert!(t >= straight / (80.0 / 3.6), "{t} s for {straight} m");
        }
    }
    assert!(reachable >= 12, "{reachable} of 16 points reachable");
}

fn line_layer(lines: Vec<(Vec<(f64, f64)>, &str, &str)>) -> Layer {
    let mut highway = Column::for_kind(FieldKind::Text, lines.len());
    let mut oneway = Column::for_kind(FieldKind::Text, lines.len());
    let mut geoms = Vec::new();
    for (pts, h, o) in &lines {
        highway.push(Value::Text((*h).into()));
        oneway.push(if o.is_empty() { Value::Null } else { Value::Text((*o).into()) });
        geoms.push(Some(Geometry::LineString(LineString::from(pts.clone()))));
    }
    let field = |n: &str| FieldDef {
        name: n.into(),
        alias: String::new(),
        kind: FieldKind::Text,
    };
    Layer {
        name: "roads".into(),
        source_path: "synthetic".into(),
        driver: String::new(),
        geometry_type: "LineString".into(),
        crs: None,
        fields: vec![field("highway"), field("oneway")],
        columns: vec![highway, oneway],
        fids: (1..=lines.len() as i64).collect(),
        geometries: geoms.into(),
        encoding: None,
        issues: Vec::new(),
    }
}

#[test]
fn one_way_streets_force_the_detour() {
    // A square block 1 km a side: the direct street A→B is one-way B→A, so A→B goes round.
    let a = (0.0, 0.0);
    let b = (1000.0, 0.0);
    let layer = line_layer(vec![
        (vec![b, a], "residential", "yes"),                         // one-way B → A
        (vec![a, (0.0, 1000.0)], "residential", ""),                // A – C
        (vec![(0.0, 1000.0), (1000.0, 1000.0)], "residential", ""), // C – D
        (vec![(1000.0, 1000.0), b], "residential", ""),             // D – B
        (vec![(0.0, -5.0), (0.0, -500.0)], "footway", ""),          // not for vehicles
    ]);
    let g = RoadGraph::from_layer(&layer, 0.0).unwrap();
    assert_eq!(g.lines_skipped, 1);
    let from_a = g.from_point(a.0, a.1).unwrap();
    let (t_ab, route) = g.to_point(&from_a, b.0, b.1).unwrap();
    assert!((t_ab - 3000.0 / (30.0 / 3.6)).abs() < 1e-3, "round the block at 30 km/h: {t_ab}");
    assert_eq!(route.len(), 2 + 4, "origin, A, C, D, B, destination");
    let from_b = g.from_point(b.0, b.1).unwrap();
    let (t_ba, _) = g.to_point(&from_b, a.0, a.1).unwrap();
    assert!(
        (t_ba - 1000.0 / (30.0 / 3.6)).abs() < 1e-3,
        "straight down the one-way street: {t_ba}"
    );
    // A gap of a metre is bridged by snapping, not otherwise.
    let gap = line_layer(vec![
        (vec![(0.0, 0.0), (100.0, 0.0)], "primary", ""),
        (vec![(101.0, 0.0), (200.0, 0.0)], "primary", ""),
    ]);
    let snapped = RoadGraph::from_layer(&gap, 2.0).unwrap();
    let apart = RoadGraph::from_layer(&gap, 0.0).unwrap();
    assert!(snapped.to_point(&snapped.from_point(0.0, 0.0).unwrap(), 200.0, 0.0).is_some());
    assert!(apart.to_point(&apart.from_point(0.0, 0.0).unwrap(), 200.0, 0.0).is_none());
    assert!(
        RoadGraph::from_layer(
            &Layer {
                fields: vec![],
                columns: vec![],
                ..gap.clone()
            },
            0.0
        )
        .err()
        .unwrap()
        .to_string()
        .contains("road class")
    );
}

#[test]
fn impact_rings_on_the_demo_city_agree_with_geos() {
    let ws = Workspace::open_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        RepairMode::Repair,
    )
    .unwrap();
    let b = ws.layer("buildings").unwrap();
    let pois = ws.layer("pois").unwrap();
    let (x, y) = ws
        .to_lonlat()
        .unwrap()
        .transform(0.0, 0.0)
        .map(|_| (ws.origin_xy[0], ws.origin_xy[1]))
        .unwrap();
    let rings = [150.0, 400.0, 900.0];
    let report = impact(
        &point(x, y),
        &rings,
        &BuildingsIn {
            layer: &b.layer,
            index: &b.index,
            population: None,
            floors: None,
            height: b.layer.field_index("height"),
        },
        &[FacilitiesIn {
            layer: &pois.layer,
            index: &pois.index,
            kind: pois.layer.field_index("kind").unwrap(),
            name: pois.layer.field_index("name"),
        }],
    );
    assert_eq!(report.len(), 3);
    // Brute force over every building, no index.
    let p = point(x, y);
    for r in &report {
        let want = b
            .layer
            .geometries
            .iter()
            .flatten()
            .filter(|g| Euclidean.distance(&p, &g.to_geo()) <= r.radius_m)
            .count();
        assert_eq!(r.buildings, want, "ring {}", r.radius_m);
        assert!(r.facilities.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
        assert!(r.facilities.iter().all(|f| f.distance_m <= r.radius_m));
    }
    assert!(
        report
            .windows(2)
            .all(|w| w[0].buildings <= w[1].buildings && w[0].population <= w[1].population)
    );
    assert!(report[2].population > 0.0 && report[2].floor_area_m2 > 0.0);
    assert!(
        report[2].facilities.iter().any(|f| f.class == "school" || f.class == "hospital"),
        "{:?}",
        report[2].facilities
    );
}

#[test]
fn shelters_fill_nearest_first_and_never_beyond_capacity() {
    use jingwei_analysis::routing::allocate;
    // A straight street 0..2000 m (30 km/h: 240 s per 2 km) with a one-way spur.
    let layer = line_layer(vec![(vec![(0.0, 0.0), (1000.0, 0.0), (2000.0, 0.0)], "residential", "")]);
    let g = RoadGraph::from_layer(&layer, 0.0).unwrap();
    // Buildings at 0, 1000 and 2000 with 100, 50 and 80 people; shelters at 0 (room for 120)
    // and 2000 (room for 40).
    let buildings = [(0, 0.0, 0.0, 100.0), (1, 1000.0, 0.0, 50.0), (2, 2000.0, 0.0, 80.0)];
    let shelters = [(10, 0.0, 0.0, 120.0), (11, 2000.0, 0.0, 40.0)];
    let a = allocate(&g, &buildings, &shelters, 200.0);
    let placed: f64 = a.placements.iter().map(|p| p.people).sum();
    assert!((placed + a.left_over - 230.0).abs() < 1e-9, "everyone is placed or left over");
    for (row, used, cap) in &a.per_shelter {
        assert!(used <= cap, "shelter {row} over capacity");
    }
    // Building 0 goes to shelter 10 (0 s), building 2 to shelter 11 (0 s, 40 of 80), building 1
    // takes what is left in shelter 10 (20 of 50, 120 s); building 2's other 40 are too far
    // from shelter 10 (240 s > 200 s).
    let got: Vec<(usize, usize, f64)> = a.placements.iter().map(|p| (p.building, p.shelter, p.people)).collect();
    assert_eq!(got, vec![(0, 10, 100.0), (2, 11, 40.0), (1, 10, 20.0)]);
    assert!((a.left_over - 70.0).abs() < 1e-9);
    assert_eq!(a.left_over_buildings, vec![1, 2]);
}
