//! The demo city rendered headless (software Vulkan): checks that fail for real faults.

use jingwei_layers::{RepairMode, Workspace};
use jingwei_scene::local::LocalFrame;
use jingwei_scene::scene::build_scene;
use jingwei_viewer::render::{Renderer, View};
use std::path::Path;

fn demo() -> Workspace {
    Workspace::open_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        RepairMode::Repair,
    )
    .unwrap()
}

const BACKGROUND: [u8; 4] = [238, 241, 244, 255];

fn close(a: [u8; 4], b: [u8; 4], tol: i32) -> bool {
    (0..3).all(|i| (i32::from(a[i]) - i32::from(b[i])).abs() <= tol)
}

/// Pixels whose colour differs by more than `tol` in a channel between two frames of one size.
fn pixels_changed(a: &jingwei_viewer::render::Frame, b: &jingwei_viewer::render::Frame, tol: i32) -> usize {
    a.rgba
        .chunks_exact(4)
        .zip(b.rgba.chunks_exact(4))
        .filter(|(p, q)| !close([p[0], p[1], p[2], 255], [q[0], q[1], q[2], 255], tol))
        .count()
}

#[test]
fn demo_city_renders_and_responds_to_layers() {
    let mut ws = demo();
    let scene = build_scene(&ws);
    assert!(scene.triangles() > 20_000, "{}", scene.triangles());
    let ext = scene.extent_local.unwrap();
    let (w, h) = (480u32, 270u32);
    let mut r = Renderer::new(w, h).unwrap();
    r.set_scene(&scene);
    r.set_view(&View::frame(ext, scene.max_height_m, w as f32 / h as f32, 45.0, 20.0));
    let oblique = r.render().unwrap();
    assert!(r.last_warmed_up(), "a new scene is warmed up before its first frame");
    assert_eq!((oblique.width, oblique.height), (w, h));
    let drawn = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| !close(oblique.pixel(x, y), BACKGROUND, 2))
        .count();
    assert!(drawn as f64 > 0.15 * f64::from(w * h), "only {drawn} pixels drawn");
    let mut colours: Vec<[u8; 4]> = oblique
        .rgba
        .chunks_exact(4)
        .map(|c| [c[0] & 0xf0, c[1] & 0xf0, c[2] & 0xf0, 255])
        .collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 20, "a flat image: {} colours", colours.len());

    // A camera move alone needs no warm-up: the frame and its read-back.
    r.set_view(&View::frame(ext, scene.max_height_m, w as f32 / h as f32, 50.0, 25.0));
    let moved = r.render().unwrap();
    // (How many updates the asynchronous read-back takes depends on the machine's load.)
    assert!(!r.last_warmed_up(), "a camera move warmed up again");
    assert_ne!(moved.rgba, oblique.rgba, "the camera moved but the frame did not change");

    // Top-down and zoomed out: nothing is drawn outside the data's extent (labels aside: they
    // sit beside their points in screen space).
    let mut bare = scene.clone();
    bare.annotations.clear();
    r.set_scene(&bare);
    let mut far = View::top_down(ext, w as f32 / h as f32);
    far.distance_m *= 3.0;
    r.set_view(&far);
    let top = r.render().unwrap();
    // The data now fills at most the central third of the frame in each direction.
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (mx, my) = (w as f32 / 6.0 * 1.08 + 1.0, h as f32 / 6.0 * 1.08 + 1.0);
    let mut inside = 0;
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = ((x as f32 + 0.5 - cx).abs(), (y as f32 + 0.5 - cy).abs());
            if dx > mx || dy > my {
                assert!(
                    close(top.pixel(x, y), BACKGROUND, 2),
                    "pixel ({x},{y}) outside the extent is {:?}",
                    top.pixel(x, y)
                );
            } else if !close(top.pixel(x, y), BACKGROUND, 2) {
                inside += 1;
            }
        }
    }
    assert!(inside > 1000, "the data is not in the middle: {inside} pixels");

    // Hiding the buildings changes the picture.
    r.set_view(&View::frame(ext, scene.max_height_m, w as f32 / h as f32, 45.0, 20.0));
    ws.layers.iter_mut().find(|l| l.id == "buildings").unwrap().visible = false;
    r.set_scene(&build_scene(&ws));
    let without = r.render().unwrap();
    let changed = pixels_changed(&oblique, &without, 6);
    assert!(
        changed as f64 > 0.02 * f64::from(w * h),
        "hiding buildings changed only {changed} pixels"
    );
    std::fs::write(std::env::temp_dir().join("jingwei_demo_oblique.png"), oblique.to_png().unwrap()).unwrap();
}

fn layer_of(buildings: &[(f64, f64, f64, f64)]) -> jingwei_layers::Layer {
    // (x, y, size, height) squares in Gauss-Krüger metres.
    use geo::{Geometry, LineString, Polygon};
    jingwei_layers::Layer {
        name: "buildings".into(),
        source_path: "test".into(),
        driver: "test".into(),
        geometry_type: "Polygon".into(),
        crs: None,
        fields: vec![jingwei_layers::FieldDef {
            name: "height".into(),
            alias: String::new(),
            kind: jingwei_layers::FieldKind::Real,
        }],
        columns: vec![jingwei_layers::Column::Real(buildings.iter().map(|b| Some(b.3)).collect())],
        fids: (1..=buildings.len() as i64).collect(),
        geometries: buildings
            .iter()
            .map(|&(x, y, s, _)| {
                Some(Geometry::Polygon(Polygon::new(
                    LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
                    vec![],
                )))
            })
            .collect(),
        encoding: None,
        issues: vec![],
    }
}

/// Add a test layer whose coordinates are already in the workspace's CRS (kept as they are).
fn add_in_workspace_crs(ws: &mut Workspace, mut layer: jingwei_layers::Layer) {
    layer.crs = Some(ws.crs.clone());
    ws.add_layer(layer, RepairMode::Keep).unwrap();
}

