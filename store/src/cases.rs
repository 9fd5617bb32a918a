//! Cases in the shared store: flag, list, read, change status or assignee with the version
//! read, notes and sealed attachments.

use crate::{Result, Shared, StoreError, TS, error_of, geometry_of, not_found};
use geo::Geometry;
use jingwei_cases::Status;
use jingwei_cases::seal::{DataKey, hex, is_sealed, sm3};
use serde::Serialize;

/// A case as the shared store holds it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct SharedCase {
    /// Row id.
    pub id: i64,
    /// Case number (`WJ2026-000042`).
    pub case_no: String,
    /// Department (区/街道).
    pub department: String,
    /// Status.
    pub status: Status,
    /// Priority 0–100.
    pub priority: f64,
    /// Rules broken.
    pub rules: Vec<String>,
    /// Title.
    pub title: String,
    /// `detected` or `manual`.
    pub source: String,
    /// Assigned inspector.
    pub assignee: Option<String>,
    /// The buildings layer the case concerns.
    pub building_layer: Option<String>,
    /// The building's feature id there.
    pub building_fid: Option<i64>,
    /// Evidence (JSON).
    #[ts(type = "any")]
    pub evidence: serde_json::Value,
    /// Phone of the party, opened with the data key.
    pub phone: Option<String>,
    /// ID number of the party, opened with the data key.
    pub id_number: Option<String>,
    /// Whether sealed personal fields were left closed (no data key, or another one).
    pub personal_sealed: bool,
    /// Location or outline, CGCS2000 longitude/latitude.
    #[serde(skip)]
    #[ts(skip)]
    pub geometry: Option<Geometry>,
    /// Created (ISO 8601 UTC).
    pub created_at: String,
    /// By.
    pub created_by: String,
    /// Last change.
    pub updated_at: String,
    /// By.
    pub updated_by: String,
    /// Version: 1 when created, one more with each change.
    pub version: i32,
}

/// A new case.
#[derive(Debug, Clone, Default)]
pub struct NewSharedCase {
    /// Title.
    pub title: String,
    /// Priority 0–100.
    pub priority: f64,
    /// Rules broken (empty: a hand-flagged case).
    pub rules: Vec<String>,
    /// Evidence (JSON), if any.
    pub evidence: Option<serde_json::Value>,
    /// Location or outline in CGCS2000 longitude/latitude.
    pub geometry: Option<Geometry>,
    /// Phone of the party (sealed with the data key; refused without one).
    pub phone: Option<String>,
    /// ID number of the party (sealed likewise).
    pub id_number: Option<String>,
    /// The buildings layer and feature the case concerns.
    pub building: Option<(String, i64)>,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct SharedFilter {
    /// Only these statuses (all when empty).
    pub statuses: Vec<Status>,
    /// Only these ids (all when empty).
    pub ids: Vec<i64>,
    /// Only cases whose geometry meets this envelope (lon/lat min x, min y, max x, max y).
    pub bbox: Option<[f64; 4]>,
    /// At most this many (all when `None`), after skipping `offset`.
    pub limit: Option<i64>,
    /// How many to skip, newest first.
    pub offset: i64,
}

/// What a change of a case sets (`None`: left as it is).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseChange {
    /// The new status (the loop and who may close apply).
    pub status: Option<Status>,
    /// The new assignee (`Some(None)` clears it).
    pub assignee: Option<Option<String>>,
    /// A note to add with the change.
    pub comment: Option<String>,
}

/// A note.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct SharedNote {
    /// Row id.
    pub id: i64,
    /// The case.
    pub case_id: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// Text.
    pub text: String,
}

/// An attachment, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct SharedAttachment {
    /// Row id.
    pub id: i64,
    /// The case.
    pub case_id: i64,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Size of the clear bytes.
    pub size: i64,
    /// SM3 of the clear bytes (hex).
    pub sm3: String,
}

fn case_select() -> String {
    format!(
        "SELECT id, case_no, department, status, priority, rules, title, source, assignee, evidence, phone, id_number, \
         ST_AsBinary(geom), to_char(created_at AT TIME ZONE 'UTC', {TS}), created_by, \
         to_char(updated_at AT TIME ZONE 'UTC', {TS}), updated_by, version, building_layer, building_fid FROM jingwei.cases"
    )
}

