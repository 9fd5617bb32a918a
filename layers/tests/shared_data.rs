//! Conformance of the layer core on the real data in `../shared/data` (see its MANIFEST):
//! every vector file GDAL's own `ogrinfo` opens must open here with the same feature counts;
//! the GBK shapefile without `.cpg` decodes to the right Chinese; the CRS check vectors and
//! PROJ's own Transverse Mercator test vectors are met; both GeoPackage readers agree.

use jingwei_layers::{Crs, OpenOptions, Source, Transformer, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    std::env::var_os("JINGWEI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Layer name → feature count, as `ogrinfo` reports it (counting with SQL where the driver
/// reports -1), or `None` when ogrinfo cannot open the file.
/// ogrinfo's open options for a file: GML must not write a `.gfs` beside the shared data.
fn no_gfs(path: &Path) -> Vec<&'static str> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gml")) {
        vec!["-oo", "WRITE_GFS=NO"]
    } else {
        vec![]
    }
}

fn ogrinfo_counts(path: &Path) -> Option<BTreeMap<String, u64>> {
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .args(no_gfs(path))
        .arg(path)
        .output()
        .expect("ogrinfo (gdal-bin) is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !text.contains("successful") {
        return None;
    }
    let mut counts = BTreeMap::new();
    let mut layer = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Layer name: ") {
            layer = Some(n.trim().to_owned());
        } else if let Some(c) = line.strip_prefix("Feature Count: ") {
            let name = layer.take().expect("count follows a layer name");
            let c: i64 = c.trim().parse().unwrap();
            let c = if c >= 0 {
                c as u64
            } else {
                let sql = Command::new("ogrinfo")
                    .args(["-ro", "-q"])
                    .args(no_gfs(path))
                    .arg(path)
                    .args(["-sql", &format!("SELECT count(*) FROM \"{name}\"")])
                    .output()
                    .unwrap();
                let t = String::from_utf8_lossy(&sql.stdout);
                t.lines()
                    .find(|l| l.to_ascii_uppercase().contains("COUNT"))
                    .and_then(|l| l.rsplit('=').next())
                    .unwrap()
                    .trim()
                    .parse()
                    .unwrap()
            };
            counts.insert(name, c);
        }
    }
    Some(counts)
}

#[test]
fn every_vector_file_opens_with_ogrinfo_counts() {
    let mut files = Vec::new();
    walk(&shared(), &mut files);
    let before = files.clone();
    let mut opened = Vec::new();
    for f in files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        // Sidecars and documents are not datasets of their own.
        if [
            "shx", "dbf", "prj", "cpg", "md", "txt", "xsd", "tif", "b3dm", "pnts", "bin", "glb", "gltf", "png", "jpg", "ifc", "gie",
        ]
        .contains(&ext.as_str())
            || f.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("LICENSE") || n.to_string_lossy().contains("COPYING"))
        {
            continue;
        }
        let Some(expected) = ogrinfo_counts(&f) else {
            // GDAL cannot read it (CityJSON, CAP XML, SensorThings JSON): neither may we claim to.
            assert!(
                Source::open(&f, &OpenOptions::default()).is_err(),
                "{} opens here but not in ogrinfo",
                f.display()
            );
            continue;
        };
        let src = Source::open(&f, &OpenOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut got = BTreeMap::new();
        for name in src.layer_names() {
            let layer = src.read_layer(Some(&name)).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            assert_eq!(
                layer.len() as u64,
                src.layer_info(Some(&name)).unwrap().feature_count,
                "{} {name}: info count",
                f.display()
            );
            got.insert(name, layer.len() as u64);
        }
        assert_eq!(got, expected, "{}", f.display());
        opened.push(f.strip_prefix(shared()).unwrap().to_string_lossy().into_owned());
    }
    // Reading wrote nothing beside the data (GDAL's GML reader would leave `.gfs` files).
    let mut after = Vec::new();
    walk(&shared(), &mut after);
    assert_eq!(after, before, "files appeared in the shared data");
    // The real test data that must be among them.
    for must in [
        "osm/shanghai_lujiazui_osm_tilezen.gpkg",
        "osm/liechtenstein_osm.gpkg",
        "osm/andorra_osm.gpkg",
        "osm/pbf/valhalla_liechtenstein-latest.osm.pbf",
        "osm/pbf/osm2pgsql_liechtenstein-2013-08-03.osm.pbf",
        "hazards/usgs_all_week_2018-02-07.geojson",
        "encoding/nocpg/lujiazui_pois_gbk_nocpg.shp",
        "encoding/lujiazui_pois_gbk.shp",
        "crs/cgcs2000_gauss_kruger_check_vectors.csv",
        "3d/citygml/CityGML_v2.gml",
    ] {
        assert!(opened.iter().any(|o| o == must), "{must} was not opened; opened: {opened:?}");
    }
}

