//! # jingwei-cases
//!
//! The inspector's case loop (发现 → 核查 → 处置 → 结案): suspected violations become cases
//! (线索) with a status, an assignee, notes, attachments and the geometry they concern, kept in
//! the workspace's GeoPackage. Every change is one SQLite transaction that also appends to an
//! append-only audit trail (who, when, what, old and new value), so a crash at any moment loses
//! no committed change and never leaves a half-written one.
//!
//! The GeoPackage tables (readable by GDAL, QGIS and any SQLite client):
//! - `cases` — a feature table (geometry `geom` in the workspace CRS);
//! - `case_audit`, `case_notes`, `case_attachments` — attribute tables; triggers refuse updates and
//!   deletes of audit rows, and deletes of cases (a case is closed or dismissed, never erased);
//! - `jingwei_metadata` — key/value pairs (format version, where the findings came from).
//!
//! No UI dependencies.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chain;
mod export;
pub mod incidents;
mod schema;
pub mod seal;

pub use export::{CsvOptions, csv_string, geojson_value};

use geo::{Area, Geometry};
use jingwei_analysis::violations::{Finding, Rule};
use jingwei_layers::Crs;
use jingwei_layers::wkb::{gpkg_blob, parse_gpkg_blob};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Errors of the case store; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// SQLite failed on the file.
    #[error("{}: {source}", path.display())]
    Sqlite {
        /// The store.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a Jingwei case store (or not a GeoPackage).
    #[error("{}: {why}", path.display())]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// Why not.
        why: String,
    },
    /// No case with this id or number.
    #[error("{}: no case '{id}'", path.display())]
    NoCase {
        /// The store.
        path: PathBuf,
        /// The id asked for.
        id: String,
    },
    /// A status change the case loop does not allow.
    #[error("case {case_no}: cannot go from {} to {} (allowed: {allowed})", from.name_zh(), to.name_zh())]
    Transition {
        /// The case.
        case_no: String,
        /// Current status.
        from: Status,
        /// Requested status.
        to: Status,
        /// The statuses reachable from `from`.
        allowed: String,
    },
    /// Bad input from the caller.
    #[error("{0}")]
    Invalid(String),
}

/// Now, as ISO 8601 UTC with milliseconds (`2026-11-22T13:50:51.123Z`).
pub fn now_utc() -> String {
    // SQLite's own calendar (proleptic Gregorian, UTC, milliseconds): the store's clock and
    // the one its triggers and queries compare with.
    rusqlite::Connection::open_in_memory()
        .and_then(|c| c.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |r| r.get(0)))
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

/// Result of the case store.
pub type Result<T> = std::result::Result<T, CaseError>;

/// The status of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 待核查: found, not yet checked on site.
    Pending,
    /// 已核实: confirmed on site.
    Confirmed,
    /// 已排除: checked and not a violation.
    Dismissed,
    /// 整改中: being rectified (demolition, permit supplement, fine).
    Rectifying,
    /// 已结案: closed.
    Closed,
}

impl Status {
    /// Every status in loop order.
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Confirmed,
        Status::Dismissed,
        Status::Rectifying,
        Status::Closed,
    ];

    /// Stable identifier.
    pub fn id(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Confirmed => "confirmed",
            Status::Dismissed => "dismissed",
            Status::Rectifying => "rectifying",
            Status::Closed => "closed",
        }
    }

    /// Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Status::Pending => "待核查",
            Status::Confirmed => "已核实",
            Status::Dismissed => "已排除",
            Status::Rectifying => "整改中",
            Status::Closed => "已结案",
        }
    }

    /// Parse an identifier or a Chinese name.
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim();
        Status::ALL
            .into_iter()
            .find(|st| st.id().eq_ignore_ascii_case(s) || st.name_zh() == s)
    }

    /// Whether a case is still open (needs work).
    pub fn is_open(self) -> bool {
        matches!(self, Status::Pending | Status::Confirmed | Status::Rectifying)
    }

    /// The statuses a case may move to from this one: pending → confirmed | dismissed;
    /// confirmed → rectifying | closed | dismissed; rectifying → closed | confirmed (the
    /// rectification failed); dismissed → closed | pending (reopened); closed → pending (reopened).
    pub fn next(self) -> &'static [Status] {
        match self {
            Status::Pending => &[Status::Confirmed, Status::Dismissed],
            Status::Confirmed => &[Status::Rectifying, Status::Closed, Status::Dismissed],
            Status::Rectifying => &[Status::Closed, Status::Confirmed],
            Status::Dismissed => &[Status::Closed, Status::Pending],
            Status::Closed => &[Status::Pending],
        }
    }
}