/// The filter of [`Shared::cases`]: statuses `$1`, ids `$2`, envelope `$3`.
const CASE_FILTER: &str = "(cardinality($1::text[]) = 0 OR status = ANY($1)) \
     AND (cardinality($2::bigint[]) = 0 OR id = ANY($2)) \
     AND (cardinality($3::float8[]) = 0 OR geom && ST_MakeEnvelope($3[1], $3[2], $3[3], $3[4], 4490))";

/// The EWKB of a geometry in CGCS2000 (SRID 4490).
pub(crate) fn ewkb(g: &Geometry) -> Vec<u8> {
    let mut wkb = Vec::new();
    jingwei_layers::wkb::write_wkb(g, &mut wkb);
    let little = wkb[0] == 1;
    let ty = if little {
        u32::from_le_bytes(wkb[1..5].try_into().expect("4 bytes"))
    } else {
        u32::from_be_bytes(wkb[1..5].try_into().expect("4 bytes"))
    } | 0x2000_0000;
    let mut out = Vec::with_capacity(wkb.len() + 4);
    out.push(wkb[0]);
    if little {
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&4490u32.to_le_bytes());
    } else {
        out.extend_from_slice(&ty.to_be_bytes());
        out.extend_from_slice(&4490u32.to_be_bytes());
    }
    out.extend_from_slice(&wkb[5..]);
    out
}

fn personal_context(case_no: &str, field: &str) -> Vec<u8> {
    format!("jingwei:case:{case_no}:{field}").into_bytes()
}

fn open_personal(key: Option<&DataKey>, case_no: &str, field: &str, v: Option<Vec<u8>>, sealed: &mut bool) -> Option<String> {
    let v = v?;
    if !is_sealed(&v) {
        return Some(String::from_utf8_lossy(&v).into_owned());
    }
    match key.map(|k| k.open(&v, &personal_context(case_no, field))) {
        Some(Ok(clear)) => Some(String::from_utf8_lossy(&clear).into_owned()),
        _ => {
            *sealed = true;
            None
        }
    }
}

impl Shared {
    fn row_to_case(&self, r: &postgres::Row) -> Result<SharedCase> {
        let status: String = r.get(3);
        let case_no: String = r.get(1);
        let mut sealed = false;
        let phone = open_personal(self.key.as_ref(), &case_no, "phone", r.get(10), &mut sealed);
        let id_number = open_personal(self.key.as_ref(), &case_no, "id_number", r.get(11), &mut sealed);
        let geometry = geometry_of(r.get(12), &format!("case {case_no}"))?;
        let rules: String = r.get(5);
        Ok(SharedCase {
            id: r.get(0),
            department: r.get(2),
            status: Status::parse(&status).ok_or_else(|| StoreError::Invalid(format!("case {case_no}: unknown status '{status}'")))?,
            priority: r.get(4),
            rules: rules.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            title: r.get(6),
            source: r.get(7),
            assignee: r.get(8),
            evidence: r
                .get::<_, Option<String>>(9)
                .and_then(|e| serde_json::from_str(&e).ok())
                .unwrap_or(serde_json::Value::Null),
            phone,
            id_number,
            personal_sealed: sealed,
            geometry,
            created_at: r.get(13),
            created_by: r.get(14),
            updated_at: r.get(15),
            updated_by: r.get(16),
            version: r.get(17),
            building_layer: r.get(18),
            building_fid: r.get(19),
            case_no,
        })
    }

