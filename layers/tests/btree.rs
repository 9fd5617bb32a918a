//! The direct B-tree reader of GeoPackage tables (`jingwei_layers::btree`) against SQLite's own
//! statements: the same rows, values and geometries on every GeoPackage shipped and shared,
//! on rows that spill onto overflow pages, and a clean decline (read through SQLite instead)
//! where it must not read the file itself: rows in a write-ahead log, rows older than a
//! column with a default, damaged pages.

use jingwei_layers::gpkg::{Reader, read_layer_with};
use jingwei_layers::job::Job;
use jingwei_layers::{Layer, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shared() -> PathBuf {
    std::env::var_os("JINGWEI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"))
}

fn read(p: &Path, table: &str, reader: Reader) -> Result<Layer, jingwei_layers::gpkg::Declined> {
    read_layer_with(p, Some(table), None, reader, &Job::new())
}

fn feature_tables(p: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(p).unwrap();
    let mut st = conn
        .prepare("SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")
        .unwrap();
    st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Every row, geometry and value the same, in the same order.
fn assert_same(a: &Layer, b: &Layer, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    assert_eq!(a.fids, b.fids, "{what}");
    assert_eq!(a.geometries, b.geometries, "{what}");
    assert_eq!(a.fields, b.fields, "{what}");
    for row in 0..a.len() {
        for i in 0..a.fields.len() {
            assert_eq!(a.feature(row).value(i), b.feature(row).value(i), "{what} row {row} field {i}");
        }
    }
    assert_eq!(a.issues.len(), b.issues.len(), "{what}");
}

fn copy_of(src: &Path, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::copy(src, &p).unwrap();
    (dir, p)
}

fn demo() -> PathBuf {
    root().join("assets/demo/lujiazui_osm.gpkg")
}

#[test]
fn direct_reader_equals_sqlite_on_every_geopackage() {
    let mut files = vec![demo(), root().join("assets/demo/planning_synthetic.gpkg")];
    let mut osm: Vec<PathBuf> = std::fs::read_dir(shared().join("osm"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "gpkg"))
        .collect();
    osm.sort();
    assert!(osm.len() >= 5, "{osm:?}");
    files.extend(osm);
    let (mut tables, mut rows) = (0, 0);
    for f in &files {
        for t in feature_tables(f) {
            let what = format!("{} {t}", f.display());
            let direct = read(f, &t, Reader::Direct).unwrap_or_else(|e| panic!("{what}: {e}"));
            let sqlite = read(f, &t, Reader::Sqlite).unwrap();
            assert_same(&direct, &sqlite, &what);
            tables += 1;
            rows += direct.len();
        }
    }
    assert!(tables >= 60 && rows > 30_000, "{tables} tables, {rows} rows");
}

/// A polygon of 20,000 vertices (320 KB of WKB, some 80 overflow pages) and a long Chinese
/// text beside small rows: the payloads are put together from their overflow chains.
#[test]
fn rows_on_overflow_pages_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("big.geojson");
    let ring: Vec<String> = (0..=20_000)
        .map(|i| {
            let a = std::f64::consts::TAU * f64::from(i % 20_000) / 20_000.0;
            let r = 1000.0 + 37.0 * (a * 7.0).sin();
            format!("[{:.3},{:.3}]", 500_000.0 + r * a.cos(), 3_400_000.0 + r * a.sin())
        })
        .collect();
    let long = "浦东新区陆家嘴金融贸易区".repeat(600);
    let mut features = vec![format!(
        r#"{{"type":"Feature","properties":{{"name":"{long}","n":1}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
        ring.join(",")
    )];
    for i in 0..300 {
        let (x, y) = (500_000.0 + f64::from(i) * 10.0, 3_401_000.0);
        features.push(format!(
            r#"{{"type":"Feature","properties":{{"name":"b{i}","n":{i}}},"geometry":{{"type":"Polygon","coordinates":[[[{x},{y}],[{},{y}],[{},{}],[{x},{y}]]]}}}}"#,
            x + 5.0,
            x + 5.0,
            y + 5.0
        ));
    }
    std::fs::write(
        &json,
        format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(",")),
    )
    .unwrap();
    let gpkg = dir.path().join("big.gpkg");
    let out = Command::new("ogr2ogr")
        .arg(&gpkg)
        .arg(&json)
        .args(["-nln", "big", "-a_srs", "EPSG:4547"])
        .output()
        .expect("ogr2ogr (gdal-bin) is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let direct = read(&gpkg, "big", Reader::Direct).unwrap();
    let sqlite = read(&gpkg, "big", Reader::Sqlite).unwrap();
    assert_same(&direct, &sqlite, "big");
    assert_eq!(direct.len(), 301);
    let name = direct.field_index("name").unwrap();
    assert_eq!(direct.feature(0).value(name), Value::Text(long));
    match &direct.geometries.geometry(0) {
        Some(geo::Geometry::Polygon(p)) => assert_eq!(p.exterior().0.len(), 20_001),
        other => panic!("{other:?}"),
    }
}

