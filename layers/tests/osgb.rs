//! Oblique photography (OSGB): a ContextCapture-style model built by OpenSceneGraph 3.6.5's own
//! `osgconv` (Debian's `openscenegraph`) from the Andorra SRTM DEM of `../shared/data/raster/`
//! — a height field with a hill-shaded texture, two root tiles, each a PagedLOD with a coarse
//! level inline and a finer file of two PagedLODs — read natively and held to what `osgconv`
//! itself exports of the same files (OBJ), streamed, placed through PROJ and converted to 3D
//! Tiles.

#[path = "support/oblique.rs"]
mod oblique;

use jingwei_layers::osgb::{self, read};
use jingwei_layers::tiles3d::{self, Camera, decode, implicit, stream};
use jingwei_layers::{Crs, Transformer};
use oblique::{ORIGIN, SRS, TILE_PX, build, osgconv};

use std::path::Path;
use std::process::Command;

/// What `osgconv` exports of a file as OBJ: vertices (model coordinates), texture
/// coordinates and triangles, sorted for comparison.
fn osg_obj(file: &Path) -> (Vec<[f64; 3]>, Vec<[f64; 2]>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("out.obj");
    osgconv(dir.path(), &[file.to_str().unwrap(), obj.to_str().unwrap()]);
    let text = std::fs::read_to_string(&obj).unwrap();
    let (mut v, mut vt, mut tris) = (Vec::new(), Vec::new(), 0);
    for l in text.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.first() {
            Some(&"v") => v.push([f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap()]),
            Some(&"vt") => vt.push([f[1].parse().unwrap(), f[2].parse().unwrap()]),
            Some(&"f") => tris += f.len() - 3,
            _ => {}
        }
    }
    (v, vt, tris)
}

/// Every geometry of a scene, with its texture.
fn geometries(n: &read::Node, tex: Option<&std::sync::Arc<read::Image>>, out: &mut Vec<(read::Geometry, Option<read::Image>)>) {
    match n {
        read::Node::Group(c) | read::Node::Transform(_, c) => c.iter().for_each(|c| geometries(c, tex, out)),
        read::Node::Textured(t, c) => c.iter().for_each(|c| geometries(c, Some(t), out)),
        read::Node::PagedLod(p) => p.children.iter().for_each(|c| geometries(c, tex, out)),
        read::Node::Geometry(g) => out.push(((**g).clone(), g.texture.as_deref().or(tex.map(|t| &**t)).cloned())),
    }
}

fn sorted<const N: usize>(mut v: Vec<[f64; N]>) -> Vec<[f64; N]> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

#[test]
fn osgconv_files_read_as_osg_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let files = build(dir.path(), "WriteImageHint=IncludeFile");
    assert_eq!(files.len(), 4);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert_eq!(
            u32::from_le_bytes(bytes[12..16].try_into().unwrap()),
            161,
            "{}: OSG 3.6.5 writes version 161",
            f.display()
        );
        let scene = read::parse(f, &bytes).unwrap();
        let mut geoms = Vec::new();
        geometries(&scene, None, &mut geoms);
        // OSG's own export of the same file.
        let (v, vt, tris) = osg_obj(f);
        let ours_v: Vec<[f64; 3]> = geoms.iter().flat_map(|(g, _)| g.positions.clone()).collect();
        let ours_vt: Vec<[f64; 2]> = geoms
            .iter()
            .flat_map(|(g, _)| g.uvs.iter().map(|t| [f64::from(t[0]), f64::from(t[1])]).collect::<Vec<_>>())
            .collect();
        let ours_tris: usize = geoms.iter().map(|(g, _)| g.indices.len() / 3).sum();
        assert!(tris >= 2 * 7 * 7 && !v.is_empty(), "{}: OSG exports {tris} triangles", f.display());
        assert_eq!(ours_tris, tris, "{}: triangles", f.display());
        assert_eq!(ours_v.len(), v.len(), "{}: vertices", f.display());
        for (a, b) in sorted(ours_v).iter().zip(sorted(v)) {
            assert!(
                (0..3).all(|k| (a[k] - b[k]).abs() < 1e-3),
                "{}: vertex {a:?} against OSG's {b:?}",
                f.display()
            );
        }
        assert_eq!(ours_vt.len(), vt.len());
        for (a, b) in sorted(ours_vt).iter().zip(sorted(vt)) {
            assert!(
                (0..2).all(|k| (a[k] - b[k]).abs() < 1e-5),
                "{}: uv {a:?} against OSG's {b:?}",
                f.display()
            );
        }
        // The texture is the JPEG the model was made with, byte for byte.
        for (_, t) in &geoms {
            match t {
                Some(read::Image::File(b)) => {
                    assert!(b.starts_with(&[0xFF, 0xD8]));
                    let img = image::load_from_memory(b).unwrap();
                    assert_eq!((img.width(), img.height()), (TILE_PX as u32 * 4, TILE_PX as u32 * 4));
                }
                other => panic!("{}: texture {other:?}", f.display()),
            }
        }
    }
}

