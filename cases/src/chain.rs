//! The tamper-evident audit chain, one layout for every store (the shared PostgreSQL store's
//! `audit` table, whose rows its database computes with pgcrypto's SM3, and the GeoPackage's
//! `jingwei_audit`): each row carries the SM3 hash of its content and of the previous row's
//! hash, so an edited, removed or inserted row breaks every hash after it. Signed checkpoints
//! (sequence, head hash, time; SM2) fix the chain's state at a moment, so that a truncated tail
//! or a chain recomputed from scratch is caught too.
//!
//! # Byte layout, version 1
//! The hashed bytes of a row are
//! `"JWA1"` ‖ seq (i64, big-endian) ‖ prev (32 bytes) ‖ at ‖ actor ‖ department ‖ action ‖
//! entity ‖ entity_id ‖ detail,
//! where each text field is its UTF-8 length as a big-endian u32 followed by the bytes, and a
//! NULL is the length `0xFFFFFFFF` with no bytes; `entity_id` is written as decimal text.
//! The first row's `prev` is 32 zero bytes; `seq` starts at 1 and rises by one.
//! `hash = SM3(bytes)`.
//!
//! A checkpoint signs `"JWC1"` ‖ seq (i64, big-endian) ‖ head hash (32) ‖ at (length-prefixed).

use crate::seal::{AuditSigner, AuditVerifier, hex, sm3};
use serde::Serialize;

/// The chain's layout version (the magic of its rows).
pub const LAYOUT: &[u8; 4] = b"JWA1";
/// The hash before the first row.
pub const GENESIS: [u8; 32] = [0; 32];

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When, ISO 8601 UTC with microseconds (`2026-12-06T03:04:05.123456Z`).
    pub at: String,
    /// Who (the database role, or the local user).
    pub actor: String,
    /// The actor's department, where the store has departments.
    pub department: Option<String>,
    /// What: `case.insert`, `case.update`, `note.insert`, …
    pub action: String,
    /// The table the row changed.
    pub entity: String,
    /// Its id.
    pub entity_id: Option<i64>,
    /// The change as JSON text (exactly the bytes hashed).
    pub detail: Option<String>,
    /// The previous row's hash.
    pub prev: [u8; 32],
    /// This row's hash as stored.
    pub hash: [u8; 32],
}

fn field(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(s) => {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

impl AuditRow {
    /// The bytes hashed (layout version 1).
    pub fn content(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.detail.as_ref().map_or(0, String::len));
        out.extend_from_slice(LAYOUT);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.prev);
        field(&mut out, Some(&self.at));
        field(&mut out, Some(&self.actor));
        field(&mut out, self.department.as_deref());
        field(&mut out, Some(&self.action));
        field(&mut out, Some(&self.entity));
        field(&mut out, self.entity_id.map(|i| i.to_string()).as_deref());
        field(&mut out, self.detail.as_deref());
        out
    }

    /// The hash this row should carry.
    pub fn computed_hash(&self) -> [u8; 32] {
        sm3(&self.content())
    }

    /// Fill `prev` and `hash` to append this row after `prev`.
    pub fn seal_after(&mut self, prev: [u8; 32]) {
        self.prev = prev;
        self.hash = self.computed_hash();
    }
}

/// A signed checkpoint of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last row covered.
    pub seq: i64,
    /// Its hash.
    pub head: [u8; 32],
    /// When it was signed, ISO 8601 UTC.
    pub at: String,
    /// Fingerprint of the signing key (informative; verification uses the key given).
    pub key: String,
    /// SM2 signature r ‖ s over [`Checkpoint::message`].
    pub signature: Vec<u8>,
}

impl Checkpoint {
    /// The signed bytes.
    pub fn message(seq: i64, head: &[u8; 32], at: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(80);
        out.extend_from_slice(b"JWC1");
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(head);
        field(&mut out, Some(at));
        out
    }

    /// One line of an auditor's checkpoint file (JSON; kept outside the store, so that a
    /// superuser who deletes the store's checkpoints cannot hide a truncation).
    pub fn to_line(&self) -> String {
        serde_json::json!({
            "seq": self.seq,
            "head": hex(&self.head),
            "at": self.at,
            "key": self.key,
            "signature": hex(&self.signature),
        })
        .to_string()
    }

