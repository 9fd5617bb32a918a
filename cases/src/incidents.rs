//! Incidents (事件) and their action log, in the same workspace GeoPackage as the cases: an
//! incident comes from a feed event or is placed by hand, with a type, a location or area, a
//! severity, a time, a status (active → contained → closed) and its impact rings; every action
//! (who did what when) is appended to `incident_log` in the same transaction as the change.
//!
//! Drill mode (模拟推演): [`CaseStore::drill_copy`] makes a consistent copy of the workspace
//! (`VACUUM INTO`) marked as a drill; the drill runs on the copy, so it can never write into the
//! real case and incident records.

use crate::{CaseError, CaseStore, Result, now_utc};
use geo::Geometry;
use jingwei_layers::wkb::{gpkg_blob, parse_gpkg_blob};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::path::Path;

/// Status of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// 处置中.
    Active,
    /// 已控制.
    Contained,
    /// 已结束.
    Closed,
}

impl IncidentStatus {
    /// Identifier.
    pub fn id(self) -> &'static str {
        match self {
            IncidentStatus::Active => "active",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Closed => "closed",
        }
    }

    /// Parse an id or Chinese name.
    pub fn parse(s: &str) -> Option<IncidentStatus> {
        match s.trim() {
            "active" | "处置中" => Some(IncidentStatus::Active),
            "contained" | "已控制" => Some(IncidentStatus::Contained),
            "closed" | "已结束" => Some(IncidentStatus::Closed),
            _ => None,
        }
    }
}

/// An incident.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Incident {
    /// Row id.
    pub id: i64,
    /// Number, e.g. `SJ2026-000003`.
    pub incident_no: String,
    /// fire, hazardous_chemical_leak, flood, earthquake, building_collapse, gas_leak, …
    pub kind: String,
    /// Severity (CAP scale or the commander's).
    pub severity: Option<String>,
    /// Status.
    pub status: IncidentStatus,
    /// Title.
    pub title: String,
    /// `manual` or the feed format it came from.
    pub source: String,
    /// The feed event's id.
    pub event_id: Option<String>,
    /// Impact rings (m).
    pub rings_m: Vec<f64>,
    /// When it happened.
    pub occurred_at: Option<String>,
    /// Created.
    pub created_at: String,
    /// By.
    pub created_by: String,
    /// Last change.
    pub updated_at: String,
    /// Location or area, in the store's CRS.
    #[serde(skip)]
    pub geometry: Option<Geometry>,
}

/// One entry of an incident's action log.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct LogEntry {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What: `create`, `status`, `action`, `rings`, `scenario`.
    pub action: String,
    /// Details.
    pub detail: Option<String>,
}

/// A new incident.
pub struct NewIncident<'a> {
    /// Type.
    pub kind: &'a str,
    /// Severity.
    pub severity: Option<&'a str>,
    /// Title.
    pub title: &'a str,
    /// `manual`, or the feed format.
    pub source: &'a str,
    /// The feed event id.
    pub event_id: Option<&'a str>,
    /// Rings (m).
    pub rings_m: &'a [f64],
    /// When it happened (ISO 8601).
    pub occurred_at: Option<&'a str>,
    /// Location or area in the store's CRS.
    pub geometry: &'a Geometry,
}

const COLUMNS: &str =
    "fid, incident_no, type, severity, status, title, source, event_id, rings_m, occurred_at, created_at, created_by, updated_at, geom";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Incident> {
    let status: String = r.get(4)?;
    let rings: Option<String> = r.get(8)?;
    let geom: Option<Vec<u8>> = r.get(13)?;
    Ok(Incident {
        id: r.get(0)?,
        incident_no: r.get(1)?,
        kind: r.get(2)?,
        severity: r.get(3)?,
        status: IncidentStatus::parse(&status).unwrap_or(IncidentStatus::Active),
        title: r.get(5)?,
        source: r.get(6)?,
        event_id: r.get(7)?,
        rings_m: rings.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default(),
        occurred_at: r.get(9)?,
        created_at: r.get(10)?,
        created_by: r.get(11)?,
        updated_at: r.get(12)?,
        geometry: geom.and_then(|b| parse_gpkg_blob(&b).ok().flatten()),
    })
}

