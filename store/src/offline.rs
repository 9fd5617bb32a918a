//! Offline check-out and check-in. An inspector checks out an area's cases to a GeoPackage (the
//! single-user store of `jingwei-cases`, CGCS2000 lon/lat), works without a network with the
//! usual case commands, and checks in. The check-out records, per case, the version and the
//! values it was taken at; at check-in the local changes (status steps in the order they were
//! made, assignee, new notes, new cases) are applied in one transaction:
//! - a field changed only locally is applied on top of the store's row (disjoint edits merge);
//! - a field changed on both sides to different values becomes a conflict record for a
//!   commander (never a silent overwrite); to the same value, nothing to do;
//! - a status step the store refuses (the loop from the store's status, closing by an
//!   inspector) becomes a conflict record too;
//! - cases flagged offline are added, with their status steps and notes;
//! - photos and files attached offline go up sealed with the data key (without it, nothing is
//!   checked in).
//!
//! A file is checked in once.

use crate::{Result, Shared, StoreError, error_of, not_found};
use jingwei_cases::seal::{hex, sm3};
use jingwei_cases::{Case, CaseStore, Status};
use serde::{Deserialize, Serialize};
use std::path::Path;

const OF: &str = "checkout:of";
const BY: &str = "checkout:by";
const AT: &str = "checkout:at";
const AUDIT_MAX: &str = "checkout:audit_max";
const NOTES_MAX: &str = "checkout:notes_max";
const CHECKED_IN: &str = "checkout:checked_in";
const ID: &str = "checkout:id";

/// What a case was at check-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Base {
    id: i64,
    version: i32,
    status: String,
    assignee: Option<String>,
}

fn base_key(local_id: i64) -> String {
    format!("checkout:case:{local_id}")
}

/// What a check-out wrote.
#[derive(Debug, Clone, Serialize)]
pub struct CheckoutSummary {
    /// The GeoPackage written.
    pub file: String,
    /// Cases copied.
    pub cases: usize,
    /// Notes copied.
    pub notes: usize,
    /// The store (`user@host:port/db`).
    pub store: String,
}

/// A conflict record.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Conflict {
    /// Row id.
    pub id: i64,
    /// The case (shared store id).
    pub case_id: i64,
    /// `status` or `assignee`.
    pub field: String,
    /// The value at check-out.
    pub base: Option<String>,
    /// The store's value at check-in.
    pub theirs: Option<String>,
    /// The field's value.
    pub mine: Option<String>,
    /// Why it could not be applied (for a refused status step).
    pub why: String,
    /// Who checked in.
    pub mine_by: String,
    /// `theirs` or `mine` once resolved.
    pub resolution: Option<String>,
    /// By.
    pub resolved_by: Option<String>,
}

/// What a check-in did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckinReport {
    /// Cases changed in the store.
    pub updated: usize,
    /// Of these, cases the store had also changed (disjoint fields merged).
    pub merged: usize,
    /// Cases flagged offline, added.
    pub added: usize,
    /// Notes added.
    pub notes: usize,
    /// Attachments (photos) added, sealed with the data key.
    pub attachments: usize,
    /// Conflicts recorded for a commander.
    pub conflicts: Vec<Conflict>,
}

fn local<T>(r: jingwei_cases::Result<T>) -> Result<T> {
    r.map_err(|e| StoreError::Invalid(e.to_string()))
}

fn as_status(s: &str) -> Result<Status> {
    Status::parse(s).ok_or_else(|| StoreError::Invalid(format!("unknown status '{s}'")))
}