fn names(path: &Path, opts: &OpenOptions) -> (Vec<String>, jingwei_layers::encoding::EncodingReport) {
    let src = Source::open(path, opts).unwrap();
    let layer = src.read_layer(None).unwrap();
    let i = layer.field_index("name").unwrap();
    let names = layer.features().map(|f| f.value(i).to_string()).collect();
    (names, src.encoding().cloned().unwrap())
}

#[test]
fn gbk_shapefile_without_cpg_decodes() {
    use jingwei_layers::encoding::EncodingSource;
    let nocpg = shared().join("encoding/nocpg/lujiazui_pois_gbk_nocpg.shp");
    let (n, enc) = names(&nocpg, &OpenOptions::default());
    assert_eq!(&n[..3], ["人民英雄纪念塔", "滨江公园", "东方明珠电视塔"]);
    assert_eq!(enc.encoding, "GBK");
    assert_eq!(enc.source, EncodingSource::Detected);
    // With its .cpg the same text comes out, and the report says why.
    let (n2, enc2) = names(&shared().join("encoding/lujiazui_pois_gbk.shp"), &OpenOptions::default());
    assert_eq!(n, n2);
    assert_eq!(enc2.source, EncodingSource::Cpg);
    // An override is honoured; a wrong one is refused with the file named.
    let (n3, enc3) = names(
        &nocpg,
        &OpenOptions {
            encoding: Some("GB18030".into()),
        },
    );
    assert_eq!(n, n3);
    assert_eq!(enc3.source, EncodingSource::Override);
    let err = Source::open(
        &nocpg,
        &OpenOptions {
            encoding: Some("UTF-8".into()),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("lujiazui_pois_gbk_nocpg.shp") && err.contains("not valid UTF-8"),
        "{err}"
    );
    // Zipped, the shapefile decodes the same way.
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("pois.zip");
    let status = Command::new("python3")
        .args(["-c", "import sys,zipfile,os; z=zipfile.ZipFile(sys.argv[1],'w'); [z.write(os.path.join(sys.argv[2],f),f) for f in sorted(os.listdir(sys.argv[2]))]"])
        .arg(&zip)
        .arg(nocpg.parent().unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let (n4, enc4) = names(&zip, &OpenOptions::default());
    assert_eq!(n, n4);
    assert_eq!(enc4.encoding, "GBK");
}

#[test]
fn cgcs2000_gauss_kruger_vectors_within_a_millimetre() {
    let text = std::fs::read_to_string(shared().join("crs/cgcs2000_gauss_kruger_check_vectors.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (lon_i, lat_i, epsg_i, e_i, n_i) = (col("lon"), col("lat"), col("epsg"), col("easting_proj"), col("northing_proj"));
    let geo = Crs::from_epsg(4490).unwrap();
    let mut checked = 0;
    for line in lines {
        // Split on commas outside quotes.
        let mut fields = Vec::new();
        let (mut cur, mut quoted) = (String::new(), false);
        for ch in line.chars() {
            match ch {
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        let lon: f64 = fields[lon_i].parse().unwrap();
        let lat: f64 = fields[lat_i].parse().unwrap();
        let epsg: u32 = fields[epsg_i].parse().unwrap();
        let (e, n): (f64, f64) = (fields[e_i].parse().unwrap(), fields[n_i].parse().unwrap());
        let gk = Crs::from_epsg(epsg).unwrap();
        assert!(gk.authority_north_first, "EPSG:{epsg} is north-first");
        for t in [Transformer::new(&geo, &gk).unwrap(), Transformer::new_proj_only(&geo, &gk).unwrap()] {
            let (x, y) = t.transform(lon, lat).unwrap();
            assert!(
                (x - e).abs() < 1e-3 && (y - n).abs() < 1e-3,
                "EPSG:{epsg} {lon},{lat}: {x},{y} vs {e},{n}"
            );
        }
        let (blon, blat) = Transformer::new(&gk, &geo).unwrap().transform(e, n).unwrap();
        assert!((blon - lon).abs() < 1e-8 && (blat - lat).abs() < 1e-8);
        checked += 1;
    }
    assert_eq!(checked, 40);
}

#[test]
fn proj_gie_tmerc_grs80_vectors() {
    let text = std::fs::read_to_string(shared().join("crs/proj_builtins_tmerc_excerpt.gie")).unwrap();
    let geo = Crs::parse("+proj=longlat +ellps=GRS80 +no_defs +type=crs").unwrap();
    let tm = Crs::parse("+proj=tmerc +ellps=GRS80 +no_defs +type=crs").unwrap();
    let fwd = Transformer::new(&geo, &tm).unwrap();
    let inv = Transformer::new(&tm, &geo).unwrap();
    assert!(fwd.uses_closed_form_tmerc() && inv.uses_closed_form_tmerc());
    let mut in_block = false;
    let mut inverse = false;
    let mut accept = None;
    let mut checked = 0;
    let mut tol_m = 1e-6;
    for line in text.lines() {
        let l = line.trim();
        if let Some(op) = l.strip_prefix("operation ") {
            tol_m = 1e-6;
            let op: Vec<&str> = op.split_whitespace().collect();
            in_block = op == ["+proj=tmerc", "+ellps=GRS80"] || op == ["+proj=tmerc", "+ellps=GRS80", "+algo=poder_engsager"];
            inverse = false;
        } else if !in_block {
            continue;
        } else if let Some(t) = l.strip_prefix("tolerance") {
            let mut it = t.split_whitespace();
            let v: f64 = it.next().unwrap().parse().unwrap();
            tol_m = v * match it.next().unwrap_or("m") {
                "nm" => 1e-9,
                "um" => 1e-6,
                "mm" => 1e-3,
                "cm" => 1e-2,
                _ => 1.0,
            };
        } else if l == "direction inverse" {
            inverse = true;
        } else if let Some(a) = l.strip_prefix("accept") {
            let v: Vec<f64> = a.split_whitespace().map(|t| t.parse().unwrap()).collect();
            accept = Some((v[0], v[1]));
        } else if let Some(e) = l.strip_prefix("expect") {
            let v: Vec<f64> = e.split_whitespace().map(|t| t.parse().unwrap()).collect();
            let (x, y) = accept.take().unwrap();
            if inverse {
                let (lon, lat) = inv.transform(x, y).unwrap();
                // gie tolerances are distances; 1e-9° is about 0.1 mm.
                let tol_deg = (tol_m / 111_000.0).max(1e-9);
                assert!(
                    (lon - v[0]).abs() < tol_deg && (lat - v[1]).abs() < tol_deg,
                    "inverse {x},{y}: {lon},{lat} vs {v:?}"
                );
            } else {
                let (e, n) = fwd.transform(x, y).unwrap();
                let tol = tol_m.max(1e-7);
                assert!(
                    (e - v[0]).abs() < tol && (n - v[1]).abs() < tol,
                    "forward {x},{y}: {e},{n} vs {v:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 18, "only {checked} vectors");
}

#[test]
fn native_geopackage_reader_equals_gdal() {
    let mut files = Vec::new();
    walk(&shared().join("osm"), &mut files);
    let mut layers = 0;
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "gpkg")) {
        let src = Source::open(f, &OpenOptions::default()).unwrap();
        for name in src.layer_names() {
            let fast = jingwei_layers::gpkg::read_layer(f, Some(&name)).unwrap();
            let slow = src.read_layer_gdal(Some(&name)).unwrap();
            assert_eq!(fast.fids, slow.fids, "{name}");
            assert_eq!(fast.geometries, slow.geometries, "{name}");
            assert_eq!(fast.crs.as_ref().map(|c| c.epsg), slow.crs.as_ref().map(|c| c.epsg));
            let fnames: Vec<_> = fast.fields.iter().map(|x| (&x.name, x.kind)).collect();
            let snames: Vec<_> = slow.fields.iter().map(|x| (&x.name, x.kind)).collect();
            assert_eq!(fnames, snames, "{} {name}", f.display());
            for row in 0..fast.len() {
                for i in 0..fast.fields.len() {
                    let (a, b) = (fast.feature(row).value(i), slow.feature(row).value(i));
                    match (&a, &b) {
                        (Value::Real(x), Value::Real(y)) => assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0)),
                        _ => assert_eq!(a, b, "{} {name} row {row} field {}", f.display(), fast.fields[i].name),
                    }
                }
            }
            layers += 1;
        }
    }
    assert!(layers > 30, "{layers}");
}

/// The app's file dialog lists folders and the datasets the core reads, not their side files.
#[test]
fn folder_listing_shows_datasets_not_side_files() {
    let enc = jingwei_layers::source::list_readable(&shared().join("encoding")).unwrap();
    let names: Vec<&str> = enc.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names.first(), Some(&"nocpg"), "folders first: {names:?}");
    assert!(enc[0].folder);
    assert!(names.contains(&"lujiazui_pois_gbk.shp"), "{names:?}");
    for side in [
        "lujiazui_pois_gbk.dbf",
        "lujiazui_pois_gbk.shx",
        "lujiazui_pois_gbk.prj",
        "lujiazui_pois_gbk.cpg",
    ] {
        assert!(!names.contains(&side), "{side} listed: {names:?}");
    }
    let shp = enc.iter().find(|e| e.name == "lujiazui_pois_gbk.shp").unwrap();
    assert_eq!(shp.size, std::fs::metadata(&shp.path).unwrap().len());
    // Every dataset it lists opens.
    for e in enc.iter().filter(|e| !e.folder) {
        Source::open(&e.path, &OpenOptions::default()).unwrap_or_else(|err| panic!("{}: {err}", e.path.display()));
    }
    // A file is not a folder to list.
    assert!(jingwei_layers::source::list_readable(&shp.path).is_err());
}
