//! 3D Tiles: the CesiumGS sample `TilesetWithRequestVolume` of `../shared/data/3d/tiles3d/`
//! (CC BY 3.0 building, an external city tileset, a point cloud behind a request volume): the
//! tree with its external tileset, the contents' headers, selection by screen-space error from
//! near and far; and damaged input — every truncation and many corrupted bytes of each binary,
//! bad JSON, a cycle — is an error naming the file, never a panic.

use jingwei_layers::tiles3d::{self, Camera, ContentKind, Refine, Volume};
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    std::env::var_os("JINGWEI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

fn sample() -> PathBuf {
    shared().join("3d/tiles3d/1.0/TilesetWithRequestVolume")
}

#[test]
fn the_sample_tileset_reads_as_one_tree_with_its_external_tileset() {
    let ts = tiles3d::open(&sample().join("tileset.json")).unwrap();
    assert_eq!(ts.version, "1.0");
    assert_eq!(ts.geometric_error, 100.0);
    // Root, three children, the external city's root and its four blocks.
    assert_eq!(ts.tiles.len(), 9);
    assert_eq!(ts.files.len(), 2);
    let root = &ts.tiles[0];
    assert_eq!((root.refine, root.children.len(), root.contents.len()), (Refine::Add, 3, 0));
    // The external tileset's root hangs under the tile that names it, and inherits ADD.
    let city = ts
        .tiles
        .iter()
        .position(|t| t.source.ends_with("city/tileset.json") && t.parent == Some(1))
        .unwrap();
    assert_eq!(ts.tiles[city].children.len(), 4);
    assert!(
        ts.tiles[city]
            .children
            .iter()
            .all(|&c| ts.tiles[c].contents[0].kind == ContentKind::B3dm && ts.tiles[c].depth == 3)
    );
    assert!(ts.tiles[1].contents.is_empty(), "an external tileset is a child, not a content");
    // Transforms reach ECEF: the building's box centre is on the Earth's surface near the
    // root region (−75.6° E, 40.0° N).
    let b = ts
        .tiles
        .iter()
        .find(|t| t.contents.iter().any(|c| c.uri == "building.b3dm"))
        .unwrap();
    let Volume::Box { center, .. } = b.bounds else {
        panic!("{:?}", b.bounds)
    };
    let r = (center[0].powi(2) + center[1].powi(2) + center[2].powi(2)).sqrt();
    assert!((6_360_000.0..6_380_000.0).contains(&r), "{r}");
    let lon = center[1].atan2(center[0]);
    assert!((lon - (-1.31968)).abs() < 1e-4, "{lon}");
    assert_eq!(ts.tiles[0].bounds.distance(center), 0.0, "the building is inside the root region");
    let points = ts
        .tiles
        .iter()
        .find(|t| t.contents.iter().any(|c| c.kind == ContentKind::Pnts))
        .unwrap();
    assert!(
        matches!(points.request_volume, Some(Volume::Sphere { radius, .. }) if (radius - 15.0).abs() < 0.1),
        "{:?}",
        points.request_volume
    );

    // Every content's header holds together.
    for t in &ts.tiles {
        for c in &t.contents {
            let h = tiles3d::read_content(&c.path).unwrap();
            assert_eq!(h.byte_length as u64, std::fs::metadata(&c.path).unwrap().len());
            match c.kind {
                ContentKind::B3dm => assert!(h.gltf.is_some()),
                ContentKind::Pnts => assert!(h.features.unwrap() > 1000, "{:?}", h.features),
                k => panic!("{k:?}"),
            }
        }
    }
}

#[test]
fn tiles_are_chosen_by_screen_space_error_and_request_volumes() {
    let mut ts = tiles3d::open(&sample().join("tileset.json")).unwrap();
    let building = ts
        .tiles
        .iter()
        .position(|t| t.contents.iter().any(|c| c.uri == "building.b3dm"))
        .unwrap();
    let points = ts
        .tiles
        .iter()
        .position(|t| t.contents.iter().any(|c| c.kind == ContentKind::Pnts))
        .unwrap();
    let Volume::Sphere { center: pc, .. } = ts.tiles[points].request_volume.clone().unwrap() else {
        panic!()
    };
    let cam = |p: [f64; 3]| Camera {
        position: p,
        screen_height: 720.0,
        fov_y: 60f64.to_radians(),
        frustum: None,
        forward: [0.0, 0.0, 1.0],
    };
    let up = |d: f64| {
        let n = (pc[0].powi(2) + pc[1].powi(2) + pc[2].powi(2)).sqrt();
        [pc[0] * (1.0 + d / n), pc[1] * (1.0 + d / n), pc[2] * (1.0 + d / n)]
    };
    // From 1000 km nothing needs refining: the root has no content of its own.
    let far = tiles3d::select(&mut ts, &cam(up(1_000_000.0)), 16.0);
    assert!(far.draw.is_empty(), "{far:?}");
    assert_eq!(far.visited, 1);
    // From 2 km up the root refines (ADD): the building and the city's blocks, not the points.
    let mid = tiles3d::select(&mut ts, &cam(up(2_000.0)), 16.0);
    assert!(mid.draw.contains(&building), "{mid:?}");
    assert!(!mid.draw.contains(&points));
    assert_eq!(mid.draw.len(), 5, "{mid:?}");
    // Inside the request volume the point cloud too.
    let near = tiles3d::select(&mut ts, &cam(up(5.0)), 16.0);
    assert!(near.draw.contains(&points) && near.draw.contains(&building), "{near:?}");
    // A stricter error bound refines more; a looser one less.
    let loose = tiles3d::select(&mut ts, &cam(up(20_000.0)), 1e9);
    assert!(loose.draw.is_empty());
}

#[test]
fn damaged_contents_and_tilesets_are_errors_that_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["building.b3dm", "points.pnts", "city/ll.b3dm"] {
        let bytes = std::fs::read(sample().join(name)).unwrap();
        let path = dir.path().join(name.replace('/', "_"));
        assert!(tiles3d::parse_content(&path, &bytes).is_ok());
        // Every truncation up to 4 KiB, and a sample beyond.
        let cuts: Vec<usize> = (0..bytes.len().min(4096)).chain((4096..bytes.len()).step_by(997)).collect();
        for n in cuts {
            let e = tiles3d::parse_content(&path, &bytes[..n]).unwrap_err().to_string();
            assert!(e.contains(path.file_name().unwrap().to_str().unwrap()), "{e}");
        }
        // Every header byte, and the start of the feature table, set to each of a few values.
        for i in 0..bytes.len().min(200) {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                let _ = tiles3d::parse_content(&path, &b);
            }
        }
        // A wrong byte length.
        let mut b = bytes.clone();
        b[8..12].copy_from_slice(&((bytes.len() as u32) - 1).to_le_bytes());
        let e = tiles3d::parse_content(&path, &b).unwrap_err().to_string();
        assert!(e.contains("the header says"), "{e}");
    }
    // A composite of the two, and a composite that lies about its inner tile.
    let (a, p) = (
        std::fs::read(sample().join("city/ll.b3dm")).unwrap(),
        std::fs::read(sample().join("points.pnts")).unwrap(),
    );
    let mut cmpt = b"cmpt".to_vec();
    cmpt.extend(1u32.to_le_bytes());
    cmpt.extend(((16 + a.len() + p.len()) as u32).to_le_bytes());
    cmpt.extend(2u32.to_le_bytes());
    cmpt.extend(&a);
    cmpt.extend(&p);
    let h = tiles3d::parse_content(Path::new("c.cmpt"), &cmpt).unwrap();
    assert_eq!(
        h.inner.iter().map(|i| i.kind).collect::<Vec<_>>(),
        [ContentKind::B3dm, ContentKind::Pnts]
    );
    let mut lie = cmpt.clone();
    lie[16 + 8..16 + 12].copy_from_slice(&(u32::MAX - 3).to_le_bytes());
    assert!(
        tiles3d::parse_content(Path::new("c.cmpt"), &lie)
            .unwrap_err()
            .to_string()
            .contains("c.cmpt")
    );

    // Tilesets: bad JSON, no root, an external tileset that names itself.
    for (name, text, says) in [
        ("bad.json", "{\"asset\": {\"version\": \"1.0\"", "not JSON"),
        ("noroot.json", r#"{"asset":{"version":"1.0"},"geometricError":1}"#, "no root"),
        (
            "self.json",
            r#"{"asset":{"version":"1.0"},"geometricError":1,"root":{"boundingVolume":{"sphere":[0,0,0,1]},"geometricError":1,"content":{"uri":"self.json"}}}"#,
            "cycle",
        ),
        (
            "box.json",
            r#"{"asset":{"version":"1.0"},"geometricError":1,"root":{"boundingVolume":{"box":[0,0,0]},"geometricError":1}}"#,
            "12 numbers",
        ),
        (
            "v2.json",
            r#"{"asset":{"version":"2.0"},"geometricError":1,"root":{"boundingVolume":{"sphere":[0,0,0,1]},"geometricError":1}}"#,
            "1.0 and 1.1",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let e = tiles3d::open(&path).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains(says), "{name}: {e}");
    }
}