/// Every geometry of a file, in order.
fn file_geometries(f: &Path) -> Vec<(read::Geometry, Option<read::Image>)> {
    let scene = read::parse(f, &std::fs::read(f).unwrap()).unwrap();
    let mut out = Vec::new();
    geometries(&scene, None, &mut out);
    out
}

#[test]
fn what_osgconv_writes_with_other_options_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let base = build(dir.path(), "WriteImageHint=IncludeFile");
    let reference: Vec<_> = base.iter().map(|f| file_geometries(f)).collect();
    // zlib-compressed, format version 148 (32-bit brackets), no brackets at all, and the
    // default image hint (raw pixels, bottom row first).
    for options in [
        "WriteImageHint=IncludeFile Compressor=zlib",
        "WriteImageHint=IncludeFile TargetFileVersion=148",
        "WriteImageHint=IncludeFile RobustBinaryFormat=false",
        "WriteImageHint=IncludeData",
    ] {
        let d = tempfile::tempdir().unwrap();
        let files = build(d.path(), options);
        for (f, want) in files.iter().zip(&reference) {
            let got = file_geometries(f);
            assert_eq!(got.len(), want.len(), "{options}: {}", f.display());
            for ((g, t), (w, wt)) in got.iter().zip(want) {
                assert_eq!(g.positions, w.positions, "{options}");
                assert_eq!(g.uvs, w.uvs, "{options}");
                assert_eq!(g.indices, w.indices, "{options}");
                let (Some(t), Some(read::Image::File(jpeg))) = (t, wt) else {
                    panic!("{options}: no texture");
                };
                // Raw pixels are OSG's decoding of the JPEG: ours of the same file agrees to
                // a few levels (two JPEG decoders), once the rows are put top first.
                let (png, _) = t.encoded(f).unwrap();
                let a = image::load_from_memory(&png).unwrap().to_rgba8();
                let b = image::load_from_memory(jpeg).unwrap().to_rgba8();
                assert_eq!(a.dimensions(), b.dimensions());
                let diff: f64 = a
                    .as_raw()
                    .iter()
                    .zip(b.as_raw())
                    .map(|(x, y)| f64::from(x.abs_diff(*y)))
                    .sum::<f64>()
                    / a.as_raw().len() as f64;
                assert!(diff < 3.0, "{options}: the texture differs by {diff} levels on average");
            }
        }
    }
    // Versions before 112 are refused by name.
    let d = tempfile::tempdir().unwrap();
    let old = build(d.path(), "WriteImageHint=IncludeFile TargetFileVersion=111");
    let e = read::parse(&old[0], &std::fs::read(&old[0]).unwrap()).unwrap_err().to_string();
    assert!(e.contains("format version 111") && e.contains(old[0].to_str().unwrap()), "{e}");
}

