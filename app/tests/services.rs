//! A map service as a layer of the demo city, through the session: added (nothing fetched
//! before), drawn, saved and opened again; a saved service that cannot be reached leaves the
//! workspace opening with the layer closed and the reason shown. Vector services (WFS as
//! GeoJSON and as GML, OGC API Features from pygeoapi and from MapServer) hold exactly the
//! features of the file they serve.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jingwei_app::Session;
use jingwei_services::ServiceSpec;

#[path = "../../services/tests/support/map_services.rs"]
mod map_services;
use map_services::servers;

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

    // Legends through the session: MapServer's picture of a WMS layer's classes; none for
    // the orthophoto (its capabilities give no LegendURL), which is not an error.
    let wms = ServiceSpec {
        kind: "wms".into(),
        url: s_env["MAPSERVER_URL"].clone(),
        layer: Some("buildings".into()),
        ..Default::default()
    };
    let ws = s.add_service(&wms).unwrap();
    let id = ws.imagery.iter().find(|l| l.kind == "wms").expect("added").id.clone();
    let lg = s.imagery_legend(&id).unwrap();
    assert!(
        lg.error.is_none() && lg.image.as_deref().is_some_and(|u| u.starts_with("data:image/png;base64,")),
        "{lg:?}"
    );
    let lg = s.imagery_legend("ortho").unwrap();
    assert!(lg.error.is_none() && lg.image.is_none() && lg.items.is_empty(), "{lg:?}");
    s.remove_layer(&id).unwrap();

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

/// The `id` of every feature of a layer, with its area (m²) and perimeter (m) in the
/// workspace.
fn areas(ws: &jingwei_layers::Workspace, id: &str) -> std::collections::BTreeMap<String, (f64, f64)> {
    use geo::{Area, Euclidean, Length};
    let ring_sum = |p: &geo::Polygon| -> f64 {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|r| Euclidean.length(r))
            .sum()
    };
    let perimeter_of = |g: &geo::Geometry| -> f64 {
        match g {
            geo::Geometry::Polygon(p) => ring_sum(p),
            geo::Geometry::MultiPolygon(m) => m.0.iter().map(ring_sum).sum(),
            _ => 0.0,
        }
    };
    let l = &ws.layer(id).unwrap_or_else(|| panic!("no layer {id}")).layer;
    let f = l.field_index("id").expect("an id field");
    (0..l.len())
        .map(|r| {
            let v = l.feature(r).value(f);
            let key = v.as_f64().map_or_else(|| v.as_str().unwrap_or("").to_owned(), |x| format!("{x}"));
            let g = &l.geometries.geometry(r);
            let g = g.as_ref();
            let perimeter = g.map_or(0.0, perimeter_of);
            (key, (g.map_or(0.0, |g| g.unsigned_area()), perimeter))
        })
        .collect()
}

