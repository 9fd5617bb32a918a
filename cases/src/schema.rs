//! The GeoPackage side of the store: creating a valid GeoPackage (or adding the case tables to
//! an existing one), and checking a file before using it.

use crate::{CaseError, Result};
use jingwei_layers::Crs;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::Path;

/// `GPKG` as a big-endian 32-bit integer: GeoPackage's SQLite application id.
const GPKG_APPLICATION_ID: i64 = 0x4750_4B47;
/// GeoPackage 1.3 (what GDAL 3.6 fully supports).
const GPKG_USER_VERSION: i64 = 10300;
/// The version of Jingwei's case tables.
const CASES_FORMAT: &str = "1";

fn sql<T>(path: &Path, r: rusqlite::Result<T>) -> Result<T> {
    r.map_err(|source| match source {
        rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::NotADatabase => CaseError::NotAStore {
            path: path.to_path_buf(),
            why: "not a GeoPackage (not an SQLite database, or a damaged one)".into(),
        },
        source => CaseError::Sqlite {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// Open the SQLite file with durable settings: every commit is on disk before it returns
/// (`synchronous=FULL` with a rollback journal, so the GeoPackage stays one self-contained file
/// after each commit), and writers from other processes wait instead of failing.
pub fn connect(path: &Path, create: bool) -> Result<Connection> {
    if path.is_dir() {
        return Err(CaseError::NotAStore {
            path: path.to_path_buf(),
            why: "is a directory, not a GeoPackage file".into(),
        });
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = sql(path, Connection::open_with_flags(path, flags))?;
    sql(path, conn.busy_timeout(std::time::Duration::from_secs(10)))?;
    // Reading the journal mode touches the file: a non-database fails here, clearly.
    let mode: String = sql(path, conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0)))?;
    debug_assert_eq!(mode.to_ascii_lowercase(), "delete");
    sql(path, conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"))?;
    Ok(conn)
}

fn table_exists(conn: &Connection, path: &Path, name: &str) -> Result<bool> {
    sql(
        path,
        conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        ),
    )
    .map(|n| n > 0)
}

/// Make `conn` a GeoPackage with the case tables; returns the srs id of `crs`.
pub fn ensure(conn: &Connection, path: &Path, crs: &Crs) -> Result<i32> {
    let app: i64 = sql(path, conn.query_row("PRAGMA application_id", [], |r| r.get(0)))?;
    let objects: i64 = sql(path, conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)))?;
    if objects > 0 && app != GPKG_APPLICATION_ID && !table_exists(conn, path, "gpkg_contents")? {
        return Err(CaseError::NotAStore {
            path: path.to_path_buf(),
            why: "an SQLite database that is not a GeoPackage; give a .gpkg file or a new file name".into(),
        });
    }
    let (srs_id, org, org_id) = match crs.epsg {
        Some(code) => (code as i32, "EPSG", code as i64),
        None => (100_000, "NONE", 100_000),
    };
    let wkt = crs
        .wkt()
        .ok_or_else(|| CaseError::Invalid(format!("{}: cases cannot be stored in {}", path.display(), crs.label())))?;
    let batch = format!(
        "BEGIN IMMEDIATE;
        PRAGMA application_id = {GPKG_APPLICATION_ID};
        PRAGMA user_version = {GPKG_USER_VERSION};
        CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
            srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
            organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
        INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES
            ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
            ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
        CREATE TABLE IF NOT EXISTS gpkg_contents (
            table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
            description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
            CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
        CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
            table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
            srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
            CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
            CONSTRAINT uk_gc_table_name UNIQUE (table_name),
            CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
            CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
        CREATE TABLE IF NOT EXISTS cases (
            fid INTEGER PRIMARY KEY AUTOINCREMENT,
            geom GEOMETRY,
            case_no TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('pending','confirmed','dismissed','rectifying','closed')),
            priority REAL NOT NULL DEFAULT 0,
            rules TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL CHECK (source IN ('detected','manual')),
            building_layer TEXT,
            building_fid INTEGER,
            assignee TEXT,
            evidence TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            updated_at TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS cases_building ON cases(building_layer, building_fid);
        CREATE TABLE IF NOT EXISTS case_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_fid INTEGER NOT NULL REFERENCES cases(fid),
            at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            field TEXT, old_value TEXT, new_value TEXT);
        CREATE INDEX IF NOT EXISTS case_audit_case ON case_audit(case_fid);
        CREATE TABLE IF NOT EXISTS case_notes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_fid INTEGER NOT NULL REFERENCES cases(fid),
            at TEXT NOT NULL, actor TEXT NOT NULL, text TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS case_attachments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            case_fid INTEGER NOT NULL REFERENCES cases(fid),
            at TEXT NOT NULL, actor TEXT NOT NULL, name TEXT NOT NULL, mime TEXT NOT NULL,
            size INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS jingwei_metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        {INCIDENT_TABLES}
        {CHAIN_TABLES}
        CREATE TRIGGER IF NOT EXISTS case_audit_append_only_u BEFORE UPDATE ON case_audit
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS case_audit_append_only_d BEFORE DELETE ON case_audit
            BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS cases_never_deleted BEFORE DELETE ON cases
            BEGIN SELECT RAISE(ABORT, 'cases are closed or dismissed, never deleted'); END;
        INSERT OR IGNORE INTO gpkg_contents(table_name, data_type, identifier, description, srs_id)
            VALUES ('case_audit', 'attributes', 'case_audit', 'Jingwei: audit trail of the cases (append-only)', NULL),
                   ('case_notes', 'attributes', 'case_notes', 'Jingwei: notes on the cases', NULL),
                   ('case_attachments', 'attributes', 'case_attachments', 'Jingwei: photos and files of the cases', NULL),
                   ('jingwei_metadata', 'attributes', 'jingwei_metadata', 'Jingwei: store metadata', NULL);
        INSERT OR IGNORE INTO jingwei_metadata VALUES ('cases_format', '{CASES_FORMAT}');
        "
    );
    sql(path, conn.execute_batch(&batch))?;
    let r = (|| {
        conn.execute(
            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
            params![crs.name, srs_id, org, org_id, wkt],
        )?;
        // The store's CRS is fixed when the cases table is registered.
        let registered: Option<i32> = conn
            .query_row("SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = 'cases'", [], |r| {
                r.get(0)
            })
            .optional()?;
        register_incidents(conn, registered.unwrap_or(srs_id))?;
        match registered {
            Some(id) => Ok(id),
            None => {
                conn.execute(
                    "INSERT INTO gpkg_contents(table_name, data_type, identifier, description, srs_id) \
                     VALUES ('cases', 'features', 'cases', 'Jingwei: violation cases (线索)', ?1)",
                    [srs_id],
                )?;
                conn.execute(
                    "INSERT INTO gpkg_geometry_columns VALUES ('cases', 'geom', 'GEOMETRY', ?1, 0, 0)",
                    [srs_id],
                )?;
                Ok(srs_id)
            }
        }
    })();
    match r {
        Ok(registered) => {
            sql(path, conn.execute_batch("COMMIT"))?;
            if registered != srs_id {
                return Err(CaseError::Invalid(format!(
                    "{}: the cases are stored in srs {registered}, not in {} (open the store with its own CRS)",
                    path.display(),
                    crs.label()
                )));
            }
            Ok(srs_id)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            sql(path, Err(e))
        }
    }
}

/// The tamper-evident audit chain (`crate::chain`, layout 1) and its signed checkpoints; every
/// write of the store appends to it in the same transaction. A store made before the chain gets
/// the tables when it is next opened, and its chain starts there.
pub(crate) const CHAIN_TABLES: &str = "
        CREATE TABLE IF NOT EXISTS jingwei_audit (
            seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, department TEXT,
            action TEXT NOT NULL, entity TEXT NOT NULL, entity_id INTEGER, detail TEXT,
            prev BLOB NOT NULL, hash BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS jingwei_audit_checkpoint (
            id INTEGER PRIMARY KEY AUTOINCREMENT, seq INTEGER NOT NULL, head BLOB NOT NULL,
            at TEXT NOT NULL, key TEXT NOT NULL, signature BLOB NOT NULL);
        CREATE TRIGGER IF NOT EXISTS jingwei_audit_append_only_u BEFORE UPDATE ON jingwei_audit
            BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS jingwei_audit_append_only_d BEFORE DELETE ON jingwei_audit
            BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS jingwei_checkpoint_append_only_u BEFORE UPDATE ON jingwei_audit_checkpoint
            BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
        CREATE TRIGGER IF NOT EXISTS jingwei_checkpoint_append_only_d BEFORE DELETE ON jingwei_audit_checkpoint
            BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
        INSERT OR IGNORE INTO gpkg_contents(table_name, data_type, identifier, description, srs_id)
            VALUES ('jingwei_audit', 'attributes', 'jingwei_audit', 'Jingwei: SM3 audit chain (append-only)', NULL),
                   ('jingwei_audit_checkpoint', 'attributes', 'jingwei_audit_checkpoint', 'Jingwei: SM2-signed checkpoints of the audit chain', NULL);
";

/// The incident tables: a feature table and its append-only action log.
const INCIDENT_TABLES: &str = "
        CREATE TABLE IF NOT EXISTS incidents (
            fid INTEGER PRIMARY KEY AUTOINCREMENT,
            geom GEOMETRY,
            incident_no TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            severity TEXT,
            status TEXT NOT NULL CHECK (status IN ('active','contained','closed')),
            title TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT 'manual',
            event_id TEXT,
            rings_m TEXT,
            occurred_at TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            updated_at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS incident_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            incident_fid INTEGER NOT NULL REFERENCES incidents(fid),
            at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT);
        CREATE TRIGGER IF NOT EXISTS incident_log_append_only_u BEFORE UPDATE ON incident_log
            BEGIN SELECT RAISE(ABORT, 'the incident log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS incident_log_append_only_d BEFORE DELETE ON incident_log
            BEGIN SELECT RAISE(ABORT, 'the incident log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS incidents_never_deleted BEFORE DELETE ON incidents
            BEGIN SELECT RAISE(ABORT, 'incidents are closed, never deleted'); END;
";

fn register_incidents(conn: &Connection, srs_id: i32) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_contents(table_name, data_type, identifier, description, srs_id) \
         VALUES ('incidents', 'features', 'incidents', 'Jingwei: incidents (事件)', ?1), \
                ('incident_log', 'attributes', 'incident_log', 'Jingwei: incident action log (append-only)', NULL)",
        [srs_id],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_geometry_columns VALUES ('incidents', 'geom', 'GEOMETRY', ?1, 0, 0)",
        [srs_id],
    )?;
    Ok(())
}

/// Check that an existing file holds the case tables; returns the srs id and, when PROJ knows
/// it, the CRS of the case geometries.
pub fn check(conn: &Connection, path: &Path) -> Result<(i32, Option<Crs>)> {
    if !table_exists(conn, path, "gpkg_contents")? {
        return Err(CaseError::NotAStore {
            path: path.to_path_buf(),
            why: "not a GeoPackage".into(),
        });
    }
    for t in [
        "cases",
        "case_audit",
        "case_notes",
        "case_attachments",
        "jingwei_metadata",
        "incidents",
        "incident_log",
    ] {
        if !table_exists(conn, path, t)? {
            return Err(CaseError::NotAStore {
                path: path.to_path_buf(),
                why: format!("a GeoPackage without Jingwei's case tables (no '{t}')"),
            });
        }
    }
    // Stores made before the audit chain get its tables now (one transaction; idempotent).
    if !table_exists(conn, path, "jingwei_audit")? {
        sql(path, conn.execute_batch(&format!("BEGIN IMMEDIATE; {CHAIN_TABLES} COMMIT;")))?;
    }
    let (srs_id, org, org_id, def): (i32, String, i64, String) = sql(
        path,
        conn.query_row(
            "SELECT s.srs_id, s.organization, s.organization_coordsys_id, s.definition FROM gpkg_geometry_columns g \
             JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id WHERE g.table_name = 'cases'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        ),
    )?;
    let crs = if org.eq_ignore_ascii_case("EPSG") {
        Crs::from_epsg(org_id as u32).ok()
    } else {
        Crs::parse(&def).ok()
    };
    Ok((srs_id, crs))
}