fn scene_of(buildings: &[(f64, f64, f64, f64)], origin: [f64; 2]) -> jingwei_scene::scene::SceneData {
    let mut ws = Workspace::new(jingwei_layers::Crs::from_epsg(4547).unwrap()).unwrap();
    ws.origin_xy = origin;
    add_in_workspace_crs(&mut ws, layer_of(buildings));
    build_scene(&ws)
}

#[test]
fn taller_buildings_occlude_shorter_ones_and_nothing_jitters() {
    let (w, h) = (320u32, 200u32);
    let (x0, y0) = (500_000.0, 3_400_000.0);
    // A 100 m tower to the south (nearer the camera, which looks north) of a 12 m block; the
    // block comes later in the mesh, so only depth testing keeps it hidden.
    let tower = (x0 + 40.0, y0 + 40.0, 30.0, 100.0);
    let block = (x0 + 45.0, y0 + 90.0, 20.0, 12.0);
    let view = View {
        target: [55.0, 20.0, -80.0],
        distance_m: 260.0,
        pitch_deg: 12.0,
        yaw_deg: 0.0,
        fov_deg: 40.0,
    };
    let mut r = Renderer::new(w, h).unwrap();
    let mut frame = |scene: &jingwei_scene::scene::SceneData, v: &View| {
        r.set_scene(scene);
        r.set_view(v);
        r.render().unwrap()
    };
    let origin = [x0, y0];
    let only_block = frame(&scene_of(&[block], origin), &view);
    let only_tower = frame(&scene_of(&[tower], origin), &view);
    let both = frame(&scene_of(&[tower, block], origin), &view);
    let (mut overlap, mut tower_wins) = (0, 0);
    for y in 0..h {
        for x in 0..w {
            let (a, b, c) = (only_block.pixel(x, y), only_tower.pixel(x, y), both.pixel(x, y));
            if !close(a, BACKGROUND, 2) && !close(b, BACKGROUND, 2) {
                overlap += 1;
                tower_wins += usize::from(close(c, b, 3));
            }
        }
    }
    assert!(overlap > 200, "the test scene does not overlap: {overlap}");
    assert!(
        tower_wins as f64 >= 0.99 * overlap as f64,
        "the nearer tower wins only {tower_wins} of {overlap} pixels"
    );

    // The same city one metre further east and north, seen from one metre further: the same
    // picture. (Raw Gauss-Krüger metres in f32 step by 0.25–0.5 m here and would not be.)
    let base = frame(&scene_of(&[tower, block], origin), &view);
    let mut moved_view = view;
    moved_view.target[0] -= 1.0;
    moved_view.target[2] += 1.0;
    let moved = frame(&scene_of(&[tower, block], [x0 + 1.0, y0 + 1.0]), &moved_view);
    let differ = pixels_changed(&base, &moved, 8);
    assert!(
        differ as f64 <= 0.002 * f64::from(w * h),
        "{differ} pixels changed for a 1 m shift of the origin"
    );
}

#[test]
fn demo_city_matches_its_snapshot() {
    // A stored top-down picture of the demo city; differences beyond rounding fail the test.
    // Refresh with UPDATE_SNAPSHOTS=1 after an intended change of the look.
    let ws = demo();
    let scene = build_scene(&ws);
    let (w, h) = (320u32, 180u32);
    let mut r = Renderer::new(w, h).unwrap();
    r.set_scene(&scene);
    r.set_view(&View::top_down(scene.extent_local.unwrap(), w as f32 / h as f32));
    let frame = r.render().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/demo_top_320x180.png");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() || !path.exists() {
        std::fs::write(&path, frame.to_png().unwrap()).unwrap();
        assert!(
            std::env::var_os("UPDATE_SNAPSHOTS").is_some(),
            "no snapshot was stored yet: wrote {}",
            path.display()
        );
        return;
    }
    let want = image::open(&path).unwrap().to_rgba8();
    assert_eq!(want.dimensions(), (w, h));
    let (mut sum, mut big) = (0u64, 0usize);
    for (p, q) in frame.rgba.chunks_exact(4).zip(want.as_raw().chunks_exact(4)) {
        let d = (0..3).map(|i| u64::from(p[i].abs_diff(q[i]))).max().unwrap();
        sum += d;
        big += usize::from(d > 24);
    }
    let mean = sum as f64 / f64::from(w * h);
    assert!(
        mean < 1.5 && big as f64 <= 0.01 * f64::from(w * h),
        "snapshot differs: mean {mean:.2}, {big} pixels off"
    );
}

