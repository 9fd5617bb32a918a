//! Imagery use cases through the session, without a display: a real satellite image added as
//! a layer, its first scene not waiting for every tile, the watcher finishing it, bands and
//! opacity, save and open (and a moved file), bad files.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jingwei_app::Session;
use jingwei_layers::Job;
use jingwei_scene::scene::SceneData;

fn landsat() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/imagery/L7_ETMs.tif")
}

fn session(dir: &Path) -> (Session, Arc<Mutex<Vec<SceneData>>>) {
    let s = Session::new(dir.join("cases.gpkg"), "测试员".into());
    let scenes = Arc::new(Mutex::new(Vec::new()));
    let sink = scenes.clone();
    s.set_scene_sink(Box::new(move |sc| sink.lock().unwrap().push(sc))).unwrap();
    (s, scenes)
}

fn mean_rgb(d: &jingwei_scene::imagery::ImageDrape) -> [f64; 3] {
    let mut m = [0.0; 3];
    let mut n = 0.0f64;
    for p in d.rgba.chunks_exact(4).filter(|p| p[3] == 255) {
        for c in 0..3 {
            m[c] += f64::from(p[c]);
        }
        n += 1.0;
    }
    m.map(|v| v / n.max(1.0))
}

#[test]
fn a_satellite_image_as_a_layer_from_adding_to_saving() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("olinda.tif");
    std::fs::copy(landsat(), &image).unwrap();
    let (s, scenes) = session(dir.path());

    let ws = s.add_file(&image, &Job::new()).unwrap();
    assert_eq!(ws.crs, "EPSG:32725", "a workspace in the image's UTM zone");
    assert_eq!(ws.imagery.len(), 1);
    let l = &ws.imagery[0];
    assert_eq!((l.id.as_str(), l.kind.as_str(), l.open), ("olinda", "file", true));
    assert!(l.detail.contains("GTiff 349×352, 6 band(s)"), "{}", l.detail);

    // A scene came at once; the watcher sends it again until every tile is in.
    assert!(s.wait_imagery(Duration::from_secs(30)), "the imagery finishes");
    let last = scenes.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.images.len(), 1);
    let d = &last.images[0];
    assert_eq!(d.missing, 0);
    assert!(d.width >= 300 && d.width <= 2048 && d.height >= 300, "{}×{}", d.width, d.height);
    assert_eq!(d.rgba.len(), (d.width * d.height * 4) as usize);
    let e = last.extent_local.expect("the image gives the scene its extent");
    assert!((e[2] - e[0] - 9946.5).abs() < 60.0, "about 10 km across: {e:?}");
    let health = &s.imagery().unwrap()[0].health;
    assert!(health.tiles > 0 && health.failed == 0, "{health:?}");

    // Landsat's bands 3, 2, 1 are red, green, blue; stretched, the picture is brighter.
    let before = mean_rgb(d);
    s.set_imagery_bands("olinda", "3,2,1", true).unwrap();
    assert!(s.wait_imagery(Duration::from_secs(30)));
    let after = mean_rgb(&scenes.lock().unwrap().last().unwrap().images[0]);
    assert!(
        after.iter().sum::<f64>() > before.iter().sum::<f64>() * 1.3,
        "{before:?} → {after:?}"
    );
    assert!(
        s.set_imagery_bands("olinda", "3,2", false)
            .unwrap_err()
            .to_string()
            .contains("three")
    );
    assert!(
        s.set_imagery_bands("olinda", "3,2,9", false)
            .unwrap_err()
            .to_string()
            .contains("no band 9")
    );

    s.set_layer_opacity("olinda", 0.5).unwrap();
    assert_eq!(scenes.lock().unwrap().last().unwrap().images[0].opacity, 0.5);
    s.set_layer_visible("olinda", false).unwrap();
    assert!(scenes.lock().unwrap().last().unwrap().images.is_empty(), "hidden: not drawn");
    s.set_layer_visible("olinda", true).unwrap();

    // Saved and opened again: the same layer, bands and opacity.
    let saved = dir.path().join("saved.gpkg");
    s.save(Some(&saved), None).unwrap();
    let (s2, scenes2) = session(dir.path());
    let opened = s2.open_saved(&saved).unwrap();
    let l2 = &opened.workspace.imagery[0];
    assert_eq!((l2.id.as_str(), l2.opacity, l2.open), ("olinda", 0.5, true));
    assert!(s2.wait_imagery(Duration::from_secs(30)));
    let again = mean_rgb(&scenes2.lock().unwrap().last().unwrap().images[0]);
    assert!(again.iter().zip(&after).all(|(a, b)| (a - b).abs() < 0.5), "{again:?} vs {after:?}");

    // The image moved: the workspace still opens, the layer says why it is closed.
    std::fs::remove_file(&image).unwrap();
    let (s3, _) = session(dir.path());
    let opened = s3.open_saved(&saved).unwrap();
    let l3 = &opened.workspace.imagery[0];
    assert!(!l3.open);
    assert!(l3.detail.contains("olinda.tif"), "{}", l3.detail);
}

