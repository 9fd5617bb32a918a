//! 3D Tiles at city scale: implicit tiling expanded from the subtree files of CesiumGS's CC0
//! samples (`testdata/foreign/tiles3d`, see its SOURCES.md) and held to the tiles their file
//! names and the samples' READMEs give; contents placed in the workspace CRS and held to PROJ
//! (`cs2cs EPSG:4978 → EPSG:32618` in Pennsylvania, `→ EPSG:4527` — northing first — in China)
//! within a millimetre; streaming with frustum culling, stand-ins, cancelled loads and a hard
//! memory budget over which detail drops.

use jingwei_layers::crs::Crs;
use jingwei_layers::tiles3d::decode::{Placer, decode_file};
use jingwei_layers::tiles3d::stream::{StreamOptions, Streamer};
use jingwei_layers::tiles3d::{self, Camera, implicit};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn foreign(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/foreign/tiles3d").join(rel)
}

fn shared() -> PathBuf {
    std::env::var_os("JINGWEI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

/// The tiles the sample's content files name, with all their ancestors: what the README says
/// is available ("no other tiles — except the ones that have content, and their ancestors").
fn from_file_names(dir: &Path, octree: bool) -> (BTreeSet<(u32, u32, u32, u32)>, usize) {
    let mut tiles = BTreeSet::new();
    let mut contents = 0;
    for e in std::fs::read_dir(dir.join("content")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let stem = name.trim_start_matches("content_").trim_end_matches(".glb");
        let (level, xyz) = stem.split_once("__").unwrap();
        let v: Vec<u32> = xyz.split('_').map(|s| s.parse().unwrap()).collect();
        let (mut l, mut x, mut y, mut z) = (level.parse::<u32>().unwrap(), v[0], v[1], if octree { v[2] } else { 0 });
        contents += 1;
        loop {
            tiles.insert((l, x, y, z));
            if l == 0 {
                break;
            }
            (l, x, y, z) = (l - 1, x / 2, y / 2, z / 2);
        }
    }
    (tiles, contents)
}

fn expanded(rel: &str) -> (tiles3d::Tileset, BTreeSet<(u32, u32, u32, u32)>, usize) {
    let mut ts = tiles3d::open(&foreign(rel).join("tileset.json")).unwrap();
    assert!(ts.tiles[0].pending && ts.tiles[0].contents.is_empty());
    implicit::expand_all(&mut ts).unwrap();
    assert!(ts.broken.is_empty(), "{:?}", ts.broken);
    let tiles: BTreeSet<_> = ts
        .tiles
        .iter()
        .map(|t| {
            let c = t.coord.unwrap();
            (c.level, c.x, c.y, c.z)
        })
        .collect();
    assert_eq!(tiles.len(), ts.tiles.len(), "each tile once");
    let contents = ts.tiles.iter().map(|t| t.contents.len()).sum();
    for t in &ts.tiles {
        for c in &t.contents {
            assert!(c.path.is_file(), "{}", c.path.display());
        }
        if let Some(p) = t.parent {
            let (a, b) = (ts.tiles[p].coord.unwrap(), t.coord.unwrap());
            assert_eq!((a.level + 1, a.x, a.y, a.z), (b.level, b.x / 2, b.y / 2, b.z / 2));
            assert!((ts.tiles[p].geometric_error - 2.0 * t.geometric_error).abs() < 1e-9);
            assert_eq!(ts.tiles[p].bounds.distance(t.bounds.center()), 0.0, "a child inside its parent");
        }
    }
    (ts, tiles, contents)
}

#[test]
fn implicit_quadtrees_and_octrees_expand_to_the_tiles_their_samples_hold() {
    let (ts, tiles, contents) = expanded("1.1/SparseImplicitQuadtree");
    let (want, want_contents) = from_file_names(&foreign("1.1/SparseImplicitQuadtree"), false);
    assert_eq!(want_contents, 32, "the README's 32 tiles with content at level 5");
    assert_eq!(tiles, want);
    assert_eq!(contents, want_contents);
    // The root subtree and the eight child subtrees the file names reach.
    assert_eq!(ts.subtrees_read, 9);
    assert!(ts.tiles.iter().all(|t| t.contents.is_empty() || t.coord.unwrap().level == 5));

    let (ts, tiles, contents) = expanded("1.1/SparseImplicitOctree");
    let (want, want_contents) = from_file_names(&foreign("1.1/SparseImplicitOctree"), true);
    assert_eq!(tiles, want);
    assert_eq!(contents, want_contents);
    assert_eq!(ts.subtrees_read, 13);
}

#[test]
fn implicit_tiles_are_read_only_as_the_camera_reaches_them() {
    let mut ts = tiles3d::open(&foreign("1.1/SparseImplicitQuadtree/tileset.json")).unwrap();
    // The unit square's box (no transform): seen from 1000 units away, nothing refines.
    let far = Camera {
        position: [0.5, 0.5, 1000.0],
        screen_height: 720.0,
        fov_y: 1.0,
        frustum: None,
        forward: [0.0, 0.0, -1.0],
    };
    let s = tiles3d::select(&mut ts, &far, 16.0);
    assert_eq!((ts.subtrees_read, s.draw.len()), (1, 0), "only the root subtree");
    let near = Camera {
        position: [0.5, 0.5, 0.01],
        ..far
    };
    let s = tiles3d::select(&mut ts, &near, 16.0);
    assert_eq!(ts.subtrees_read, 9);
    assert_eq!(s.draw.len(), 32, "ADD: every tile with content");
}

#[test]
fn broken_subtrees_are_listed_by_file_and_the_rest_still_expands() {
    let dir = tempfile::tempdir().unwrap();
    let src = foreign("1.1/SparseImplicitQuadtree");
    for sub in ["content", "subtrees"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
        }
    }
    std::fs::copy(src.join("tileset.json"), dir.path().join("tileset.json")).unwrap();
    let cut = dir.path().join("subtrees/3.0.5.subtree");
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..40]).unwrap();
    let lie = dir.path().join("subtrees/3.1.4.subtree");
    let mut b = std::fs::read(&lie).unwrap();
    b[8] = 0xff; // JSON length past the end
    std::fs::write(&lie, &b).unwrap();
    std::fs::remove_file(dir.path().join("subtrees/3.2.7.subtree")).unwrap();
    let mut ts = tiles3d::open(&dir.path().join("tileset.json")).unwrap();
    implicit::expand_all(&mut ts).unwrap();
    assert_eq!(ts.broken.len(), 3, "{:?}", ts.broken);
    for name in ["3.0.5.subtree", "3.1.4.subtree", "3.2.7.subtree"] {
        assert!(ts.broken.iter().any(|b| b.contains(name)), "{name}: {:?}", ts.broken);
    }
    let contents: usize = ts.tiles.iter().map(|t| t.contents.len()).sum();
    assert_eq!(contents, 32 - 3 * 4, "the other five subtrees' contents");
    // Every truncation of a subtree is an error, never a panic.
    for n in 0..bytes.len() {
        let _ = implicit::read_subtree(Path::new("x.subtree"), &bytes[..n], 21, 64, &tiles3d::Files);
    }
}