/// A column added after the rows were written: SQLite gives old rows the column's default. The
/// direct reader cannot see defaults in the records, so it declines and SQLite reads instead;
/// without a default the old rows read NULL either way.
#[test]
fn rows_older_than_a_column_with_a_default_are_read_by_sqlite() {
    let (_d, p) = copy_of(&demo(), "added.gpkg");
    let conn = rusqlite::Connection::open(&p).unwrap();
    conn.execute_batch(
        "ALTER TABLE buildings_polygon ADD COLUMN plain INTEGER;
         ALTER TABLE buildings_polygon ADD COLUMN checked INTEGER DEFAULT 7;",
    )
    .unwrap();
    drop(conn);
    let e = read(&p, "buildings_polygon", Reader::Direct).unwrap_err();
    assert!(e.0.contains("default"), "{e}");
    let auto = read(&p, "buildings_polygon", Reader::Auto).unwrap();
    let sqlite = read(&p, "buildings_polygon", Reader::Sqlite).unwrap();
    assert_same(&auto, &sqlite, "added");
    let (plain, checked) = (auto.field_index("plain").unwrap(), auto.field_index("checked").unwrap());
    assert!(auto.len() > 1000);
    assert!(
        auto.features()
            .all(|f| f.value(checked) == Value::Integer(7) && f.value(plain) == Value::Null)
    );
}

/// Rows still in the write-ahead log are not in the main file: the direct reader declines and
/// the layer has them.
#[test]
fn rows_in_the_write_ahead_log_are_read() {
    let (_d, p) = copy_of(&demo(), "wal.gpkg");
    let writer = rusqlite::Connection::open(&p).unwrap();
    let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    writer.execute_batch("PRAGMA wal_autocheckpoint = 0").unwrap();
    drop_triggers(&writer, "buildings_polygon");
    let fid: i64 = writer
        .query_row("SELECT min(fid) FROM buildings_polygon", [], |r| r.get(0))
        .unwrap();
    writer
        .execute("UPDATE buildings_polygon SET name = '东方明珠' WHERE fid = ?1", [fid])
        .unwrap();
    // The writer stays open: its change is only in the log.
    assert!(std::fs::metadata(format!("{}-wal", p.display())).unwrap().len() > 0);
    let e = read(&p, "buildings_polygon", Reader::Direct).unwrap_err();
    assert!(e.0.contains("write-ahead log"), "{e}");
    let auto = read(&p, "buildings_polygon", Reader::Auto).unwrap();
    let name = auto.field_index("name").unwrap();
    let row = auto.fids.iter().position(|&f| f == fid).unwrap();
    assert_eq!(auto.feature(row).value(name), Value::Text("东方明珠".into()));
    drop(writer);
}