/// One case.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Case {
    /// Row id (the feature id in the GeoPackage).
    pub id: i64,
    /// Case number, e.g. `WJ2026-000042`.
    pub case_no: String,
    /// Status.
    pub status: Status,
    /// Priority score 0–100 (see `jingwei_analysis::violations`).
    pub priority: f64,
    /// Rules broken (rule ids; `manual` for a hand-flagged case without rules).
    pub rules: Vec<String>,
    /// A short title.
    pub title: String,
    /// `detected` or `manual`.
    pub source: String,
    /// The buildings layer the case concerns.
    pub building_layer: Option<String>,
    /// The building's feature id.
    pub building_fid: Option<i64>,
    /// Assigned inspector.
    pub assignee: Option<String>,
    /// Evidence numbers (the finding's evidence as JSON).
    #[ts(type = "any")]
    pub evidence: serde_json::Value,
    /// Created, ISO 8601 UTC.
    pub created_at: String,
    /// Created by.
    pub created_by: String,
    /// Last change, ISO 8601 UTC.
    pub updated_at: String,
    /// Geometry in the store's CRS.
    #[serde(skip)]
    pub geometry: Option<Geometry>,
}

/// What a case points at on the map, from its evidence: the building, the permit it was
/// compared with and the zones it breaks, each as (layer name, feature id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseRefs {
    /// The building.
    pub building: Option<(String, i64)>,
    /// The permit.
    pub permit: Option<(String, i64)>,
    /// The zones.
    pub zones: Vec<(String, i64)>,
}

impl Case {
    /// The features this case is about.
    pub fn refs(&self) -> CaseRefs {
        let e = &self.evidence;
        CaseRefs {
            building: self.building_layer.clone().zip(self.building_fid),
            permit: e["permit"]["layer"].as_str().map(str::to_string).zip(e["permit"]["fid"].as_i64()),
            zones: e["zones"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|z| Some((z["layer"].as_str()?.to_string(), z["fid"].as_i64()?)))
                .collect(),
        }
    }
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Note {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// Text.
    pub text: String,
}

/// An attachment (photo, document) of a case, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Attachment {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Size in bytes.
    pub size: i64,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct AuditEntry {
    /// Row id (increasing).
    pub id: i64,
    /// The case.
    pub case_id: i64,
    /// When (ISO 8601 UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What: `create`, `redetect`, `status`, `assignee`, `note`, `attach`.
    pub action: String,
    /// The field changed.
    pub field: Option<String>,
    /// Old value.
    pub old_value: Option<String>,
    /// New value.
    pub new_value: Option<String>,
}

/// A case with everything attached to it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CaseDetail {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// Notes, oldest first.
    pub notes: Vec<Note>,
    /// Attachments, oldest first.
    pub attachments: Vec<Attachment>,
    /// Audit trail, oldest first.
    pub audit: Vec<AuditEntry>,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these statuses (all when empty).
    pub statuses: Vec<Status>,
    /// Only cases that broke this rule.
    pub rule: Option<String>,
    /// Only cases in a zone of this (normalised) type.
    pub zone_type: Option<String>,
    /// Only cases assigned to this inspector.
    pub assignee: Option<String>,
    /// Only cases of at least this priority.
    pub min_priority: Option<f64>,
}

impl Filter {
    fn accepts(&self, c: &Case) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&c.status))
            && self.rule.as_ref().is_none_or(|r| c.rules.iter().any(|x| x == r))
            && self.zone_type.as_ref().is_none_or(|z| {
                c.evidence["zones"]
                    .as_array()
                    .is_some_and(|zs| zs.iter().any(|e| e["zone_type"].as_str() == Some(z.as_str())))
            })
            && self.assignee.as_ref().is_none_or(|a| c.assignee.as_deref() == Some(a.as_str()))
            && self.min_priority.is_none_or(|p| c.priority >= p)
    }
}

/// What an import of findings did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// New cases.
    pub created: usize,
    /// Open cases of the same building whose rules, priority or evidence changed.
    pub updated: usize,
    /// Open cases found again unchanged.
    pub unchanged: usize,
}

/// A case store: the case tables of one GeoPackage.
pub struct CaseStore {
    pub(crate) conn: Connection,
    path: PathBuf,
    pub(crate) srs_id: i32,
    crs: Option<Crs>,
    /// Seals attachments at rest (SM4-GCM) and opens them.
    key: Option<seal::DataKey>,
}