#[test]
fn a_ray_picks_the_tower_it_hits_not_the_ground_behind() {
    use jingwei_scene::extrude::HeightRule;
    use jingwei_scene::pick::pick_prism;
    let ws = jingwei_layers::Workspace::open_catalog(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        jingwei_layers::RepairMode::Repair,
    )
    .unwrap();
    let b = ws.layer("buildings").unwrap();
    let rule = HeightRule::default();
    // The tallest building, seen obliquely from the south: aim at a point 20 m below its roof on
    // the axis of its footprint's centre.
    let tallest = (0..b.layer.len())
        .max_by(|x, y| rule.heights(&b.layer, *x).1.total_cmp(&rule.heights(&b.layer, *y).1))
        .unwrap();
    let (_, top) = rule.heights(&b.layer, tallest);
    let c = geo::Centroid::centroid(&b.layer.geometries.geometry(tallest).unwrap()).unwrap();
    let [lx, lz] = LocalFrame::new(ws.origin_xy).to_local_f32(c.x(), c.y());
    let view = jingwei_viewer::render::View {
        target: [lx, (top - 20.0) as f32, lz],
        distance_m: 600.0,
        pitch_deg: 30.0,
        yaw_deg: 0.0,
        fov_deg: 45.0,
    };
    let (w, h) = (320u32, 240u32);
    // The building under the frame's centre, with what a clip (剖切) cuts away passed over.
    let at_centre = |clip: &jingwei_layers::workspace::Clip| {
        pick_prism(
            &b.layer,
            &b.index,
            &rule,
            ws.origin_xy,
            &view,
            (w / 2) as f32,
            (h / 2) as f32,
            w,
            h,
            None,
            clip,
        )
    };
    let hit = at_centre(&Default::default()).expect("a building is hit");
    // Cut a metre below where it was hit, the same pixel goes on below the cut.
    let under = at_centre(&jingwei_layers::workspace::Clip {
        top_m: Some(hit.point[2] - 1.0),
        ..Default::default()
    });
    assert!(
        under.as_ref().is_none_or(|u| u.point[2] <= hit.point[2] - 1.0 + 1e-6),
        "{under:?} against {:?}",
        hit.point
    );
    // The hit lies on the surface of the building picked, high above the ground …
    let g = &b.layer.geometries.geometry(hit.row).unwrap();
    let at = geo::Point::new(hit.point[0], hit.point[1]);
    assert!(
        geo::Distance::distance(&geo::Euclidean, &at, g) < 1e-6,
        "on its footprint or wall: {hit:?}"
    );
    assert!(
        hit.point[2] >= hit.base_m - 1e-6 && hit.point[2] <= hit.top_m + 1e-6 && hit.point[2] > 50.0,
        "{hit:?}"
    );
    // … and nothing lies between it and the camera: a ray to a point just before the hit, cast
    // from the same camera, would have stopped earlier if any prism were in the way.
    let [hx, hz] = LocalFrame::new(ws.origin_xy).to_local_f32(hit.point[0], hit.point[1]);
    let hit_local = [hx, hit.point[2] as f32, hz];
    let cam = view.pose().translation;
    let to_hit = (bevy::math::Vec3::from(hit_local) - cam).length();
    assert!(
        (f64::from(to_hit) - hit.t).abs() < 0.5,
        "the hit is at its distance along the ray: {to_hit} vs {}",
        hit.t
    );
    // The ground point of the same pixel lies elsewhere, outside the building picked.
    let [gx, gz] = view.ground_point((w / 2) as f32, (h / 2) as f32, w, h).unwrap();
    let (wx, wy) = LocalFrame::new(ws.origin_xy).to_world(f64::from(gx), f64::from(gz));
    let ground = geo::Point::new(wx, wy);
    assert!(
        !geo::Contains::contains(g, &ground),
        "picking by ground point would have missed the building"
    );
}

#[test]
fn emergency_resources_get_symbols_and_chinese_labels_at_any_zoom() {
    let mut ws = demo();
    let scene = build_scene(&ws);
    let resources = scene.annotations.iter().filter(|a| a.layer_id == "emergency_resources").count();
    assert_eq!(resources, ws.layer("emergency_resources").unwrap().layer.len());
    assert!(
        scene
            .annotations
            .iter()
            .all(|a| a.text.as_deref().is_none_or(jingwei_scene::overlay::has_glyphs))
    );
    let ext = scene.extent_local.unwrap();
    let (w, h) = (640u32, 360u32);
    let mut r = Renderer::new(w, h).unwrap();
    r.set_scene(&scene);
    let mut sizes = Vec::new();
    for zoom in [1.0f32, 4.0] {
        let mut v = View::frame(ext, scene.max_height_m, w as f32 / h as f32, 50.0, 20.0);
        v.distance_m *= zoom;
        r.set_view(&v);
        let frame = r.render().unwrap();
        let placed = r.last_placed().to_vec();
        let symbols: Vec<[f32; 4]> = placed.iter().filter_map(|p| p.symbol_box).collect();
        assert_eq!(symbols.len(), resources, "every resource in the frame has its symbol");
        // Symbols keep their pixel size whatever the zoom.
        sizes.push(symbols.iter().map(|b| b[2] - b[0]).sum::<f32>() / symbols.len() as f32);
        let labels: Vec<[f32; 4]> = placed.iter().filter_map(|p| p.label_box).collect();
        assert!(!labels.is_empty(), "no label placed at zoom {zoom}");
        for (i, a) in labels.iter().enumerate() {
            for b in &labels[i + 1..] {
                assert!(
                    a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1],
                    "labels overlap: {a:?} {b:?}"
                );
            }
        }
        // Dark text on a white halo in the first label's box.
        let b = labels[0];
        let (mut dark, mut white) = (0, 0);
        for y in b[1] as u32..(b[3] as u32).min(h) {
            for x in b[0] as u32..(b[2] as u32).min(w) {
                let p = frame.pixel(x, y);
                dark += usize::from(p[0] < 90 && p[1] < 100);
                white += usize::from(p[0] > 245 && p[1] > 245 && p[2] > 245);
            }
        }
        assert!(dark > 15 && white > 15, "zoom {zoom}: dark {dark}, white {white}");
        // A symbol's centre shows its category colour (one that no other symbol overlaps).
        let apart = |a: &[f32; 4], b: &[f32; 4]| a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1];
        let p = placed
            .iter()
            .find(|p| p.symbol_box.is_some_and(|a| symbols.iter().filter(|b| !apart(&a, b)).count() == 1))
            .unwrap();
        let c = frame.pixel(p.at[0].round() as u32, p.at[1].round() as u32);
        let want = scene.annotations[p.index].symbol.unwrap().color;
        assert!(close(c, [want[0], want[1], want[2], 255], 12), "{c:?} vs {want:?}");
    }
    assert!((sizes[0] - sizes[1]).abs() < 0.5, "symbol size changed with zoom: {sizes:?}");
    // Hiding the layer takes its symbols and labels away.
    ws.layers.iter_mut().find(|l| l.id == "emergency_resources").unwrap().visible = false;
    let scene = build_scene(&ws);
    r.set_scene(&scene);
    r.render().unwrap();
    assert!(
        r.last_placed()
            .iter()
            .all(|p| scene.annotations[p.index].layer_id != "emergency_resources")
    );
}