#[test]
fn a_broken_image_is_one_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = session(dir.path());
    s.add_file(&landsat(), &Job::new()).unwrap();
    let bad = dir.path().join("truncated.tif");
    let bytes = std::fs::read(landsat()).unwrap();
    std::fs::write(&bad, &bytes[..4000]).unwrap();
    let err = s.add_file(&bad, &Job::new()).unwrap_err().to_string();
    assert!(err.contains("truncated.tif"), "names the file: {err}");
    assert!(!err.contains('\n'), "one line: {err}");
    assert_eq!(s.describe().unwrap().imagery.len(), 1, "the workspace is as it was");
}

/// Two epochs of imagery over the demo city: a case's site on both, oldest first, in the
/// panel's answer and in the printed report.
#[test]
fn a_case_on_two_imagery_epochs_in_the_panel_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = session(dir.path());
    s.open_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"))
        .unwrap();
    // The Landsat pixels placed over Lujiazui, as two "epochs" with different band orders.
    for (name, bands) in [
        ("lujiazui_2023.tif", ["-b", "3", "-b", "2", "-b", "1"]),
        ("lujiazui_2019.tif", ["-b", "1", "-b", "2", "-b", "3"]),
    ] {
        let ok = std::process::Command::new("gdal_translate")
            .args(["-q", "-a_srs", "EPSG:4490", "-a_ullr", "121.48", "31.25", "121.53", "31.21"])
            .args(bands)
            .arg(landsat())
            .arg(dir.path().join(name))
            .status()
            .expect("gdal_translate (gdal-bin) runs");
        assert!(ok.success());
        s.add_file(&dir.path().join(name), &Job::new()).unwrap();
    }
    s.run_violations(&Default::default(), &Job::new()).unwrap();
    let cases = s.list_cases(&Default::default()).unwrap();
    let key = cases[0].id.to_string();
    let chips = s.case_imagery(&key, 128).unwrap();
    assert_eq!(chips.len(), 2, "both epochs");
    assert_eq!(
        (chips[0].epoch.as_deref(), chips[1].epoch.as_deref()),
        (Some("2019"), Some("2023")),
        "oldest first"
    );
    assert!(chips[0].png != chips[1].png, "two different pictures");
    for c in &chips {
        let img = image::load_from_memory(&c.png).unwrap();
        assert_eq!((img.width(), img.height()), (128, 128));
    }
    assert!(s.case_imagery(&key, 5).is_err(), "a picture of 5 pixels is refused");

    struct Blank;
    impl jingwei_app::report::SiteMapRenderer for Blank {
        fn render_png(&mut self, _: &jingwei_scene::scene::SceneData, _: &jingwei_scene::view::View) -> jingwei_app::Result<Vec<u8>> {
            let t = jingwei_layers::imagery::Tile {
                width: 1,
                height: 1,
                rgba: vec![255; 4],
            };
            Ok(jingwei_layers::imagery::encode_png(&t).unwrap())
        }
    }
    let out = dir.path().join("reports");
    s.write_case_reports(Some(&key), &Default::default(), Some(&out), &mut Blank)
        .unwrap();
    let page = std::fs::read_to_string(out.join(format!("{}.html", cases[0].case_no))).unwrap();
    assert!(page.contains("影像对比"), "the report has the imagery section");
    assert_eq!(page.matches("class=\"chip\"").count(), 2, "with both chips");
    assert!(page.find("2019").unwrap() < page.rfind("2023").unwrap());
}

#[test]
fn epochs_are_read_from_names() {
    use jingwei_app::imagery::epoch_of;
    assert_eq!(epoch_of("lujiazui_20230501_ortho").as_deref(), Some("2023-05-01"));
    assert_eq!(epoch_of("浦东2019年影像").as_deref(), Some("2019"));
    assert_eq!(epoch_of("2021-06-30 航飞").as_deref(), Some("2021-06-30"));
    assert_eq!(epoch_of("L7_ETMs"), None);
    assert_eq!(epoch_of("tile_12345"), None);
}