/// The environment variable naming the SM4 data key file (32 hex digits) that case stores seal
/// attachments with when opened.
pub const DATA_KEY_ENV: &str = "JINGWEI_DATA_KEY_FILE";

/// The data key named by [`DATA_KEY_ENV`], if set.
pub fn data_key_from_env() -> Result<Option<seal::DataKey>> {
    let Some(path) = std::env::var_os(DATA_KEY_ENV) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path).map_err(|source| CaseError::Io {
        path: path.clone(),
        source,
    })?;
    seal::DataKey::from_hex(text.trim())
        .map(Some)
        .map_err(|e| CaseError::Invalid(format!("{} ({DATA_KEY_ENV}): {e}", path.display())))
}

fn attachment_context(case_fid: i64, name: &str) -> Vec<u8> {
    format!("jingwei:gpkg-attachment:{case_fid}:{name}").into_bytes()
}

const CASE_COLUMNS: &str = "fid, case_no, status, priority, rules, title, source, building_layer, building_fid, assignee, evidence, created_at, created_by, updated_at, geom";

impl CaseStore {
    /// Open the case tables of a GeoPackage, creating the file (a valid GeoPackage) or the tables
    /// when missing. `crs` is the workspace CRS the geometries are in; for an existing store it
    /// must be the one the store was made with.
    pub fn open_or_create(path: &Path, crs: &Crs) -> Result<CaseStore> {
        let conn = schema::connect(path, true)?;
        let srs_id = schema::ensure(&conn, path, crs)?;
        Ok(CaseStore {
            conn,
            path: path.to_path_buf(),
            srs_id,
            crs: Some(crs.clone()),
            key: data_key_from_env()?,
        })
    }

    /// Open an existing store (an error naming the file when it is not one).
    pub fn open(path: &Path) -> Result<CaseStore> {
        if !path.exists() {
            return Err(CaseError::NotAStore {
                path: path.to_path_buf(),
                why: "no such file (create one with `jingwei violations … --out FILE` or `jingwei cases flag`)".into(),
            });
        }
        let conn = schema::connect(path, false)?;
        let (srs_id, crs) = schema::check(&conn, path)?;
        Ok(CaseStore {
            conn,
            path: path.to_path_buf(),
            srs_id,
            crs,
            key: data_key_from_env()?,
        })
    }

    /// Seal new attachments with this SM4 data key, and open sealed ones (instead of the key
    /// named by [`DATA_KEY_ENV`]).
    pub fn with_data_key(mut self, key: seal::DataKey) -> CaseStore {
        self.key = Some(key);
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The CRS of the case geometries (when the store's srs is known to PROJ).
    pub fn crs(&self) -> Option<&Crs> {
        self.crs.as_ref()
    }

    pub(crate) fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|source| CaseError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    /// All rows of a query, mapped.
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let r = self
            .conn
            .prepare(sql)
            .and_then(|mut s| s.query_map(params, f)?.collect::<rusqlite::Result<Vec<T>>>());
        self.sql(r)
    }

    /// Set a metadata value (e.g. where the findings came from), in its own transaction.
    pub fn set_metadata(&mut self, key: &str, value: &str) -> Result<()> {
        let r = self.conn.execute(
            "INSERT INTO jingwei_metadata(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        );
        self.sql(r).map(|_| ())
    }

    /// Put a copy of a case from another store (the shared store's check-out) into this one as it
    /// is: its number, status, assignee and times kept (its `id` is not: it gets one here, which
    /// is returned); audited as `checkout`. The geometry must be in this store's CRS.
    pub fn insert_copy(&mut self, c: &Case, actor: &str) -> Result<i64> {
        let now = now_utc();
        self.write(|tx, srs| {
            let geom = c.geometry.as_ref().map(|g| gpkg_blob(g, srs));
            tx.execute(
                "INSERT INTO cases(geom, case_no, status, priority, rules, title, source, assignee, evidence, created_at, created_by, updated_at, building_layer, building_fid) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    geom,
                    c.case_no,
                    c.status.id(),
                    c.priority,
                    c.rules.join(","),
                    c.title,
                    c.source,
                    c.assignee,
                    c.evidence.to_string(),
                    c.created_at,
                    c.created_by,
                    c.updated_at,
                    c.building_layer,
                    c.building_fid
                ],
            )?;
            let id = tx.last_insert_rowid();
            audit(tx, id, &now, actor, "checkout", None, None, Some(&c.case_no))?;
            Ok(id)
        })
    }

    /// Add a note as it was written elsewhere (who and when kept), without an audit entry of
    /// its own: the copy's `checkout` entry covers it.
    pub fn insert_note_copy(&mut self, case_id: i64, at: &str, actor: &str, text: &str) -> Result<i64> {
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO case_notes(case_fid, at, actor, text) VALUES (?1, ?2, ?3, ?4)",
                params![case_id, at, actor, text],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    /// A metadata value.
    pub fn metadata(&self, key: &str) -> Result<Option<String>> {
        let r = self
            .conn
            .query_row("SELECT value FROM jingwei_metadata WHERE key = ?1", [key], |r| r.get(0))
            .optional();
        self.sql(r)
    }

    /// Run `f` in one IMMEDIATE transaction: all of it is committed, or none.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&rusqlite::Transaction<'_>, i32) -> rusqlite::Result<T>) -> Result<T> {
        let srs = self.srs_id;
        let path = self.path.clone();
        let map = |source| CaseError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map)?;
        let out = f(&tx, srs).map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(out)
    }