    /// Read a line written by [`Checkpoint::to_line`].
    pub fn from_line(line: &str) -> Result<Checkpoint, String> {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not a checkpoint line: {e}"))?;
        let text = |k: &str| v[k].as_str().map(str::to_owned).ok_or_else(|| format!("checkpoint without '{k}'"));
        let head: [u8; 32] = crate::seal::unhex(&text("head")?)
            .and_then(|h| h.try_into().ok())
            .ok_or("checkpoint head is not 32 bytes of hex")?;
        Ok(Checkpoint {
            seq: v["seq"].as_i64().ok_or("checkpoint without 'seq'")?,
            head,
            at: text("at")?,
            key: text("key")?,
            signature: crate::seal::unhex(&text("signature")?).ok_or("checkpoint signature is not hex")?,
        })
    }

    /// Sign the head of the chain `report` checked, at `at`; refused (the break named) when the
    /// chain is broken: a checkpoint never vouches for a damaged chain.
    pub fn after(report: &AuditReport, at: &str, signer: &AuditSigner) -> Result<Checkpoint, String> {
        if let Some(b) = &report.broken {
            return Err(format!(
                "{}: the audit chain is broken at row {} ({}); no checkpoint signed",
                report.store, b.seq, b.why
            ));
        }
        let head: [u8; 32] = crate::seal::unhex(&report.head)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| format!("{}: the head hash '{}' is not 32 bytes of hex", report.store, report.head))?;
        Ok(Checkpoint::sign(report.last_seq, head, at, signer))
    }

    /// Sign the chain's head now.
    pub fn sign(seq: i64, head: [u8; 32], at: &str, signer: &AuditSigner) -> Checkpoint {
        Checkpoint {
            seq,
            head,
            at: at.to_owned(),
            key: signer.verifier().fingerprint(),
            signature: signer.sign(&Checkpoint::message(seq, &head, at)),
        }
    }
}

/// The first thing found wrong in a chain.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Broken {
    /// The row (or checkpoint's row) where the chain breaks.
    pub seq: i64,
    /// What is wrong, in words.
    pub why: String,
}

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct AuditReport {
    /// The store checked.
    pub store: String,
    /// Rows read.
    pub rows: i64,
    /// The last row's sequence number.
    pub last_seq: i64,
    /// The head hash (hex).
    pub head: String,
    /// Checkpoints whose signature and hash were checked.
    pub checkpoints: usize,
    /// Whether a key was given to check the checkpoints' signatures.
    pub signatures_checked: bool,
    /// Checkpoints signed with other keys (another auditor's), not used when a key is given.
    pub other_keys: usize,
    /// The first break, if any.
    pub broken: Option<Broken>,
}

