//! Every use case of the application API on the demo city, as the app calls them, without a
//! display: open, the layer tree, search, fly-to, identify, measure, the attribute table,
//! selection, the rules run and the case loop, incidents with their rings, what they reach and
//! the nearest resources by road, drills, save and open.

use jingwei_analysis::violations::Thresholds;
use jingwei_app::Session;
use jingwei_app::cases::FilterDto;
use jingwei_app::session::{Canvas, Pixel};
use jingwei_layers::Job;
use jingwei_layers::table::TableQuery;
use std::path::Path;

fn demo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json")
}

const W: u32 = 800;
const H: u32 = 600;

fn centre(view: jingwei_scene::view::View) -> Pixel {
    Pixel {
        x: W as f32 / 2.0,
        y: H as f32 / 2.0,
        width: W,
        height: H,
        view,
    }
}

#[test]
fn every_use_case_on_the_demo_city() {
    let dir = tempfile::tempdir().unwrap();
    // The recent-workspace list goes to the user's config folder: a private one here (the only
    // test of this binary, so no other thread reads the environment meanwhile).
    unsafe { std::env::set_var("XDG_CONFIG_HOME", dir.path().join("config")) };
    let scenes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s = Session::new(dir.path().join("cases.gpkg"), "测试员".into());
    let seen = scenes.clone();
    s.set_scene_sink(Box::new(move |_| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }))
    .unwrap();

    // Nothing open: one clear error, no panic.
    assert_eq!(s.describe().unwrap_err().to_string(), "no workspace is open");

    // Open and describe (the demo city, opened once however often it is asked for).
    unsafe { std::env::set_var("JINGWEI_DEMO", demo()) };
    let ws = s.open_demo().unwrap();
    assert_eq!(s.open_demo().unwrap().layers.len(), ws.layers.len());
    assert!(ws.layers.len() >= 8, "{} layers", ws.layers.len());
    assert!(ws.crs.starts_with("EPSG:45"), "a CGCS2000 Gauss-Krüger zone: {}", ws.crs);
    let buildings = ws.layers.iter().find(|l| l.id == "buildings").unwrap();
    assert!(buildings.features > 1000);
    assert_eq!(
        scenes.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one scene for the opened workspace"
    );
    let geojson: serde_json::Value = serde_json::from_str(&s.layer_geojson("control_zones").unwrap()).unwrap();
    let lon = geojson["features"][0]["geometry"]["coordinates"][0][0][0].as_f64().unwrap();
    assert!((121.3..121.7).contains(&lon), "lon/lat out: {lon}");
    assert!(matches!(s.layer_geojson("nope"), Err(jingwei_app::Error::NoLayer(_))));

    // Search finds the Shanghai Tower; flying to it frames it, the centre pixel identifies and
    // measures it.
    let hits = s.search("上海中心", None).unwrap();
    let tower = hits.iter().find(|h| h.layer_id == "buildings").expect("the tower is a building");
    let view = s
        .fly_to_feature(
            "buildings",
            tower.fid,
            Canvas {
                width: W,
                height: H,
                current: None,
            },
        )
        .unwrap();
    let found = s.identify(&centre(view)).unwrap();
    assert!(found.iter().any(|f| f.fid == tower.fid), "identify at the tower: {found:?}");
    // Obliquely the podium in front is hit first; from straight above, the tower's roof.
    let oblique = s.measure_height(&centre(view)).unwrap().expect("the ray meets a building");
    assert!(oblique.height_m < 632.0 && oblique.hit_z_m < oblique.top_m, "{oblique:?}");
    let above = jingwei_scene::view::View { pitch_deg: 90.0, ..view };
    let h = s.measure_height(&centre(above)).unwrap().expect("the ray meets the tower");
    // (OSM maps the tower twice: its building outline and a part of it, both 632 m.)
    assert!((h.height_m - 632.0).abs() < 1.0 && (h.hit_z_m - 632.0).abs() < 1.0, "{h:?}");
    // Bad pixels and limits are answered, not panicked on.
    assert!(s.search("上海中心", Some(0)).unwrap().is_empty());
    let zero = Pixel { width: 0, ..centre(view) };
    assert!(s.identify(&zero).unwrap().is_empty() && s.measure_height(&zero).unwrap().is_none());
    let nan = Pixel {
        x: f32::NAN,
        ..centre(view)
    };
    assert!(s.cursor_position(&nan).unwrap().is_none());
    let cursor = s.cursor_position(&centre(view)).unwrap().unwrap();
    assert!(
        (121.49..121.52).contains(&cursor.lon) && (31.22..31.25).contains(&cursor.lat),
        "{cursor:?}"
    );

    // The attribute table: sorted by height, tallest first; a filter; a bad sort field.
    let page = s
        .attribute_page(
            "buildings",
            TableQuery {
                sort: Some("height".into()),
                desc: true,
                filter: None,
            },
            0,
            5,
        )
        .unwrap();
    assert_eq!(page.rows[0].1, tower.fid);
    assert_eq!(page.total, buildings.features);
    let filtered = s
        .attribute_page(
            "buildings",
            TableQuery {
                sort: None,
                desc: false,
                filter: Some("上海中心".into()),
            },
            0,
            50,
        )
        .unwrap();
    assert!(filtered.total >= 1 && filtered.total < 10, "{}", filtered.total);
    assert!(
        s.attribute_page(
            "buildings",
            TableQuery {
                sort: Some("no_such".into()),
                desc: false,
                filter: None
            },
            0,
            5
        )
        .is_err()
    );
    let framed = s
        .select_features(
            "buildings",
            &[tower.fid],
            Some(Canvas {
                width: W,
                height: H,
                current: Some(view),
            }),
        )
        .unwrap()
        .unwrap();
    assert!(s.identify(&centre(framed)).unwrap().iter().any(|f| f.fid == tower.fid));

    // The layer tree.
    let before: Vec<String> = s.describe().unwrap().layers.iter().map(|l| l.id.clone()).collect();
    let i = before.iter().position(|l| l == "buildings").unwrap();
    let moved = s.move_layer("buildings", -1).unwrap();
    assert_eq!(moved.layers[i - 1].id, "buildings");
    s.move_layer("buildings", 1).unwrap();
    s.set_layer_opacity("buildings", 7.0).unwrap();
    assert_eq!(s.describe().unwrap().layers[i].opacity, 1.0, "clamped");
    assert!(s.set_layer_opacity("buildings", f32::NAN).is_err());
    s.set_layer_visible("buildings", false).unwrap();
    assert!(s.measure_height(&centre(view)).unwrap().is_none(), "a hidden layer is not measured");
    s.set_layer_visible("buildings", true).unwrap();
    let zoom = s
        .zoom_to_layer(
            "permits",
            Canvas {
                width: W,
                height: H,
                current: None,
            },
        )
        .unwrap();
    assert!(zoom.distance_m > 100.0);
    let first = s.initial_view(W, H).unwrap();
    assert!(first.distance_m > zoom.distance_m * 0.5 && first.pitch_deg == 45.0, "{first:?}");

    // Adding a file (a GBK shapefile without .cpg), cancelling a load, removing a layer.
    let gbk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/encoding/lujiazui_pois_gbk.shp");
    let added = s.add_file(&gbk, &s.start_job(None).unwrap()).unwrap();
    let new = added.layers.last().unwrap().clone();
    assert_eq!(added.layers.len(), ws.layers.len() + 1);
    assert!(new.features > 100, "{new:?}");
    let job = s.start_job(None).unwrap();
    s.cancel_job().unwrap();
    assert!(matches!(s.add_file(&gbk, &job), Err(jingwei_app::Error::Cancelled(_))));
    assert_eq!(
        s.describe().unwrap().layers.len(),
        ws.layers.len() + 1,
        "a cancelled load adds nothing"
    );
    assert_eq!(s.remove_layer(&new.id).unwrap().layers.len(), ws.layers.len());
    let missing = s
        .add_file(Path::new("/nonexistent/x.shp"), &s.start_job(None).unwrap())
        .unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/x.shp"), "{missing}");

    // The rules, into the session's store, with the sources a report needs.
    let (report, run) = s.run_violations(&Thresholds::default(), &Job::new()).unwrap();
    assert!(run.findings > 10 && run.created == run.findings, "{run:?}");
    assert_eq!(report.findings.len(), run.findings);
    let again = s.run_violations(&Thresholds::default(), &Job::new()).unwrap().1;
    assert_eq!((again.created, again.unchanged), (0, run.findings), "no duplicates");
    let cancelled = Job::new();
    cancelled.cancel();
    assert!(matches!(
        s.run_violations(&Thresholds::default(), &cancelled),
        Err(jingwei_app::Error::Cancelled(_))
    ));
    let bad = Thresholds {
        min_coverage: 2.0,
        ..Thresholds::default()
    };
    assert!(s.run_violations(&bad, &Job::new()).is_err());

    let cases = s.list_cases(&FilterDto::default()).unwrap();
    assert_eq!(cases.len(), run.findings);
    assert!(cases.windows(2).all(|w| w[0].priority >= w[1].priority));
    assert!(
        s.list_cases(&FilterDto {
            status: Some("nonsense".into()),
            ..FilterDto::default()
        })
        .is_err()
    );
    let top = &cases[0];
    let sel = s
        .select_case(
            &top.id.to_string(),
            Canvas {
                width: W,
                height: H,
                current: Some(view),
            },
        )
        .unwrap();
    assert!(sel.view.is_some());
    assert_eq!(sel.detail.detail.case.case_no, top.case_no);
    let d = s.set_case_status(&top.id.to_string(), "confirmed", Some("现场核实")).unwrap();
    assert_eq!(d.detail.case.status.id(), "confirmed");
    assert!(d.detail.audit.iter().any(|a| a.actor == "测试员"));
    assert!(
        s.set_case_status(&top.id.to_string(), "pending", None).is_err(),
        "the loop is enforced"
    );
    let d = s.assign_case(&top.id.to_string(), " 张三 ").unwrap();
    assert_eq!(d.detail.case.assignee.as_deref(), Some("张三"));
    assert!(s.add_case_note(&top.id.to_string(), "   ").is_err());
    // A blank comment adds no note (the store's rule, whichever door).
    let d = s.set_case_status(&top.id.to_string(), "rectifying", Some("  ")).unwrap();
    assert_eq!(d.detail.notes.len(), 1, "only the first comment");
    let d = s.add_case_note(&top.id.to_string(), "已拍照").unwrap();
    assert_eq!(d.detail.notes.len(), 2, "the first comment and the note");
    let d = s
        .attach_case_file(&top.id.to_string(), "photo.jpg", &[0xff, 0xd8, 0xff, 0xe0])
        .unwrap();
    assert_eq!(d.detail.attachments.len(), 1);
    // A polygon drawn about the view's centre; a degenerate one is refused.
    let corners = [[380.0, 280.0], [420.0, 280.0], [420.0, 320.0], [380.0, 320.0]];
    let flagged = s.flag_polygon(&corners, W, H, view, "人工标记").unwrap();
    assert!(flagged.rules.iter().any(|r| r == "manual"));
    assert!(s.flag_polygon(&[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], W, H, view, "x").is_err());
    let flagged_b = s.flag_building(&centre(above), "人工标记建筑").unwrap();
    assert!(flagged_b.building_fid.is_some());
    s.clear_selection().unwrap();

    // Incidents: placed at the tower, its rings reach buildings and people; resources by road.
    let inc = s.place_incident("fire", &centre(view)).unwrap();
    assert_eq!(inc.rings_m, vec![100.0, 300.0, 500.0]);
    let detail = s
        .select_incident(
            &inc.id.to_string(),
            Canvas {
                width: W,
                height: H,
                current: None,
            },
        )
        .unwrap();
    assert_eq!(detail.rings.len(), 3);
    assert!(detail.rings[0].buildings >= 1 && detail.rings[2].population > detail.rings[0].population);
    assert!(!detail.resources.is_empty() && detail.resources.iter().all(|r| r.travel_s.is_some()));
    let mut per_type = std::collections::BTreeMap::<&str, usize>::new();
    for r in &detail.resources {
        *per_type.entry(&r.kind).or_default() += 1;
    }
    assert!(per_type.values().all(|n| *n <= 2), "{per_type:?}");
    assert!(s.set_incident_rings(&inc.id.to_string(), &[f64::NAN]).is_err());
    assert!(s.set_incident_rings(&inc.id.to_string(), &[]).is_err());
    assert_eq!(
        s.set_incident_rings(&inc.id.to_string(), &[50.0, 150.0]).unwrap().rings_m,
        vec![50.0, 150.0]
    );
    let log = s.log_incident_action(&inc.id.to_string(), "消防一中队出动").unwrap();
    assert!(log.iter().any(|l| l.detail.as_deref() == Some("消防一中队出动")));
    assert_eq!(
        s.set_incident_status(&inc.id.to_string(), "contained").unwrap().status.id(),
        "contained"
    );
    assert!(s.set_incident_status(&inc.id.to_string(), "done").is_err());
    assert_eq!(s.incidents().unwrap().len(), 1);
    // An incident from a live (replayed, 127.0.0.1) feed's event.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let feeds = rt.block_on(s.poll_feeds()).unwrap();
    let cap = feeds.iter().find(|f| f.url.contains("cap/")).unwrap();
    assert!(!cap.events.is_empty(), "{cap:?}");
    // The demo alerts are signed; the feed trusts the demo certificate in feeds/certs.
    for e in &cap.events {
        assert_eq!(e.signature.as_deref(), Some("valid"), "{e:?}");
        assert!(
            e.signature_detail.as_deref().is_some_and(|d| d.contains("经纬演示预警发布中心")),
            "{e:?}"
        );
        assert_eq!(e.valid, Some(true));
    }
    let from_event = rt.block_on(s.incident_from_event(cap.index, &cap.events[0].id)).unwrap();
    assert_eq!(from_event.kind, cap.events[0].incident_type);
    assert_eq!(from_event.rings_m, jingwei_analysis::impact::default_rings(&from_event.kind));
    assert!(rt.block_on(s.incident_from_event(cap.index, "no-such-event")).is_err());
    assert_eq!(s.incidents().unwrap().len(), 2);

    // A drill works on a copy; the real store keeps its incident count.
    let real = s.store_path().unwrap();
    let drill = s.drill_start().unwrap();
    assert!(drill.drill && drill.store != real.display().to_string());
    s.place_incident("gas_leak", &centre(view)).unwrap();
    assert_eq!(s.incidents().unwrap().len(), 3);
    let real_store = jingwei_cases::CaseStore::open(&real).unwrap();
    assert_eq!(
        real_store.incidents(false).unwrap().len(),
        2,
        "the drill never writes the real records"
    );
    drop(real_store);

    // Save as, and open again: layers, view and records come back.
    let saved = dir.path().join("saved.gpkg");
    assert_eq!(s.save(Some(&saved), Some(view)).unwrap(), saved);
    let s2 = Session::new(dir.path().join("other.gpkg"), "测试员".into());
    let opened = s2.open_saved(&saved).unwrap();
    assert_eq!(opened.workspace.layers.len(), ws.layers.len());
    // The catalog's provenance (数据来源, level) is saved with the layers.
    let prov = |layers: &[jingwei_app::data::LayerDto]| layers.iter().map(|l| l.provenance.clone()).collect::<Vec<_>>();
    assert_eq!(prov(&opened.workspace.layers), prov(&ws.layers));
    assert!(
        ws.layers
            .iter()
            .any(|l| l.provenance.source.as_deref().is_some_and(|s| s.contains("OpenStreetMap")))
    );
    assert_eq!(opened.view, Some(view));
    assert!(!s2.list_cases(&FilterDto::default()).unwrap().is_empty());
    assert_eq!(jingwei_app::files::recent_workspaces(), vec![saved.display().to_string()]);
}