    /// Turn findings into cases, in one transaction. A building that already has an open case
    /// gets that case updated (with audit entries for what changed) instead of a second case.
    /// `geometry_of(finding)` gives the building's geometry in the store's CRS.
    pub fn import_findings(
        &mut self,
        findings: &[Finding],
        building_layer: &str,
        geometry_of: impl Fn(&Finding) -> Option<Geometry>,
        actor: &str,
    ) -> Result<ImportSummary> {
        let now = now_utc();
        let prepared: Vec<(String, String, f64, String, Option<Vec<u8>>, i64)> = findings
            .iter()
            .map(|f| {
                let rules: Vec<&str> = f.rules.iter().map(|r| r.id()).collect();
                let title: Vec<&str> = f.rules.iter().map(|r| r.name_zh()).collect();
                let evidence = serde_json::to_string(&f.evidence).unwrap_or_default();
                let geom = geometry_of(f).map(|g| gpkg_blob(&g, self.srs_id));
                (rules.join(","), title.join("、"), f.priority, evidence, geom, f.building_fid)
            })
            .collect();
        self.write(|tx, _| {
            let mut summary = ImportSummary::default();
            let mut find_open = tx.prepare(
                "SELECT fid, rules, priority, evidence FROM cases WHERE building_layer = ?1 AND building_fid = ?2 \
                 AND status IN ('pending','confirmed','rectifying') ORDER BY fid LIMIT 1",
            )?;
            for (rules, title, priority, evidence, geom, fid) in &prepared {
                let existing: Option<(i64, String, f64, String)> = find_open
                    .query_row(params![building_layer, fid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .optional()?;
                match existing {
                    None => {
                        let id = insert_case(
                            tx,
                            NewCase {
                                geom: geom.as_deref(),
                                status: Status::Pending,
                                priority: *priority,
                                rules,
                                title,
                                source: "detected",
                                building_layer: Some(building_layer),
                                building_fid: Some(*fid),
                                evidence,
                            },
                            &now,
                            actor,
                        )?;
                        audit(tx, id, &now, actor, "create", None, None, Some(rules))?;
                        summary.created += 1;
                    }
                    Some((id, old_rules, old_priority, old_evidence)) => {
                        let mut changed = false;
                        if &old_rules != rules {
                            audit(tx, id, &now, actor, "redetect", Some("rules"), Some(&old_rules), Some(rules))?;
                            changed = true;
                        }
                        if old_priority != *priority {
                            let (o, n) = (old_priority.to_string(), priority.to_string());
                            audit(tx, id, &now, actor, "redetect", Some("priority"), Some(&o), Some(&n))?;
                            changed = true;
                        }
                        if &old_evidence != evidence {
                            audit(tx, id, &now, actor, "redetect", Some("evidence"), Some(&old_evidence), Some(evidence))?;
                            changed = true;
                        }
                        if changed {
                            tx.execute(
                                "UPDATE cases SET rules = ?1, title = ?2, priority = ?3, evidence = ?4, geom = COALESCE(?5, geom), updated_at = ?6 WHERE fid = ?7",
                                params![rules, title, priority, evidence, geom, now, id],
                            )?;
                            summary.updated += 1;
                        } else {
                            summary.unchanged += 1;
                        }
                    }
                }
            }
            drop(find_open);
            update_extent(tx)?;
            Ok(summary)
        })
    }

    /// Flag a case by hand on a building or a drawn polygon (geometry in the store's CRS).
    pub fn flag(
        &mut self,
        geometry: &Geometry,
        building: Option<(&str, i64)>,
        title: &str,
        note: Option<&str>,
        actor: &str,
    ) -> Result<Case> {
        if geometry.unsigned_area() <= 0.0 && !matches!(geometry, Geometry::Point(_)) {
            return Err(CaseError::Invalid(
                "a case needs a point, a building or a polygon with an area".into(),
            ));
        }
        let now = now_utc();
        let blob = gpkg_blob(geometry, self.srs_id);
        let evidence = serde_json::json!({ "area_m2": geometry.unsigned_area() }).to_string();
        let id = self.write(|tx, _| {
            let id = insert_case(
                tx,
                NewCase {
                    geom: Some(&blob),
                    status: Status::Pending,
                    priority: 0.0,
                    rules: "manual",
                    title,
                    source: "manual",
                    building_layer: building.map(|b| b.0),
                    building_fid: building.map(|b| b.1),
                    evidence: &evidence,
                },
                &now,
                actor,
            )?;
            audit(tx, id, &now, actor, "create", None, None, Some("manual"))?;
            if let Some(text) = note {
                tx.execute(
                    "INSERT INTO case_notes(case_fid, at, actor, text) VALUES (?1, ?2, ?3, ?4)",
                    params![id, now, actor, text],
                )?;
                audit(tx, id, &now, actor, "note", None, None, Some(text))?;
            }
            update_extent(tx)?;
            Ok(id)
        })?;
        self.case(&id.to_string())
    }

    /// Resolve a case id or case number.
    fn resolve(&self, key: &str) -> Result<i64> {
        let r = self
            .conn
            .query_row(
                "SELECT fid FROM cases WHERE case_no = ?1 OR (CAST(fid AS TEXT) = ?1)",
                [key.trim()],
                |r| r.get::<_, i64>(0),
            )
            .optional();
        self.sql(r)?.ok_or_else(|| CaseError::NoCase {
            path: self.path.clone(),
            id: key.to_string(),
        })
    }

    /// One case by id or number.
    pub fn case(&self, key: &str) -> Result<Case> {
        let id = self.resolve(key)?;
        let r = self
            .conn
            .query_row(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE fid = ?1"), [id], row_to_case);
        self.sql(r)
    }

    /// Cases matching the filter, highest priority first (then oldest first).
    pub fn list(&self, filter: &Filter) -> Result<Vec<Case>> {
        let rows = self.rows(
            &format!("SELECT {CASE_COLUMNS} FROM cases ORDER BY priority DESC, fid"),
            [],
            row_to_case,
        )?;
        Ok(rows.into_iter().filter(|c| filter.accepts(c)).collect())
    }

    /// A case with its notes, attachments and audit trail.
    pub fn detail(&self, key: &str) -> Result<CaseDetail> {
        let case = self.case(key)?;
        let id = case.id;
        let notes = self.rows(
            "SELECT id, at, actor, text FROM case_notes WHERE case_fid = ?1 ORDER BY id",
            [id],
            |r| {
                Ok(Note {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    text: r.get(3)?,
                })
            },
        )?;
        let attachments = self.rows(
            "SELECT id, at, actor, name, mime, size FROM case_attachments WHERE case_fid = ?1 ORDER BY id",
            [id],
            attachment_row,
        )?;
        let audit = self.audit_trail(Some(id))?;
        Ok(CaseDetail {
            case,
            notes,
            attachments,
            audit,
        })
    }

    /// The audit trail of one case, or of all cases, oldest first.
    pub fn audit_trail(&self, case_id: Option<i64>) -> Result<Vec<AuditEntry>> {
        self.rows(
            "SELECT id, case_fid, at, actor, action, field, old_value, new_value FROM case_audit \
             WHERE ?1 IS NULL OR case_fid = ?1 ORDER BY id",
            [case_id],
            |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    case_id: r.get(1)?,
                    at: r.get(2)?,
                    actor: r.get(3)?,
                    action: r.get(4)?,
                    field: r.get(5)?,
                    old_value: r.get(6)?,
                    new_value: r.get(7)?,
                })
            },
        )
    }

