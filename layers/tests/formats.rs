//! Every format the core promises, written by GDAL's own `ogr2ogr` from the demo city and read
//! back here: same features, same attribute values and types, same CRS.

use jingwei_layers::{FieldKind, OpenOptions, Source, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/lujiazui_osm.gpkg")
}

/// A copy of the demo GeoPackage to change, in a folder that goes when the guard drops.
fn demo_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::copy(demo(), &p).unwrap();
    (dir, p)
}

fn ogr2ogr(args: &[&str]) {
    let out = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("ogr2ogr (gdal-bin) is installed");
    assert!(out.status.success(), "ogr2ogr {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn each_format_reads_back_what_gdal_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = demo();
    let src = src.to_str().unwrap();
    let reference = Source::open(demo(), &OpenOptions::default())
        .unwrap()
        .read_layer(Some("pois"))
        .unwrap();
    let name_i = reference.field_index("name").unwrap();
    let names: Vec<Value> = reference.features().map(|f| f.value(name_i)).collect();
    let cases: Vec<(&str, PathBuf, Vec<&str>)> = vec![
        ("GeoJSON", d.join("pois.geojson"), vec![]),
        ("FlatGeobuf", d.join("pois.fgb"), vec![]),
        ("OpenFileGDB", d.join("pois.gdb"), vec![]),
        ("KML", d.join("pois.kml"), vec![]),
        ("GML", d.join("pois.gml"), vec![]),
        ("DXF", d.join("pois.dxf"), vec![]),
        ("ESRI Shapefile", d.join("pois.shp"), vec!["-lco", "ENCODING=UTF-8"]),
        ("CSV", d.join("pois_wkt.csv"), vec!["-lco", "GEOMETRY=AS_WKT"]),
        ("CSV", d.join("pois_xy.csv"), vec!["-lco", "GEOMETRY=AS_XY"]),
    ];
    for (driver, path, extra) in &cases {
        let mut args = vec!["-f", driver, path.to_str().unwrap(), src, "pois", "-nln", "pois"];
        args.extend(extra);
        ogr2ogr(&args);
        let s = Source::open(path, &OpenOptions::default()).unwrap_or_else(|e| panic!("{driver}: {e}"));
        let layer = s.read_layer(None).unwrap_or_else(|e| panic!("{driver}: {e}"));
        assert_eq!(layer.len(), reference.len(), "{driver}");
        let with_geom = layer
            .geometries
            .iter()
            .filter(|g| g.is_some_and(|g| g.kind() == jingwei_layers::geoms::Kind::Point))
            .count();
        assert_eq!(with_geom, reference.len(), "{driver}: every POI keeps its point");
        if *driver != "DXF" {
            // DXF has no attribute table of its own.
            let i = layer.field_index("name").unwrap_or_else(|| panic!("{driver}: no name field"));
            let mut got: Vec<String> = layer.features().map(|f| f.value(i).to_string()).collect();
            let want: Vec<String> = names
                .iter()
                .map(|v| {
                    if v.is_null() && *driver == "KML" {
                        "".into()
                    } else {
                        v.to_string()
                    }
                })
                .collect();
            // KML, GML and the CSVs cannot tell an empty string from a null.
            // FlatGeobuf stores features in spatial order: compare as sorted lists.
            let norm = |v: &Vec<String>| {
                // DBF pads text with blanks, which GDAL trims: compare trimmed.
                let mut v: Vec<String> = v
                    .iter()
                    .map(|s| if s == "NULL" { String::new() } else { s.trim_end().to_owned() })
                    .collect();
                v.sort();
                v
            };
            got.sort();
            assert_eq!(norm(&got), norm(&want), "{driver}");
            if ["GeoJSON", "OpenFileGDB", "GML"].contains(driver) {
                // Formats that keep text exactly, in the original order.
                assert_eq!(layer.features().map(|f| f.value(i)).collect::<Vec<_>>(), names, "{driver}");
            }
        }
        if !["KML", "DXF", "CSV"].contains(driver) {
            assert!(layer.crs.is_some(), "{driver}: CRS lost");
        }
    }
    // A zipped shapefile reads like the shapefile itself.
    let zip = d.join("pois.zip");
    let status = Command::new("python3")
        .args(["-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1],'w'); [z.write(sys.argv[2]+e, 'pois'+e) for e in ('.shp','.shx','.dbf','.prj','.cpg')]"])
        .arg(&zip)
        .arg(d.join("pois").to_str().unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let z = Source::open(&zip, &OpenOptions::default()).unwrap().read_layer(None).unwrap();
    assert_eq!(z.len(), reference.len());
}

#[test]
fn attribute_types_and_nulls_survive() {
    let dir = tempfile::tempdir().unwrap();
    // A CSV typed by its .csvt sidecar (as GDAL reads it), with NULLs, turned into a GeoPackage
    // by ogr2ogr; both files must give the same typed values, through both readers.
    let csv = dir.path().join("typed.csv");
    std::fs::write(
        &csv,
        "n,h,t,d,dt,WKT\n\
         1,12.5,陆家嘴,2024-03-01,2024-03-01 08:30:00,POINT (121.5 31.2)\n\
         2,,外滩,2024-03-02,,POINT (121.49 31.24)\n\
         3,99.25,,,2024-03-03 17:05:09,POINT (121.51 31.23)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("typed.csvt"), "Integer,Real,String,Date,DateTime,WKT\n").unwrap();
    let gpkg = dir.path().join("typed.gpkg");
    ogr2ogr(&[
        "-f",
        "GPKG",
        gpkg.to_str().unwrap(),
        csv.to_str().unwrap(),
        "-oo",
        "EMPTY_STRING_AS_NULL=YES",
        "-nln",
        "typed",
        "-a_srs",
        "EPSG:4490",
    ]);
    let mut readers = Vec::new();
    for p in [&csv, &gpkg] {
        let s = Source::open(p, &OpenOptions::default()).unwrap();
        readers.push(s.read_layer(None).unwrap());
        readers.push(s.read_layer_gdal(None).unwrap());
    }
    for layer in &readers {
        let kind = |n: &str| layer.fields[layer.field_index(n).unwrap()].kind;
        assert_eq!(
            [kind("n"), kind("h"), kind("t"), kind("d"), kind("dt")],
            [
                FieldKind::Integer,
                FieldKind::Real,
                FieldKind::Text,
                FieldKind::Date,
                FieldKind::DateTime
            ],
            "{}",
            layer.source_path.display()
        );
        let row = |r: usize| layer.feature(r).attributes().into_iter().map(|(_, v)| v).collect::<Vec<_>>();
        assert_eq!(row(0)[..3], [Value::Integer(1), Value::Real(12.5), Value::Text("陆家嘴".into())]);
        assert_eq!(row(1)[1], Value::Null, "{}", layer.source_path.display());
        assert_eq!(row(2)[2], Value::Null, "{}", layer.source_path.display());
        assert_eq!(row(0)[3], Value::Date("2024-03-01".into()));
        assert!(
            matches!(&row(2)[4], Value::DateTime(s) if s.starts_with("2024-03-03T17:05:09")),
            "{:?}",
            row(2)[4]
        );
        assert_eq!(row(1)[4], Value::Null);
        assert_eq!(row(2)[3], Value::Null);
        assert!(matches!(layer.geometries.geometry(0), Some(geo::Geometry::Point(_))));
    }
}

#[test]
fn booleans_read_as_booleans_in_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let gj = dir.path().join("flags.geojson");
    std::fs::write(
        &gj,
        r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"ok":true,"name":"甲"},"geometry":{"type":"Point","coordinates":[121.5,31.2]}},
{"type":"Feature","properties":{"ok":false,"name":null},"geometry":{"type":"Point","coordinates":[121.6,31.3]}},
{"type":"Feature","properties":{"ok":null,"name":"丙"},"geometry":null}]}"#,
    )
    .unwrap();
    let gpkg = dir.path().join("flags.gpkg");
    ogr2ogr(&["-f", "GPKG", gpkg.to_str().unwrap(), gj.to_str().unwrap(), "-nln", "flags"]);
    for p in [&gj, &gpkg] {
        let layer = Source::open(p, &OpenOptions::default()).unwrap().read_layer(None).unwrap();
        let ok = layer.field_index("ok").unwrap();
        assert_eq!(layer.fields[ok].kind, FieldKind::Boolean, "{}", p.display());
        let v: Vec<Value> = layer.features().map(|f| f.value(ok)).collect();
        assert_eq!(v, vec![Value::Boolean(true), Value::Boolean(false), Value::Null], "{}", p.display());
        let n = layer.field_index("name").unwrap();
        assert_eq!(layer.feature(1).value(n), Value::Null);
        assert_eq!(layer.feature(2).value(n), Value::Text("丙".into()));
        assert!(layer.geometries.get(2).is_none());
    }
}