impl Shared {
    /// Copy the user's cases (those meeting `bbox`, lon/lat, when given) with their notes into
    /// a new GeoPackage for offline work.
    pub fn check_out(&mut self, bbox: Option<[f64; 4]>, out: &Path) -> Result<CheckoutSummary> {
        if out.exists() {
            return Err(StoreError::Invalid(format!(
                "{}: already exists; check out into a new file",
                out.display()
            )));
        }
        let user = self.connect.user.clone();
        // The store's record of this check-out: consumed by the check-in.
        let checkout_id: String = self
            .q_one(
                "recording the check-out",
                "INSERT INTO jingwei.checkouts DEFAULT VALUES RETURNING id",
                &[],
            )?
            .get(0);
        let cases = self.cases(&crate::SharedFilter {
            bbox,
            ..Default::default()
        })?;
        let crs = jingwei_layers::Crs::from_epsg(4490).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut file = local(CaseStore::open_or_create(out, &crs))?;
        let mut notes = 0;
        // Notes above this id were written offline.
        let mut notes_max = 0i64;
        for c in &cases {
            let copy = Case {
                id: 0,
                case_no: c.case_no.clone(),
                status: c.status,
                priority: c.priority,
                rules: c.rules.clone(),
                title: c.title.clone(),
                source: c.source.clone(),
                building_layer: c.building_layer.clone(),
                building_fid: c.building_fid,
                assignee: c.assignee.clone(),
                evidence: c.evidence.clone(),
                created_at: c.created_at.clone(),
                created_by: c.created_by.clone(),
                updated_at: c.updated_at.clone(),
                geometry: c.geometry.clone(),
            };
            let lid = local(file.insert_copy(&copy, &user))?;
            for n in self.notes(c.id)? {
                notes_max = notes_max.max(local(file.insert_note_copy(lid, &n.at, &n.actor, &n.text))?);
                notes += 1;
            }
            let base = Base {
                id: c.id,
                version: c.version,
                status: c.status.id().to_owned(),
                assignee: c.assignee.clone(),
            };
            local(file.set_metadata(&base_key(lid), &serde_json::to_string(&base).expect("serialisable")))?;
        }
        let audit_max = local(file.audit_trail(None))?.last().map_or(0, |a| a.id);
        for (k, v) in [
            (ID, checkout_id),
            (OF, self.target()),
            (BY, user),
            (AT, jingwei_cases::now_utc()),
            (AUDIT_MAX, audit_max.to_string()),
            (NOTES_MAX, notes_max.to_string()),
        ] {
            local(file.set_metadata(k, &v))?;
        }
        Ok(CheckoutSummary {
            file: out.display().to_string(),
            cases: cases.len(),
            notes,
            store: self.target(),
        })
    }