    /// Move a case to a new status (checked against the loop), with an optional comment kept
    /// as a note; one transaction.
    pub fn set_status(&mut self, key: &str, to: Status, comment: Option<&str>, actor: &str) -> Result<Case> {
        // A blank comment is no comment (no empty note in the record).
        let comment = comment.filter(|c| !c.trim().is_empty());
        let case = self.case(key)?;
        if !case.status.next().contains(&to) {
            return Err(CaseError::Transition {
                case_no: case.case_no,
                from: case.status,
                to,
                allowed: case
                    .status
                    .next()
                    .iter()
                    .map(|s| format!("{} {}", s.id(), s.name_zh()))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let now = now_utc();
        let from = case.status;
        self.write(|tx, _| {
            // Guard against a concurrent change between the read above and this transaction.
            let n = tx.execute(
                "UPDATE cases SET status = ?1, updated_at = ?2 WHERE fid = ?3 AND status = ?4",
                params![to.id(), now, case.id, from.id()],
            )?;
            if n != 1 {
                return Err(rusqlite::Error::QueryReturnedNoRows);
            }
            audit(tx, case.id, &now, actor, "status", Some("status"), Some(from.id()), Some(to.id()))?;
            if let Some(text) = comment {
                tx.execute(
                    "INSERT INTO case_notes(case_fid, at, actor, text) VALUES (?1, ?2, ?3, ?4)",
                    params![case.id, now, actor, text],
                )?;
                audit(tx, case.id, &now, actor, "note", None, None, Some(text))?;
            }
            Ok(())
        })?;
        self.case(&case.id.to_string())
    }

    /// Assign a case to an inspector (`None`: unassign).
    pub fn assign(&mut self, key: &str, assignee: Option<&str>, actor: &str) -> Result<Case> {
        let case = self.case(key)?;
        let now = now_utc();
        self.write(|tx, _| {
            tx.execute(
                "UPDATE cases SET assignee = ?1, updated_at = ?2 WHERE fid = ?3",
                params![assignee, now, case.id],
            )?;
            audit(
                tx,
                case.id,
                &now,
                actor,
                "assignee",
                Some("assignee"),
                case.assignee.as_deref(),
                assignee,
            )
        })?;
        self.case(&case.id.to_string())
    }

    /// Add a note; returns its id.
    pub fn add_note(&mut self, key: &str, text: &str, actor: &str) -> Result<i64> {
        if text.trim().is_empty() {
            return Err(CaseError::Invalid("a note needs text".into()));
        }
        let id = self.resolve(key)?;
        let now = now_utc();
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO case_notes(case_fid, at, actor, text) VALUES (?1, ?2, ?3, ?4)",
                params![id, now, actor, text],
            )?;
            let note = tx.last_insert_rowid();
            tx.execute("UPDATE cases SET updated_at = ?1 WHERE fid = ?2", params![now, id])?;
            audit(tx, id, &now, actor, "note", None, None, Some(text))?;
            Ok(note)
        })
    }

