//! Incidents in the shared store: commanders open them and keep their action log; everyone of
//! the department reads them. Each change carries the version read, like cases, and is audited
//! and announced (`incidents:id`) by the database.

use crate::{Result, Shared, StoreError, TS, error_of, geometry_of, not_found};
use geo::Geometry;
use jingwei_cases::incidents::{IncidentStatus, LogEntry, NewIncident};
use serde::Serialize;

/// An incident as the shared store holds it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct SharedIncident {
    /// Row id.
    pub id: i64,
    /// Number (`SJ2026-000003`).
    pub incident_no: String,
    /// Department.
    pub department: String,
    /// fire, flood, earthquake, gas_leak, …
    pub kind: String,
    /// Severity.
    pub severity: Option<String>,
    /// Status.
    pub status: IncidentStatus,
    /// Title.
    pub title: String,
    /// `manual` or the feed it came from.
    pub source: String,
    /// The feed event's id.
    pub event_id: Option<String>,
    /// Impact rings (m).
    pub rings_m: Vec<f64>,
    /// When it happened (ISO 8601 UTC).
    pub occurred_at: Option<String>,
    /// Location or area, CGCS2000 longitude/latitude.
    #[serde(skip)]
    #[ts(skip)]
    pub geometry: Option<Geometry>,
    /// Created.
    pub created_at: String,
    /// By.
    pub created_by: String,
    /// Last change.
    pub updated_at: String,
    /// By.
    pub updated_by: String,
    /// Version.
    pub version: i32,
}

fn select() -> String {
    format!(
        "SELECT id, incident_no, department, type, severity, status, title, source, event_id, rings_m, \
         to_char(occurred_at AT TIME ZONE 'UTC', {TS}), ST_AsBinary(geom), to_char(created_at AT TIME ZONE 'UTC', {TS}), \
         created_by, to_char(updated_at AT TIME ZONE 'UTC', {TS}), updated_by, version FROM jingwei.incidents"
    )
}

fn row(r: &postgres::Row) -> Result<SharedIncident> {
    let no: String = r.get(1);
    let status: String = r.get(5);
    let rings: Option<String> = r.get(9);
    Ok(SharedIncident {
        id: r.get(0),
        department: r.get(2),
        kind: r.get(3),
        severity: r.get(4),
        status: IncidentStatus::parse(&status).ok_or_else(|| StoreError::Invalid(format!("incident {no}: unknown status '{status}'")))?,
        title: r.get(6),
        source: r.get(7),
        event_id: r.get(8),
        rings_m: rings.unwrap_or_default().split(',').filter_map(|v| v.trim().parse().ok()).collect(),
        occurred_at: r.get(10),
        geometry: geometry_of(r.get(11), &format!("incident {no}"))?,
        created_at: r.get(12),
        created_by: r.get(13),
        updated_at: r.get(14),
        updated_by: r.get(15),
        version: r.get(16),
        incident_no: no,
    })
}

impl Shared {
    /// Open an incident in the commander's department (geometry in lon/lat), with its first log
    /// entry, in one transaction.
    pub fn open_incident(&mut self, n: &NewIncident<'_>) -> Result<SharedIncident> {
        jingwei_cases::incidents::check_rings(n.rings_m).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let target = self.target();
        let e = |what: &'static str| {
            let t = target.clone();
            move |err| error_of(&t, what, err)
        };
        let rings: String = n.rings_m.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(",");
        let geom = crate::cases::ewkb(n.geometry);
        let mut tx = self.client.transaction().map_err(e("opening an incident"))?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO jingwei.incidents (type, severity, title, source, event_id, rings_m, occurred_at, geom) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7::text::timestamptz, ST_GeomFromEWKB($8)) RETURNING id",
                &[
                    &n.kind,
                    &n.severity,
                    &n.title,
                    &n.source,
                    &n.event_id,
                    &rings,
                    &n.occurred_at,
                    &geom,
                ],
            )
            .map_err(e("opening an incident"))?
            .get(0);
        tx.execute(
            "INSERT INTO jingwei.incident_log (incident_id, action, detail) VALUES ($1, 'open', $2)",
            &[&id, &n.title],
        )
        .map_err(e("logging the incident"))?;
        tx.commit().map_err(e("opening an incident"))?;
        self.incident(id)
    }

    /// One incident of the user's department.
    pub fn incident(&mut self, id: i64) -> Result<SharedIncident> {
        let rows = self.q("reading an incident", &format!("{} WHERE id = $1", select()), &[&id])?;
        match rows.first() {
            Some(r) => row(r),
            None => Err(not_found(&self.target(), "incident", id)),
        }
    }

    /// The department's incidents (open ones unless `all`), newest first.
    pub fn incidents(&mut self, all: bool) -> Result<Vec<SharedIncident>> {
        let rows = self.q(
            "listing incidents",
            &format!("{} WHERE $1 OR status <> 'closed' ORDER BY id DESC", select()),
            &[&all],
        )?;
        rows.iter().map(row).collect()
    }

    /// Record an action taken (commanders).
    pub fn log_incident(&mut self, id: i64, action: &str, detail: Option<&str>) -> Result<i64> {
        if action.trim().is_empty() {
            return Err(StoreError::Invalid("a log entry needs an action".into()));
        }
        let r = self.q(
            "logging an action",
            "INSERT INTO jingwei.incident_log (incident_id, action, detail) \
             SELECT id, $2, $3 FROM jingwei.incidents WHERE id = $1 RETURNING id",
            &[&id, &action, &detail],
        )?;
        match r.first() {
            Some(r) => Ok(r.get(0)),
            None => Err(not_found(&self.target(), "incident", id)),
        }
    }

    /// An incident's log, oldest first.
    pub fn incident_log(&mut self, id: i64) -> Result<Vec<LogEntry>> {
        let rows = self.q(
            "reading the log",
            &format!(
                "SELECT id, to_char(at AT TIME ZONE 'UTC', {TS}), actor, action, detail FROM jingwei.incident_log \
                 WHERE incident_id = $1 ORDER BY id"
            ),
            &[&id],
        )?;
        Ok(rows
            .iter()
            .map(|r| LogEntry {
                id: r.get(0),
                at: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                detail: r.get(4),
            })
            .collect())
    }

    /// Change an incident's status with the version read (commanders); logged in the same
    /// transaction.
    pub fn set_incident_status(&mut self, id: i64, read_version: i32, to: IncidentStatus) -> Result<SharedIncident> {
        let target = self.target();
        let mut tx = self
            .client
            .transaction()
            .map_err(|e| error_of(&target, "changing an incident", e))?;
        let n = tx
            .execute(
                "UPDATE jingwei.incidents SET status = $1, version = $2 + 1 WHERE id = $3 AND version = $2",
                &[&to.id(), &read_version, &id],
            )
            .map_err(|e| error_of(&target, "changing an incident", e))?;
        if n == 1 {
            tx.execute(
                "INSERT INTO jingwei.incident_log (incident_id, action, detail) VALUES ($1, 'status', $2)",
                &[&id, &to.id()],
            )
            .map_err(|e| error_of(&target, "logging the change", e))?;
            tx.commit().map_err(|e| error_of(&target, "changing an incident", e))?;
            return self.incident(id);
        }
        drop(tx);
        match self.incident(id) {
            Ok(theirs) => Err(StoreError::StaleIncident {
                read_version,
                theirs: Box::new(theirs),
            }),
            Err(e) => Err(e),
        }
    }
}