    /// Apply a checked-out file's changes in one transaction (see the module's text).
    pub fn check_in(&mut self, file: &Path) -> Result<CheckinReport> {
        let mut store = local(CaseStore::open(file))?;
        let name = file.display().to_string();
        let of = local(store.metadata(OF))?.ok_or_else(|| StoreError::Invalid(format!("{name}: not a check-out of a shared store")))?;
        if let Some(when) = local(store.metadata(CHECKED_IN))? {
            return Err(StoreError::Invalid(format!("{name}: already checked in ({when})")));
        }
        let by = local(store.metadata(BY))?.unwrap_or_default();
        if by != self.connect.user {
            return Err(StoreError::Invalid(format!(
                "{name}: checked out by {by}; {} cannot check it in",
                self.connect.user
            )));
        }
        let num = |k: &str| -> Result<i64> { Ok(local(store.metadata(k))?.and_then(|v| v.parse().ok()).unwrap_or(0)) };
        let (audit_max, notes_max) = (num(AUDIT_MAX)?, num(NOTES_MAX)?);
        let checkout = format!("{of} → {name}");
        let target = self.target();
        let err = |what: &str| {
            let t = target.clone();
            let w = what.to_owned();
            move |e| error_of(&t, &w, e)
        };
        let checkout_id = local(store.metadata(ID))?.unwrap_or_default();
        // Photos taken offline go up sealed: without the data key, nothing is checked in (rather
        // than the photos left behind).
        let cases_here = local(store.list(&Default::default()))?;
        let details = cases_here
            .iter()
            .map(|c| local(store.detail(&c.id.to_string())))
            .collect::<Result<Vec<_>>>()?;
        let photos: usize = details.iter().map(|d| d.attachments.len()).sum();
        if photos > 0 && self.key.is_none() {
            return Err(StoreError::Invalid(format!(
                "{name}: {photos} attachment(s) were added offline; check in with the data key (they are kept only sealed)"
            )));
        }
        let key = self.key.clone();
        let mut report = CheckinReport::default();
        let mut tx = self.client.transaction().map_err(err("checking in"))?;
        // Once, by whoever took it, in this store: the row is consumed in this transaction.
        let n = tx
            .execute(
                "UPDATE jingwei.checkouts SET checked_in_at = now() WHERE id = $1 AND checked_in_at IS NULL",
                &[&checkout_id],
            )
            .map_err(err("checking in"))?;
        if n != 1 {
            return Err(StoreError::Invalid(format!(
                "{name}: this check-out was already checked in, or is not {}'s check-out of this store",
                self.connect.user
            )));
        }
        for (c, detail) in cases_here.iter().zip(&details) {
            // Status steps made offline, in order.
            let steps: Vec<String> = detail
                .audit
                .iter()
                .filter(|a| a.id > audit_max && a.action == "status")
                .filter_map(|a| a.new_value.clone())
                .collect();
            let new_notes: Vec<_> = detail.notes.iter().filter(|n| n.id > notes_max).collect();
            let base: Option<Base> = local(store.metadata(&base_key(c.id)))?.and_then(|v| serde_json::from_str(&v).ok());
            let (id, mut version, cur_status, cur_assignee, case_no, base) = match base {
                Some(b) => {
                    let row = tx
                        .query_opt(
                            "SELECT version, status, assignee, case_no FROM jingwei.cases WHERE id = $1 FOR UPDATE",
                            &[&b.id],
                        )
                        .map_err(err("reading a case"))?
                        .ok_or_else(|| not_found(&target, "case", &c.case_no))?;
                    (
                        b.id,
                        row.get::<_, i32>(0),
                        row.get::<_, String>(1),
                        row.get::<_, Option<String>>(2),
                        row.get::<_, String>(3),
                        Some(b),
                    )
                }
                None => {
                    // Flagged offline: added as a new case, then its steps and notes as below.
                    let ewkb = c.geometry.as_ref().map(crate::cases::ewkb);
                    let row = tx
                        .query_one(
                            "INSERT INTO jingwei.cases (priority, rules, title, source, evidence, geom) \
                             VALUES ($1, $2, $3, $4, $5, ST_GeomFromEWKB($6)) RETURNING id, version, case_no",
                            &[&c.priority, &c.rules.join(","), &c.title, &c.source, &c.evidence.to_string(), &ewkb],
                        )
                        .map_err(err("adding a case flagged offline"))?;
                    report.added += 1;
                    (row.get(0), row.get(1), "pending".to_owned(), None, row.get(2), None)
                }
            };
            let base_status = base.as_ref().map_or("pending".to_owned(), |b| b.status.clone());
            let base_assignee = base.as_ref().and_then(|b| b.assignee.clone());
            let mine_status = c.status.id().to_owned();
            let mut changed = false;
            let mut conflict = |tx: &mut postgres::Transaction<'_>,
                                field: &str,
                                b: Option<&str>,
                                theirs: Option<&str>,
                                mine: Option<&str>,
                                why: &str|
             -> Result<()> {
                let r = tx
                    .query_one(
                        "INSERT INTO jingwei.conflicts (case_id, field, base, theirs, mine, why, checkout) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, mine_by",
                        &[&id, &field, &b, &theirs, &mine, &why, &checkout],
                    )
                    .map_err(|e| error_of(&target, "recording a conflict", e))?;
                report.conflicts.push(Conflict {
                    id: r.get(0),
                    case_id: id,
                    field: field.to_owned(),
                    base: b.map(str::to_owned),
                    theirs: theirs.map(str::to_owned),
                    mine: mine.map(str::to_owned),
                    why: why.to_owned(),
                    mine_by: r.get(1),
                    resolution: None,
                    resolved_by: None,
                });
                Ok(())
            };
            let theirs_changed = base.is_some() && (cur_status != base_status || cur_assignee != base_assignee);
            // Status.
            if mine_status != base_status {
                if cur_status != base_status && cur_status != mine_status {
                    conflict(
                        &mut tx,
                        "status",
                        Some(&base_status),
                        Some(&cur_status),
                        Some(&mine_status),
                        "changed in the store too",
                    )?;
                } else if cur_status == base_status {
                    for step in &steps {
                        tx.batch_execute("SAVEPOINT step").map_err(err("checking in"))?;
                        let r = tx.execute(
                            "UPDATE jingwei.cases SET status = $1, version = $2 + 1 WHERE id = $3 AND version = $2",
                            &[step, &version, &id],
                        );
                        match r {
                            Ok(1) => {
                                tx.batch_execute("RELEASE SAVEPOINT step").map_err(err("checking in"))?;
                                version += 1;
                                changed = true;
                            }
                            Ok(_) => return Err(StoreError::Invalid(format!("case {}: changed during the check-in", c.case_no))),
                            Err(e) => {
                                let why = e.as_db_error().map_or(e.to_string(), |d| d.message().to_owned());
                                tx.batch_execute("ROLLBACK TO SAVEPOINT step").map_err(err("checking in"))?;
                                let now: String = tx
                                    .query_one("SELECT status FROM jingwei.cases WHERE id = $1", &[&id])
                                    .map_err(err("reading a case"))?
                                    .get(0);
                                // The steps after it are not applied either: said in the record.
                                let rest: Vec<&str> = steps.iter().skip_while(|s| *s != step).skip(1).map(String::as_str).collect();
                                let why = if rest.is_empty() {
                                    why
                                } else {
                                    format!("{why}; not applied after it: {}", rest.join(" → "))
                                };
                                conflict(&mut tx, "status", Some(&base_status), Some(&now), Some(step), &why)?;
                                break;
                            }
                        }
                    }
                }
            }
            // Assignee.
            if c.assignee != base_assignee {
                if cur_assignee != base_assignee && cur_assignee != c.assignee {
                    conflict(
                        &mut tx,
                        "assignee",
                        base_assignee.as_deref(),
                        cur_assignee.as_deref(),
                        c.assignee.as_deref(),
                        "changed in the store too",
                    )?;
                } else if cur_assignee == base_assignee {
                    tx.execute(
                        "UPDATE jingwei.cases SET assignee = $1, version = $2 + 1 WHERE id = $3 AND version = $2",
                        &[&c.assignee, &version, &id],
                    )
                    .map_err(err("checking in an assignee"))?;
                    changed = true;
                }
            }
            for n in &new_notes {
                tx.execute(
                    "INSERT INTO jingwei.case_notes (case_id, text) VALUES ($1, $2)",
                    &[&id, &format!("{}（离线 {} {}）", n.text, n.actor, n.at)],
                )
                .map_err(err("checking in a note"))?;
                report.notes += 1;
            }
            for a in &detail.attachments {
                let (_, bytes) = local(store.attachment_data(a.id))?;
                let k = key.as_ref().expect("checked before the transaction");
                let digest = hex(&sm3(&bytes));
                let sealed = k.seal(&bytes, format!("jingwei:attachment:{case_no}:{digest}").as_bytes());
                tx.execute(
                    "INSERT INTO jingwei.case_attachments (case_id, name, mime, size, sm3, data) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&id, &a.name, &a.mime, &(bytes.len() as i64), &digest, &sealed],
                )
                .map_err(err("checking in an attachment"))?;
                report.attachments += 1;
            }
            if changed && base.is_some() {
                report.updated += 1;
                if theirs_changed {
                    report.merged += 1;
                }
            }
        }
        tx.commit().map_err(err("committing the check-in"))?;
        local(store.set_metadata(CHECKED_IN, &jingwei_cases::now_utc()))?;
        Ok(report)
    }

