//! The fuzz targets' bodies: every parser that reads bytes a user or a server hands Jingwei.
//! Shared by the libFuzzer binaries (`fuzz/fuzz_targets/*.rs`, run by `scripts/fuzz.sh`) and
//! by the regression test that replays the kept corpus and every crash found
//! (`tests/tests/fuzz_regressions.rs`), so a fixed crash stays fixed in every CI run.
//!
//! A target passes an input when it returns: errors are fine, panics, aborts and
//! allocations out of proportion to the input are not.

use std::path::Path;

/// A target's body.
pub type Target = fn(&[u8]);

/// Name and body of every target.
pub const TARGETS: &[(&str, Target)] = &[
    ("wkb", wkb),
    ("gpkg_btree", gpkg_btree),
    ("dbf_text", dbf_text),
    ("flatgeobuf", flatgeobuf),
    ("cityjson", cityjson),
    ("gltf", gltf),
    ("ifc", ifc),
    ("osgb", osgb),
    ("tiles3d", tiles3d),
    ("cap", cap),
    ("feeds", feeds),
    ("xml_dsig", xml_dsig),
    ("ogc_capabilities", ogc_capabilities),
];

/// WKB and GeoPackage geometry blobs.
pub fn wkb(data: &[u8]) {
    let _ = jingwei_layers::wkb::parse_wkb(data);
    let _ = jingwei_layers::wkb::parse_gpkg_blob(data);
    let mut out = Vec::new();
    let _ = jingwei_layers::wkb::push_wkb_coords(data, &mut out);
    // The reader straight into a layer's buffers agrees with the general one, row for row and
    // error for error, on the same WKB behind a GeoPackage header (no envelope); a row before
    // it in the segment is left as it was.
    let mut blob = vec![b'G', b'P', 0, 1, 0, 0, 0, 0];
    blob.extend_from_slice(data);
    let mut point = vec![1, 1, 0, 0, 0];
    point.extend_from_slice(&1.0f64.to_le_bytes());
    point.extend_from_slice(&2.0f64.to_le_bytes());
    let before = jingwei_layers::wkb::parse_wkb(&point).expect("a point");
    let mut seg = jingwei_layers::geoms::Segment::default();
    seg.push(Some(&before));
    let direct = jingwei_layers::wkb::push_gpkg_blob(&blob, &mut seg);
    let general = jingwei_layers::wkb::parse_gpkg_blob(&blob);
    let rows = jingwei_layers::Geometries::from_segments(vec![seg]);
    assert_eq!(format!("{:?}", rows.geometry(0)), format!("{:?}", Some(before)));
    match (direct, general) {
        (Ok(()), Ok(g)) => {
            assert_eq!(rows.len(), 2);
            assert_eq!(format!("{:?}", rows.geometry(1)), format!("{g:?}"));
        }
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            assert_eq!(rows.len(), 1);
        }
        (a, b) => panic!("the direct reader gave {a:?}, the general one {b:?}"),
    }
}