#[test]
fn land_use_codes_draw_in_the_national_planning_colours() {
    // A row of 100 m squares, one per class, coded as planning data is (field YDYHFLDM).
    use geo::{Geometry, LineString, Polygon};
    let codes = ["0101", "0701", "0703", "0804", "09", "1001", "1402", "17", "9999"];
    let (x0, y0) = (500_000.0, 3_400_000.0);
    let layer = jingwei_layers::Layer {
        name: "规划用地".into(),
        source_path: "test".into(),
        driver: "test".into(),
        geometry_type: "Polygon".into(),
        crs: None,
        fields: vec![jingwei_layers::FieldDef {
            name: "YDYHFLDM".into(),
            alias: String::new(),
            kind: jingwei_layers::FieldKind::Text,
        }],
        columns: vec![jingwei_layers::Column::Text(codes.iter().map(|c| Some(*c)).collect())],
        fids: (1..=codes.len() as i64).collect(),
        geometries: (0..codes.len())
            .map(|i| {
                let x = x0 + 120.0 * i as f64;
                Some(Geometry::Polygon(Polygon::new(
                    LineString::from(vec![(x, y0), (x + 100.0, y0), (x + 100.0, y0 + 100.0), (x, y0 + 100.0), (x, y0)]),
                    vec![],
                )))
            })
            .collect(),
        encoding: None,
        issues: vec![],
    };
    let mut ws = Workspace::new(jingwei_layers::Crs::from_epsg(4547).unwrap()).unwrap();
    ws.origin_xy = [x0, y0];
    add_in_workspace_crs(&mut ws, layer);
    let scene = build_scene(&ws);
    let (w, h) = (900u32, 200u32);
    let view = View::top_down(scene.extent_local.unwrap(), w as f32 / h as f32);
    let mut r = Renderer::new(w, h).unwrap();
    r.set_scene(&scene);
    r.set_view(&view);
    let frame = r.render().unwrap();
    for (i, code) in codes.iter().enumerate() {
        let centre = [120.0 * i as f32 + 50.0, 0.0, -50.0];
        let [px, py] = view.project(centre, w, h).unwrap();
        let got = frame.pixel(px.round() as u32, py.round() as u32);
        let want = match jingwei_scene::landuse::colour_of(code) {
            Some([r, g, b]) => [r, g, b, 255],
            // Outside the classification: the layer's default fill.
            None => [236, 232, 224, 255],
        };
        assert!(close(got, want, 2), "{code}: pixel {got:?}, palette {want:?}");
    }
    // The legend lists the classes present, with code and name.
    let st = jingwei_scene::style::for_layer(&ws.layers[0].id, &ws.layers[0].layer);
    let legend: Vec<String> = st.legend(&ws.layers[0].layer).into_iter().map(|(l, _)| l).collect();
    assert!(legend.contains(&"0703 农村宅基地".to_string()), "{legend:?}");
    assert!(
        legend.contains(&"01 耕地".to_string()),
        "0101 is drawn in its first-level colour: {legend:?}"
    );
}

#[test]
fn a_cityjson_model_stands_in_the_scene_with_pickable_buildings() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/3d/cityjson/delft.json");
    let mut ws = None;
    jingwei_layers::Workspace::load_file(&mut ws, &path, None).unwrap();
    let mut ws = ws.unwrap();
    let scene = build_scene(&ws);
    let b = scene
        .meshes
        .iter()
        .find(|m| m.layer_id == "delft Building")
        .expect("the buildings' mesh");
    assert_eq!(b.kind, jingwei_scene::scene::MeshKind::Building);
    // Every building has triangles, tagged with its row (what picking and highlighting use).
    let mut rows: Vec<u32> = b.mesh.triangle_rows.clone();
    rows.sort_unstable();
    rows.dedup();
    assert_eq!(rows.len(), 160);
    // Standing on the ground: the lowest vertex at 0, roofs metres above it.
    let (lo, hi) = b
        .mesh
        .positions
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, c), p| (a.min(p[1]), c.max(p[1])));
    assert!(lo > -0.01 && hi > 5.0, "{lo}..{hi}");
    let (w, h) = (640u32, 480u32);
    let view = View::top_down(scene.extent_local.unwrap(), w as f32 / h as f32);
    let mut r = Renderer::new(w, h).unwrap();
    r.set_scene(&scene);
    r.set_view(&view);
    let with = r.render().unwrap();
    ws.layers.iter_mut().find(|l| l.id == "delft Building").unwrap().visible = false;
    r.set_scene(&build_scene(&ws));
    let without = r.render().unwrap();
    let changed = pixels_changed(&with, &without, 6);
    assert!(changed > (w * h / 50) as usize, "the buildings cover only {changed} pixels");
    // Picking: the footprint index answers at a building's roof, the row its triangles carry.
    let wl = ws.layer("delft Building").unwrap();
    let row = 0usize;
    let tri = b.mesh.triangle_rows.iter().position(|r| *r == row as u32).unwrap();
    let p = b.mesh.positions[b.mesh.indices[tri * 3] as usize];
    let (x, y) = LocalFrame::new(ws.origin_xy).to_world(f64::from(p[0]), f64::from(p[2]));
    let hits = wl.index.at_point(&wl.layer.geometries, x, y, 0.5);
    assert!(hits.iter().any(|h| h.row == row), "{hits:?}");
}