/// A view closer than the scene's drape shows gets a detail drape at its own resolution; the
/// same view again changes nothing; a view far away moves the detail.
#[test]
fn a_close_view_sharpens_the_imagery_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("olinda_2m.tif");
    // The Landsat scene resampled to 2 m pixels: 5,000 pixels across, finer than the
    // whole-scene texture can hold.
    let ok = std::process::Command::new("gdal_translate")
        .args(["-q", "-outsize", "5000", "5000", "-r", "bilinear", "-co", "TILED=YES"])
        .arg(landsat())
        .arg(&big)
        .status()
        .expect("gdal_translate (gdal-bin) runs");
    assert!(ok.success());
    let (s, scenes) = session(dir.path());
    s.add_file(&big, &Job::new()).unwrap();
    assert!(s.wait_imagery(Duration::from_secs(30)));
    let base = scenes.lock().unwrap().last().cloned().unwrap();
    assert_eq!(base.images.len(), 1);
    let e = base.extent_local.unwrap();
    // Close above the middle: about 1 m per pixel.
    let mut view = jingwei_scene::view::View::top_down(e, 1.0);
    view.target = [(e[0] + e[2]) / 2.0, 0.0, (e[1] + e[3]) / 2.0];
    view.distance_m = 600.0;
    assert!(s.refine_imagery(&view, 800, 800).unwrap(), "a detail drape is added");
    assert!(s.wait_imagery(Duration::from_secs(30)));
    let sharp = scenes.lock().unwrap().last().cloned().unwrap();
    assert_eq!(sharp.images.len(), 2);
    let d = &sharp.images[1];
    assert!(d.layer_id.ends_with("#detail") && d.missing == 0, "{} {}", d.layer_id, d.missing);
    let span = |d: &jingwei_scene::imagery::ImageDrape| {
        let xs: Vec<f32> = d.mesh.positions.iter().map(|p| p[0]).collect();
        f64::from(xs.iter().cloned().fold(f32::MIN, f32::max) - xs.iter().cloned().fold(f32::MAX, f32::min)) / f64::from(d.width)
    };
    let (coarse, fine) = (span(&sharp.images[0]), span(d));
    assert!(fine < coarse / 1.5, "finer: {fine:.2} m vs {coarse:.2} m per pixel");
    assert!(fine >= 1.98, "never finer than the image's own 2 m: {fine}");
    let sent = scenes.lock().unwrap().len();
    assert!(!s.refine_imagery(&view, 800, 800).unwrap(), "the same view: nothing new");
    assert_eq!(scenes.lock().unwrap().len(), sent);
    view.target[0] += 3000.0;
    assert!(s.refine_imagery(&view, 800, 800).unwrap(), "moved: the detail follows");
    // A whole view needs no detail: the scene is back to its one drape.
    let whole = jingwei_scene::view::View::top_down(e, 1.0);
    assert!(s.refine_imagery(&whole, 800, 800).unwrap());
    assert_eq!(scenes.lock().unwrap().last().unwrap().images.len(), 1);
}

/// The 2D preview's imagery: the visible layers over a lon/lat box as one PNG, the same
/// picture as the 3D drape (mean colour), and opacity honoured.
#[test]
fn the_2d_preview_gets_the_imagery_in_lonlat() {
    let dir = tempfile::tempdir().unwrap();
    let (s, scenes) = session(dir.path());
    s.add_file(&landsat(), &Job::new()).unwrap();
    assert!(s.wait_imagery(Duration::from_secs(30)));
    let drape = scenes.lock().unwrap().last().unwrap().images[0].clone();
    // The middle of the scene in CGCS2000 longitude/latitude.
    let (ws_crs, e) = s.with_workspace(|ws| Ok((ws.crs.clone(), ws.imagery[0].extent.unwrap()))).unwrap();
    let t = jingwei_layers::Transformer::new(&ws_crs, &jingwei_layers::Crs::cgcs2000().unwrap()).unwrap();
    let (w, so) = t.transform(e[0] + (e[2] - e[0]) * 0.2, e[1] + (e[3] - e[1]) * 0.2).unwrap();
    let (ea, n) = t.transform(e[0] + (e[2] - e[0]) * 0.8, e[1] + (e[3] - e[1]) * 0.8).unwrap();
    let png = s.imagery_2d([w, so, ea, n], 300, 300).unwrap();
    let img = image::load_from_memory(&png).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (300, 300));
    let opaque = img.pixels().filter(|p| p[3] == 255).count();
    assert!(opaque > 300 * 300 * 9 / 10, "the image fills the box: {opaque}");
    let mean = |it: &mut dyn Iterator<Item = [u8; 4]>| {
        let (mut m, mut n) = ([0f64; 3], 0f64);
        for p in it.filter(|p| p[3] == 255) {
            for c in 0..3 {
                m[c] += f64::from(p[c]);
            }
            n += 1.0;
        }
        m.map(|v| v / n)
    };
    let a = mean(&mut img.pixels().map(|p| p.0));
    let b = mean(&mut drape.rgba.chunks_exact(4).map(|p| [p[0], p[1], p[2], p[3]]));
    assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 8.0), "2D {a:?} vs 3D {b:?}");
    s.set_layer_opacity("L7_ETMs", 0.5).unwrap();
    let half = image::load_from_memory(&s.imagery_2d([w, so, ea, n], 300, 300).unwrap())
        .unwrap()
        .to_rgba8();
    assert!(half.pixels().all(|p| p[3] <= 128), "half opacity");
    assert!(
        s.imagery_2d([10.0, 5.0, 9.0, 6.0], 300, 300).is_err(),
        "a box with west > east is refused"
    );
}
