//! Tampering with the audit as the database's superuser (triggers off with
//! `session_replication_role = replica`): an edited row, a row deleted in the middle, a truncated
//! tail and a chain recomputed from a forged row are each found and named; the last two against
//! a checkpoint signed with the auditor's SM2 key and kept by the auditor outside the store.

mod support;

use geo::{Geometry, Point};
use jingwei_cases::Status;
use jingwei_cases::chain::Checkpoint;
use jingwei_cases::seal::AuditSigner;
use jingwei_store::NewSharedCase;
use support::*;

/// A store with some history, a signed checkpoint (kept by the auditor) and more history after it.
fn history(name: &str) -> (String, AuditSigner, Checkpoint, i64) {
    let db = fresh_store(name);
    let mut cmd = open(&db, "cmd_east");
    let work = |cmd: &mut jingwei_store::Shared, n: usize| {
        for i in 0..n {
            let c = cmd
                .flag_case(&NewSharedCase {
                    title: format!("案件{i}"),
                    geometry: Some(Geometry::Point(Point::new(121.5 + i as f64 * 1e-3, 31.2))),
                    ..Default::default()
                })
                .unwrap();
            let c = cmd.set_status(c.id, c.version, Status::Confirmed, Some("核实")).unwrap();
            cmd.assign(c.id, c.version, Some("insp_east")).unwrap();
        }
    };
    work(&mut cmd, 6);
    let signer = AuditSigner::generate();
    let mut auditor = open(&db, "auditor1");
    let cp = auditor.sign_checkpoint(&signer).unwrap();
    work(&mut cmd, 3);
    let last: i64 = psql(&db, "SELECT max(seq) FROM jingwei.audit").parse().unwrap();
    assert!(last > cp.seq + 5);
    let r = auditor.verify_audit(Some(&signer.verifier()), std::slice::from_ref(&cp)).unwrap();
    assert!(r.ok(), "{r:?}");
    (db, signer, cp, last)
}

fn as_superuser(db: &str, sql: &str) {
    psql(db, &format!("SET session_replication_role = replica; {sql}"));
}

fn verdict(db: &str, signer: &AuditSigner, kept: &[Checkpoint]) -> jingwei_cases::chain::AuditReport {
    open(db, "auditor1").verify_audit(Some(&signer.verifier()), kept).unwrap()
}

#[test]
fn an_edited_row_is_named() {
    let (db, signer, cp, _) = history("t_edit");
    let k = cp.seq - 3;
    as_superuser(&db, &format!("UPDATE jingwei.audit SET actor = 'someone_else' WHERE seq = {k}"));
    let r = verdict(&db, &signer, &[]);
    let b = r.broken.expect("the edit is found");
    assert_eq!(b.seq, k);
    assert!(b.why.contains("altered"), "{}", b.why);
}

#[test]
fn a_row_deleted_in_the_middle_is_named() {
    let (db, signer, cp, _) = history("t_delete");
    let k = cp.seq + 2;
    as_superuser(&db, &format!("DELETE FROM jingwei.audit WHERE seq = {k}"));
    let b = verdict(&db, &signer, &[]).broken.expect("the gap is found");
    assert_eq!(b.seq, k);
    assert!(b.why.contains("missing"), "{}", b.why);
}

#[test]
fn a_truncated_tail_is_found_by_the_kept_checkpoint() {
    let (db, signer, cp, _) = history("t_truncate");
    let keep = cp.seq - 4;
    // Everything after `keep` removed, the head moved back, the store's checkpoints deleted too.
    as_superuser(
        &db,
        &format!(
            "DELETE FROM jingwei.audit WHERE seq > {keep}; \
             UPDATE jingwei.audit_head SET seq = {keep}, hash = (SELECT hash FROM jingwei.audit WHERE seq = {keep}); \
             DELETE FROM jingwei.audit_checkpoint"
        ),
    );
    // By itself the shortened chain is consistent…
    assert!(verdict(&db, &signer, &[]).ok());
    // …but not against the checkpoint the auditor kept.
    let b = verdict(&db, &signer, std::slice::from_ref(&cp))
        .broken
        .expect("the truncation is found");
    assert_eq!(b.seq, keep + 1);
    assert!(b.why.contains("removed from its end"), "{}", b.why);
}

#[test]
fn a_rewritten_chain_is_found_by_the_signed_checkpoint() {
    let (db, signer, cp, _) = history("t_rewrite");
    let k = cp.seq - 5;
    // The layout is public: recompute every hash from a forged row on, in the database.
    as_superuser(
        &db,
        &format!(
            "UPDATE jingwei.audit SET detail = '{{\"status\": [\"pending\", \"dismissed\"]}}' WHERE seq = {k};
             DO $$ DECLARE r record; p bytea; h bytea; BEGIN
               SELECT hash INTO p FROM jingwei.audit WHERE seq = {k} - 1;
               FOR r IN SELECT * FROM jingwei.audit WHERE seq >= {k} ORDER BY seq LOOP
                 h := digest(convert_to('JWA1', 'UTF8') || int8send(r.seq) || p || jingwei.audit_field(r.at)
                      || jingwei.audit_field(r.actor) || jingwei.audit_field(r.department) || jingwei.audit_field(r.action)
                      || jingwei.audit_field(r.entity) || jingwei.audit_field(r.entity_id::text)
                      || jingwei.audit_field(r.detail), 'sm3');
                 UPDATE jingwei.audit SET prev = p, hash = h WHERE seq = r.seq;
                 p := h;
               END LOOP;
               UPDATE jingwei.audit_head SET hash = p;
             END $$;"
        ),
    );
    // Without checkpoints the forgery holds together (which is why they are signed)…
    let chain_only = open(&db, "auditor1").verify_audit(None, &[]).unwrap();
    assert!(chain_only.broken.as_ref().is_none_or(|b| b.why.contains("rewritten")));
    // …the store's own signed checkpoint finds it.
    let b = verdict(&db, &signer, &[]).broken.expect("the rewrite is found");
    assert_eq!(b.seq, cp.seq);
    assert!(b.why.contains("rewritten"), "{}", b.why);
    // A checkpoint re-signed by the forger with a key of their own is not the auditor's.
    let forger = AuditSigner::generate();
    let head: Vec<u8> = jingwei_cases::seal::unhex(&psql(
        &db,
        &format!("SELECT encode(hash, 'hex') FROM jingwei.audit WHERE seq = {}", cp.seq),
    ))
    .unwrap();
    let mut forged = Checkpoint::sign(cp.seq, head.try_into().unwrap(), &cp.at, &forger);
    forged.key = cp.key.clone(); // in the auditor's name
    as_superuser(
        &db,
        &format!(
            "DELETE FROM jingwei.audit_checkpoint; INSERT INTO jingwei.audit_checkpoint (seq, head, at, key, signature, signed_by) \
             VALUES ({}, '\\x{}', '{}', '{}', '\\x{}', 'auditor1')",
            forged.seq,
            jingwei_cases::seal::hex(&forged.head),
            forged.at,
            forged.key,
            jingwei_cases::seal::hex(&forged.signature)
        ),
    );
    let b = verdict(&db, &signer, &[]).broken.expect("the forged checkpoint is found");
    assert!(b.why.contains("not signed by the given key"), "{}", b.why);
    // And the checkpoint the auditor kept still names the rewrite.
    let b = verdict(&db, &signer, std::slice::from_ref(&cp)).broken.unwrap();
    assert!(b.why.contains("not signed") || b.why.contains("rewritten"), "{}", b.why);
}