impl AuditReport {
    /// Whether the chain verified.
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// Check a chain read in sequence order, and its checkpoints (with their signatures when a key
/// is given). Stops at the first break.
pub fn verify(
    store: &str,
    rows: impl IntoIterator<Item = AuditRow>,
    checkpoints: &[Checkpoint],
    key: Option<&AuditVerifier>,
) -> AuditReport {
    let mut report = AuditReport {
        store: store.to_owned(),
        rows: 0,
        last_seq: 0,
        head: hex(&GENESIS),
        checkpoints: 0,
        signatures_checked: key.is_some(),
        other_keys: 0,
        broken: None,
    };
    // With a key, the checkpoints that name it are checked (one that names it and does not
    // verify is a forgery); those of other keys are counted, not used. The empty chain's
    // checkpoint says nothing.
    let mut cps: Vec<&Checkpoint> = checkpoints
        .iter()
        .filter(|c| c.seq > 0)
        .filter(|c| key.is_none_or(|k| c.key == k.fingerprint()))
        .collect();
    report.other_keys = checkpoints.iter().filter(|c| c.seq > 0).count() - cps.len();
    cps.sort_by(|a, b| (a.seq, &a.signature).cmp(&(b.seq, &b.signature)));
    // The store's copy and the auditor's file hold the same checkpoints.
    cps.dedup_by(|a, b| a.seq == b.seq && a.head == b.head && a.signature == b.signature);
    // A checkpoint's signature is checked before the rows: a forged one is a break at its seq.
    if let Some(key) = key {
        for c in &cps {
            if !key.verify(&Checkpoint::message(c.seq, &c.head, &c.at), &c.signature) {
                report.broken = Some(Broken {
                    seq: c.seq,
                    why: format!(
                        "the checkpoint at row {} of {} is not signed by the given key ({})",
                        c.seq,
                        c.at,
                        key.fingerprint()
                    ),
                });
                return report;
            }
        }
    }
    let mut next_cp = cps.iter().peekable();
    let mut prev = GENESIS;
    let mut expect = 1i64;
    let broke = |seq: i64, why: String| Some(Broken { seq, why });
    for row in rows {
        report.rows += 1;
        let b = if row.seq != expect {
            if row.seq > expect {
                broke(expect, format!("row {expect} is missing (the next row is {})", row.seq))
            } else {
                broke(
                    row.seq,
                    format!("row {} appears again or out of order after row {}", row.seq, expect - 1),
                )
            }
        } else if row.prev != prev {
            broke(
                row.seq,
                format!("row {} does not follow row {}: its previous hash differs", row.seq, row.seq - 1),
            )
        } else if row.computed_hash() != row.hash {
            broke(row.seq, format!("row {} was altered: its content does not give its hash", row.seq))
        } else {
            None
        };
        if let Some(b) = b {
            report.broken = Some(b);
            return report;
        }
        while let Some(c) = next_cp.next_if(|c| c.seq <= row.seq) {
            if c.seq == row.seq && c.head != row.hash {
                report.broken = Some(Broken {
                    seq: c.seq,
                    why: format!(
                        "row {} differs from the checkpoint signed at {}: the chain was rewritten",
                        c.seq, c.at
                    ),
                });
                return report;
            }
            report.checkpoints += 1;
        }
        prev = row.hash;
        expect = row.seq + 1;
        report.last_seq = row.seq;
    }
    report.head = hex(&prev);
    if let Some(c) = next_cp.next() {
        report.broken = Some(Broken {
            seq: report.last_seq + 1,
            why: format!(
                "the chain ends at row {} but a checkpoint signed at {} covers row {}: rows were removed from its end",
                report.last_seq, c.at, c.seq
            ),
        });
    }
    report
}

impl crate::CaseStore {
    /// The GeoPackage's audit chain in sequence order.
    pub fn audit_chain(&self) -> crate::Result<Vec<AuditRow>> {
        let read = || -> rusqlite::Result<Vec<AuditRow>> {
            let mut st = self.conn.prepare(
                "SELECT seq, at, actor, department, action, entity, entity_id, detail, prev, hash FROM jingwei_audit ORDER BY seq",
            )?;
            let rows = st.query_map([], |r| {
                let h = |v: Vec<u8>| v.try_into().unwrap_or([0xff; 32]);
                Ok(AuditRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    department: r.get(3)?,
                    action: r.get(4)?,
                    entity: r.get(5)?,
                    entity_id: r.get(6)?,
                    detail: r.get(7)?,
                    prev: h(r.get(8)?),
                    hash: h(r.get(9)?),
                })
            })?;
            rows.collect()
        };
        self.sql(read())
    }

    /// The GeoPackage's signed checkpoints.
    pub fn chain_checkpoints(&self) -> crate::Result<Vec<Checkpoint>> {
        let read = || -> rusqlite::Result<Vec<Checkpoint>> {
            let mut st = self
                .conn
                .prepare("SELECT seq, head, at, key, signature FROM jingwei_audit_checkpoint ORDER BY seq, id")?;
            let rows = st.query_map([], |r| {
                Ok(Checkpoint {
                    seq: r.get(0)?,
                    head: r.get::<_, Vec<u8>>(1)?.try_into().unwrap_or([0xff; 32]),
                    at: r.get(2)?,
                    key: r.get(3)?,
                    signature: r.get(4)?,
                })
            })?;
            rows.collect()
        };
        self.sql(read())
    }

    /// Check the chain against its checkpoints and those `kept` outside the file.
    pub fn verify_audit(&self, key: Option<&AuditVerifier>, kept: &[Checkpoint]) -> crate::Result<AuditReport> {
        let mut cps = self.chain_checkpoints()?;
        cps.extend_from_slice(kept);
        Ok(verify(&self.path().display().to_string(), self.audit_chain()?, &cps, key))
    }

