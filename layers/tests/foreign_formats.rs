//! Files from other projects' test suites (`testdata/foreign`, see its SOURCES.md): what GDAL
//! reads we read the same; what GDAL refuses we refuse, naming the file.

use gdal::vector::LayerAccess;
use jingwei_layers::{OpenOptions, Source};
use std::path::{Path, PathBuf};

fn foreign(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/foreign").join(rel)
}

/// Per layer, GDAL's feature count when every feature is read through the dataset.
fn gdal_counts(path: &Path) -> Vec<(String, usize)> {
    let ds = gdal::Dataset::open_ex(
        path,
        gdal::DatasetOptions {
            open_options: Some(&["WRITE_GFS=NO"]),
            ..Default::default()
        },
    )
    .unwrap();
    let mut out = Vec::new();
    for mut l in ds.layers() {
        out.push((l.name(), l.features().count()));
    }
    out
}

#[test]
fn multi_layer_gml_counts_match_gdal_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["testfmegml.gml", "testfmegml_interleaved.gml", "wfs_200_multiplelayers.gml"] {
        // Alone (no .gfs or .xsd beside it), so that GDAL discovers the layers as a user's file would make it.
        let path = dir.path().join(name);
        std::fs::copy(foreign(&format!("gml/{name}")), &path).unwrap();
        let want = gdal_counts(&path);
        assert!(want.len() >= 2, "{name}: {want:?}");
        let src = Source::open(&path, &OpenOptions::default()).unwrap();
        assert_eq!(src.layer_names(), want.iter().map(|w| w.0.clone()).collect::<Vec<_>>(), "{name}");
        // Every layer from one open source, first to last and last to first.
        let mut order: Vec<&(String, usize)> = want.iter().collect();
        for _ in 0..2 {
            for (layer, n) in &order {
                let got = src.read_layer(Some(layer)).unwrap();
                assert_eq!(got.len(), *n, "{name} layer {layer}");
            }
            order.reverse();
        }
        assert!(!path.with_extension("gfs").exists(), "{name}: a .gfs was written");
    }
}

/// GDAL's count of features read, or `None` when it cannot open the file.
fn gdal_reads(path: &Path) -> Option<usize> {
    let ds = gdal::Dataset::open(path).ok()?;
    Some(ds.layers().map(|mut l| l.features().count()).sum())
}

#[test]
fn flatgeobuf_as_gdal_reads_it_or_refused_naming_the_file() {
    for name in [
        "gdal/poly.fgb",
        "gdal/poly_no_index.fgb",
        "gdal/testdatatypes.fgb",
        "gdal/test_ogr_flatgeobuf_coordinate_epoch.fgb",
        "flatgeobuf/alldatatypes.fgb",
        "flatgeobuf/binary_wkb.fgb",
        "flatgeobuf/empty.fgb",
        "flatgeobuf/heterogeneous.fgb",
        "flatgeobuf/no_properties.fgb",
        "flatgeobuf/poly00.fgb",
        "flatgeobuf/triangle.fgb",
        "flatgeobuf/unknown_feature_count.fgb",
    ] {
        let path = foreign(&format!("fgb/{name}"));
        let want = gdal_reads(&path).unwrap();
        let src = Source::open(&path, &OpenOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(src.read_layer(None).unwrap().len(), want, "{name}");
    }
    // GDAL reports errors on each of these (a corrupt header from OSS-Fuzz; geometries it
    // cannot parse); we refuse them, naming the file.
    for name in [
        "flatgeobuf/clusterfuzz-testcase-minimized-fgb_fuzzer-4642513358553088",
        "gdal/invalid_compoundcurve_non_contiguous_curves.fgb",
        "gdal/invalid_curvepolygon_linestring_three_points.fgb",
        "gdal/invalid_multisurface_of_polyhedralsurface.fgb",
        "gdal/invalid_polyhedralsurface_of_curvepolygon.fgb",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.fgb");
        std::fs::copy(foreign(&format!("fgb/{name}")), &path).unwrap();
        let e = Source::open(&path, &OpenOptions::default())
            .and_then(|s| s.read_layer(None))
            .expect_err(name)
            .to_string();
        assert!(e.starts_with(&path.display().to_string()) && e.lines().count() == 1, "{name}: {e}");
    }
}

#[test]
fn flatgeobuf_with_a_broken_prefix_header_or_index_is_refused() {
    let good = std::fs::read(foreign("fgb/gdal/poly.fgb")).unwrap();
    let header_len = u32::from_le_bytes(good[8..12].try_into().unwrap()) as usize;
    let index = 12 + header_len;
    // Node layout: four f64 (box) and a u64 (child index or feature offset); 10 features under
    // node size 16 are a root (node 0) and leaves 1–10.
    let set_u64 = |b: &mut Vec<u8>, at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "size prefix 0xffffffff",
            [&good[..8], &[0xff; 4], &good[12..]].concat(),
            "header length",
        ),
        (
            "root offset 0xffffffff",
            [&good[..12], &[0xff; 4], &good[16..]].concat(),
            "FlatBuffers",
        ),
        ("truncated in the index", good[..index + 100].to_vec(), "index"),
        (
            "root names a wrong child",
            {
                let mut b = good.clone();
                set_u64(&mut b, index + 32, 7);
                b
            },
            "names child 7",
        ),
        (
            "leaf past the end",
            {
                let mut b = good.clone();
                set_u64(&mut b, index + 40 * 10 + 32, 1 << 40);
                b
            },
            "points past the last feature",
        ),
        (
            "leaf outside its parent",
            {
                let mut b = good.clone();
                b[index + 40 * 3..index + 40 * 3 + 8].copy_from_slice(&(-1e9f64).to_le_bytes());
                b
            },
            "does not hold its child",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, bytes, says) in cases {
        let path = dir.path().join("broken.fgb");
        std::fs::write(&path, bytes).unwrap();
        let e = Source::open(&path, &OpenOptions::default())
            .map(|_| ())
            .expect_err(what)
            .to_string();
        assert!(e.starts_with(&path.display().to_string()) && e.contains(says), "{what}: {e}");
    }
}