    /// Conflicts of the user's department (open ones unless `all`).
    pub fn conflicts(&mut self, all: bool) -> Result<Vec<Conflict>> {
        let rows = self.q(
            "reading conflicts",
            "SELECT id, case_id, field, base, theirs, mine, why, mine_by, resolution, resolved_by FROM jingwei.conflicts \
             WHERE $1 OR resolution IS NULL ORDER BY id",
            &[&all],
        )?;
        Ok(rows.iter().map(conflict_row).collect())
    }

    /// Resolve a conflict (commanders): keep the store's value, or apply the field's (the
    /// case's version checked, the status through the loop).
    pub fn resolve_conflict(&mut self, conflict_id: i64, take_mine: bool) -> Result<Conflict> {
        let target = self.target();
        let err = |what: &'static str| {
            let t = target.clone();
            move |e| error_of(&t, what, e)
        };
        let mut tx = self.client.transaction().map_err(err("resolving a conflict"))?;
        let row = tx
            .query_opt(
                "SELECT id, case_id, field, base, theirs, mine, why, mine_by, resolution, resolved_by FROM jingwei.conflicts \
                 WHERE id = $1 FOR UPDATE",
                &[&conflict_id],
            )
            .map_err(err("reading a conflict"))?
            .ok_or_else(|| not_found(&target, "conflict", conflict_id))?;
        let c = conflict_row(&row);
        if take_mine {
            let now = tx
                .query_one(
                    "SELECT version, status, assignee FROM jingwei.cases WHERE id = $1 FOR UPDATE",
                    &[&c.case_id],
                )
                .map_err(err("reading the case"))?;
            let v: i32 = now.get(0);
            let held: Option<String> = if c.field == "status" { Some(now.get(1)) } else { now.get(2) };
            if held != c.theirs {
                return Err(StoreError::Invalid(format!(
                    "conflict {}: the case's {} changed again since ({} now); look at it before choosing",
                    c.id,
                    c.field,
                    held.as_deref().unwrap_or("—")
                )));
            }
            match c.field.as_str() {
                "status" => {
                    let to = as_status(c.mine.as_deref().unwrap_or(""))?;
                    tx.execute(
                        "UPDATE jingwei.cases SET status = $1, version = $2 + 1 WHERE id = $3 AND version = $2",
                        &[&to.id(), &v, &c.case_id],
                    )
                    .map_err(err("applying the status"))?;
                }
                "assignee" => {
                    tx.execute(
                        "UPDATE jingwei.cases SET assignee = $1, version = $2 + 1 WHERE id = $3 AND version = $2",
                        &[&c.mine, &v, &c.case_id],
                    )
                    .map_err(err("applying the assignee"))?;
                }
                f => return Err(StoreError::Invalid(format!("conflict {}: unknown field '{f}'", c.id))),
            }
        }
        let res = if take_mine { "mine" } else { "theirs" };
        let row = tx
            .query_one(
                "UPDATE jingwei.conflicts SET resolution = $1 WHERE id = $2 \
                 RETURNING id, case_id, field, base, theirs, mine, why, mine_by, resolution, resolved_by",
                &[&res, &conflict_id],
            )
            .map_err(err("resolving a conflict"))?;
        tx.commit().map_err(err("resolving a conflict"))?;
        Ok(conflict_row(&row))
    }
}

fn conflict_row(r: &postgres::Row) -> Conflict {
    Conflict {
        id: r.get(0),
        case_id: r.get(1),
        field: r.get(2),
        base: r.get(3),
        theirs: r.get(4),
        mine: r.get(5),
        why: r.get(6),
        mine_by: r.get(7),
        resolution: r.get(8),
        resolved_by: r.get(9),
    }
}