/// ECEF ⇄ geodetic as PROJ has it (`cs2cs EPSG:4978 EPSG:4979`, the proj-bin package), and
/// round trips to well under a millimetre, from the sea floor to 30 km up, across China and
/// at the poles.
#[test]
fn ecef_and_geodetic_agree_with_proj_to_a_tenth_of_a_millimetre() {
    use std::io::Write;
    let mut points = Vec::new();
    for (lon, lat) in [
        (73.5, 39.0),
        (121.5, 31.23),
        (135.0, 48.0),
        (87.6, 43.8),
        (110.0, 18.2),
        (-75.6, 40.0),
        (0.0, 89.999),
        (10.0, -89.9),
    ] {
        for h in [-11_000.0, 0.0, 67.01, 1_000.0, 30_000.0] {
            points.push(tiles3d::geodetic_to_ecef(f64::to_radians(lon), f64::to_radians(lat), h));
        }
    }
    let mut child = Command::new("cs2cs")
        .args(["-f", "%.12f", "EPSG:4978", "EPSG:4979"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cs2cs (PROJ's command-line tools, installed by scripts/setup.sh)");
    let input: String = points.iter().map(|p| format!("{:.6} {:.6} {:.6}\n", p[0], p[1], p[2])).collect();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let proj: Vec<Vec<f64>> = text
        .lines()
        .map(|l| l.split_whitespace().filter_map(|v| v.parse().ok()).collect())
        .collect();
    assert_eq!(proj.len(), points.len(), "{text}");
    for (p, theirs) in points.iter().zip(&proj) {
        // EPSG:4979 answers latitude, longitude, height (degrees, metres).
        let (lon, lat, h) = tiles3d::ecef_to_geodetic(*p);
        let m_per_deg = 111_320.0;
        let dlat = (lat.to_degrees() - theirs[0]).abs() * m_per_deg;
        let dlon = (lon.to_degrees() - theirs[1]).abs() * m_per_deg * lat.cos().max(1e-6);
        let dh = (h - theirs[2]).abs();
        assert!(
            dlat < 1e-4 && dlon < 1e-4 && dh < 1e-4,
            "{p:?}: ours {lon} {lat} {h}, PROJ {theirs:?}"
        );
        let back = tiles3d::geodetic_to_ecef(lon, lat, h);
        let d = ((back[0] - p[0]).powi(2) + (back[1] - p[1]).powi(2) + (back[2] - p[2]).powi(2)).sqrt();
        assert!(d < 1e-4, "round trip {d} m at {p:?}");
    }
}