/// Andorra from the shared data: the SRTM DEM under the OSM layers, and its scene.
fn andorra() -> (Workspace, jingwei_scene::scene::SceneData) {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let mut ws = None;
    jingwei_layers::Workspace::load_file(&mut ws, &shared.join("raster/srtm3_N42E001_andorra.tif"), None).unwrap();
    jingwei_layers::Workspace::load_file(&mut ws, &shared.join("osm/andorra_osm.gpkg"), None).unwrap();
    let ws = ws.unwrap();
    let scene = build_scene(&ws);
    (ws, scene)
}

#[test]
fn a_dem_raises_the_ground_and_the_map_lies_on_it() {
    let (_, scene) = andorra();
    let terrain = scene
        .meshes
        .iter()
        .find(|m| m.kind == jingwei_scene::scene::MeshKind::Terrain)
        .expect("a terrain mesh");
    // Relief: the Pyrenees rise well over a kilometre above the lowest ground in view.
    let top = terrain.mesh.positions.iter().map(|p| p[1]).fold(0.0f32, f32::max);
    assert!(top > 1000.0, "relief of only {top} m");
    // Roads lie on the drawn ground (a couple of metres above it), not at sea level.
    let roads = scene.meshes.iter().find(|m| m.layer_id == "roads").unwrap();
    let g2 = scene.ground.as_deref().expect("the scene keeps its terrain");
    let mut off = 0;
    for p in roads.mesh.positions.iter().step_by(97) {
        let d = p[1] - g2.y(p[0], p[2]);
        off += usize::from(!(0.5..20.0).contains(&d));
    }
    let n = roads.mesh.positions.len() / 97;
    assert!(off * 50 < n, "{off} of {n} road vertices are not on the ground");
    // Buildings stand on the ground under them: their lowest corner no higher than it.
    let b = scene.meshes.iter().find(|m| m.layer_id == "buildings").unwrap();
    assert!(
        b.mesh.positions.iter().map(|p| p[1]).fold(f32::MAX, f32::min) > 100.0,
        "buildings are lifted onto the valleys"
    );
    // And the picture shows relief: top-down, the lit ground has many shades.
    let (w, h) = (320u32, 240u32);
    let view = View::top_down(scene.extent_local.unwrap(), w as f32 / h as f32);
    let frame = jingwei_viewer::render::render_once(&scene, &view, w, h).unwrap();
    let mut shades: Vec<u8> = frame.rgba.chunks_exact(4).map(|p| p[1] & 0xf8).collect();
    shades.sort_unstable();
    shades.dedup();
    assert!(shades.len() > 12, "{} shades", shades.len());
}

#[test]
fn clicks_find_the_terrain_and_the_buildings_standing_on_it() {
    use jingwei_scene::extrude::HeightRule;
    use jingwei_scene::pick::pick_prism;
    let (ws, scene) = andorra();
    let ground = scene.ground.as_deref().expect("the scene keeps its terrain");
    let e = scene.extent_local.unwrap();
    let (w, h) = (320u32, 240u32);
    // The pixel whose centre is the centre of the frame (the ray through the target).
    let (cx, cy) = (w as f32 / 2.0 - 0.5, h as f32 / 2.0 - 0.5);
    // Aim at ground points across the valley from a steep and from a low camera: the click
    // lands on the drawn ground, in front of every ridge, and (seen steeply) on the point aimed at.
    let mut flat_misses = 0;
    for k in 0..12 {
        let (x, z) = (
            e[0] + (e[2] - e[0]) * (0.2 + 0.05 * k as f32),
            e[1] + (e[3] - e[1]) * (0.75 - 0.04 * k as f32),
        );
        let aim = [x, ground.y(x, z), z];
        for (pitch, distance) in [(75.0f32, 1500.0f32), (20.0, 4000.0)] {
            let view = View {
                target: aim,
                distance_m: distance,
                pitch_deg: pitch,
                yaw_deg: 30.0 * k as f32,
                fov_deg: 45.0,
            };
            let [px, pz] = view.terrain_point(cx, cy, w, h, Some(ground)).expect("on the ground");
            let (o, d) = view.ray(cx, cy, w, h);
            let t = ((px - o.x).powi(2) + (pz - o.z).powi(2)).sqrt() / (d.x * d.x + d.z * d.z).sqrt();
            let ray_y = o.y + d.y * t;
            assert!(
                (ray_y - ground.y(px, pz)).abs() < 0.5,
                "the point is on the ground: {ray_y} vs {}",
                ground.y(px, pz)
            );
            // Nothing before it along the ray is under the ground.
            for i in 1..200 {
                let s = t * i as f32 / 200.0;
                let p = o + d * s;
                assert!(
                    p.y > ground.y(p.x, p.z) - 0.5,
                    "the ray went through a ridge before the point found"
                );
            }
            if pitch > 70.0 {
                assert!((px - aim[0]).abs() < 2.0 && (pz - aim[2]).abs() < 2.0, "{px},{pz} vs {aim:?}");
            }
            // The flat-ground answer would have been far off on these slopes.
            let [fx, fz] = view.ground_point(cx, cy, w, h).unwrap();
            flat_misses += usize::from((fx - px).hypot(fz - pz) > 50.0);
        }
    }
    assert!(flat_misses >= 12, "only {flat_misses} of 24 clicks moved with the terrain");
    // A pixel-wide line across the valleys follows the ground between its vertices too.
    let mut ws2 = ws.clone();
    let roads = ws2.layers.iter().position(|l| l.id == "roads").expect("roads");
    ws2.layers[roads].style = Some(serde_json::json!({"line_width_px": 3}));
    let lined = build_scene(&ws2);
    let line = lined
        .meshes
        .iter()
        .find(|m| m.kind == jingwei_scene::scene::MeshKind::ScreenLine && m.layer_id == "roads")
        .expect("roads drawn in pixels");
    let mut under = 0;
    let quads = line.mesh.positions.chunks_exact(4).collect::<Vec<_>>();
    for q in &quads {
        // The quad runs from q[0] to q[2]; its middle must not be inside the ground.
        let m = [(q[0][0] + q[2][0]) / 2.0, (q[0][1] + q[2][1]) / 2.0, (q[0][2] + q[2][2]) / 2.0];
        under += usize::from(m[1] < ground.y(m[0], m[2]) + 1.0);
    }
    assert!(
        !quads.is_empty() && under == 0,
        "{under} of {} pieces cut into the ground",
        quads.len()
    );
    // A building's wall is picked where the scene draws it: lifted onto the ground.
    let b = ws.layer("buildings").unwrap();
    let rule = HeightRule::for_layer(&b.layer);
    let row = (0..b.layer.len())
        .filter(|r| b.layer.geometries.get(*r).is_some())
        .max_by(|x, y| {
            let a = geo::Area::unsigned_area(&b.layer.geometries.geometry(*x).unwrap());
            let c = geo::Area::unsigned_area(&b.layer.geometries.geometry(*y).unwrap());
            a.total_cmp(&c)
        })
        .unwrap();
    let g = &b.layer.geometries.geometry(row).unwrap();
    let c = geo::Centroid::centroid(g).unwrap();
    let [lx, lz] = LocalFrame::new(ws.origin_xy).to_local_f32(c.x(), c.y());
    let (base, top) = rule.heights(&b.layer, row);
    let lift = geo::CoordsIter::coords_iter(g)
        .map(|q| {
            let [qx, qz] = LocalFrame::new(ws.origin_xy).to_local_f32(q.x, q.y);
            ground.y(qx, qz)
        })
        .fold(f32::MAX, f32::min);
    assert!(
        lift > 100.0,
        "Andorra's buildings stand in valleys well above the lowest ground: {lift}"
    );
    let view = View {
        target: [lx, lift + ((base + top) / 2.0) as f32, lz],
        distance_m: 300.0,
        pitch_deg: 60.0,
        yaw_deg: 0.0,
        fov_deg: 45.0,
    };
    // The ray through the building's pixel, on the ground or on flat ground.
    let through = |ground| {
        pick_prism(
            &b.layer,
            &b.index,
            &rule,
            ws.origin_xy,
            &view,
            cx,
            cy,
            w,
            h,
            ground,
            &Default::default(),
        )
    };
    let hit = through(Some(ground)).expect("the building is hit");
    assert_eq!(hit.row, row);
    assert!(
        (hit.base_m - (base + f64::from(lift))).abs() < 1e-3 && hit.point[2] >= hit.base_m && hit.point[2] <= hit.top_m + 1e-6,
        "{hit:?}"
    );
    // On flat ground the same ray passes high over the unlifted prism.
    let flat = through(None);
    assert!(flat.is_none_or(|f| f.row != row || f.t > hit.t + 1.0), "{flat:?}");
}