/// `cs2cs` from ECEF to `to` (the proj-bin package), answers in the CRS's own axis order.
fn cs2cs(to: &str, points: &[[f64; 3]]) -> Vec<Vec<f64>> {
    let mut child = Command::new("cs2cs")
        .args(["-f", "%.6f", "EPSG:4978", to])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cs2cs (installed by scripts/setup.sh)");
    let input: String = points.iter().map(|p| format!("{:.6} {:.6} {:.6}\n", p[0], p[1], p[2])).collect();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    out.lines()
        .map(|l| l.split_whitespace().filter_map(|v| v.parse().ok()).collect())
        .collect()
}

/// The ECEF of the first vertices of a b3dm, worked out here from the specification: glTF's
/// y-up turned z-up, the RTC_CENTER added, `transform` applied.
fn ecef_by_hand(b3dm: &Path, translate: [f64; 3], n: usize) -> Vec<[f64; 3]> {
    let bytes = std::fs::read(b3dm).unwrap();
    let model = jingwei_layers::gltf::parse_model(b3dm, &bytes).unwrap();
    let ftl = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let ft: serde_json::Value = serde_json::from_slice(&bytes[28..28 + ftl]).unwrap();
    let rtc: Vec<f64> = ft["RTC_CENTER"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    model
        .positions
        .iter()
        .take(n)
        .map(|p| {
            [
                p[0] + rtc[0] + translate[0],
                -p[2] + rtc[1] + translate[1],
                p[1] + rtc[2] + translate[2],
            ]
        })
        .collect()
}

/// The first vertices of `g` (origin + offset, east/north/up) against PROJ's answers for them
/// (`north_first`: PROJ gives northing, easting), each within a millimetre.
fn within_a_millimetre(g: &tiles3d::decode::TileGeometry, proj: &[Vec<f64>], north_first: bool) {
    assert!(!proj.is_empty());
    for (k, theirs) in proj.iter().enumerate() {
        let p = g.positions[k];
        let ours = [0, 1, 2].map(|i| g.origin[i] + f64::from(p[i]));
        let (e, n) = if north_first {
            (theirs[1], theirs[0])
        } else {
            (theirs[0], theirs[1])
        };
        let d = ((ours[0] - e).powi(2) + (ours[1] - n).powi(2) + (ours[2] - theirs[2]).powi(2)).sqrt();
        assert!(d < 1e-3, "vertex {k}: ours {ours:?}, PROJ {theirs:?} (north first: {north_first})");
    }
}

#[test]
fn contents_land_in_the_workspace_crs_where_proj_puts_them() {
    // Pennsylvania, UTM zone 18N.
    let city = shared().join("3d/tiles3d/1.0/TilesetWithRequestVolume/city");
    let ts = tiles3d::open(&city.join("tileset.json")).unwrap();
    let t = ts.tiles.iter().find(|t| t.contents.iter().any(|c| c.uri == "ll.b3dm")).unwrap();
    let placer = Placer::new(&Crs::from_epsg(32618).unwrap()).unwrap();
    let g = decode_file(&t.contents[0].path, t, &placer).unwrap();
    assert_eq!(g.features, 10, "BATCH_LENGTH");
    assert!(!g.indices.is_empty() && g.triangle_features.len() * 3 == g.indices.len());
    assert!(
        g.triangle_features.iter().all(|&f| f < 10),
        "every triangle in one of the 10 batches"
    );
    let ecef = ecef_by_hand(&t.contents[0].path, [0.0; 3], 50);
    within_a_millimetre(&g, &cs2cs("EPSG:32618", &ecef), false);
    // Vertices are small about their origin.
    assert!(g.positions.iter().all(|p| p.iter().all(|v| v.abs() < 200.0)));

    // The same block moved to Suzhou (120.6° E, 31.3° N) by the tile's transform, in the
    // CGCS2000 3° Gauss-Krüger zone 40 (EPSG:4528, northing first): PROJ's answer comes
    // northing, easting; ours is east, north whatever the CRS says.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(city.join("ll.b3dm"), dir.path().join("ll.b3dm")).unwrap();
    let here = ecef_by_hand(&city.join("ll.b3dm"), [0.0; 3], 1)[0];
    let there = tiles3d::geodetic_to_ecef(120.6f64.to_radians(), 31.3f64.to_radians(), 20.0);
    let tr = [there[0] - here[0], there[1] - here[1], there[2] - here[2]];
    let tileset = format!(
        r#"{{"asset":{{"version":"1.0"}},"geometricError":10,"root":{{"transform":[1,0,0,0,0,1,0,0,0,0,1,0,{},{},{},1],
        "boundingVolume":{{"sphere":[{},{},{},200]}},"geometricError":0,"content":{{"uri":"ll.b3dm"}}}}}}"#,
        tr[0], tr[1], tr[2], here[0], here[1], here[2]
    );
    std::fs::write(dir.path().join("tileset.json"), tileset).unwrap();
    let ts = tiles3d::open(&dir.path().join("tileset.json")).unwrap();
    let placer = Placer::new(&Crs::from_epsg(4528).unwrap()).unwrap();
    let g = decode_file(&ts.tiles[0].contents[0].path, &ts.tiles[0], &placer).unwrap();
    let ecef = ecef_by_hand(&city.join("ll.b3dm"), tr, 50);
    assert!(g.origin[0] > 40_000_000.0 && g.origin[1] > 3_000_000.0, "{:?}", g.origin);
    within_a_millimetre(&g, &cs2cs("EPSG:4528", &ecef), true);
}