#[test]
fn damaged_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = build(dir.path(), "WriteImageHint=IncludeFile");
    let bytes = std::fs::read(&files[1]).unwrap();
    // Every truncation is an error naming the file (never a panic).
    for cut in (0..bytes.len()).step_by(bytes.len() / 97 + 1) {
        let e = read::parse(&files[1], &bytes[..cut]).expect_err("a truncated file").to_string();
        assert!(e.contains(files[1].to_str().unwrap()), "{e}");
    }
    // Flipped bytes: an error or a scene, never a panic.
    for k in (16..bytes.len()).step_by(bytes.len() / 211 + 1) {
        let mut b = bytes.clone();
        b[k] ^= 0xA5;
        let _ = read::parse(&files[1], &b);
    }
    let e = read::parse(Path::new("x.osgb"), b"not a scene at all").unwrap_err().to_string();
    assert!(e.contains("x.osgb") && e.contains("not an OSGB file"), "{e}");
    // metadata.xml without an SRS.
    std::fs::write(
        dir.path().join("metadata.xml"),
        "<ModelMetadata><SRSOrigin>0,0,0</SRSOrigin></ModelMetadata>",
    )
    .unwrap();
    let e = osgb::open_in(dir.path(), None).unwrap_err().to_string();
    assert!(e.contains("metadata.xml") && e.contains("no SRS"), "{e}");
}

/// The first root tile's content among `draw`, decoded into `crs`.
fn root_content(ts: &tiles3d::Tileset, draw: &[usize], crs: &Crs) -> decode::TileGeometry {
    let has = |t: usize| {
        ts.tiles[t]
            .contents
            .first()
            .is_some_and(|c| c.path.to_string_lossy().contains("Tile_+000_+000.osgb.0.glb"))
    };
    let t = draw.iter().copied().find(|&t| has(t)).expect("the first root tile drawn");
    let content = &ts.tiles[t].contents[0];
    let bytes = ts.fetch.fetch(&content.path).unwrap();
    decode::decode_with(
        &content.path,
        &bytes,
        &ts.tiles[t],
        &decode::Placer::new(crs).unwrap(),
        ts.fetch.as_ref(),
    )
    .unwrap()
}

fn unit(v: [f64; 3]) -> [f64; 3] {
    let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    v.map(|x| x / l)
}

/// A camera `height` metres straight above `at` (ECEF), looking down.
fn above(at: [f64; 3], height: f64) -> Camera {
    let up = unit(at);
    let eye = [0, 1, 2].map(|k| at[k] + up[k] * height);
    Camera::looking(eye, at, [0.0, 0.0, 1.0], 60f64.to_radians(), 1.5, 720.0, height * 10.0)
}

