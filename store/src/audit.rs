//! The audit chain of the shared store: reading it, checking it (`jingwei audit verify`) and
//! signing checkpoints (`jingwei audit checkpoint`), by auditors; and a check of who may do what.

use crate::{Result, Shared, StoreError};
use jingwei_cases::chain::{self, AuditReport, AuditRow, Checkpoint};
use jingwei_cases::seal::{AuditSigner, AuditVerifier};
use serde::Serialize;

/// The chain's state without reading it whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditSummary {
    /// Rows in the chain.
    pub rows: i64,
    /// The head's sequence number.
    pub head_seq: i64,
    /// Checkpoints signed.
    pub checkpoints: i64,
}

/// One role's rights as the database grants them, for `jingwei store check`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleCheck {
    /// Table.
    pub table: String,
    /// Privileges held (`SELECT`, `INSERT`, …).
    pub privileges: Vec<String>,
}

fn hash32(v: Vec<u8>, what: &str, seq: i64) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|v: Vec<u8>| StoreError::Invalid(format!("audit row {seq}: {what} has {} bytes, not 32", v.len())))
}

impl Shared {
    /// Every audit row in sequence order (auditors).
    pub fn audit_rows(&mut self) -> Result<Vec<AuditRow>> {
        let rows = self.q(
            "reading the audit chain",
            "SELECT seq, at, actor, department, action, entity, entity_id, detail, prev, hash FROM jingwei.audit ORDER BY seq",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.get(0);
                Ok(AuditRow {
                    seq,
                    at: r.get(1),
                    actor: r.get(2),
                    department: r.get(3),
                    action: r.get(4),
                    entity: r.get(5),
                    entity_id: r.get(6),
                    detail: r.get(7),
                    prev: hash32(r.get(8), "prev", seq)?,
                    hash: hash32(r.get(9), "hash", seq)?,
                })
            })
            .collect()
    }

    /// The signed checkpoints.
    pub fn checkpoints(&mut self) -> Result<Vec<Checkpoint>> {
        let rows = self.q(
            "reading the checkpoints",
            "SELECT seq, head, at, key, signature FROM jingwei.audit_checkpoint ORDER BY seq, id",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.get(0);
                Ok(Checkpoint {
                    seq,
                    head: hash32(r.get(1), "checkpoint head", seq)?,
                    at: r.get(2),
                    key: r.get(3),
                    signature: r.get(4),
                })
            })
            .collect()
    }

    /// Check the chain against its checkpoints (the store's and those `kept` by the auditor
    /// outside it; their signatures with `key`); names the first broken row.
    pub fn verify_audit(&mut self, key: Option<&AuditVerifier>, kept: &[Checkpoint]) -> Result<AuditReport> {
        // One snapshot for rows and checkpoints.
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(|e| self.err("starting a snapshot", e))?;
        let r = (|| {
            let rows = self.audit_rows()?;
            let mut cps = self.checkpoints()?;
            cps.extend_from_slice(kept);
            Ok(chain::verify(&self.target(), rows, &cps, key))
        })();
        let _ = self.client.batch_execute("COMMIT");
        r
    }

    /// Sign the chain's current head (auditors): checks the chain first, and refuses to sign a
    /// broken one.
    pub fn sign_checkpoint(&mut self, signer: &AuditSigner) -> Result<Checkpoint> {
        let report = self.verify_audit(Some(&signer.verifier()), &[])?;
        let at: String = self
            .q_one(
                "reading the time",
                r#"SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#,
                &[],
            )?
            .get(0);
        let cp = Checkpoint::after(&report, &at, signer).map_err(StoreError::Invalid)?;
        self.q(
            "storing the checkpoint",
            "INSERT INTO jingwei.audit_checkpoint (seq, head, at, key, signature) VALUES ($1, $2, $3, $4, $5)",
            &[&cp.seq, &cp.head.as_slice(), &cp.at, &cp.key, &cp.signature],
        )?;
        Ok(cp)
    }

    /// Rows, head and checkpoints, counted.
    pub fn audit_summary(&mut self) -> Result<AuditSummary> {
        let r = self.q_one(
            "counting the audit",
            "SELECT (SELECT count(*) FROM jingwei.audit), (SELECT seq FROM jingwei.audit_head), \
             (SELECT count(*) FROM jingwei.audit_checkpoint)",
            &[],
        )?;
        Ok(AuditSummary {
            rows: r.get(0),
            head_seq: r.get(1),
            checkpoints: r.get(2),
        })
    }

    /// The privileges a group role holds on the store's tables.
    pub fn role_rights(&mut self, group: &str) -> Result<Vec<RoleCheck>> {
        let rows = self.q(
            "reading the grants",
            "SELECT c.relname, array_agg(p.priv ORDER BY p.priv) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'jingwei' \
             CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE']) AS p(priv) \
             WHERE c.relkind = 'r' AND has_table_privilege($1, c.oid, p.priv) GROUP BY c.relname ORDER BY c.relname",
            &[&group],
        )?;
        Ok(rows
            .iter()
            .map(|r| RoleCheck {
                table: r.get(0),
                privileges: r.get(1),
            })
            .collect())
    }
}