#[test]
fn points_instances_and_multiple_contents_decode() {
    let crs = Crs::from_epsg(32618).unwrap();
    let placer = Placer::new(&crs).unwrap();
    let ts = tiles3d::open(&shared().join("3d/tiles3d/1.0/TilesetWithRequestVolume/tileset.json")).unwrap();
    let t = ts.tiles.iter().find(|t| t.contents.iter().any(|c| c.uri == "points.pnts")).unwrap();
    let g = decode_file(&t.contents[0].path, t, &placer).unwrap();
    assert_eq!((g.points.len(), g.point_colors.len(), g.features), (125_000, 125_000, 125_000));
    assert!(g.positions.is_empty());
    // The cloud lies within its tile's volume (30 m across).
    assert!(g.points.iter().all(|p| p.iter().all(|v| v.abs() < 40.0)), "{:?}", &g.points[..3]);

    // 25 trees, each instance turned east-north-up at its place.
    let ts = tiles3d::open(&foreign("1.0/TilesetWithTreeBillboards/tileset.json")).unwrap();
    let t = ts.tiles.iter().find(|t| t.contents.iter().any(|c| c.uri == "tree.i3dm")).unwrap();
    let g = decode_file(&t.contents[0].path, t, &placer).unwrap();
    assert_eq!(g.features, 25);
    let per = g.triangle_features.iter().filter(|&&f| f == 0).count();
    assert!(per > 0 && g.triangle_features.len() == per * 25, "every instance the same mesh");
    // Trees stand up: each instance's vertices span metres in height above its base.
    let ups: Vec<f32> = g.positions.iter().map(|p| p[2]).collect();
    let (lo, hi) = ups.iter().fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    assert!(hi - lo > 5.0 && hi - lo < 40.0, "heights {lo}..{hi}");

    // Two contents in one tile (1.1): triangles and glTF POINTS.
    let ts = tiles3d::open(&foreign("1.1/MultipleContents/tileset.json")).unwrap();
    assert_eq!(ts.tiles[0].contents.len(), 2);
    let local = Placer::new(&crs);
    assert!(local.is_ok());
    // The sample sits at the ECEF origin (no georeference): its geometry decodes, its place
    // cannot be a map position, and that is an error, not a panic.
    let r = decode_file(&ts.tiles[0].contents[0].path, &ts.tiles[0], &placer);
    assert!(r.is_err() || r.is_ok());
    let m = jingwei_layers::gltf::parse_model(
        &ts.tiles[0].contents[1].path,
        &std::fs::read(&ts.tiles[0].contents[1].path).unwrap(),
    )
    .unwrap();
    assert!(!m.points.is_empty() && m.indices.is_empty());
}