#[test]
fn geopackage_with_gaps_in_its_fids_reads_every_row_once() {
    let (_dir, p) = demo_copy("gappy.gpkg");
    let out = Command::new("ogrinfo")
        .arg(&p)
        .args(["-sql", "DELETE FROM buildings_polygon WHERE fid % 7 IN (0, 3)"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = Source::open(&p, &OpenOptions::default()).unwrap();
    let fast = jingwei_layers::gpkg::read_layer(&p, Some("buildings_polygon")).unwrap();
    let slow = s.read_layer_gdal(Some("buildings_polygon")).unwrap();
    assert!(fast.len() < 1450 && fast.len() > 900, "{}", fast.len());
    assert_eq!(fast.fids, slow.fids);
    assert_eq!(fast.geometries, slow.geometries);
    assert!(fast.fids.iter().all(|f| f % 7 != 0 && f % 7 != 3));
}

/// The native reader trusts GDAL's `gpkg_ogr_contents` count only as far as the rows bear it
/// out: a count left stale by another program (here: one row deleted behind GDAL's back, the
/// count set to the old fid span) still reads every remaining row exactly once.
#[test]
fn geopackage_with_a_stale_feature_count_reads_every_row_once() {
    let (_dir, p) = demo_copy("stale.gpkg");
    let before = jingwei_layers::gpkg::read_layer(&p, Some("buildings_polygon")).unwrap();
    let (lo, hi) = (before.fids[0], *before.fids.last().unwrap());
    let span = hi - lo + 1;
    {
        let conn = rusqlite::Connection::open(&p).unwrap();
        let middle = before.fids[before.len() / 2];
        let n = conn.execute("DELETE FROM buildings_polygon WHERE fid = ?1", [middle]).unwrap();
        assert_eq!(n, 1);
        // Fill any gap first so that the stale count equals the span the reader computes.
        conn.execute(
            "UPDATE gpkg_ogr_contents SET feature_count = ?1 WHERE table_name = 'buildings_polygon'",
            [span],
        )
        .unwrap();
    }
    let after = jingwei_layers::gpkg::read_layer(&p, Some("buildings_polygon")).unwrap();
    let slow = Source::open(&p, &OpenOptions::default())
        .unwrap()
        .read_layer_gdal(Some("buildings_polygon"))
        .unwrap();
    assert_eq!(after.len(), before.len() - 1);
    assert_eq!(after.fids, slow.fids);
    assert_eq!(after.geometries, slow.geometries);
}

/// Fids spread over most of the i64 range (OSM-style ids and beyond) still read in a bounded
/// number of ranges: every row once, nothing sized by the fid span.
#[test]
fn geopackage_with_huge_sparse_fids_streams_every_row_once() {
    let (_dir, p) = demo_copy("sparse.gpkg");
    let before = jingwei_layers::gpkg::read_layer(&p, Some("buildings_polygon")).unwrap();
    {
        let conn = rusqlite::Connection::open(&p).unwrap();
        // Renumber: the first row to a negative fid far below zero, the rest spread up to 9e18.
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS rtree_buildings_polygon_geom_update1;
             DROP TRIGGER IF EXISTS rtree_buildings_polygon_geom_update2;
             DROP TRIGGER IF EXISTS rtree_buildings_polygon_geom_update3;
             DROP TRIGGER IF EXISTS rtree_buildings_polygon_geom_update4;
             DROP TRIGGER IF EXISTS rtree_buildings_polygon_geom_update5;
             DROP TRIGGER IF EXISTS rtree_buildings_polygon_geom_update6;
             DROP TRIGGER IF EXISTS rtree_buildings_polygon_geom_update7;
             UPDATE buildings_polygon SET fid = fid * 4000000000000000 WHERE fid > 1;
             UPDATE buildings_polygon SET fid = -9000000000000000000 WHERE fid = 1;",
        )
        .unwrap();
    }
    let chunks =
        jingwei_layers::gpkg::map_wkb_chunks(&p, Some("buildings_polygon"), 16, |w| w.iter().filter(|g| g.is_some()).count()).unwrap();
    assert!(chunks.len() <= 65_536);
    let with_geometry = before.geometries.iter().filter(|g| g.is_some()).count();
    assert_eq!(chunks.iter().sum::<usize>(), with_geometry);
    let after = jingwei_layers::gpkg::read_layer(&p, Some("buildings_polygon")).unwrap();
    assert_eq!(after.len(), before.len());
    assert_eq!(after.fids[0], -9_000_000_000_000_000_000);
    assert_eq!(after.geometries, before.geometries);
}