#[test]
fn the_model_streams_as_a_tileset_placed_through_proj() {
    let dir = tempfile::tempdir().unwrap();
    let files = build(dir.path(), "WriteImageHint=IncludeFile");
    // A workspace CRS other than the model's: the vertices go through PROJ between them.
    let ws = Crs::parse("EPSG:3035").unwrap();
    let mut ts = osgb::open_in(dir.path(), Some(&ws)).unwrap();
    let before = ts.tiles.len();
    assert_eq!(ts.tiles[0].children.len(), 2, "one tile per root file");
    // From afar: the root files' coarse levels only, their finer files not read.
    let centre = ts.tiles[0].bounds.center();
    let far = tiles3d::select(&mut ts, &above(centre, 200_000.0), 16.0);
    assert_eq!(far.draw.len(), 2, "{far:?}");
    assert!(far.draw.iter().all(|&t| !ts.tiles[t].source.to_string_lossy().contains("_L16_")));
    assert!(!ts.files.iter().any(|f| f.to_string_lossy().contains("_L16_")), "{:?}", ts.files);
    // Close over the first tile: its finer file is read, and its halves drawn.
    let t0 = ts.tiles[ts.tiles[0].children[0]].bounds.center();
    let near = tiles3d::select(&mut ts, &above(t0, 800.0), 16.0);
    assert!(ts.tiles.len() > before);
    let fine: Vec<usize> = near
        .draw
        .iter()
        .copied()
        .filter(|&t| ts.tiles[t].source.to_string_lossy().contains("Tile_+000_+000_L16_0"))
        .collect();
    assert!(!fine.is_empty(), "{near:?}");
    assert!(fine.len() <= 2, "the two halves: {near:?}");

    // A content decoded: textured, placed where PROJ puts the model's vertices.
    let g = root_content(&ts, &far.draw, &ws);
    assert_eq!(g.textures.len(), 1);
    assert_eq!(
        (g.textures[0].width, g.textures[0].height),
        (TILE_PX as u32 * 4, TILE_PX as u32 * 4)
    );
    assert_eq!(g.uvs.len(), g.positions.len());
    assert!(g.triangle_textures.iter().all(|t| *t == 0));
    let model = &file_geometries(&files[0])[0].0;
    assert_eq!(g.positions.len(), model.positions.len());
    assert_eq!(g.indices.len(), model.indices.len());
    let proj = Transformer::new(&Crs::parse(SRS).unwrap(), &ws).unwrap();
    let mut worst: f64 = 0.0;
    for (p, m) in g.positions.iter().zip(&model.positions) {
        let (x, y) = proj.transform(m[0] + ORIGIN[0], m[1] + ORIGIN[1]).unwrap();
        let got = [
            g.origin[0] + f64::from(p[0]),
            g.origin[1] + f64::from(p[1]),
            g.origin[2] + f64::from(p[2]),
        ];
        worst = worst.max((got[0] - x).hypot(got[1] - y)).max((got[2] - m[2] - ORIGIN[2]).abs());
    }
    eprintln!("OSGB placement: worst {:.2} mm from PROJ", worst * 1000.0);
    assert!(worst < 0.005, "worst {worst} m from PROJ");
    // The texture coordinates: OpenGL's turned to glTF's (v = 1 − t).
    for (uv, m) in g.uvs.iter().zip(&model.uvs) {
        assert!((uv[0] - m[0]).abs() < 1e-6 && (uv[1] - (1.0 - m[1])).abs() < 1e-6);
    }

    // Streamed: the near view settles with textured tiles within the budget.
    let ts = osgb::open_in(dir.path(), Some(&ws)).unwrap();
    let mut s = stream::Streamer::new(ts, &ws, stream::StreamOptions::default()).unwrap();
    let u = s.settle(&above(t0, 800.0), std::time::Duration::from_secs(60));
    assert!(u.settled && !u.draw.is_empty(), "{u:?}");
    assert!(u.draw.iter().all(|(_, gs)| gs.iter().all(|g| !g.textures.is_empty())));
    assert!(s.broken().next().is_none());
}

#[test]
fn the_model_converts_to_3d_tiles() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), "WriteImageHint=IncludeFile");
    let out = dir.path().join("tiles");
    let r = osgb::convert(dir.path(), &out).unwrap();
    assert_eq!((r.files, r.contents), (4, 6), "{r:?}");
    // The written tileset, read as any 3D Tiles (external tilesets at once), is the tree the
    // model streams as, wholly expanded.
    let written = tiles3d::open(&out.join("tileset.json")).unwrap();
    let mut lazy = osgb::open_in(dir.path(), None).unwrap();
    implicit::expand_all(&mut lazy).unwrap();
    assert_eq!(written.tiles.len(), lazy.tiles.len());
    assert_eq!(written.version, "1.1");
    let contents: usize = written.tiles.iter().map(|t| t.contents.len()).sum();
    assert_eq!(contents, 6);
    for t in &written.tiles {
        for c in &t.contents {
            let h = tiles3d::read_content(&c.path).unwrap();
            assert_eq!(h.kind, tiles3d::ContentKind::Glb, "{}", c.path.display());
        }
    }
    // Into a folder that is not empty: refused.
    let e = osgb::convert(dir.path(), &out).unwrap_err().to_string();
    assert!(e.contains("not empty"), "{e}");
}