    /// Attach a file (photo, scan, document), stored inside the GeoPackage; returns its id.
    pub fn attach(&mut self, key: &str, file: &Path, actor: &str) -> Result<i64> {
        const LIMIT: u64 = 100 << 20;
        let meta = std::fs::metadata(file).map_err(|source| CaseError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        if !meta.is_file() {
            return Err(CaseError::Invalid(format!("{}: not a file", file.display())));
        }
        if meta.len() > LIMIT {
            return Err(CaseError::Invalid(format!(
                "{}: {} MB is over the 100 MB limit per attachment",
                file.display(),
                meta.len() >> 20
            )));
        }
        let bytes = std::fs::read(file).map_err(|source| CaseError::Io {
            path: file.to_path_buf(),
            source,
        })?;
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.attach_bytes(key, &name, &bytes, actor)
    }

    /// Attach bytes under a file name (a photo taken in the app, a file sent by a field app).
    pub fn attach_bytes(&mut self, key: &str, name: &str, bytes: &[u8], actor: &str) -> Result<i64> {
        if name.trim().is_empty() || bytes.is_empty() {
            return Err(CaseError::Invalid("an attachment needs a file name and some bytes".into()));
        }
        if bytes.len() as u64 > 100 << 20 {
            return Err(CaseError::Invalid(format!(
                "{name}: {} MB is over the 100 MB limit per attachment",
                bytes.len() >> 20
            )));
        }
        let mime = mime_of(name);
        let id = self.resolve(key)?;
        let now = now_utc();
        // Sealed at rest when the store has a data key: the file then holds no photo in clear.
        let data: std::borrow::Cow<'_, [u8]> = match &self.key {
            Some(k) => k.seal(bytes, &attachment_context(id, name)).into(),
            None => bytes.into(),
        };
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO case_attachments(case_fid, at, actor, name, mime, size, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, now, actor, name, mime, bytes.len() as i64, data.as_ref()],
            )?;
            let att = tx.last_insert_rowid();
            tx.execute("UPDATE cases SET updated_at = ?1 WHERE fid = ?2", params![now, id])?;
            audit(tx, id, &now, actor, "attach", None, None, Some(name))?;
            Ok(att)
        })
    }

    /// The bytes of an attachment.
    pub fn attachment_data(&self, attachment_id: i64) -> Result<(Attachment, Vec<u8>)> {
        let r = self
            .conn
            .query_row(
                "SELECT id, at, actor, name, mime, size, data, case_fid FROM case_attachments WHERE id = ?1",
                [attachment_id],
                |r| Ok((attachment_row(r)?, r.get::<_, Vec<u8>>(6)?, r.get::<_, i64>(7)?)),
            )
            .optional();
        let (a, data, case_fid) = self.sql(r)?.ok_or_else(|| CaseError::NoCase {
            path: self.path.clone(),
            id: format!("attachment {attachment_id}"),
        })?;
        if !seal::is_sealed(&data) {
            return Ok((a, data));
        }
        let key = self.key.as_ref().ok_or_else(|| {
            CaseError::Invalid(format!(
                "{}: attachment {} is sealed (SM4-GCM); give the data key ({DATA_KEY_ENV})",
                self.path.display(),
                a.name
            ))
        })?;
        let clear = key
            .open(&data, &attachment_context(case_fid, &a.name))
            .map_err(|e| CaseError::Invalid(format!("{}: attachment {}: {e}", self.path.display(), a.name)))?;
        Ok((a, clear))
    }

    /// Copy the cases matching `filter`, with their notes, attachments and audit trail, into a
    /// new GeoPackage (which must not exist yet), in one transaction there.
    pub fn export_gpkg(&self, filter: &Filter, out: &Path) -> Result<usize> {
        if out.exists() {
            return Err(CaseError::Invalid(format!("{}: already exists; choose a new file", out.display())));
        }
        let crs = self
            .crs
            .clone()
            .ok_or_else(|| CaseError::Invalid(format!("{}: the store's CRS is unknown", self.path.display())))?;
        let cases = self.list(filter)?;
        let mut dest = CaseStore::open_or_create(out, &crs)?;
        let ids: Vec<i64> = cases.iter().map(|c| c.id).collect();
        let src = self.path.to_string_lossy().into_owned();
        let n = dest.write(|tx, _| {
            tx.execute("ATTACH DATABASE ?1 AS src", [&src])?;
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            tx.execute_batch(&format!(
                "INSERT INTO cases SELECT * FROM src.cases WHERE fid IN ({list});
                 INSERT INTO case_notes SELECT * FROM src.case_notes WHERE case_fid IN ({list});
                 INSERT INTO case_attachments SELECT * FROM src.case_attachments WHERE case_fid IN ({list});
                 INSERT INTO case_audit SELECT * FROM src.case_audit WHERE case_fid IN ({list});"
            ))?;
            update_extent(tx)?;
            Ok(ids.len())
        })?;
        // DETACH cannot run inside a transaction.
        dest.sql(dest.conn.execute("DETACH DATABASE src", []))?;
        Ok(n)
    }
}