    /// Sign the chain's head (refused when the chain is broken).
    pub fn sign_checkpoint(&mut self, signer: &AuditSigner) -> crate::Result<Checkpoint> {
        let report = self.verify_audit(Some(&signer.verifier()), &[])?;
        let cp = Checkpoint::after(&report, &crate::now_utc(), signer).map_err(crate::CaseError::Invalid)?;
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO jingwei_audit_checkpoint(seq, head, at, key, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![cp.seq, &cp.head[..], cp.at, cp.key, cp.signature],
            )
        })?;
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let mut r = AuditRow {
                    seq,
                    at: format!("2026-12-06T03:00:{:02}.000000Z", seq % 60),
                    actor: "inspector_a".into(),
                    department: Some("城东".into()),
                    action: "case.update".into(),
                    entity: "cases".into(),
                    entity_id: Some(seq % 3),
                    detail: (seq % 2 == 0).then(|| format!("{{\"status\":[\"pending\",\"confirmed\"],\"n\":{seq}}}")),
                    prev: GENESIS,
                    hash: GENESIS,
                };
                r.seal_after(prev);
                prev = r.hash;
                r
            })
            .collect()
    }

    #[test]
    fn layout_is_as_documented() {
        let r = &chain(1)[0];
        let c = r.content();
        assert_eq!(&c[..4], b"JWA1");
        assert_eq!(&c[4..12], &1i64.to_be_bytes());
        assert_eq!(&c[12..44], &GENESIS);
        let at_len = u32::from_be_bytes(c[44..48].try_into().unwrap()) as usize;
        assert_eq!(&c[48..48 + at_len], r.at.as_bytes());
        // detail NULL at the end
        assert_eq!(&c[c.len() - 4..], &u32::MAX.to_be_bytes());
        // department is two 3-byte characters
        assert!(c.windows(10).any(|w| w == [0, 0, 0, 6, 0xe5, 0x9f, 0x8e, 0xe4, 0xb8, 0x9c]));
    }

    #[test]
    fn a_sound_chain_verifies_and_each_kind_of_tampering_is_named() {
        let signer = AuditSigner::generate();
        let rows = chain(10);
        let cp = Checkpoint::sign(8, rows[7].hash, "2026-12-06T04:00:00Z", &signer);
        let v = signer.verifier();
        let ok = verify("t", rows.clone(), std::slice::from_ref(&cp), Some(&v));
        assert!(ok.ok(), "{ok:?}");
        assert_eq!((ok.rows, ok.last_seq, ok.checkpoints), (10, 10, 1));

        let mut edited = rows.clone();
        edited[4].actor = "someone_else".into();
        let r = verify("t", edited, &[], None);
        assert_eq!(r.broken.unwrap().seq, 5);

        let mut deleted = rows.clone();
        deleted.remove(5);
        let b = verify("t", deleted, &[], None).broken.unwrap();
        assert_eq!(b.seq, 6);
        assert!(b.why.contains("missing"), "{}", b.why);

        // Truncated: consistent by itself, caught by the checkpoint.
        let truncated = rows[..6].to_vec();
        assert!(verify("t", truncated.clone(), &[], None).ok());
        let b = verify("t", truncated, std::slice::from_ref(&cp), Some(&v)).broken.unwrap();
        assert!(b.why.contains("removed from its end"), "{}", b.why);

        // Rewritten from row 3 on with fresh hashes: consistent, caught by the checkpoint.
        let mut rewritten = rows.clone();
        rewritten[2].detail = Some("{\"forged\":true}".into());
        for i in 2..rewritten.len() {
            let prev = rewritten[i - 1].hash;
            rewritten[i].seal_after(prev);
        }
        assert!(verify("t", rewritten.clone(), &[], None).ok());
        let b = verify("t", rewritten, std::slice::from_ref(&cp), Some(&v)).broken.unwrap();
        assert_eq!(b.seq, 8);
        assert!(b.why.contains("rewritten"), "{}", b.why);

        // A checkpoint forged with another key in the auditor's name.
        let mut forged = Checkpoint::sign(8, rows[7].hash, "2026-12-06T04:00:00Z", &AuditSigner::generate());
        let honest_other = forged.clone();
        forged.key = cp.key.clone();
        let b = verify("t", rows.clone(), &[forged], Some(&v)).broken.unwrap();
        assert!(b.why.contains("not signed by the given key"), "{}", b.why);
        // Another auditor's checkpoint under its own name: counted, not used, not a break.
        let r = verify("t", rows.clone(), &[honest_other], Some(&v));
        assert!(r.ok() && r.other_keys == 1 && r.checkpoints == 0, "{r:?}");

        // Through the auditor's file and back; the same checkpoint twice counts once.
        let back = Checkpoint::from_line(&cp.to_line()).unwrap();
        assert_eq!(back, cp);
        let r = verify("t", rows, &[cp, back], Some(&v));
        assert!(r.ok() && r.checkpoints == 1, "{r:?}");
        assert!(Checkpoint::from_line("{}").is_err());
    }
}
