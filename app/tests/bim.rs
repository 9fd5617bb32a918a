//! A BIM model through the application API: FZK-Haus (IFC4) added as a file stands at its
//! site, a layer per storey in the tree (rooms hidden), the upper storey drawn at its height,
//! a wall's property sets in identify, and all of it the same after saving and opening again.

use jingwei_app::session::{Session, identify_at};
use jingwei_layers::Job;
use std::path::Path;

fn fzk() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/3d/ifc/AC20-FZK-Haus.ifc")
}

/// The scene's highest point above the model's ground, metres, and the number of meshes.
fn heights(s: &Session) -> (f32, usize) {
    s.with_workspace(|ws| {
        let scene = jingwei_scene::scene::build_scene(ws);
        Ok((scene.max_height_m, scene.meshes.len()))
    })
    .unwrap()
}

#[test]
fn an_ifc_model_is_a_tree_of_storeys_that_identify_and_saving_keep() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    let dto = s.add_file(&fzk(), &Job::new()).unwrap();
    let titles: Vec<(&str, bool)> = dto.layers.iter().map(|l| (l.title.as_str(), l.visible)).collect();
    assert!(titles.contains(&("AC20-FZK-Haus › Erdgeschoss", true)), "{titles:?}");
    assert!(titles.contains(&("AC20-FZK-Haus › Dachgeschoss", true)), "{titles:?}");
    assert!(titles.contains(&("AC20-FZK-Haus › Erdgeschoss › IfcSpace", false)), "{titles:?}");

    // The ridge is 6.2 m above the ground floor's slab underside (the model's lowest point lies
    // at the foundation, −0.3 m): drawn as such, not with the upper storey dropped to the ground.
    let (top, meshes) = heights(&s);
    assert!(meshes >= 2, "{meshes}");
    assert!((6.0..7.5).contains(&top), "highest point {top} m");

    // Drawn in the file's colours: the ground floor's walls, windows, doors and slabs apart.
    let colours = s
        .with_workspace(|ws| {
            let id = ws
                .layers
                .iter()
                .find(|l| l.title == "AC20-FZK-Haus › Erdgeschoss")
                .unwrap()
                .id
                .clone();
            let scene = jingwei_scene::scene::build_scene(ws);
            let mut c: Vec<[u32; 4]> = scene
                .meshes
                .iter()
                .filter(|m| m.layer_id == id)
                .map(|m| m.color.map(|v| (v * 255.0).round() as u32))
                .collect();
            c.sort_unstable();
            c.dedup();
            Ok(c)
        })
        .unwrap();
    assert!(colours.len() >= 3, "{colours:?}");
    // The walls' rendering: surface colour (1, 1, 1) times a diffuse ratio of 0.81.
    assert!(colours.contains(&[207, 207, 207, 255]), "{colours:?}");

    // 剖切 above the ground floor (2.7 m above its floor, which stands 0.3 m above the model's
    // lowest point): the roof is gone, the walls below stay.
    s.set_clip(&jingwei_app::twin::ClipRequest {
        top_m: Some(2.5),
        ..Default::default()
    })
    .unwrap();
    let cut = s
        .with_workspace(|ws| {
            let scene = jingwei_scene::scene::build_scene(ws);
            Ok(scene
                .meshes
                .iter()
                .flat_map(|m| m.mesh.indices.iter().map(|i| m.mesh.positions[*i as usize][1]))
                .fold(f32::MIN, f32::max))
        })
        .unwrap();
    assert!((2.0..=2.5 + 1e-4).contains(&cut), "highest point drawn {cut} m");
    s.set_clip(&Default::default()).unwrap();
    assert!((heights(&s).0 - top).abs() < 1e-4);

    // Measuring on the model: a pixel looking down on the house from above meets its roof,
    // not the ground; one far off to the side meets the ground.
    let roof = s
        .with_workspace(|ws| {
            let l = ws.layers.iter().find(|l| l.title == "AC20-FZK-Haus › Dachgeschoss").unwrap();
            let e = l.layer.extent().unwrap();
            let [cx, cz] = jingwei_scene::view::LocalFrame::new(ws.origin_xy).to_local((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0);
            Ok((cx, cz))
        })
        .map(|(cx, cz)| {
            let view = jingwei_scene::view::View {
                target: [cx as f32, 0.0, cz as f32],
                distance_m: 60.0,
                pitch_deg: 89.0,
                yaw_deg: 0.0,
                fov_deg: 45.0,
            };
            let at = |x: f32, y: f32| {
                s.surface_point(&jingwei_app::session::Pixel {
                    x,
                    y,
                    width: 400,
                    height: 300,
                    view,
                })
                .unwrap()
                .unwrap()
            };
            // Cut above 2.5 m, the same pixel goes through where the roof was to what stays.
            s.set_clip(&jingwei_app::twin::ClipRequest {
                top_m: Some(2.5),
                ..Default::default()
            })
            .unwrap();
            let under = at(200.0, 150.0);
            s.set_clip(&Default::default()).unwrap();
            (at(200.0, 150.0), at(5.0, 5.0), under)
        })
        .unwrap();
    let (roof, ground, under) = (roof.0, roof.1, roof.2);
    assert!(under.z <= 2.5 + 1e-6, "{under:?}");
    assert_eq!(roof.on, "model", "{roof:?}");
    assert!(roof.z > 4.0 && roof.z < 7.0, "{roof:?}");
    assert_eq!(ground.on, "ground", "{ground:?}");
    assert!(ground.z.abs() < 0.01, "{ground:?}");

    // Identify on a wall of the ground floor: its row with its property sets.
    let wall = s
        .with_workspace(|ws| {
            let l = ws.layers.iter().find(|l| l.title == "AC20-FZK-Haus › Erdgeschoss").unwrap();
            let class = l.layer.fields.iter().position(|f| f.name == "ifc_class").unwrap();
            let row = (0..l.layer.fids.len())
                .find(|r| l.layer.columns[class].get(*r, jingwei_layers::FieldKind::Text).to_string() == "IfcWallStandardCase")
                .unwrap();
            let g = &l.layer.geometries.geometry(row).unwrap();
            let c = geo::Centroid::centroid(g).unwrap();
            Ok(identify_at(ws, c.x(), c.y(), 0.05))
        })
        .unwrap();
    let hit = wall
        .iter()
        .find(|h| h.attributes.get("ifc_class").and_then(|v| v.as_str()) == Some("IfcWallStandardCase"))
        .unwrap_or_else(|| panic!("{wall:?}"));
    assert!(
        hit.attributes.keys().any(|k| k.starts_with("Pset_WallCommon.")),
        "{:?}",
        hit.attributes.keys()
    );
    assert!(hit.attributes.contains_key("GlobalId"));

    // Saved and opened again, cut at 2.5 m: the same tree, the same cut, the same heights
    // once the cut is cleared.
    let cut = jingwei_app::twin::ClipRequest {
        top_m: Some(2.5),
        section: Some([[0.0, 0.0], [0.0, 1.0]]),
        ..Default::default()
    };
    s.set_clip(&cut).unwrap();
    let saved = dir.path().join("house.gpkg");
    s.save(Some(&saved), None).unwrap();
    let s2 = Session::new(dir.path().join("cases2.gpkg"), "ci".into());
    let opened = s2.open_saved(&saved).unwrap();
    let again: Vec<(&str, bool)> = opened.workspace.layers.iter().map(|l| (l.title.as_str(), l.visible)).collect();
    assert_eq!(again, titles);
    assert_eq!(opened.workspace.clip, cut);
    s2.set_clip(&Default::default()).unwrap();
    let (top2, _) = heights(&s2);
    assert!((top2 - top).abs() < 1e-3, "{top2} against {top}");
}
