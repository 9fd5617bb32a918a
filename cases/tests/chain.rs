//! The GeoPackage store's audit chain: every change of cases and incidents appends a row in its
//! transaction; the chain verifies, survives a drill copy, and tampering with the file through
//! plain SQLite (triggers dropped, as anyone with the file could) is found and named.

use geo::{Geometry, Point};
use jingwei_cases::chain::Checkpoint;
use jingwei_cases::incidents::{IncidentStatus, NewIncident};
use jingwei_cases::seal::AuditSigner;
use jingwei_cases::{CaseStore, Status};
use jingwei_layers::Crs;

fn store(dir: &std::path::Path) -> CaseStore {
    let crs = Crs::from_epsg(4549).unwrap();
    let mut s = CaseStore::open_or_create(&dir.join("w.gpkg"), &crs).unwrap();
    for i in 0..4 {
        let c = s
            .flag(
                &Geometry::Point(Point::new(500_000.0 + i as f64, 3_450_000.0)),
                None,
                &format!("案件{i}"),
                None,
                "insp",
            )
            .unwrap();
        s.set_status(&c.id.to_string(), Status::Confirmed, Some("核实"), "insp").unwrap();
        s.add_note(&c.id.to_string(), "现场照片已上传", "insp").unwrap();
    }
    s
}

#[test]
fn every_change_is_chained_and_tampering_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    let n = s.audit_chain().unwrap().len();
    // Each flag, status and note, plus whatever the flag writes.
    assert!(n >= 12, "{n} chain rows");
    let per_case_audit: i64 = s.audit_trail(None).unwrap().len() as i64;
    assert_eq!(per_case_audit, n as i64, "one chain row per audit entry");
    let signer = AuditSigner::generate();
    let cp = s.sign_checkpoint(&signer).unwrap();
    assert_eq!(cp.seq, n as i64);
    let inc = s
        .create_incident(
            &NewIncident {
                kind: "fire",
                title: "仓库火情",
                severity: None,
                geometry: &Geometry::Point(Point::new(500_100.0, 3_450_100.0)),
                rings_m: &[100.0],
                source: "manual",
                event_id: None,
                occurred_at: None,
            },
            "cmd",
        )
        .unwrap();
    s.set_incident_status(&inc.id.to_string(), IncidentStatus::Contained, "cmd")
        .unwrap();
    let r = s.verify_audit(Some(&signer.verifier()), &[]).unwrap();
    assert!(r.ok(), "{r:?}");
    assert!(r.rows > n as i64 && r.checkpoints == 1);
    // Append-only through SQLite too.
    let path = s.path().to_path_buf();
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert!(conn.execute("UPDATE jingwei_audit SET actor = 'x'", []).is_err());
    assert!(conn.execute("DELETE FROM jingwei_audit", []).is_err());
    // With the triggers dropped (anyone holding the file can): an edit is named.
    conn.execute_batch("DROP TRIGGER jingwei_audit_append_only_u; DROP TRIGGER jingwei_audit_append_only_d;")
        .unwrap();
    conn.execute("UPDATE jingwei_audit SET detail = '{\"forged\":1}' WHERE seq = 5", [])
        .unwrap();
    let s = CaseStore::open(&path).unwrap();
    let b = s.verify_audit(None, &[]).unwrap().broken.unwrap();
    assert_eq!(b.seq, 5);
    // A truncated tail (checkpoints deleted too) is found against the auditor's kept checkpoint.
    let dir2 = tempfile::tempdir().unwrap();
    let mut s2 = store(dir2.path());
    let cp2 = s2.sign_checkpoint(&signer).unwrap();
    let kept = Checkpoint::from_line(&cp2.to_line()).unwrap();
    let p2 = s2.path().to_path_buf();
    drop(s2);
    let c2 = rusqlite::Connection::open(&p2).unwrap();
    c2.execute_batch(
        "DROP TRIGGER jingwei_audit_append_only_d; DROP TRIGGER jingwei_checkpoint_append_only_d;
         DELETE FROM jingwei_audit WHERE seq > 6; DELETE FROM jingwei_audit_checkpoint;",
    )
    .unwrap();
    let s2 = CaseStore::open(&p2).unwrap();
    assert!(s2.verify_audit(None, &[]).unwrap().ok());
    let b = s2.verify_audit(Some(&signer.verifier()), &[kept]).unwrap().broken.unwrap();
    assert!(b.why.contains("removed from its end"), "{}", b.why);
}

#[test]
fn a_drill_copy_carries_the_chain_and_goes_on_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let before = s.audit_chain().unwrap().len();
    let mut drill = s.drill_copy(&dir.path().join("drill.gpkg"), "cmd").unwrap();
    let c = drill.list(&Default::default()).unwrap()[0].clone();
    drill.add_note(&c.id.to_string(), "演练记录", "cmd").unwrap();
    let r = drill.verify_audit(None, &[]).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.rows as usize, before + 1);
    assert_eq!(s.audit_chain().unwrap().len(), before, "the real store is untouched");
}

#[test]
fn photos_are_sealed_at_rest_when_the_store_has_a_data_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = jingwei_cases::seal::DataKey::generate();
    let crs = Crs::from_epsg(4549).unwrap();
    let path = dir.path().join("w.gpkg");
    let mut s = CaseStore::open_or_create(&path, &crs).unwrap().with_data_key(key.clone());
    let c = s
        .flag(&Geometry::Point(Point::new(500_000.0, 3_450_000.0)), None, "拍照", None, "insp")
        .unwrap();
    let photo: Vec<u8> = (0..40_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let id = s.attach_bytes(&c.id.to_string(), "现场.jpg", &photo, "insp").unwrap();
    let (a, back) = s.attachment_data(id).unwrap();
    assert_eq!((back, a.size), (photo.clone(), photo.len() as i64));
    drop(s);
    // The file holds it sealed: not the photo, not even a run of it.
    let raw = std::fs::read(&path).unwrap();
    assert!(!raw.windows(64).any(|w| w == &photo[1000..1064]));
    // Without the key: refused by name; with another: refused.
    let plain = CaseStore::open(&path).unwrap();
    let e = plain.attachment_data(id).unwrap_err().to_string();
    assert!(e.contains("sealed") && e.contains("w.gpkg"), "{e}");
    let other = CaseStore::open(&path)
        .unwrap()
        .with_data_key(jingwei_cases::seal::DataKey::generate());
    assert!(other.attachment_data(id).unwrap_err().to_string().contains("another data key"));
    // A store without a key keeps working with clear attachments as before.
    let mut clear = CaseStore::open(&path).unwrap();
    let id2 = clear.attach_bytes(&c.id.to_string(), "a.txt", b"clear text", "insp").unwrap();
    assert_eq!(clear.attachment_data(id2).unwrap().1, b"clear text");
}