#[test]
fn an_enu_model_is_placed_as_proj_topocentric_says() {
    // The same files under `ENU:42.5,1.55`: vertices are metres east, north and up of that point.
    let dir = tempfile::tempdir().unwrap();
    let files = build(dir.path(), "WriteImageHint=IncludeFile");
    std::fs::write(
        dir.path().join("metadata.xml"),
        "<?xml version=\"1.0\"?><ModelMetadata version=\"1\"><SRS>ENU:42.5,1.55</SRS><SRSOrigin>0,0,0</SRSOrigin></ModelMetadata>",
    )
    .unwrap();
    let mut ws = None;
    let layer =
        jingwei_layers::Workspace::add_tileset(&mut ws, &dir.path().join("metadata.xml"), stream::StreamOptions::default()).unwrap();
    let id = layer.id.clone();
    let ws = ws.unwrap();
    let tl = ws.tilesets.iter().find(|t| t.id == id).unwrap();
    let mut ts = tl.stream.lock().unwrap().tileset().clone();
    let centre = ts.tiles[0].bounds.center();
    let sel = tiles3d::select(&mut ts, &above(centre, 200_000.0), 16.0);
    let g = root_content(&ts, &sel.draw, &ws.crs);
    // Our vertices back to longitude and latitude, then through PROJ's topocentric conversion
    // (cct, proj-bin): they must come out as the file's east, north and up.
    let to_geo = Transformer::new(&ws.crs, &Crs::parse("EPSG:4490").unwrap()).unwrap();
    let mut input = String::new();
    for p in &g.positions {
        let (lon, lat) = to_geo
            .transform(g.origin[0] + f64::from(p[0]), g.origin[1] + f64::from(p[1]))
            .unwrap();
        input.push_str(&format!("{lon:.12} {lat:.12} {:.6}\n", g.origin[2] + f64::from(p[2])));
    }
    let mut cct = Command::new("cct")
        .args([
            "-d",
            "6",
            "+proj=pipeline",
            "+step",
            "+proj=cart",
            "+ellps=GRS80",
            "+step",
            "+proj=topocentric",
            "+ellps=GRS80",
            "+lat_0=42.5",
            "+lon_0=1.55",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cct (proj-bin)");
    std::io::Write::write_all(cct.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    let out = cct.wait_with_output().unwrap();
    let enu: Vec<[f64; 3]> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Vec<f64> = l.split_whitespace().filter_map(|x| x.parse().ok()).collect();
            [v[0], v[1], v[2]]
        })
        .collect();
    let model = &file_geometries(&files[0])[0].0;
    assert_eq!(enu.len(), model.positions.len());
    let worst = enu
        .iter()
        .zip(&model.positions)
        .map(|(a, b)| (0..3).map(|k| (a[k] - b[k]).powi(2)).sum::<f64>().sqrt())
        .fold(0.0, f64::max);
    eprintln!("OSGB ENU placement: worst {:.2} mm from PROJ's topocentric", worst * 1000.0);
    assert!(worst < 0.005, "worst {worst} m");
    // The layer is named after the model's folder.
    assert_eq!(tl.title, dir.path().file_name().unwrap().to_string_lossy());
}

/// The oblique benchmark's model (`scripts/bench-oblique.sh`): `JINGWEI_OBLIQUE_OUT` the folder,
/// `JINGWEI_OBLIQUE_TILES` root tiles a side (16).
#[test]
#[ignore = "makes the benchmark's model; run by scripts/bench-oblique.sh"]
fn bench_model() {
    let out = std::path::PathBuf::from(std::env::var("JINGWEI_OBLIQUE_OUT").expect("JINGWEI_OBLIQUE_OUT"));
    let n: usize = std::env::var("JINGWEI_OBLIQUE_TILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    std::fs::create_dir_all(&out).unwrap();
    let files = oblique::build_grid(&out, "WriteImageHint=IncludeFile", n, n);
    eprintln!("{}: {} OSGB files", out.display(), files.len());
}
