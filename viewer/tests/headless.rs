//! The demo city rendered headless (software Vulkan): checks that fail for real faults.

use jingwei_layers::{RepairMode, Workspace};
use jingwei_viewer::render::{Renderer, View};
use jingwei_viewer::scene::build_scene;
use std::path::Path;

fn demo() -> Workspace {
    Workspace::open_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"), None, RepairMode::Repair).unwrap()
}

const BACKGROUND: [u8; 4] = [238, 241, 244, 255];

fn close(a: [u8; 4], b: [u8; 4], tol: i32) -> bool {
    (0..3).all(|i| (i32::from(a[i]) - i32::from(b[i])).abs() <= tol)
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
    assert_eq!((oblique.width, oblique.height), (w, h));
    let drawn = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).filter(|&(x, y)| !close(oblique.pixel(x, y), BACKGROUND, 2)).count();
    assert!(drawn as f64 > 0.15 * f64::from(w * h), "only {drawn} pixels drawn");
    let mut colours: Vec<[u8; 4]> = oblique.rgba.chunks_exact(4).map(|c| [c[0] & 0xf0, c[1] & 0xf0, c[2] & 0xf0, 255]).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 20, "a flat image: {} colours", colours.len());

    // A camera move alone needs no warm-up: the frame and its read-back.
    r.set_view(&View::frame(ext, scene.max_height_m, w as f32 / h as f32, 50.0, 25.0));
    let moved = r.render().unwrap();
    assert!(r.last_updates() <= 3, "{} updates for a camera move", r.last_updates());
    assert_ne!(moved.rgba, oblique.rgba, "the camera moved but the frame did not change");

    // Top-down and zoomed out: nothing is drawn outside the data's extent.
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
                assert!(close(top.pixel(x, y), BACKGROUND, 2), "pixel ({x},{y}) outside the extent is {:?}", top.pixel(x, y));
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
    let changed = oblique.rgba.chunks_exact(4).zip(without.rgba.chunks_exact(4)).filter(|(a, b)| !close([a[0], a[1], a[2], 255], [b[0], b[1], b[2], 255], 6)).count();
    assert!(changed as f64 > 0.02 * f64::from(w * h), "hiding buildings changed only {changed} pixels");
    std::fs::write(std::env::temp_dir().join("jingwei_demo_oblique.png"), oblique.to_png().unwrap()).unwrap();
}
