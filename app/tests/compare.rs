//! Comparison views through the session: each side's scene shows its layers and hides the
//! other side's; moving the divider sends no new scenes; ending the comparison says so; bad
//! requests are one line; the time slider finds the layers with a period and shows one at a time.

use std::path::Path;
use std::sync::{Arc, Mutex};

use jingwei_app::Session;
use jingwei_app::compare::{CompareRequest, CompareUpdate};
use jingwei_scene::compare::Compare;
use jingwei_scene::scene::SceneData;

fn demo(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo").join(p)
}

fn layers_of(s: &SceneData) -> std::collections::BTreeSet<String> {
    s.meshes.iter().map(|m| m.layer_id.clone()).collect()
}

#[test]
fn each_side_shows_its_layers() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    s.open_catalog(&demo("catalog.json")).unwrap();
    let main: Arc<Mutex<Vec<SceneData>>> = Default::default();
    let updates: Arc<Mutex<Vec<CompareUpdate>>> = Default::default();
    let (m, u) = (main.clone(), updates.clone());
    s.set_scene_sink(Box::new(move |sc| m.lock().unwrap().push(sc))).unwrap();
    s.set_compare_sink(Box::new(move |x| u.lock().unwrap().push(x))).unwrap();
    let req = CompareRequest {
        compare: Compare::Swipe {
            vertical: true,
            position: 0.5,
        },
        sides: vec![vec!["landuse".into()], vec!["buildings".into(), "control_zones".into()]],
    };
    s.set_compare(Some(req.clone())).unwrap();
    let a = layers_of(main.lock().unwrap().last().unwrap());
    let up = updates.lock().unwrap().last().unwrap().clone();
    assert_eq!(up.compare, Some(req.compare.clone()));
    let others = up.scenes.expect("the other side's scene");
    assert_eq!(others.len(), 1);
    let b = layers_of(&others[0]);
    assert!(
        a.contains("landuse") && !a.contains("buildings") && !a.contains("control_zones"),
        "A: {a:?}"
    );
    assert!(
        b.contains("buildings") && b.contains("control_zones") && !b.contains("landuse"),
        "B: {b:?}"
    );
    // Layers of neither side show on both, as the tree says.
    assert!(a.contains("roads") && b.contains("roads"));

    // The divider moves: no new scenes.
    let n = updates.lock().unwrap().len();
    let moved = CompareRequest {
        compare: Compare::Swipe {
            vertical: true,
            position: 0.2,
        },
        ..req.clone()
    };
    s.set_compare(Some(moved)).unwrap();
    let ups = updates.lock().unwrap();
    assert_eq!(ups.len(), n + 1);
    assert!(
        ups[n].scenes.is_none()
            && ups[n].compare
                == Some(Compare::Swipe {
                    vertical: true,
                    position: 0.2
                })
    );
    drop(ups);
    // A layer toggled in the tree: both sides are built again.
    s.set_layer_visible("roads", false).unwrap();
    let last = updates.lock().unwrap().last().unwrap().clone();
    assert!(!layers_of(&last.scenes.unwrap()[0]).contains("roads"));
    // Four panes.
    let four = CompareRequest {
        compare: Compare::Split {
            panes: 4,
            zoom: vec![1.0, 2.0],
        },
        sides: vec![vec!["landuse".into()], vec!["buildings".into()], vec!["water".into()], vec![]],
    };
    s.set_compare(Some(four)).unwrap();
    assert_eq!(updates.lock().unwrap().last().unwrap().scenes.as_ref().unwrap().len(), 3);
    // Clicks land in their pane: the same spot of each pane (same centre and scale) is the same
    // ground, and a pane zoomed ×2 sees half as far from the centre.
    let view = jingwei_scene::view::View::top_down(main.lock().unwrap().last().unwrap().extent_local.unwrap(), 4.0 / 3.0);
    let px = |x: f32, y: f32| jingwei_app::session::Pixel {
        x,
        y,
        width: 800,
        height: 600,
        view,
    };
    let at = |x: f32, y: f32| s.cursor_position(&px(x, y)).unwrap().unwrap();
    // Four panes of 400 × 300; pane 1 (top right) zooms ×2.
    let (a0, a2) = (at(100.0, 100.0), at(100.0, 400.0));
    assert!(
        (a0.x - a2.x).abs() < 0.01 && (a0.y - a2.y).abs() < 0.01,
        "panes 0 and 2 at the same spot: {a0:?} {a2:?}"
    );
    let (c0, c1) = (at(200.0, 150.0), at(600.0, 150.0));
    let (e0, e1) = (at(100.0, 150.0), at(500.0, 150.0));
    let (d0, d1) = (c0.x - e0.x, c1.x - e1.x);
    // The pixel at a pane's middle is the shared centre, within a pixel of the scale.
    let metres_per_px = d0 / 100.0;
    assert!(
        (c0.x - c1.x).abs() < metres_per_px && (c0.y - c1.y).abs() < metres_per_px,
        "the panes share their centre: {c0:?} {c1:?}"
    );
    assert!((d0 / d1 - 2.0).abs() < 0.01, "the zoomed pane sees half as far: {d0} vs {d1}");
    // Bad requests, one line each.
    for (bad, want) in [
        (
            CompareRequest {
                compare: Compare::Swipe {
                    vertical: false,
                    position: 1.5,
                },
                ..req.clone()
            },
            "1.5",
        ),
        (
            CompareRequest {
                sides: vec![vec!["landuse".into()]],
                ..req.clone()
            },
            "1 sides",
        ),
        (
            CompareRequest {
                sides: vec![vec!["landuse".into()], vec!["nope".into()]],
                ..req.clone()
            },
            "nope",
        ),
        (
            CompareRequest {
                compare: Compare::Split { panes: 3, zoom: vec![] },
                sides: vec![vec![]; 3],
            },
            "3 panes",
        ),
    ] {
        let e = s.set_compare(Some(bad)).unwrap_err().to_string();
        assert!(e.contains(want) && !e.contains('\n'), "{e}");
    }
    // Opening another workspace ends the comparison (its sides named the old layers).
    s.set_compare(Some(req.clone())).unwrap();
    s.open_catalog(&demo("catalog.json")).unwrap();
    assert!(s.compare().unwrap().is_none(), "a new workspace starts without a comparison");
    // Off again.
    s.set_compare(Some(req.clone())).unwrap();
    s.set_compare(None).unwrap();
    assert_eq!(updates.lock().unwrap().last().unwrap().compare, None);
    assert!(s.compare().unwrap().is_none());
    let full = layers_of(main.lock().unwrap().last().unwrap());
    assert!(full.contains("landuse") && full.contains("buildings"));
}