#[test]
fn a_pixel_line_running_behind_a_low_camera_keeps_its_width() {
    // A north–south line, 4 px wide, from 1 km behind a low camera to 3 km ahead of it: the
    // part behind the camera must not flip the line's sideways direction on screen.
    use geo::{Geometry, LineString};
    let (x0, y0) = (500_000.0, 3_400_000.0);
    let layer = jingwei_layers::Layer::single(
        "pipes",
        Some(jingwei_layers::Crs::from_epsg(4547).unwrap()),
        Geometry::LineString(LineString::from(vec![(x0 + 3.0, y0 - 1000.0), (x0 + 3.0, y0 + 3000.0)])),
    );
    let mut ws = Workspace::new(jingwei_layers::Crs::from_epsg(4547).unwrap()).unwrap();
    ws.origin_xy = [x0, y0];
    ws.add_layer(layer, RepairMode::Keep).unwrap();
    ws.layers[0].style = Some(serde_json::json!({"line_width_px": 4, "stroke": "#ff0000"}));
    let scene = build_scene(&ws);
    let (w, h) = (240u32, 180u32);
    let mut r = Renderer::new(w, h).unwrap();
    r.set_scene(&scene);
    // Seen from the south, 40 m away at 12°: the camera stands over the line's southern part.
    r.set_view(&View {
        target: [3.0, 0.0, -30.0],
        distance_m: 40.0,
        pitch_deg: 12.0,
        yaw_deg: 0.0,
        fov_deg: 60.0,
    });
    let f = r.render().unwrap();
    let mut widest = 0;
    let mut rows = 0;
    for y in 0..h {
        let red = (0..w).filter(|&x| close(f.pixel(x, y), [255, 0, 0, 255], 60)).count();
        widest = widest.max(red);
        rows += usize::from(red > 0);
    }
    assert!(rows > h as usize / 4, "the line shows on {rows} rows");
    assert!(widest <= 8, "a row holds {widest} red pixels: the line twisted");
}

#[test]
fn lines_in_pixels_keep_their_width_at_any_distance() {
    // One east–west line, 4 px wide by its style, seen straight down from two distances.
    use geo::{Geometry, LineString};
    let (x0, y0) = (500_000.0, 3_400_000.0);
    let layer = jingwei_layers::Layer::single(
        "pipes",
        Some(jingwei_layers::Crs::from_epsg(4547).unwrap()),
        Geometry::LineString(LineString::from(vec![(x0 - 400.0, y0), (x0 + 400.0, y0)])),
    );
    let mut ws = Workspace::new(jingwei_layers::Crs::from_epsg(4547).unwrap()).unwrap();
    ws.origin_xy = [x0, y0];
    ws.add_layer(layer, RepairMode::Keep).unwrap();
    ws.layers[0].style = Some(serde_json::json!({"line_width_px": 4, "stroke": "#ff0000"}));
    let scene = build_scene(&ws);
    assert!(scene.meshes.iter().any(|m| m.kind == jingwei_scene::scene::MeshKind::ScreenLine));
    let (w, h) = (200u32, 200u32);
    let mut r = Renderer::new(w, h).unwrap();
    r.set_scene(&scene);
    let mut widths = Vec::new();
    for distance in [300.0f32, 1200.0] {
        let v = View {
            target: [0.0, 0.0, 0.0],
            distance_m: distance,
            pitch_deg: 90.0,
            yaw_deg: 0.0,
            fov_deg: 40.0,
        };
        r.set_view(&v);
        let f = r.render().unwrap();
        // Red pixels down the middle column.
        let red = (0..h).filter(|&y| close(f.pixel(w / 2, y), [255, 0, 0, 255], 40)).count();
        widths.push(red);
    }
    assert!(widths.iter().all(|&n| (3..=5).contains(&n)), "{widths:?} px");
    assert_eq!(widths[0], widths[1], "the width changed with the distance");
}