/// GDAL's (ogrinfo's) error while reading every feature of `layer`, if any.
fn gdal_error(path: &Path, layer: &str) -> Option<String> {
    let out = std::process::Command::new("ogrinfo")
        .arg("-ro")
        .arg("-q")
        .arg(path)
        .arg(layer)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (!out.status.success() || err.contains("ERROR")).then_some(err)
}

#[test]
fn a_damaged_geopackage_is_refused_wherever_gdal_refuses_it() {
    // The demo city's GeoPackage with bytes overwritten on a few pages (a fixed pseudo-random
    // sequence): every layer GDAL cannot read without an error, our native B-tree reader (or
    // its fallback) refuses too, naming the file; the layers GDAL reads, we read alike.
    let src = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/lujiazui_osm.gpkg")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pages = src.len() / 4096;
    let (mut refused, mut compared) = (0, 0);
    for round in 0..4 {
        let mut bytes = src.clone();
        for _ in 0..3 {
            let page = pages / 3 + (next() as usize) % (pages - pages / 3);
            for _ in 0..16 {
                let at = page * 4096 + (next() as usize) % 4096;
                bytes[at] = next() as u8;
            }
        }
        let path = dir.path().join(format!("damaged{round}.gpkg"));
        std::fs::write(&path, &bytes).unwrap();
        let Ok(source) = Source::open(&path, &OpenOptions::default()) else {
            // Refused whole: so must GDAL have.
            assert!(gdal_error(&path, "").is_some(), "round {round}: refused, but GDAL reads it");
            continue;
        };
        for layer in source.layer_names() {
            compared += 1;
            let ours = source.read_layer(Some(&layer));
            if let Some(why) = gdal_error(&path, &layer) {
                // GDAL errs: we refuse the layer naming the file, or read it with the features
                // whose geometry GDAL could not read listed as unreadable (GDAL's own outcome:
                // the feature with no geometry, and an error).
                match ours {
                    Err(e) => assert!(e.to_string().contains(&path.display().to_string()), "{e}"),
                    Ok(l) => assert!(
                        l.issues.iter().any(|i| i.detail.contains("unreadable geometry")),
                        "round {round}, layer {layer}: GDAL says {why}; we read it without a word"
                    ),
                }
                refused += 1;
            } else if let Ok(l) = ours {
                let want = gdal::Dataset::open(&path)
                    .unwrap()
                    .layer_by_name(&layer)
                    .unwrap()
                    .features()
                    .count();
                assert_eq!(l.len(), want, "round {round}, layer {layer}");
            }
        }
    }
    assert!(refused >= 2 && compared > 40, "refused {refused} of {compared}");
}
