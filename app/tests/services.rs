//! A map service as a layer of the demo city, through the session: added (nothing fetched
//! before), drawn, saved and opened again; a saved service that cannot be reached leaves the
//! workspace opening with the layer closed and the reason shown.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jingwei_app::Session;
use jingwei_services::ServiceSpec;

fn servers() -> HashMap<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/map-services.sh");
    let out = std::process::Command::new(&script)
        .arg("start")
        .output()
        .expect("scripts/map-services.sh runs");
    assert!(
        out.status.success(),
        "map services did not start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

#[test]
fn a_wmts_layer_under_the_demo_city_saved_and_opened_again() {
    let s_env = servers();
    let dir = tempfile::tempdir().unwrap();
    // Tiles go to a private cache folder.
    unsafe { std::env::set_var("XDG_CACHE_HOME", dir.path().join("cache")) };
    let s = Session::new(dir.path().join("cases.gpkg"), "测试员".into());
    let scenes = Arc::new(Mutex::new(Vec::new()));
    let sink = scenes.clone();
    s.set_scene_sink(Box::new(move |sc| sink.lock().unwrap().push(sc))).unwrap();
    s.open_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"))
        .unwrap();
    let spec = ServiceSpec {
        kind: "wmts".into(),
        url: format!("{}/wmts/1.0.0/WMTSCapabilities.xml", s_env["MAPPROXY_URL"]),
        layer: Some("ortho".into()),
        matrix_set: Some("tdt_c".into()),
        ..Default::default()
    };
    let layers = s.service_layers(&spec).unwrap();
    assert!(layers.iter().any(|(id, _)| id == "ortho"), "{layers:?}");
    let ws = s.add_service(&spec).unwrap();
    let l = ws.imagery.iter().find(|l| l.id == "ortho").expect("added");
    assert_eq!((l.kind.as_str(), l.open), ("wmts", true));
    assert!(l.detail.contains("WMTS REST · tdt_c"), "{}", l.detail);
    assert!(s.wait_imagery(Duration::from_secs(60)));
    let seq: Vec<Vec<usize>> = scenes
        .lock()
        .unwrap()
        .iter()
        .map(|sc| sc.images.iter().map(|d| d.missing).collect())
        .collect();
    eprintln!("scenes' missing tiles: {seq:?}");
    let scene = scenes.lock().unwrap().last().cloned().unwrap();
    let d = scene.images.iter().find(|d| d.layer_id == "ortho").expect("draped");
    let health = s.imagery().unwrap().into_iter().find(|l| l.id == "ortho").unwrap().health;
    assert_eq!(d.missing, 0, "{health:?}");
    assert!(
        d.rgba.chunks_exact(4).filter(|p| p[3] == 255).count() > 1000,
        "the orthophoto shows"
    );
    assert!(
        std::fs::read_dir(dir.path().join("cache/jingwei/tiles")).unwrap().next().is_some(),
        "tiles on disk"
    );

    let saved = dir.path().join("with_service.gpkg");
    s.save(Some(&saved), None).unwrap();
    let s2 = Session::new(dir.path().join("c2.gpkg"), "测试员".into());
    let again = s2.open_saved(&saved).unwrap();
    let l2 = again.workspace.imagery.iter().find(|l| l.id == "ortho").unwrap();
    assert!(l2.open, "{}", l2.detail);

    // The same workspace whose service is gone: it opens; the layer says why it is closed.
    let text = std::fs::read(&saved).unwrap();
    let _ = text;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = ServiceSpec {
        url: format!("http://127.0.0.1:{port}/wmts/1.0.0/WMTSCapabilities.xml"),
        ..spec.clone()
    };
    let mut ws3 = jingwei_layers::saved::open_workspace(&saved).unwrap().0;
    for l in ws3.imagery.iter_mut().filter(|l| l.id == "ortho") {
        l.spec = dead.to_value();
        l.source = None;
    }
    jingwei_app::imagery::open_closed_services(&mut ws3);
    let l3 = ws3.imagery.iter().find(|l| l.id == "ortho").unwrap();
    assert!(l3.source.is_none() && l3.detail.contains("cannot connect"), "{}", l3.detail);
    assert!(ws3.layers.len() > 3, "the rest of the workspace is there");
}