#[test]
fn demo_city_land_use_shows_its_national_colours_where_nothing_covers_it() {
    // Top-down over the demo city's land use: at the inner point of each polygon whose OSM kind
    // has a national class, the pixel is that class's planning colour (a smaller polygon of
    // another kind may lie on top of a few) — at least 80 % must show it exactly.
    use geo::InteriorPoint;
    let mut ws = demo();
    for l in &mut ws.layers {
        l.visible = l.id == "landuse";
    }
    let scene = build_scene(&ws);
    let (w, h) = (960u32, 720u32);
    let view = View::top_down(scene.extent_local.unwrap(), w as f32 / h as f32);
    let frame = jingwei_viewer::render::render_once(&scene, &view, w, h).unwrap();
    let lu = &ws.layer("landuse").unwrap().layer;
    let kind = lu.field_index("kind").unwrap();
    let (mut probed, mut exact) = (0, 0);
    for row in 0..lu.len() {
        let Some(g) = &lu.geometries.geometry(row) else { continue };
        let Some(code) = lu
            .feature(row)
            .value(kind)
            .as_str()
            .and_then(jingwei_scene::landuse::code_for_osm_kind)
        else {
            continue;
        };
        let Some(p) = g.interior_point() else { continue };
        let [px, pz] = LocalFrame::new(ws.origin_xy).to_local_f32(p.x(), p.y());
        let local = [px, 0.0, pz];
        let Some([px, py]) = view.project(local, w, h) else { continue };
        if px < 1.0 || py < 1.0 || px >= (w - 1) as f32 || py >= (h - 1) as f32 {
            continue;
        }
        let want = jingwei_scene::landuse::colour_of(code).unwrap();
        let got = frame.pixel(px.round() as u32, py.round() as u32);
        probed += 1;
        exact += usize::from(close(got, [want[0], want[1], want[2], 255], 2));
    }
    assert!(probed >= 20, "only {probed} land-use polygons probed");
    assert!(exact * 10 >= probed * 8, "{exact} of {probed} show their national colour");
}

/// Imagery draped and seen from straight above shows the image's own pixels: the frame's
/// centre against the texture's.
#[test]
fn imagery_is_draped_and_seen_as_it_is() {
    let landsat = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/imagery/L7_ETMs.tif");
    let display = jingwei_layers::imagery::raster::Display {
        bands: vec![3, 2, 1],
        alpha: None,
        stretch: Some(vec![[20.0, 120.0], [20.0, 120.0], [20.0, 120.0]]),
    };
    let mut ws: Option<Workspace> = None;
    Workspace::add_imagery_file(&mut ws, &landsat, Some(display)).unwrap();
    let ws = ws.unwrap();
    let cache = jingwei_layers::imagery::cache::TileCache::new(64 << 20);
    let compose = |l: &jingwei_layers::ImageryLayer, t: &jingwei_layers::imagery::warp::Target| {
        let src = l.source.clone()?;
        let plan = jingwei_layers::imagery::warp::Plan::new(src.grid(), t, 256).ok()??;
        plan.compose_now(src.as_ref(), &cache).ok()
    };
    let scene = jingwei_scene::scene::build_scene_with(&ws, &Default::default(), Some(&compose));
    assert_eq!(scene.images.len(), 1);
    let d = &scene.images[0];
    let ext = scene.extent_local.unwrap();
    let (w, h) = (300u32, 300u32);
    let mut r = Renderer::new(w, h).unwrap();
    r.set_scene(&scene);
    r.set_view(&View::top_down(ext, 1.0));
    let f = r.render().unwrap();
    // Mean colour of the middle ninth, frame and texture.
    let mean = |px: &dyn Fn(u32, u32) -> [u8; 4], w: u32, h: u32| {
        let mut m = [0f64; 3];
        let mut n = 0.0;
        for y in h / 3..2 * h / 3 {
            for x in w / 3..2 * w / 3 {
                let p = px(x, y);
                for c in 0..3 {
                    m[c] += f64::from(p[c]);
                }
                n += 1.0;
            }
        }
        m.map(|v| v / n)
    };
    let tex = |x: u32, y: u32| {
        let o = ((y * d.width + x) * 4) as usize;
        [d.rgba[o], d.rgba[o + 1], d.rgba[o + 2], d.rgba[o + 3]]
    };
    let a = mean(&|x, y| f.pixel(x, y), w, h);
    let b = mean(&tex, d.width, d.height);
    assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 6.0), "frame {a:?} vs texture {b:?}");
    let drawn = f
        .rgba
        .chunks_exact(4)
        .filter(|p| !close([p[0], p[1], p[2], 255], BACKGROUND, 3))
        .count();
    assert!(drawn as f64 > 0.8 * f64::from(w * h), "the image fills the view: {drawn}");
}