/// The GeoPackage (SQLite) B-tree and record reader on a whole database file: its table `t`
/// with columns `fid` (INTEGER PRIMARY KEY), `geom` and `name`, as the seeds have it.
pub fn gpkg_btree(data: &[u8]) {
    let path = std::env::temp_dir().join(format!("jingwei-fuzz-{}.gpkg", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(t) = jingwei_layers::btree::Table::open(&path, "t", "fid", &["geom", "name"]) {
        let _ = t.count("SELECT count(*) FROM t", None);
        let _ = t.scan::<jingwei_layers::btree::NotDirect>(i64::MIN, i64::MAX, |_, row| {
            for v in row {
                if let Ok(b) = v.as_blob() {
                    let _ = jingwei_layers::wkb::parse_gpkg_blob(b);
                }
            }
            Ok(())
        });
    }
    let _ = std::fs::remove_file(&path);
}

/// The DBF header and text sample, the encoding decision, and `.cpg` labels.
pub fn dbf_text(data: &[u8]) {
    let path = Path::new("fuzz.dbf");
    if let Ok(sample) = jingwei_layers::encoding::sample_dbf(path, data, 1 << 16) {
        let _ = jingwei_layers::encoding::decide(path, None, None, &sample);
        let label = String::from_utf8_lossy(&data[..data.len().min(48)]);
        let _ = jingwei_layers::encoding::decide(path, None, Some(&label), &sample);
        if let Some(enc) = jingwei_layers::encoding::lookup(&label) {
            let _ = enc.decode(&sample.text);
        }
    }
}

/// The FlatGeobuf header table and packed R-tree checks.
pub fn flatgeobuf(data: &[u8]) {
    let _ = jingwei_layers::fgb::parse_header(data);
    if data.len() >= 10 {
        let items = u64::from(u32::from_le_bytes(data[..4].try_into().expect("4 bytes")) % 100_000);
        let node = u16::from_le_bytes([data[4], data[5]]);
        let len = u64::from(u32::from_le_bytes(data[6..10].try_into().expect("4 bytes")));
        if items > 0 && node >= 2 {
            let _ = jingwei_layers::fgb::check_index(&data[10..], items, node, len);
        }
    }
}

/// CityJSON documents.
pub fn cityjson(data: &[u8]) {
    let _ = jingwei_layers::cityjson::parse(Path::new("fuzz.city.json"), data);
}

/// OpenSceneGraph binary files of oblique models.
pub fn osgb(data: &[u8]) {
    let _ = jingwei_layers::osgb::read::parse(Path::new("fuzz.osgb"), data);
}

/// IFC files: the STEP parser, the spatial tree, property sets and every body's geometry.
pub fn ifc(data: &[u8]) {
    let _ = jingwei_layers::ifc::parse(Path::new("fuzz.ifc"), data);
}

/// glTF, GLB and b3dm.
pub fn gltf(data: &[u8]) {
    let _ = jingwei_layers::gltf::parse(Path::new("fuzz.glb"), data);
}

/// 3D Tiles contents (b3dm, i3dm, pnts, cmpt, GLB): the headers, then the whole decode into a
/// Gauss-Krüger workspace; and the same bytes as an implicit tiling subtree file.
pub fn tiles3d(data: &[u8]) {
    use jingwei_layers::tiles3d::{self, Refine, Tile, Volume, decode, implicit};
    thread_local! {
        static PLACER: Option<decode::Placer> = jingwei_layers::crs::Crs::from_epsg(4547)
            .ok()
            .and_then(|c| decode::Placer::new(&c).ok());
    }
    let path = Path::new("fuzz.cmpt");
    let _ = tiles3d::parse_content(path, data);
    let tile = Tile {
        parent: None,
        children: Vec::new(),
        bounds: Volume::Sphere {
            center: tiles3d::geodetic_to_ecef(114.06f64.to_radians(), 22.54f64.to_radians(), 0.0),
            radius: 100.0,
        },
        request_volume: None,
        geometric_error: 1.0,
        refine: Refine::Replace,
        transform: [1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.],
        contents: Vec::new(),
        implicit: None,
        coord: None,
        pending: false,
        depth: 0,
        source: path.to_owned(),
        external: None,
    };
    PLACER.with(|p| {
        if let Some(p) = p {
            let _ = decode::decode(path, data, &tile, p);
        }
    });
    let _ = implicit::read_subtree(Path::new("fuzz.subtree"), data, 21, 64, &tiles3d::Files);
}

/// One CAP alert, strict and lenient, in any declared encoding.
pub fn cap(data: &[u8]) {
    let _ = jingwei_feeds::cap::parse(data);
    let lenient = jingwei_feeds::cap::CapOptions {
        lenient: true,
        ..Default::default()
    };
    let _ = jingwei_feeds::cap::parse_with(data, &lenient);
}

/// Any feed document, detected: GeoJSON events, CAP, Atom/RSS indexes, SensorThings.
pub fn feeds(data: &[u8]) {
    let opts = jingwei_feeds::ParseOptions {
        thresholds: jingwei_feeds::sta::Thresholds(vec![jingwei_feeds::sta::Threshold::parse("水位>4.8").expect("valid")]),
        ..Default::default()
    };
    let _ = jingwei_feeds::parse(data, None, &opts);
    let _ = jingwei_feeds::xmltext::to_utf8(data);
}

/// XML Signature: certificates (PEM and DER) and signed alerts verified against a real
/// certificate, so that canonicalization and the RSA check run.
pub fn xml_dsig(data: &[u8]) {
    let _ = jingwei_feeds::dsig::spki_of_certificate(data);
    let text = String::from_utf8_lossy(data);
    let _ = jingwei_feeds::dsig::Trust::from_pem(&text, "fuzz");
    thread_local! {
        static TRUST: jingwei_feeds::dsig::Trust =
            jingwei_feeds::dsig::Trust::from_pem(include_str!("trusted.pem"), "trusted.pem").expect("a certificate");
    }
    TRUST.with(|t| {
        let opts = jingwei_feeds::cap::CapOptions {
            lenient: true,
            trust: t.clone(),
        };
        let _ = jingwei_feeds::cap::parse_with(data, &opts);
    });
}

/// WMTS and WMS capabilities and WMS GetFeatureInfo answers.
pub fn ogc_capabilities(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = jingwei_services::wmts::Capabilities::parse(&text);
    let _ = jingwei_services::wms::Capabilities::parse(&text);
    let _ = jingwei_services::wms::parse_feature_info(&text);
}