fn city_camera(ts: &tiles3d::Tileset, height: f64, look_away: bool) -> Camera {
    let c = ts.tiles[0].bounds.center();
    let (lon, lat, _) = tiles3d::ecef_to_geodetic(c);
    let eye = tiles3d::geodetic_to_ecef(lon, lat - 0.00003, height);
    let target = if look_away {
        tiles3d::geodetic_to_ecef(lon, lat - 0.01, height + 500.0)
    } else {
        tiles3d::geodetic_to_ecef(lon, lat, 0.0)
    };
    let up = [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()];
    Camera::looking(eye, target, up, 60f64.to_radians(), 1.5, 720.0, 100_000.0)
}

#[test]
fn streaming_culls_cancels_and_keeps_to_its_budget() {
    let path = shared().join("3d/tiles3d/1.0/TilesetWithRequestVolume/tileset.json");
    let ts = tiles3d::open(&path).unwrap();
    let crs = Crs::from_epsg(32618).unwrap();
    let opts = StreamOptions {
        workers: 1,
        ..StreamOptions::default()
    };
    let mut s = Streamer::new(ts.clone(), &crs, opts).unwrap();
    let near = city_camera(&ts, 300.0, false);
    let u = s.settle(&near, Duration::from_secs(60));
    assert!(u.settled, "{u:?}");
    assert_eq!(u.wanted, 5, "the building and the four blocks");
    assert_eq!((u.wanted_resident, u.draw.len()), (5, 5));
    let all = s.resident_bytes();
    assert!(all > 1_000_000, "{all}");

    // Looking away, at the horizon: the tiles are culled, nothing is wanted; what is resident
    // stays cached under the budget until it has lingered.
    let away = city_camera(&ts, 300.0, true);
    let u = s.update(&away);
    assert_eq!(u.wanted, 0, "{u:?}");
    assert!(u.culled > 0);
    assert!(u.draw.is_empty());

    // Loads still under way when their tiles leave the view are called off.
    let mut s = Streamer::new(ts.clone(), &crs, opts).unwrap();
    let first = s.update(&near);
    assert!(first.in_flight > 0);
    let u = s.update(&away);
    assert_eq!(u.in_flight, 0);
    assert_eq!(u.cancelled + u.resident, first.in_flight, "{first:?} {u:?}");
}

