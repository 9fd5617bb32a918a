//! `jingwei tileset`: the CesiumGS sample of `../shared/data/3d/tiles3d/` checked whole, then a
//! copy with one content cut short — named on its own line, exit status 3.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sample() -> PathBuf {
    std::env::var_os("JINGWEI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
        .join("3d/tiles3d/1.0/TilesetWithRequestVolume")
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_tileset_is_checked_and_a_broken_content_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(["tileset", "--json"])
        .arg(sample().join("tileset.json"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (r["tiles"].as_u64(), r["files"].as_u64(), r["depth"].as_u64()),
        (Some(9), Some(2), Some(3))
    );
    assert_eq!((r["contents"]["b3dm"].as_u64(), r["contents"]["pnts"].as_u64()), (Some(5), Some(1)));
    assert!(r["features"].as_u64().unwrap() > 1000);
    assert_eq!(r["broken"], serde_json::json!([]));

    let dir = tempfile::tempdir().unwrap();
    copy(&sample(), dir.path());
    let cut = dir.path().join("city/ul.b3dm");
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::set_permissions(&cut, std::fs::Permissions::from_mode(0o644)).ok();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .arg("tileset")
        .arg(dir.path().join("tileset.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    let broken: Vec<&str> = text.lines().filter(|l| l.starts_with("broken: ")).collect();
    assert_eq!(broken.len(), 1, "{text}");
    assert!(broken[0].contains("ul.b3dm") && broken[0].contains("the header says"), "{text}");

    // Implicit tiling is expanded to check it: the CC0 sparse quadtree's 9 subtrees and 32 GLBs.
    let quad = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/foreign/tiles3d/1.1/SparseImplicitQuadtree/tileset.json");
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(["tileset", "--json"])
        .arg(&quad)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((r["subtrees"].as_u64(), r["contents"]["glb"].as_u64()), (Some(9), Some(32)), "{r}");
}

/// `jingwei-render` draws a tileset streamed for its view: the CesiumGS city, from above, its
/// blocks and building spread over the frame that its root region frames (the footprint comes
/// from the region, the pixels from the decoded b3dm: two paths that must agree).
#[test]
fn a_tileset_renders_where_its_region_says() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("city.png");
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei-render"))
        .args(["render", "--view", "top", "--size", "400x300", "--out"])
        .arg(&png)
        .arg(sample().join("tileset.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("5 tiles drawn") && !err.contains("not settled"), "{err}");
    let img = image::open(&png).unwrap().to_rgba8();
    let (w, h) = img.dimensions();
    let (mut n, mut bb) = (0u32, [w, h, 0, 0]);
    for (x, y, p) in img.enumerate_pixels() {
        // The background is (238, 241, 244).
        if (i32::from(p[0]) - 238).abs() + (i32::from(p[1]) - 241).abs() + (i32::from(p[2]) - 244).abs() > 12 {
            n += 1;
            bb = [bb[0].min(x), bb[1].min(y), bb[2].max(x), bb[3].max(y)];
        }
    }
    let share = f64::from(n) / f64::from(w * h);
    assert!((0.005..0.5).contains(&share), "{share}");
    assert!(bb[2] - bb[0] > w / 3 && bb[3] - bb[1] > h / 3, "drawn within {bb:?} of {w}×{h}");
}