/// Garbage written over pages of the table: the direct reader declines or reads, never
/// panics or loops, and the layer read (falling back to SQLite) says what SQLite says.
#[test]
fn damaged_pages_never_panic() {
    let bytes = std::fs::read(demo()).unwrap();
    let page = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut declined, mut read_anyway) = (0, 0);
    for case in 0..24 {
        let mut b = bytes.clone();
        // A few pages past the schema, each hit with a few stray bytes or wiped.
        for _ in 0..3 {
            let pg = 2 + (next() as usize % (b.len() / page - 2));
            if case % 3 == 0 {
                b[pg * page..(pg + 1) * page].fill(0xA5);
            } else {
                for _ in 0..8 {
                    let at = pg * page + next() as usize % page;
                    b[at] = next() as u8;
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(format!("damaged{case}.gpkg"));
        std::fs::write(&p, &b).unwrap();
        for t in ["buildings_polygon", "roads_linestring", "pois"] {
            match read(&p, t, Reader::Direct) {
                Ok(_) => read_anyway += 1,
                Err(_) => declined += 1,
            }
            // Either reader's answer is fine; a panic is not.
            let _ = read(&p, t, Reader::Auto);
        }
    }
    assert!(declined > 0, "no damage noticed ({read_anyway} reads)");
}

/// A truncated file: the direct reader declines, and the error the user sees is SQLite's.
#[test]
fn truncated_geopackage_is_refused_by_both_readers() {
    let bytes = std::fs::read(demo()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.gpkg");
    std::fs::write(&p, &bytes[..bytes.len() * 2 / 3]).unwrap();
    for t in feature_tables(&demo()) {
        match (read(&p, &t, Reader::Auto), read(&p, &t, Reader::Sqlite)) {
            (Ok(a), Ok(b)) => assert_same(&a, &b, &t),
            (Err(a), Err(b)) => assert_eq!(a.0, b.0, "{t}"),
            (a, b) => panic!("{t}: auto {:?} sqlite {:?}", a.map(|l| l.len()), b.map(|l| l.len())),
        }
    }
}

fn drop_triggers(conn: &rusqlite::Connection, table: &str) {
    // GDAL's R-tree triggers call its SQL functions, which plain SQLite lacks.
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1")
        .unwrap()
        .query_map([table], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in names {
        conn.execute_batch(&format!("DROP TRIGGER \"{t}\"")).unwrap();
    }
}

/// Two ways a table's stored values differ from what SQLite gives: an `INTEGER PRIMARY KEY DESC`
/// is not the rowid (the direct reader declines), and a REAL-affinity column (`LONG DOUBLE`)
/// stores whole numbers as integers that SQLite gives back as reals.
#[test]
fn non_rowid_keys_and_real_affinity_read_as_sqlite_gives_them() {
    let (_d, p) = copy_of(&demo(), "quirks.gpkg");
    let conn = rusqlite::Connection::open(&p).unwrap();
    drop_triggers(&conn, "buildings_polygon");
    conn.execute_batch(
        "ALTER TABLE buildings_polygon ADD COLUMN w LONG DOUBLE;
         UPDATE buildings_polygon SET w = fid % 5;
         CREATE TABLE pk_desc (fid INTEGER PRIMARY KEY DESC, geom POLYGON, name TEXT);
         INSERT INTO pk_desc SELECT fid, geom, name FROM buildings_polygon;
         INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
           SELECT 'pk_desc', 'features', 'pk_desc', srs_id FROM gpkg_contents WHERE table_name = 'buildings_polygon';
         INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m)
           SELECT 'pk_desc', 'geom', geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns
           WHERE table_name = 'buildings_polygon';",
    )
    .unwrap();
    drop(conn);
    let direct = read(&p, "buildings_polygon", Reader::Direct).unwrap();
    let sqlite = read(&p, "buildings_polygon", Reader::Sqlite).unwrap();
    assert_same(&direct, &sqlite, "LONG DOUBLE");
    // On disk the whole numbers are integers; read back they are reals, as from SQLite.
    let t = jingwei_layers::btree::Table::open(&p, "buildings_polygon", "fid", &["fid", "w"]).unwrap();
    let mut reals = 0;
    t.scan(i64::MIN, i64::MAX, |_, v| -> Result<(), jingwei_layers::btree::NotDirect> {
        match v[1] {
            rusqlite::types::ValueRef::Real(x) => {
                assert_eq!(x.fract(), 0.0);
                reals += 1;
            }
            other => panic!("{other:?}"),
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(reals, direct.len());
    let e = read(&p, "pk_desc", Reader::Direct).unwrap_err();
    assert!(e.0.contains("rowid"), "{e}");
    let auto = read(&p, "pk_desc", Reader::Auto).unwrap();
    let sqlite = read(&p, "pk_desc", Reader::Sqlite).unwrap();
    assert_same(&auto, &sqlite, "pk_desc");
    assert_eq!(auto.len(), direct.len());
}

/// Closing a file drops every POSIX lock the process holds on it, SQLite's included. A layer
/// read while another connection of this process is writing must leave that writer's lock in
/// place: another process still cannot start writing.
#[test]
fn reading_keeps_a_writers_lock() {
    let (_d, p) = copy_of(&demo(), "locked.gpkg");
    let writer = rusqlite::Connection::open(&p).unwrap();
    drop_triggers(&writer, "pois");
    writer.execute_batch("BEGIN IMMEDIATE; UPDATE pois SET name = name;").unwrap();
    let other = || {
        Command::new("sqlite3")
            .arg(&p)
            .arg("PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK;")
            .output()
            .expect("sqlite3 is installed")
    };
    let before = other();
    assert!(!before.status.success(), "the writer's lock holds before the read");
    for _ in 0..2 {
        read(&p, "buildings_polygon", Reader::Direct).unwrap();
    }
    let after = other();
    assert!(
        !after.status.success(),
        "another process could start writing after a read: {}",
        String::from_utf8_lossy(&after.stdout)
    );
    assert!(
        String::from_utf8_lossy(&after.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    writer.execute_batch("COMMIT").unwrap();
    assert!(other().status.success());
}
