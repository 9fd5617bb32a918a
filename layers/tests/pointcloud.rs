//! LAS, LAZ and COPC point clouds held to laspy with LASzip (the reference LAZ decoder, from
//! PyPI, installed by `scripts/setup.sh`): every point lands where PROJ puts the file's
//! coordinates in the workspace CRS (within a millimetre), with the file's colour or its class's,
//! through the same streaming path as a 3D Tiles tileset; a budget keeps an even sample; a file
//! without a CRS or cut short is one clear error.

use jingwei_layers::pointcloud::{self, CloudOptions, ColourBy, classification_colour};
use jingwei_layers::tiles3d::{self, decode::Placer, decode::decode_with, implicit};
use jingwei_layers::{Crs, Transformer, Workspace};
use serde_json::Value as J;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/foreign/las").join(name)
}

fn reference(file: &Path) -> J {
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let python = home.join(".cache/jingwei/laspy-venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup.sh", python.display());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/las-reference.py");
    let out = std::process::Command::new(&python)
        .arg(script)
        .arg(file)
        .output()
        .expect("run laspy");
    assert!(
        out.status.success(),
        "laspy failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every point of every content of a cloud opened with `opts`, in `crs`: (x, y, z, colour).
fn points(path: &Path, opts: CloudOptions, crs: &Crs) -> Vec<([f64; 3], [u8; 3])> {
    let mut ts = pointcloud::open_in(path, opts, Some(crs)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    implicit::expand_all(&mut ts).unwrap();
    let placer = Placer::new(crs).unwrap();
    let mut out = Vec::new();
    for t in &ts.tiles {
        for c in &t.contents {
            let bytes = ts.fetch.fetch(&c.path).unwrap();
            let g = decode_with(&c.path, &bytes, t, &placer, ts.fetch.as_ref()).unwrap();
            for (k, p) in g.points.iter().enumerate() {
                let w = [
                    g.origin[0] + f64::from(p[0]),
                    g.origin[1] + f64::from(p[1]),
                    g.origin[2] + f64::from(p[2]),
                ];
                let rgb = g.point_colors.get(k).map_or([0, 0, 0], |c| [c[0], c[1], c[2]]);
                out.push((w, rgb));
            }
        }
    }
    out
}

/// Compare a file read through the tileset path with laspy's reading of it, in the workspace
/// the file opens in. Returns the worst distance (m).
fn compare(name: &str, colour: ColourBy) -> f64 {
    let path = data(name);
    let want = reference(&path);
    let mut ws = None;
    Workspace::load_file(&mut ws, &path, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ws = ws.unwrap();
    let info = pointcloud::info(&path).unwrap();
    assert_eq!(info.points, want["count"].as_u64().unwrap(), "{name}");
    let got = points(
        &path,
        CloudOptions {
            colour_by: colour,
            ..Default::default()
        },
        &ws.crs,
    );
    let pts = want["points"].as_array().unwrap();
    assert_eq!(got.len(), pts.len(), "{name}: every point drawn");
    // PROJ: the file's CRS into the workspace's; each reference point matched to ours on a grid.
    let t = Transformer::new(&info.crs, &ws.crs).unwrap();
    // Heights in the file's unit (autzen: US feet) are drawn in metres.
    let zunit = info.crs.linear_unit_m();
    let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, (p, _)) in got.iter().enumerate() {
        grid.entry(((p[0] * 10.0).floor() as i64, (p[1] * 10.0).floor() as i64))
            .or_default()
            .push(i);
    }
    let mut used = vec![false; got.len()];
    let mut worst = 0f64;
    let rgb16 = want["rgb"].as_bool().unwrap();
    for r in pts {
        let v: Vec<f64> = r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let (x, y) = t.transform(v[0], v[1]).unwrap();
        let (gx, gy) = ((x * 10.0).floor() as i64, (y * 10.0).floor() as i64);
        let mut best: Option<(f64, usize)> = None;
        for dx in -1..=1 {
            for dy in -1..=1 {
                for &i in grid.get(&(gx + dx, gy + dy)).into_iter().flatten() {
                    if used[i] {
                        continue;
                    }
                    let p = got[i].0;
                    let d = ((p[0] - x).powi(2) + (p[1] - y).powi(2) + (p[2] - v[2] * zunit).powi(2)).sqrt();
                    if best.is_none_or(|b| d < b.0) {
                        best = Some((d, i));
                    }
                }
            }
        }
        let (d, i) = best.unwrap_or_else(|| {
            let near = got
                .iter()
                .map(|(p, _)| (((p[0] - x).powi(2) + (p[1] - y).powi(2)).sqrt(), *p))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            panic!("{name}: no point near {v:?} (at {x}, {y}); nearest {near:?}")
        });
        used[i] = true;
        worst = worst.max(d);
        let colour_want = match colour {
            ColourBy::Classification => classification_colour(v[3] as u8),
            ColourBy::Rgb if rgb16 => {
                let wide = pts.iter().any(|r| (4..7).any(|k| r[k].as_f64().unwrap() > 255.0));
                let s = |c: f64| if wide { (c as u16 >> 8) as u8 } else { c as u8 };
                [s(v[4]), s(v[5]), s(v[6])]
            }
            _ => got[i].1,
        };
        if d < 0.001 {
            assert_eq!(got[i].1, colour_want, "{name}: colour of {v:?}");
        }
    }
    assert!(worst < 0.001, "{name}: a point is {worst} m from where PROJ puts it");
    worst
}

#[test]
fn las_laz_and_copc_match_laszip_and_proj() {
    assert!((pointcloud::info(&data("autzen.las")).unwrap().crs.linear_unit_m() - 0.3048006).abs() < 1e-6);
    for (name, colour) in [
        ("autzen.las", ColourBy::Classification),
        ("autzen.laz", ColourBy::Rgb),
        ("autzen.copc.laz", ColourBy::Rgb),
        ("32-1-472-150-76.laz", ColourBy::Classification),
    ] {
        let worst = compare(name, colour);
        eprintln!("{name}: worst {worst:.6} m");
    }
}

#[test]
fn copc_is_a_tree_of_its_octree_nodes() {
    let path = data("autzen.copc.laz");
    let info = pointcloud::info(&path).unwrap();
    assert!(info.copc && info.nodes >= 1, "{info:?}");
    let mut ts = pointcloud::open(&path, CloudOptions::default()).unwrap();
    implicit::expand_all(&mut ts).unwrap();
    let contents: usize = ts.tiles.iter().map(|t| t.contents.len()).sum();
    assert_eq!(contents, info.nodes);
    // Every tile refines by adding, and a parent's error is above its children's.
    for t in &ts.tiles {
        for c in &t.children {
            assert!(ts.tiles[*c].geometric_error <= t.geometric_error);
        }
    }
}

#[test]
fn a_budget_keeps_an_even_sample() {
    let path = data("32-1-472-150-76.laz");
    let crs = pointcloud::info(&path).unwrap().crs;
    let all = points(&path, CloudOptions::default(), &crs);
    let some = points(
        &path,
        CloudOptions {
            budget_points: 1000,
            ..Default::default()
        },
        &crs,
    );
    // 5,658 points at a stride of 6: 943.
    assert_eq!(all.len(), 5658);
    assert_eq!(some.len(), 943);
    for (k, p) in some.iter().enumerate().take(50) {
        let q = all[k * 6].0;
        assert!((p.0[0] - q[0]).abs() < 1e-3 && (p.0[1] - q[1]).abs() < 1e-3, "{k}");
    }
}

#[test]
fn bad_files_are_one_clear_error() {
    let e = Workspace::load_file(&mut None, &data("extrabytes.laz"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("extrabytes.laz") && e.contains("coordinate reference system"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(data("autzen.laz")).unwrap();
    for cut in [50, 400, bytes.len() - 200] {
        let p = dir.path().join(format!("cut{cut}.laz"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        // Refused on opening, or its content on reading: an error naming the file either way.
        let e = match pointcloud::open(&p, CloudOptions::default()) {
            Err(e) => e.to_string(),
            Ok(ts) => match ts.fetch.fetch(&ts.tiles[0].contents[0].path) {
                Err(e) => e.to_string(),
                Ok(b) => {
                    let placer = Placer::new(&Crs::parse("EPSG:2994").unwrap()).unwrap();
                    match decode_with(&ts.tiles[0].contents[0].path, &b, &ts.tiles[0], &placer, ts.fetch.as_ref()) {
                        Err(e) => e.to_string(),
                        Ok(g) => panic!("cut at {cut}: read {} points", g.points.len()),
                    }
                }
            },
        };
        assert!(e.contains(&format!("cut{cut}.laz")), "{e}");
    }
}

#[test]
fn a_saved_workspace_opens_its_point_cloud_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = None;
    Workspace::load_file(&mut ws, &data("autzen.copc.laz"), None).unwrap();
    let ws = ws.unwrap();
    assert_eq!(ws.tilesets[0].title, "autzen.copc");
    let saved = dir.path().join("w.gpkg");
    jingwei_layers::saved::save_workspace(&ws, &saved, None).unwrap();
    let (again, _) = jingwei_layers::saved::open_workspace(&saved).unwrap();
    assert_eq!(again.tilesets.len(), 1);
    assert_eq!(again.tilesets[0].path, data("autzen.copc.laz"));
    let _ = tiles3d::is_tileset(&saved);
}