fn log(tx: &rusqlite::Transaction<'_>, id: i64, at: &str, actor: &str, action: &str, detail: Option<&str>) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO incident_log(incident_fid, at, actor, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, at, actor, action, detail],
    )?;
    crate::chain_append(tx, at, actor, &format!("incident.{action}"), "incidents", Some(id), detail)
}

impl CaseStore {
    /// Whether this store is a drill copy.
    pub fn is_drill(&self) -> Result<bool> {
        Ok(self.metadata("drill")?.as_deref() == Some("1"))
    }

    /// Make a drill copy of the workspace at `dest` (which must not exist) and open it: the copy
    /// is consistent (`VACUUM INTO`), marked as a drill, and the real store is not touched.
    pub fn drill_copy(&self, dest: &Path, actor: &str) -> Result<CaseStore> {
        if dest.exists() {
            return Err(CaseError::Invalid(format!(
                "{}: already exists; choose a new file for the drill",
                dest.display()
            )));
        }
        let d = dest.to_string_lossy().into_owned();
        self.sql(self.conn.execute("VACUUM INTO ?1", [&d]))?;
        let mut drill = CaseStore::open(dest)?;
        drill.set_metadata("drill", "1")?;
        drill.set_metadata("drill_of", &self.path().display().to_string())?;
        drill.set_metadata("drill_started", &format!("{} by {actor}", now_utc()))?;
        Ok(drill)
    }

    /// Open an incident; one transaction with its first log entry.
    pub fn create_incident(&mut self, n: &NewIncident<'_>, actor: &str) -> Result<Incident> {
        if n.kind.trim().is_empty() {
            return Err(CaseError::Invalid("an incident needs a type".into()));
        }
        check_rings(n.rings_m)?;
        let now = now_utc();
        let blob = gpkg_blob(n.geometry, self.srs_id);
        let rings = serde_json::to_string(n.rings_m).unwrap_or_else(|_| "[]".into());
        let id = self.write(|tx, _| {
            let next: i64 = tx.query_row("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'incidents'), 0) + 1", [], |r| r.get(0))?;
            let no = format!("SJ{}-{next:06}", &now[..4]);
            tx.execute(
                "INSERT INTO incidents(fid, geom, incident_no, type, severity, status, title, source, event_id, rings_m, occurred_at, created_at, created_by, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 'active', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?11)",
                params![next, blob, no, n.kind, n.severity, n.title, n.source, n.event_id, rings, n.occurred_at, now, actor],
            )?;
            log(tx, next, &now, actor, "create", Some(&format!("{} {}", n.kind, n.title)))?;
            Ok(next)
        })?;
        self.incident(&id.to_string())
    }

    fn incident_id(&self, key: &str) -> Result<i64> {
        let r = self
            .conn
            .query_row(
                "SELECT fid FROM incidents WHERE incident_no = ?1 OR CAST(fid AS TEXT) = ?1",
                [key.trim()],
                |r| r.get::<_, i64>(0),
            )
            .optional();
        self.sql(r)?.ok_or_else(|| CaseError::NoCase {
            path: self.path().to_path_buf(),
            id: format!("incident {key}"),
        })
    }

    /// One incident by id or number.
    pub fn incident(&self, key: &str) -> Result<Incident> {
        let id = self.incident_id(key)?;
        let r = self
            .conn
            .query_row(&format!("SELECT {COLUMNS} FROM incidents WHERE fid = ?1"), [id], row);
        self.sql(r)
    }

    /// Incidents, newest first (open ones only unless `all`).
    pub fn incidents(&self, all: bool) -> Result<Vec<Incident>> {
        let q = format!(
            "SELECT {COLUMNS} FROM incidents {} ORDER BY fid DESC",
            if all { "" } else { "WHERE status != 'closed'" }
        );
        self.rows(&q, [], row)
    }