#[test]
fn the_time_slider_shows_one_epoch_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let gpkg = demo("lujiazui_osm.gpkg");
    let catalog = dir.path().join("epochs.json");
    let entry = |id: &str, version: &str| serde_json::json!({"id": id, "title_zh": format!("用地 {version}"), "title_en": format!("Land use {version}"), "group": "status_quo", "file": gpkg, "layer": "landuse_polygon", "version": version});
    let c = serde_json::json!({"title_zh": "多期", "title_en": "Epochs", "attribution": [], "layers": [entry("lu2024", "2024"), entry("lu2022", "2022"), entry("lu2023", "2023")]});
    std::fs::write(&catalog, serde_json::to_string(&c).unwrap()).unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    s.open_catalog(&catalog).unwrap();
    let e = s.epochs().unwrap();
    assert_eq!(e.iter().map(|x| x.period.as_str()).collect::<Vec<_>>(), ["2022", "2023", "2024"]);
    s.show_epoch("lu2023").unwrap();
    let ws = s.describe().unwrap();
    let vis: Vec<(String, bool)> = ws.layers.iter().map(|l| (l.id.clone(), l.visible)).collect();
    assert!(
        vis.contains(&("lu2023".into(), true)) && vis.contains(&("lu2022".into(), false)) && vis.contains(&("lu2024".into(), false)),
        "{vis:?}"
    );
    assert!(s.show_epoch("nope").unwrap_err().to_string().contains("nope"));
}

#[test]
fn a_date_field_steps_through_the_years() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "ci".into());
    s.open_catalog(&demo("catalog.json")).unwrap();
    s.set_layer_visible("permits", true).unwrap();
    let ws = s.describe().unwrap();
    let permits = ws.layers.iter().find(|l| l.id == "permits").unwrap();
    assert_eq!(permits.date_fields, ["issue_date"]);
    let years = s.date_epochs("permits", "issue_date").unwrap();
    assert!(years.len() >= 10 && years.windows(2).all(|w| w[0] < w[1]), "{years:?}");
    let main: Arc<Mutex<Vec<SceneData>>> = Default::default();
    let m = main.clone();
    s.set_scene_sink(Box::new(move |sc| m.lock().unwrap().push(sc))).unwrap();
    let triangles = |s: &SceneData| {
        s.meshes
            .iter()
            .filter(|m| m.layer_id == "permits")
            .map(|m| m.mesh.indices.len())
            .sum::<usize>()
    };
    let all = {
        s.set_time_filter(None).unwrap();
        triangles(main.lock().unwrap().last().unwrap())
    };
    // Up to each year: never fewer than the year before, all of them by the last.
    let mut last = 0;
    for y in &years {
        s.set_time_filter(Some(jingwei_app::compare::TimeFilter {
            layer: "permits".into(),
            field: "issue_date".into(),
            until: y.clone(),
            cumulative: true,
        }))
        .unwrap();
        let n = triangles(main.lock().unwrap().last().unwrap());
        assert!(n >= last, "{y}: {n} < {last}");
        last = n;
    }
    assert_eq!(last, all, "by the last year every permit shows");
    // The rows left out agree with the dates themselves.
    let first = s
        .with_workspace(|ws| {
            jingwei_app::compare::hidden_rows(
                ws,
                &jingwei_app::compare::TimeFilter {
                    layer: "permits".into(),
                    field: "issue_date".into(),
                    until: years[0].clone(),
                    cumulative: true,
                },
            )
        })
        .unwrap();
    let (shown, total) = s
        .with_workspace(|ws| {
            let wl = ws.layer("permits").unwrap();
            let f = wl.layer.field_index("issue_date").unwrap();
            let shown = (0..wl.layer.len())
                .filter(|r| wl.layer.feature(*r).value(f).to_string().starts_with(&years[0]))
                .count();
            Ok((shown, wl.layer.len()))
        })
        .unwrap();
    assert_eq!(total - first.len(), shown, "only {}'s permits remain", years[0]);
    let e = s
        .set_time_filter(Some(jingwei_app::compare::TimeFilter {
            layer: "permits".into(),
            field: "permit_no_x".into(),
            until: "2010".into(),
            cumulative: true,
        }))
        .unwrap_err()
        .to_string();
    assert!(e.contains("permit_no_x"), "{e}");
}