fn attachment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        name: r.get(3)?,
        mime: r.get(4)?,
        size: r.get(5)?,
    })
}

fn mime_of(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.rsplit('.').next().unwrap_or("") {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "mp4" => "video/mp4",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

struct NewCase<'a> {
    geom: Option<&'a [u8]>,
    status: Status,
    priority: f64,
    rules: &'a str,
    title: &'a str,
    source: &'a str,
    building_layer: Option<&'a str>,
    building_fid: Option<i64>,
    evidence: &'a str,
}

fn insert_case(tx: &rusqlite::Transaction<'_>, c: NewCase<'_>, now: &str, actor: &str) -> rusqlite::Result<i64> {
    let next: i64 = tx.query_row(
        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'cases'), 0) + 1",
        [],
        |r| r.get(0),
    )?;
    let case_no = format!("WJ{}-{next:06}", &now[..4]);
    tx.execute(
        "INSERT INTO cases(fid, geom, case_no, status, priority, rules, title, source, building_layer, building_fid, assignee, evidence, created_at, created_by, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11, ?12, ?13, ?12)",
        params![
            next,
            c.geom,
            case_no,
            c.status.id(),
            c.priority,
            c.rules,
            c.title,
            c.source,
            c.building_layer,
            c.building_fid,
            c.evidence,
            now,
            actor
        ],
    )?;
    Ok(next)
}