    /// Record an action taken (dispatched a team, closed a road, …).
    pub fn log_action(&mut self, key: &str, text: &str, actor: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(CaseError::Invalid("an action needs a description".into()));
        }
        let id = self.incident_id(key)?;
        let now = now_utc();
        self.write(|tx, _| {
            tx.execute("UPDATE incidents SET updated_at = ?1 WHERE fid = ?2", params![now, id])?;
            log(tx, id, &now, actor, "action", Some(text))
        })
    }

    /// Record a what-if scenario run on an incident: `detail` holds its model, parameters and
    /// results (JSON), so that it can be replayed.
    pub fn log_scenario(&mut self, key: &str, detail: &str, actor: &str) -> Result<LogEntry> {
        let id = self.incident_id(key)?;
        let now = now_utc();
        self.write(|tx, _| {
            tx.execute("UPDATE incidents SET updated_at = ?1 WHERE fid = ?2", params![now, id])?;
            log(tx, id, &now, actor, "scenario", Some(detail))
        })?;
        self.incident_log(key)?
            .into_iter()
            .rev()
            .find(|e| e.action == "scenario")
            .ok_or_else(|| CaseError::Invalid("the scenario was not logged".into()))
    }

    /// Change an incident's status.
    pub fn set_incident_status(&mut self, key: &str, to: IncidentStatus, actor: &str) -> Result<Incident> {
        // Any move is allowed (a closed incident may flare up again); each one is logged.
        let inc = self.incident(key)?;
        let now = now_utc();
        self.write(|tx, _| {
            tx.execute(
                "UPDATE incidents SET status = ?1, updated_at = ?2 WHERE fid = ?3",
                params![to.id(), now, inc.id],
            )?;
            log(
                tx,
                inc.id,
                &now,
                actor,
                "status",
                Some(&format!("{} → {}", inc.status.id(), to.id())),
            )
        })?;
        self.incident(&inc.id.to_string())
    }

    /// Change the impact rings.
    pub fn set_incident_rings(&mut self, key: &str, rings_m: &[f64], actor: &str) -> Result<Incident> {
        check_rings(rings_m)?;
        let inc = self.incident(key)?;
        let rings = serde_json::to_string(rings_m).unwrap_or_else(|_| "[]".into());
        let now = now_utc();
        self.write(|tx, _| {
            tx.execute(
                "UPDATE incidents SET rings_m = ?1, updated_at = ?2 WHERE fid = ?3",
                params![rings, now, inc.id],
            )?;
            log(tx, inc.id, &now, actor, "rings", Some(&rings))
        })?;
        self.incident(&inc.id.to_string())
    }

    /// The action log of an incident, oldest first.
    pub fn incident_log(&self, key: &str) -> Result<Vec<LogEntry>> {
        let id = self.incident_id(key)?;
        self.rows(
            "SELECT id, at, actor, action, detail FROM incident_log WHERE incident_fid = ?1 ORDER BY id",
            [id],
            |r| {
                Ok(LogEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    detail: r.get(4)?,
                })
            },
        )
    }
}

/// The farthest impact ring accepted (m): a ring wider than a province is a typing error.
pub const MAX_RING_M: f64 = 1_000_000.0;

/// Impact rings are one or more distances in metres, each finite, 0 or more and at most
/// [`MAX_RING_M`]. (JSON has no NaN: a NaN ring stored would read back as no rings at all.)
pub fn check_rings(rings_m: &[f64]) -> Result<()> {
    if rings_m.is_empty() {
        return Err(CaseError::Invalid("an incident needs at least one impact ring".into()));
    }
    if let Some(bad) = rings_m.iter().find(|r| !(r.is_finite() && (0.0..=MAX_RING_M).contains(*r))) {
        return Err(CaseError::Invalid(format!(
            "impact ring {bad}: rings are distances in metres, from 0 to {MAX_RING_M}"
        )));
    }
    Ok(())
}