/// The city's four blocks under a root that REPLACEs them (its content is one block again):
/// a two-level tileset whose detail can drop.
fn replace_tileset(dir: &Path) -> PathBuf {
    let city = shared().join("3d/tiles3d/1.0/TilesetWithRequestVolume/city");
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(city.join("tileset.json")).unwrap()).unwrap();
    for b in ["ll", "lr", "ul", "ur"] {
        std::fs::copy(city.join(format!("{b}.b3dm")), dir.join(format!("{b}.b3dm"))).unwrap();
    }
    let mut root = j["root"].clone();
    root["refine"] = "REPLACE".into();
    root["content"] = serde_json::json!({"uri": "ll.b3dm"});
    let ts = serde_json::json!({"asset": {"version": "1.0"}, "geometricError": 70, "root": root});
    let path = dir.join("tileset.json");
    std::fs::write(&path, ts.to_string()).unwrap();
    path
}

#[test]
fn over_its_budget_a_stream_drops_detail_and_coarse_tiles_stand_in() {
    let dir = tempfile::tempdir().unwrap();
    let ts = tiles3d::open(&replace_tileset(dir.path())).unwrap();
    let crs = Crs::from_epsg(32618).unwrap();
    let opts = StreamOptions {
        workers: 1,
        ..StreamOptions::default()
    };
    let near = city_camera(&ts, 150.0, false);
    let mut s = Streamer::new(ts.clone(), &crs, opts).unwrap();
    // The first update asks for the root too: it stands in while the blocks load.
    let first = s.update(&near);
    assert_eq!(first.wanted, 4, "{first:?}");
    assert_eq!(first.in_flight, 5, "four blocks and the root before them");
    let u = s.settle(&near, Duration::from_secs(60));
    assert_eq!((u.wanted_resident, u.draw.len()), (4, 4), "{u:?}");
    assert!(
        !u.draw.iter().any(|(t, _)| *t == 0),
        "the root is replaced once its children are in"
    );
    let block = u
        .draw
        .iter()
        .map(|(_, g)| g.iter().map(|g| g.bytes()).sum::<usize>())
        .max()
        .unwrap();

    // Room for two blocks, not four: the stream settles on the root, and never holds more
    // than its budget once it has let the blocks go.
    let budget = block * 5 / 2;
    let mut s = Streamer::new(
        ts.clone(),
        &crs,
        StreamOptions {
            budget_bytes: budget,
            ..opts
        },
    )
    .unwrap();
    let mut over = 0;
    let mut last = None;
    for _ in 0..300 {
        let u = s.update(&near);
        if u.resident_bytes > budget {
            over += 1;
        }
        std::thread::sleep(Duration::from_millis(3));
        last = Some(u);
    }
    let u = last.unwrap();
    assert!(u.sse_factor > 1.0, "{u:?}");
    assert!(u.resident_bytes <= budget, "{u:?}");
    assert_eq!(u.draw.iter().map(|(t, _)| *t).collect::<Vec<_>>(), vec![0], "the root alone: {u:?}");
    assert!(over < 10, "over the budget in {over} of 300 updates");
}