    /// Flag a new case in the user's department; it starts as pending, version 1.
    pub fn flag_case(&mut self, c: &NewSharedCase) -> Result<SharedCase> {
        if c.title.contains('\0') || c.rules.iter().any(|r| r.contains('\0')) {
            return Err(StoreError::Invalid("a case's title and rules hold no NUL character".into()));
        }
        if !(0.0..=100.0).contains(&c.priority) {
            return Err(StoreError::Invalid(format!("priority {} is outside 0–100", c.priority)));
        }
        let target = self.target();
        let mut tx = self.client.transaction().map_err(|e| error_of(&target, "flagging a case", e))?;
        // The number first, so that the personal fields are sealed to it.
        let case_no: String = tx
            .query_one(
                "SELECT 'WJ' || to_char(now(), 'YYYY') || '-' || lpad(nextval('jingwei.case_no_seq')::text, 6, '0')",
                &[],
            )
            .map_err(|e| error_of(&target, "numbering a case", e))?
            .get(0);
        let phone = Shared::seal_with(self.key.as_ref(), &case_no, "phone", c.phone.as_deref())?;
        let id_number = Shared::seal_with(self.key.as_ref(), &case_no, "id_number", c.id_number.as_deref())?;
        let geom = c.geometry.as_ref().map(ewkb);
        let evidence = c.evidence.as_ref().map(|e| e.to_string());
        let source = if c.rules.is_empty() { "manual" } else { "detected" };
        let (layer, fid) = match &c.building {
            Some((l, f)) => (Some(l.as_str()), Some(*f)),
            None => (None, None),
        };
        let id: i64 = tx
            .query_one(
                "INSERT INTO jingwei.cases (case_no, priority, rules, title, source, evidence, phone, id_number, geom, \
                 building_layer, building_fid) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ST_GeomFromEWKB($9), $10, $11) RETURNING id",
                &[
                    &case_no,
                    &c.priority,
                    &c.rules.join(","),
                    &c.title,
                    &source,
                    &evidence,
                    &phone,
                    &id_number,
                    &geom,
                    &layer,
                    &fid,
                ],
            )
            .map_err(|e| error_of(&target, "flagging a case", e))?
            .get(0);
        tx.commit().map_err(|e| error_of(&target, "flagging a case", e))?;
        self.case(id)
    }