#[allow(clippy::too_many_arguments)]
fn audit(
    tx: &rusqlite::Transaction<'_>,
    case: i64,
    at: &str,
    actor: &str,
    action: &str,
    field: Option<&str>,
    old: Option<&str>,
    new: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO case_audit(case_fid, at, actor, action, field, old_value, new_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![case, at, actor, action, field, old, new],
    )?;
    let detail = serde_json::json!({"field": field, "old": old, "new": new}).to_string();
    chain_append(tx, at, actor, &format!("case.{action}"), "cases", Some(case), Some(&detail))
}

/// Append a row to the audit chain inside the caller's (immediate) transaction: the write lock
/// is held, so the head read here is the head.
pub(crate) fn chain_append(
    tx: &rusqlite::Transaction<'_>,
    at: &str,
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    let head: Option<(i64, Vec<u8>)> = tx
        .query_row("SELECT seq, hash FROM jingwei_audit ORDER BY seq DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (seq, prev) = match head {
        Some((seq, h)) => (seq + 1, h.try_into().unwrap_or([0xff; 32])),
        None => (1, chain::GENESIS),
    };
    let mut row = chain::AuditRow {
        seq,
        at: at.to_owned(),
        actor: actor.to_owned(),
        department: None,
        action: action.to_owned(),
        entity: entity.to_owned(),
        entity_id,
        detail: detail.map(str::to_owned),
        prev,
        hash: [0; 32],
    };
    row.seal_after(prev);
    tx.execute(
        "INSERT INTO jingwei_audit(seq, at, actor, department, action, entity, entity_id, detail, prev, hash) \
         VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            row.seq,
            row.at,
            row.actor,
            row.action,
            row.entity,
            row.entity_id,
            row.detail,
            &row.prev[..],
            &row.hash[..]
        ],
    )
    .map(|_| ())
}

/// Keep `gpkg_contents`' extent of the cases table current (GIS clients zoom to it).
fn update_extent(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare("SELECT geom FROM cases WHERE geom IS NOT NULL")?;
    let mut ext: Option<[f64; 4]> = None;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let blob: Vec<u8> = r.get(0)?;
        if let Ok(Some(g)) = parse_gpkg_blob(&blob) {
            use geo::BoundingRect;
            if let Some(b) = g.bounding_rect() {
                let e = ext.get_or_insert([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
                e[0] = e[0].min(b.min().x);
                e[1] = e[1].min(b.min().y);
                e[2] = e[2].max(b.max().x);
                e[3] = e[3].max(b.max().y);
            }
        }
    }
    if let Some([a, b, c, d]) = ext {
        tx.execute(
            "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4, last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = 'cases'",
            params![a, b, c, d],
        )?;
    }
    Ok(())
}

fn row_to_case(r: &rusqlite::Row<'_>) -> rusqlite::Result<Case> {
    let status: String = r.get(2)?;
    let rules: String = r.get(4)?;
    let evidence: Option<String> = r.get(10)?;
    let geom: Option<Vec<u8>> = r.get(14)?;
    Ok(Case {
        id: r.get(0)?,
        case_no: r.get(1)?,
        status: Status::parse(&status).unwrap_or(Status::Pending),
        priority: r.get(3)?,
        rules: rules.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        title: r.get(5)?,
        source: r.get(6)?,
        building_layer: r.get(7)?,
        building_fid: r.get(8)?,
        assignee: r.get(9)?,
        evidence: evidence
            .and_then(|e| serde_json::from_str(&e).ok())
            .unwrap_or(serde_json::Value::Null),
        created_at: r.get(11)?,
        created_by: r.get(12)?,
        updated_at: r.get(13)?,
        geometry: geom.and_then(|b| parse_gpkg_blob(&b).ok().flatten()),
    })
}

/// The rule names of a case in Chinese (rule ids that are not rules are kept as they are).
pub fn rules_zh(c: &Case) -> String {
    c.rules
        .iter()
        .map(|r| match Rule::from_id(r) {
            Some(rule) => rule.name_zh().to_string(),
            None if r == "manual" => "人工标记".to_string(),
            None => r.clone(),
        })
        .collect::<Vec<_>>()
        .join("、")
}