/// 30,000 buildings on a 40 m grid 7 km across, heights varied: a layer big enough to be drawn
/// by tiles with levels of detail.
fn grid_city() -> jingwei_scene::scene::SceneData {
    let buildings: Vec<(f64, f64, f64, f64)> = (0..30_000)
        .map(|i| {
            let (c, r) = ((i % 174) as f64, (i / 174) as f64);
            (
                500_000.0 + c * 40.0,
                3_400_000.0 + r * 40.0,
                12.0 + (i % 5) as f64 * 3.0,
                10.0 + (i % 9) as f64 * 6.0,
            )
        })
        .collect();
    scene_of(&buildings, [503_480.0, 3_403_440.0])
}

/// A layer of 30,000 buildings is drawn by tiles with levels of detail (`jingwei_scene::lod`):
/// from near, exactly its full prisms are drawn; from afar, exactly its stand-ins — nothing of
/// the prisms or the roofs.
#[test]
fn a_big_building_layer_draws_by_level_of_detail() {
    use jingwei_scene::imagery::ImageDrape;
    use jingwei_scene::scene::{LayerMesh, SceneData};
    let scene = grid_city();
    assert!(!scene.stand_ins.is_empty(), "the layer is drawn by tiles");
    // At the frame height the distances are set for (a smaller frame switches sooner).
    let (w, h) = (1920u32, 1080u32);
    let roofs = scene
        .meshes
        .iter()
        .find_map(|m| m.range.filter(|r| r.near_m > 0.0))
        .unwrap()
        .for_height(h);
    let full_only = SceneData {
        meshes: scene
            .meshes
            .iter()
            .filter(|m| m.range.is_some_and(|r| r.near_m == 0.0))
            .map(|m| LayerMesh { range: None, ..m.clone() })
            .collect(),
        stand_ins: Vec::new(),
        ..scene.clone()
    };
    let far_only = SceneData {
        meshes: Vec::new(),
        stand_ins: scene.stand_ins.iter().map(|d| ImageDrape { range: None, ..d.clone() }).collect(),
        ..scene.clone()
    };
    let ext = scene.extent_local.unwrap();
    let centre = [(ext[0] + ext[2]) / 2.0, 0.0, (ext[1] + ext[3]) / 2.0];
    let view = |distance_m: f32| View {
        target: centre,
        distance_m,
        pitch_deg: 45.0,
        yaw_deg: 20.0,
        fov_deg: 40.0,
    };
    let mut r = Renderer::new(w, h).unwrap();
    let mut frame = |s: &SceneData, v: View| {
        r.set_scene(s);
        r.set_view(&v);
        r.render().unwrap()
    };
    let drawn = |f: &jingwei_viewer::render::Frame| {
        f.rgba
            .chunks_exact(4)
            .filter(|p| !close([p[0], p[1], p[2], 255], BACKGROUND, 2))
            .count()
    };
    // Near: every tile is within the full level's reach.
    let full = scene
        .meshes
        .iter()
        .find_map(|m| m.range.filter(|r| r.near_m == 0.0))
        .unwrap()
        .for_height(h);
    assert!(full[1] > 7_000.0, "{full:?}");
    let near = view(1_500.0);
    let (a, b) = (frame(&scene, near), frame(&full_only, near));
    assert!(drawn(&a) > (w * h / 4) as usize, "{} pixels drawn near", drawn(&a));
    assert_eq!(pixels_changed(&a, &b, 0), 0, "near: the full prisms and nothing else");
    // Far: every tile beyond the roofs' reach (the city is 7 km across).
    let far = view(roofs[1] + 10_000.0);
    let (a, b) = (frame(&scene, far), frame(&far_only, far));
    assert!(drawn(&a) > 100, "{} pixels drawn far", drawn(&a));
    assert_eq!(pixels_changed(&a, &b, 0), 0, "far: the stand-ins and nothing else");
}

/// A renderer resized draws what a renderer made at the new size draws, pixel for pixel — the
/// levels of detail switching at the distances for the new height — and back at its first size
/// what it drew there (the page switches between half-size frames while the view moves and full
/// ones at rest on one renderer).
#[test]
fn a_resized_renderer_draws_as_one_made_at_that_size() {
    let scene = grid_city();
    let (big, small) = ((960u32, 540u32), (480u32, 270u32));
    // A distance where the full prisms reach at the big height and not at the small one, so a
    // resize that kept the big frame's distances would draw other levels.
    let full = scene.meshes.iter().find_map(|m| m.range.filter(|r| r.near_m == 0.0)).unwrap();
    let (reach_small, reach_big) = (full.for_height(small.1)[1], full.for_height(big.1)[1]);
    assert!(reach_small < reach_big, "{reach_small} {reach_big}");
    let ext = scene.extent_local.unwrap();
    let view = View {
        target: [(ext[0] + ext[2]) / 2.0, 0.0, (ext[1] + ext[3]) / 2.0],
        distance_m: (reach_small + reach_big) / 2.0,
        pitch_deg: 45.0,
        yaw_deg: 20.0,
        fov_deg: 40.0,
    };
    let render = |r: &mut Renderer| {
        r.set_view(&view);
        r.render().unwrap()
    };
    let fresh = |(w, h): (u32, u32)| {
        let mut r = Renderer::new(w, h).unwrap();
        r.set_scene(&scene);
        render(&mut r)
    };
    let (want_big, want_small) = (fresh(big), fresh(small));
    let mut r = Renderer::new(big.0, big.1).unwrap();
    r.set_scene(&scene);
    let first = render(&mut r);
    assert_eq!(pixels_changed(&first, &want_big, 0), 0);
    r.resize(small.0, small.1).unwrap();
    // (The view is not set again: the resize alone makes the next frame right.)
    let got = r.render().unwrap();
    assert_eq!((got.width, got.height), small);
    assert_eq!(
        pixels_changed(&got, &want_small, 0),
        0,
        "resized: as a renderer made at the small size"
    );
    r.resize(big.0, big.1).unwrap();
    let back = render(&mut r);
    assert_eq!(pixels_changed(&back, &want_big, 0), 0, "back at the first size: the first frame");
    assert!(r.resize(0, 10).is_err());
}