    fn seal_with(key: Option<&DataKey>, case_no: &str, field: &str, v: Option<&str>) -> Result<Option<Vec<u8>>> {
        match v {
            None => Ok(None),
            Some(v) => {
                let key = key.ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "case {case_no}: a {field} is kept only sealed (SM4-GCM): give the data key"
                    ))
                })?;
                Ok(Some(key.seal(v.as_bytes(), &personal_context(case_no, field))))
            }
        }
    }

    /// One case (of the user's department).
    pub fn case(&mut self, id: i64) -> Result<SharedCase> {
        let rows = self.q("reading a case", &format!("{} WHERE id = $1", case_select()), &[&id])?;
        match rows.first() {
            Some(r) => self.row_to_case(r),
            None => Err(not_found(&self.target(), "case", id)),
        }
    }

    /// The cases the user may see, newest first.
    pub fn cases(&mut self, f: &SharedFilter) -> Result<Vec<SharedCase>> {
        let statuses: Vec<String> = f.statuses.iter().map(|s| s.id().to_owned()).collect();
        let bbox: Vec<f64> = f.bbox.map(|b| b.to_vec()).unwrap_or_default();
        let rows = self.q(
            "listing cases",
            &format!("{} WHERE {CASE_FILTER} ORDER BY id DESC LIMIT $4 OFFSET $5", case_select()),
            &[&statuses, &f.ids, &bbox, &f.limit, &f.offset.max(0)],
        )?;
        rows.iter().map(|r| self.row_to_case(r)).collect()
    }

    /// How many cases the user may see match the filter (its limit and offset aside).
    pub fn count_cases(&mut self, f: &SharedFilter) -> Result<i64> {
        let statuses: Vec<String> = f.statuses.iter().map(|s| s.id().to_owned()).collect();
        let bbox: Vec<f64> = f.bbox.map(|b| b.to_vec()).unwrap_or_default();
        let r = self.q_one(
            "counting cases",
            &format!("SELECT count(*) FROM jingwei.cases WHERE {CASE_FILTER}"),
            &[&statuses, &f.ids, &bbox],
        )?;
        Ok(r.get(0))
    }

    /// After a write that touched no row: the case is gone from view, or someone else wrote first.
    fn stale_or_missing(&mut self, id: i64, read_version: i32) -> StoreError {
        match self.case(id) {
            Ok(theirs) => StoreError::Stale {
                read_version,
                theirs: Box::new(theirs),
            },
            Err(e) => e,
        }
    }

    /// Move a case to another status, carrying the version read; a note with the reason when
    /// given. One transaction: the change, its note and their audit rows.
    pub fn set_status(&mut self, id: i64, read_version: i32, to: Status, comment: Option<&str>) -> Result<SharedCase> {
        self.change_case(
            id,
            read_version,
            &CaseChange {
                status: Some(to),
                comment: comment.map(str::to_owned),
                ..Default::default()
            },
        )
    }

    /// Assign a case (or clear the assignee), carrying the version read.
    pub fn assign(&mut self, id: i64, read_version: i32, assignee: Option<&str>) -> Result<SharedCase> {
        self.change_case(
            id,
            read_version,
            &CaseChange {
                assignee: Some(assignee.map(str::to_owned)),
                ..Default::default()
            },
        )
    }

    /// Change a case's status, assignee or both and add a note, carrying the version read: one
    /// transaction, one new version (a note alone makes one too: it is a change of the case).
    pub fn change_case(&mut self, id: i64, read_version: i32, change: &CaseChange) -> Result<SharedCase> {
        let comment = change.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
        if comment.is_some_and(|c| c.contains('\0'))
            || change
                .assignee
                .as_ref()
                .and_then(|a| a.as_deref())
                .is_some_and(|a| a.contains('\0'))
        {
            return Err(StoreError::Invalid(format!(
                "case {id}: a note or an assignee holds no NUL character"
            )));
        }
        if change.status.is_none() && change.assignee.is_none() && comment.is_none() {
            return Err(StoreError::Invalid(format!(
                "case {id}: nothing to change (a status, an assignee or a note)"
            )));
        }
        let target = self.target();
        let role = self.role;
        let mut tx = self.client.transaction().map_err(|e| error_of(&target, "changing a case", e))?;
        // The loop is checked here for a clear answer, and again by the database's trigger.
        let now = tx
            .query_opt(
                "SELECT status, version, case_no FROM jingwei.cases WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .map_err(|e| error_of(&target, "changing a case", e))?;
        if let (Some(row), Some(to)) = (&now, change.status) {
            let (status, version, case_no): (String, i32, String) = (row.get(0), row.get(1), row.get(2));
            if version == read_version {
                let from =
                    Status::parse(&status).ok_or_else(|| StoreError::Invalid(format!("case {case_no}: unknown status '{status}'")))?;
                if !from.next().contains(&to) {
                    let allowed: Vec<&str> = from.next().iter().map(|s| s.name_zh()).collect();
                    return Err(StoreError::Transition(format!(
                        "case {case_no}: cannot go from {} to {} (allowed: {})",
                        from.name_zh(),
                        to.name_zh(),
                        allowed.join("、")
                    )));
                }
                if (to == Status::Closed || from == Status::Closed) && role != Some(crate::Role::Commander) {
                    return Err(StoreError::Denied {
                        target,
                        message: format!("case {case_no}: only commanders close or reopen cases"),
                    });
                }
            }
        }
        let status = change.status.map(|s| s.id());
        let (set_assignee, assignee) = match &change.assignee {
            Some(a) => (true, a.as_deref()),
            None => (false, None),
        };
        let n = tx
            .execute(
                "UPDATE jingwei.cases SET status = coalesce($1, status), \
                 assignee = CASE WHEN $2 THEN $3 ELSE assignee END, version = $4 + 1 \
                 WHERE id = $5 AND version = $4",
                &[&status, &set_assignee, &assignee, &read_version, &id],
            )
            .map_err(|e| error_of(&target, "changing a case", e))?;
        if n == 0 {
            drop(tx);
            return Err(self.stale_or_missing(id, read_version));
        }
        if let Some(c) = comment {
            tx.execute("INSERT INTO jingwei.case_notes (case_id, text) VALUES ($1, $2)", &[&id, &c])
                .map_err(|e| error_of(&target, "noting the change", e))?;
        }
        tx.commit().map_err(|e| error_of(&target, "changing a case", e))?;
        self.case(id)
    }

    /// Add a note.
    pub fn add_note(&mut self, id: i64, text: &str) -> Result<i64> {
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("an empty note".into()));
        }
        let r = self.q(
            "adding a note",
            "INSERT INTO jingwei.case_notes (case_id, text) SELECT id, $2 FROM jingwei.cases WHERE id = $1 RETURNING id",
            &[&id, &text],
        )?;
        match r.first() {
            Some(r) => Ok(r.get(0)),
            None => Err(not_found(&self.target(), "case", id)),
        }
    }

    /// The notes of a case, oldest first.
    pub fn notes(&mut self, id: i64) -> Result<Vec<SharedNote>> {
        let rows = self.q(
            "reading notes",
            &format!(
                "SELECT id, case_id, to_char(at AT TIME ZONE 'UTC', {TS}), actor, text FROM jingwei.case_notes \
                 WHERE case_id = $1 ORDER BY id"
            ),
            &[&id],
        )?;
        Ok(rows
            .iter()
            .map(|r| SharedNote {
                id: r.get(0),
                case_id: r.get(1),
                at: r.get(2),
                actor: r.get(3),
                text: r.get(4),
            })
            .collect())
    }

    /// Attach a photo or file, sealed with the data key (refused without one).
    pub fn attach(&mut self, id: i64, name: &str, bytes: &[u8]) -> Result<SharedAttachment> {
        let case = self.case(id)?;
        let key = self.key.as_ref().ok_or_else(|| {
            StoreError::Invalid(format!(
                "case {}: attachments are kept only sealed (SM4-GCM): give the data key",
                case.case_no
            ))
        })?;
        let digest = hex(&sm3(bytes));
        let sealed = key.seal(bytes, format!("jingwei:attachment:{}:{digest}", case.case_no).as_bytes());
        let mime = mime_of(name);
        let size = bytes.len() as i64;
        let r = self.q_one(
            "attaching",
            &format!(
                "INSERT INTO jingwei.case_attachments (case_id, name, mime, size, sm3, data) VALUES ($1, $2, $3, $4, $5, $6) \
                 RETURNING id, to_char(at AT TIME ZONE 'UTC', {TS}), actor"
            ),
            &[&id, &name, &mime, &size, &digest, &sealed],
        )?;
        Ok(SharedAttachment {
            id: r.get(0),
            case_id: id,
            at: r.get(1),
            actor: r.get(2),
            name: name.to_owned(),
            mime: mime.to_owned(),
            size,
            sm3: digest,
        })
    }

    /// An attachment's clear bytes (checked against its SM3).
    pub fn attachment_data(&mut self, attachment_id: i64) -> Result<(SharedAttachment, Vec<u8>)> {
        let rows = self.q(
            "reading an attachment",
            &format!(
                "SELECT a.id, a.case_id, to_char(a.at AT TIME ZONE 'UTC', {TS}), a.actor, a.name, a.mime, a.size, a.sm3, a.data, c.case_no \
                 FROM jingwei.case_attachments a JOIN jingwei.cases c ON c.id = a.case_id WHERE a.id = $1"
            ),
            &[&attachment_id],
        )?;
        let r = rows.first().ok_or_else(|| not_found(&self.target(), "attachment", attachment_id))?;
        let a = SharedAttachment {
            id: r.get(0),
            case_id: r.get(1),
            at: r.get(2),
            actor: r.get(3),
            name: r.get(4),
            mime: r.get(5),
            size: r.get(6),
            sm3: r.get(7),
        };
        let sealed: Vec<u8> = r.get(8);
        let case_no: String = r.get(9);
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| StoreError::Invalid(format!("attachment {}: sealed; give the data key", a.name)))?;
        let clear = key.open(&sealed, format!("jingwei:attachment:{case_no}:{}", a.sm3).as_bytes())?;
        if hex(&sm3(&clear)) != a.sm3 {
            return Err(StoreError::Invalid(format!("attachment {}: its bytes do not give its SM3", a.name)));
        }
        Ok((a, clear))
    }
}

fn mime_of(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    match lower.rsplit('.').next() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("pdf") => "application/pdf",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewkb_carries_the_srid() {
        let g = Geometry::Point(geo::Point::new(121.5, 31.2));
        let e = ewkb(&g);
        assert_eq!(e[0], 1);
        assert_eq!(u32::from_le_bytes(e[1..5].try_into().unwrap()), 0x2000_0001);
        assert_eq!(u32::from_le_bytes(e[5..9].try_into().unwrap()), 4490);
        assert_eq!(e.len(), 1 + 4 + 4 + 16);
    }
}