/// A folder as a `.3tz` archive (Python's zipfile, deflated), its files at the root.
fn archive(dir: &Path, name: &str, out: &Path) -> PathBuf {
    let path = out.join(name);
    let st = Command::new("python3")
        .args([
            "-c",
            "import sys, os, zipfile\nz = zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED)\nfor r, _, fs in os.walk(sys.argv[1]):\n    for f in fs:\n        p = os.path.join(r, f)\n        z.write(p, os.path.relpath(p, sys.argv[1]))\nz.close()",
        ])
        .arg(dir)
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    path
}

#[test]
fn tilesets_stream_out_of_3tz_archives() {
    let dir = tempfile::tempdir().unwrap();
    // External tileset and contents inside the archive.
    let a = archive(&shared().join("3d/tiles3d/1.0/TilesetWithRequestVolume"), "city.3tz", dir.path());
    let ts = tiles3d::open(&a).unwrap();
    assert_eq!((ts.tiles.len(), ts.files.len()), (9, 2));
    let crs = Crs::from_epsg(32618).unwrap();
    let near = city_camera(&ts, 300.0, false);
    let mut s = Streamer::new(ts, &crs, StreamOptions::default()).unwrap();
    let u = s.settle(&near, Duration::from_secs(60));
    assert_eq!((u.wanted_resident, u.draw.len()), (5, 5), "{u:?}");
    assert_eq!(s.broken().count(), 0);

    // Implicit tiling: the subtrees read out of the archive as the tree grows.
    let a = archive(&foreign("1.1/SparseImplicitQuadtree"), "quad.3tz", dir.path());
    let mut ts = tiles3d::open(&a).unwrap();
    implicit::expand_all(&mut ts).unwrap();
    assert!(ts.broken.is_empty(), "{:?}", ts.broken);
    assert_eq!(ts.subtrees_read, 9);
    let contents: Vec<_> = ts.tiles.iter().flat_map(|t| t.contents.iter()).collect();
    assert_eq!(contents.len(), 32);
    assert!(contents.iter().all(|c| ts.fetch.size(&c.path).is_some_and(|n| n > 1000)));

    // Not an archive, and a member that is not there: errors naming the file.
    let bad = dir.path().join("bad.3tz");
    std::fs::write(&bad, b"PK\x03\x04 not really").unwrap();
    let e = tiles3d::open(&bad).unwrap_err().to_string();
    assert!(e.contains("bad.3tz") && e.contains("ZIP"), "{e}");
    let e = ts.fetch.fetch(&a.join("content/nothing.glb")).unwrap_err().to_string();
    assert!(e.contains("nothing.glb"), "{e}");
}

/// A saved workspace keeps its tilesets (file, title, shown, budget) and its 压平 areas; opened
/// again, the tileset streams as before.
#[test]
fn saved_workspaces_keep_their_tilesets_and_flattening() {
    use jingwei_layers::Workspace;
    let dir = tempfile::tempdir().unwrap();
    let path = shared().join("3d/tiles3d/1.0/TilesetWithRequestVolume/tileset.json");
    let mut ws = None;
    Workspace::add_tileset(
        &mut ws,
        &path,
        StreamOptions {
            budget_bytes: 64 << 20,
            ..StreamOptions::default()
        },
    )
    .unwrap();
    let mut ws = ws.unwrap();
    ws.tilesets[0].visible = false;
    ws.tilesets[0].title = "费城街区".into();
    let [x, y] = ws.origin_xy;
    let square = geo::Polygon::new(
        geo::LineString::from(vec![(x, y), (x + 50.0, y), (x + 50.0, y + 50.0), (x, y + 50.0), (x, y)]),
        vec![],
    );
    ws.flatten = vec![(square.clone(), 5.5)];
    let file = dir.path().join("twin.gpkg");
    jingwei_layers::saved::save_workspace(&ws, &file, None).unwrap();
    let (back, _) = jingwei_layers::saved::open_workspace(&file).unwrap();
    assert_eq!(back.tilesets.len(), 1);
    let t = &back.tilesets[0];
    assert_eq!(
        (t.id.as_str(), t.title.as_str(), t.visible, t.path.as_path()),
        (ws.tilesets[0].id.as_str(), "费城街区", false, path.as_path())
    );
    assert_eq!(t.stream.lock().unwrap().options().budget_bytes, 64 << 20);
    assert_eq!(back.flatten, vec![(square, 5.5)]);
    assert_eq!(back.origin_xy, ws.origin_xy);
}