#[test]
fn wfs_and_ogc_api_features_layers_equal_the_file_they_serve() {
    let env = servers();
    let dir = tempfile::tempdir().unwrap();
    // (The cache folder is set by the other test of this binary, which checks what lands there.)
    let s = Session::new(dir.path().join("cases.gpkg"), "测试员".into());
    let file = Path::new(&env["SERVICES_RUN"]).join("buildings.geojson");
    s.add_file(&file, &jingwei_layers::Job::new()).unwrap();
    let wfs = ServiceSpec {
        kind: "wfs".into(),
        url: env["MAPSERVER_URL"].clone(),
        layer: Some("buildings".into()),
        ..Default::default()
    };
    let (_, got) = s.add_feature_service(&wfs, None).unwrap();
    assert!(got.pages >= 2, "paged: {got:?}");
    let ogc = ServiceSpec {
        kind: "ogcapi".into(),
        url: env["PYGEOAPI_URL"].clone(),
        layer: Some("buildings".into()),
        ..Default::default()
    };
    let (_, got_ogc) = s.add_feature_service(&ogc, None).unwrap();
    assert!(got_ogc.pages >= 2, "followed the next links: {got_ogc:?}");
    assert!(got_ogc.fixes.is_empty(), "{got_ogc:?}");
    // MapServer's OGC API Features, whose next links are broken (no online resource set).
    let ms_ogc = ServiceSpec {
        kind: "ogcapi".into(),
        url: format!("{}/jingwei/ogcapi", env["MAPSERVER_URL"]),
        layer: Some("buildings".into()),
        ..Default::default()
    };
    let (_, got_ms) = s.add_feature_service(&ms_ogc, None).unwrap();
    assert!(
        got_ms.pages >= 2 && got_ms.fixes.iter().any(|f| f.contains("paged by offset")),
        "{got_ms:?}"
    );
    // WFS as GML 3.2, paged, EPSG:4490 written latitude first in urn form.
    let gml = ServiceSpec {
        format: Some("gml".into()),
        ..wfs.clone()
    };
    let (ws_dto, got_gml) = s.add_feature_service(&gml, None).unwrap();
    assert!(got_gml.pages >= 2, "paged: {got_gml:?}");
    let ids: Vec<&str> = ws_dto.layers.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    s.with_workspace(|ws| {
        let from_file = areas(ws, ids[0]);
        for (i, other) in ids.iter().enumerate().skip(1) {
            let served = areas(ws, other);
            assert_eq!(served.len(), from_file.len(), "{other}: as many features as the file");
            for (k, (a, perimeter)) in &from_file {
                let (b, _) = served.get(k).unwrap_or_else(|| panic!("{other}: feature {k} missing"));
                // MapServer's OGC API and GML write 6 decimals of a degree: every vertex may
                // move up to 0.5e-6° in each axis (≤ 0.074 m here), the area by at most the
                // perimeter times that.
                let tol = if i >= 3 { perimeter * 0.074 } else { 1e-6 * a.max(1.0) };
                assert!((a - b).abs() <= tol, "{other}: feature {k}: {a} m² vs {b} m² (allowed {tol})");
            }
            // Queryable like a file layer: its R-tree finds its own features.
            let l = ws.layer(other).unwrap();
            let c = geo::InteriorPoint::interior_point(&l.layer.geometries.geometry(0).unwrap()).unwrap();
            let hits = jingwei_app::session::identify_at(ws, c.x(), c.y(), 1.0);
            assert!(
                hits.iter().any(|h| h.layer == *other || h.layer == l.title),
                "{other}: identify finds it: {:?}",
                hits.iter().map(|h| &h.layer).collect::<Vec<_>>()
            );
        }
        Ok(())
    })
    .unwrap();
    // Within an area only the features there come.
    let (_, some) = s.add_feature_service(&ogc, Some([121.495, 31.225, 121.505, 31.235])).unwrap();
    assert!(some.features > 0 && some.features < got_ogc.features, "{some:?} of {got_ogc:?}");
    // A service that is not there: one line, the workspace as it was.
    let before = s.describe().unwrap().layers.len();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = ServiceSpec {
        url: format!("http://127.0.0.1:{port}/"),
        ..wfs.clone()
    };
    let e = s.add_feature_service(&dead, None).unwrap_err().to_string();
    assert!(e.contains("cannot connect") && !e.contains('\n'), "{e}");
    assert_eq!(s.describe().unwrap().layers.len(), before);
}

#[test]
fn a_service_that_stalls_leaves_the_session_working_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(dir.path().join("cases.gpkg"), "测试员".into());
    s.open_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"))
        .unwrap();
    // Accepts, never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let spec = ServiceSpec {
        kind: "wms".into(),
        url: format!("http://127.0.0.1:{port}/wms"),
        timeout_s: Some(2),
        ..Default::default()
    };
    // Meanwhile the session answers: another thread reads the workspace while the request waits.
    let s = Arc::new(s);
    let s2 = s.clone();
    let adding = std::thread::spawn(move || s2.add_service(&spec));
    std::thread::sleep(Duration::from_millis(300));
    let t0 = std::time::Instant::now();
    let layers = s.describe().unwrap().layers.len();
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "the workspace is not held while a service is asked"
    );
    let e = adding.join().unwrap().unwrap_err().to_string();
    assert!(e.contains("timed out") && e.contains(&port.to_string()) && !e.contains('\n'), "{e}");
    let after = s.describe().unwrap();
    assert_eq!(after.layers.len(), layers);
    assert!(after.imagery.is_empty(), "nothing half-added");
}
