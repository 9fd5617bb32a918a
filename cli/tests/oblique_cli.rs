//! An oblique model (OSGB) from the command line: rendered with its photographs' textures,
//! and converted to 3D Tiles that render the same. The model is built by `osgconv` (see
//! `layers/tests/support/oblique.rs`).

#[path = "../../layers/tests/support/oblique.rs"]
mod oblique;

use std::path::Path;
use std::process::Command;

/// Render a model top-down; the share of pixels neither background nor the untextured
/// models' grey, and how many distinct colours they have.
fn render(what: &Path, png: &Path) -> (f64, usize) {
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei-render"))
        .args(["render", "--view", "top", "--size", "320x240", "--out"])
        .arg(png)
        .arg(what)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("tiles drawn") && !err.contains("not settled"), "{err}");
    // For a look at it: JINGWEI_TEST_PNGS=folder keeps the frames.
    if let Ok(d) = std::env::var("JINGWEI_TEST_PNGS") {
        let _ = std::fs::copy(png, Path::new(&d).join(png.file_name().unwrap()));
    }
    let img = image::open(png).unwrap().to_rgba8();
    let near = |p: &image::Rgba<u8>, c: [i32; 3]| (0..3).map(|k| (i32::from(p[k]) - c[k]).abs()).sum::<i32>() <= 12;
    let mut colours = std::collections::HashSet::new();
    let mut n = 0;
    for p in img.pixels() {
        // The background (238, 241, 244) and the untextured models' grey (219, 214, 204).
        if !near(p, [238, 241, 244]) && !near(p, [219, 214, 204]) {
            n += 1;
            colours.insert([p[0] >> 3, p[1] >> 3, p[2] >> 3]);
        }
    }
    (f64::from(n) / f64::from(img.width() * img.height()), colours.len())
}

#[test]
fn an_oblique_model_renders_textured_and_converts_to_3d_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    oblique::build(&model, "WriteImageHint=IncludeFile");
    // The folder's metadata.xml opens it, as the add-data dialog lists it.
    let (share, colours) = render(&model.join("metadata.xml"), &dir.path().join("osgb.png"));
    assert!(share > 0.2, "textured terrain covers {share} of the frame");
    assert!(colours > 50, "a photograph, not a flat colour: {colours} colours");

    // Converted, the tileset renders the same.
    let tiles = dir.path().join("tiles");
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(["tiles", "convert", "--json", "--out"])
        .arg(&tiles)
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((r["files"].as_u64(), r["contents"].as_u64()), (Some(4), Some(6)), "{r}");
    let (share2, colours2) = render(&tiles.join("tileset.json"), &dir.path().join("tiles.png"));
    assert!(
        (share2 - share).abs() < 0.02 && colours2 > 50,
        "{share2} {colours2} against {share} {colours}"
    );

    // A folder that is not a model: one line naming it.
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(["tiles", "convert", "--out"])
        .arg(dir.path().join("x"))
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("not an oblique model") && err.lines().count() <= 2,
        "{err}"
    );
}
