//! The shared store against a real PostgreSQL 15 + PostGIS 3 (scripts/pg-store.sh): departments
//! kept apart by row-level security, the case loop and who may close in the database, no lost
//! update, notifications, sealed personal fields, and the audit chain (hashed with SM3 by the
//! database's OpenSSL, checked with RustCrypto's SM3).

mod support;

use geo::{Geometry, Point};
use jingwei_cases::Status;
use jingwei_cases::seal::{AuditSigner, DataKey};
use jingwei_store::{Change, Listener, NewSharedCase, Role, Shared, SharedFilter, StoreError};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use support::*;

fn new_case(title: &str) -> NewSharedCase {
    NewSharedCase {
        title: title.into(),
        priority: 50.0,
        geometry: Some(Geometry::Point(Point::new(121.5, 31.23))),
        ..Default::default()
    }
}

#[test]
fn departments_see_and_write_only_their_own_rows() {
    let db = fresh_store("departments");
    let mut east = open(&db, "insp_east");
    let mut west = open(&db, "insp_west");
    assert_eq!((east.role(), east.department()), (Some(Role::Inspector), Some("城东")));
    let mine: Vec<i64> = (0..3).map(|i| east.flag_case(&new_case(&format!("东{i}"))).unwrap().id).collect();
    let theirs: Vec<i64> = (0..2).map(|i| west.flag_case(&new_case(&format!("西{i}"))).unwrap().id).collect();
    let seen = east.cases(&SharedFilter::default()).unwrap();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|c| c.department == "城东" && mine.contains(&c.id)));
    assert_eq!(west.cases(&SharedFilter::default()).unwrap().len(), 2);
    // A 城西 row by id, through every door: not found, never changed.
    let w = theirs[0];
    assert!(matches!(east.case(w), Err(StoreError::NotFound { .. })));
    assert!(matches!(
        east.set_status(w, 1, Status::Confirmed, None),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(east.assign(w, 1, Some("insp_east")), Err(StoreError::NotFound { .. })));
    assert!(matches!(east.add_note(w, "越界"), Err(StoreError::NotFound { .. })));
    assert!(east.attach(w, "a.jpg", b"x").is_err());
    // Raw SQL as the 城东 inspector: the database itself keeps the rows apart.
    let raw = user(&db, "insp_east");
    let client_err = |sql: &str| -> String { psql_as(&raw, sql).unwrap_or_else(|e| format!("ERROR {e}")) };
    assert_eq!(
        client_err(&format!(
            "UPDATE jingwei.cases SET title = 'x', version = version + 1 WHERE id = {w}"
        )),
        "0"
    );
    assert!(client_err("INSERT INTO jingwei.cases (department, title) VALUES ('城西', 'planted')").contains("row-level security"));
    assert!(
        client_err(&format!(
            "INSERT INTO jingwei.case_notes (case_id, department, text) VALUES ({w}, '城西', 'x')"
        ))
        .starts_with("ERROR")
    );
    assert!(client_err(&format!("INSERT INTO jingwei.case_notes (case_id, text) VALUES ({w}, 'x')")).contains("row-level security"));
    assert!(client_err("DELETE FROM jingwei.cases").contains("permission denied"));
    assert_eq!(client_err("SELECT count(*) FROM jingwei.cases WHERE department = '城西'"), "0");
    assert!(client_err("SELECT count(*) FROM jingwei.audit").contains("permission denied"));
    // Moving a row to the other department is refused.
    assert!(
        client_err(&format!(
            "UPDATE jingwei.cases SET department = '城西', version = version + 1 WHERE id = {}",
            mine[0]
        ))
        .starts_with("ERROR")
    );
    // Administrators and auditors see no cases at all.
    for u in ["admin1", "auditor1"] {
        let mut s = open(&db, u);
        assert!(matches!(s.cases(&SharedFilter::default()), Err(StoreError::Denied { .. })), "{u}");
    }
    // West still has exactly its two, untouched.
    let w_now = west.cases(&SharedFilter::default()).unwrap();
    assert_eq!(w_now.len(), 2);
    assert!(w_now.iter().all(|c| c.version == 1 && c.status == Status::Pending));
    // Inspectors do not open incidents; commanders do, in their department.
    assert!(client_err("INSERT INTO jingwei.incidents (type, title) VALUES ('fire', 'x')").starts_with("ERROR"));
}

/// One statement as a user over TLS (tokio-postgres, not psql: the user has no socket login).
fn psql_as(c: &jingwei_store::Connect, sql: &str) -> Result<String, String> {
    let mut s = Shared::open(c).map_err(|e| e.to_string())?;
    s.raw(sql).map_err(|e| e.to_string())
}

#[test]
fn the_case_loop_and_who_closes_are_enforced_by_the_database() {
    let db = fresh_store("loop");
    // The database's table is the program's.
    let table = psql(
        &db,
        "SELECT string_agg(from_status || '>' || to_status, ',' ORDER BY 1) FROM jingwei.case_transitions",
    );
    let mut ours: Vec<String> = Status::ALL
        .iter()
        .flat_map(|f| f.next().iter().map(move |t| format!("{}>{}", f.id(), t.id())))
        .collect();
    ours.sort();
    let mut theirs: Vec<String> = table.split(',').map(str::to_owned).collect();
    theirs.sort();
    assert_eq!(theirs, ours);

    let mut cmd = open(&db, "cmd_east");
    let mut insp = open(&db, "insp_east");
    // A path from pending to each status, by a commander.
    let path = |to: Status| -> Vec<Status> {
        match to {
            Status::Pending => vec![],
            Status::Confirmed => vec![Status::Confirmed],
            Status::Dismissed => vec![Status::Dismissed],
            Status::Rectifying => vec![Status::Confirmed, Status::Rectifying],
            Status::Closed => vec![Status::Confirmed, Status::Closed],
        }
    };
    let mut checked = 0;
    for from in Status::ALL {
        for to in Status::ALL {
            if from == to {
                continue;
            }
            for (who, is_commander) in [("cmd_east", true), ("insp_east", false)] {
                let mut c = cmd.flag_case(&new_case("loop")).unwrap();
                for s in path(from) {
                    c = cmd.set_status(c.id, c.version, s, None).unwrap();
                }
                assert_eq!(c.status, from);
                let allowed = from.next().contains(&to) && (is_commander || (to != Status::Closed && from != Status::Closed));
                let actor = if is_commander { &mut cmd } else { &mut insp };
                let r = actor.set_status(c.id, c.version, to, None);
                assert_eq!(r.is_ok(), allowed, "{who}: {from:?} → {to:?}: {r:?}");
                // The same through raw SQL, past the API's own check.
                let raw = psql_as(
                    &user(&db, who),
                    &format!(
                        "UPDATE jingwei.cases SET status = '{}', version = version + 1 WHERE id = {}",
                        to.id(),
                        c.id
                    ),
                );
                if !allowed {
                    assert!(raw.is_err(), "{who}: raw {from:?} → {to:?} went through");
                    let now = cmd.case(c.id).unwrap();
                    assert_eq!((now.status, now.version), (from, c.version));
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 40);
}

#[test]
fn two_writers_one_case_a_thousand_rounds_exactly_one_wins_each() {
    let db = fresh_store("race");
    let mut a = open(&db, "insp_east");
    let case = a.flag_case(&new_case("contested")).unwrap();
    let rounds = 1000;
    let barrier = Arc::new(Barrier::new(2));
    let wins: Vec<Vec<bool>> = std::thread::scope(|s| {
        let hs: Vec<_> = ["insp_east", "cmd_east"]
            .into_iter()
            .map(|who| {
                let barrier = barrier.clone();
                let db = db.clone();
                s.spawn(move || {
                    let mut me = open(&db, who);
                    let mut won = Vec::with_capacity(rounds);
                    for round in 0..rounds {
                        let read = me.case(case.id).unwrap();
                        barrier.wait(); // both have read
                        let r = me.assign(case.id, read.version, Some(&format!("{who}-{round}")));
                        match r {
                            Ok(_) => won.push(true),
                            Err(StoreError::Stale { read_version, theirs }) => {
                                assert_eq!(read_version, read.version);
                                assert_eq!(theirs.version, read.version + 1);
                                assert_ne!(theirs.updated_by, who);
                                won.push(false);
                            }
                            Err(e) => panic!("{who} round {round}: {e}"),
                        }
                        barrier.wait(); // both have written
                    }
                    won
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = 0;
    for round in 0..rounds {
        assert!(
            wins[0][round] ^ wins[1][round],
            "round {round}: {} {}",
            wins[0][round],
            wins[1][round]
        );
        total += 1;
    }
    let end = a.case(case.id).unwrap();
    assert_eq!(end.version as usize, 1 + total);
    let updates: i64 = psql(
        &db,
        &format!(
            "SELECT count(*) FROM jingwei.audit WHERE entity = 'cases' AND entity_id = {} AND action = 'cases.update'",
            case.id
        ),
    )
    .parse()
    .unwrap();
    assert_eq!(updates as usize, total);
    let mut auditor = open(&db, "auditor1");
    let report = auditor.verify_audit(None, &[]).unwrap();
    assert!(report.ok(), "{report:?}");
}

#[test]
fn changes_are_announced_by_id_only_and_reread_through_ones_own_rights() {
    let db = fresh_store("notify");
    let mut east = open(&db, "insp_east");
    let mut west = open(&db, "insp_west");
    let mut listen_east = Listener::open(&user(&db, "cmd_east")).unwrap();
    let mut listen_west = Listener::open(&user(&db, "cmd_west")).unwrap();
    let mut lat = Vec::new();
    for i in 0..60 {
        let t = Instant::now();
        let c = east.flag_case(&new_case(&format!("n{i}"))).unwrap();
        let got = listen_east.next(Duration::from_secs(2)).unwrap();
        lat.push(t.elapsed());
        assert_eq!(
            got,
            Some(Change::Row {
                table: "cases".into(),
                id: c.id
            })
        );
        // The other department hears the id, and cannot read the row.
        let w = listen_west.next(Duration::from_secs(2)).unwrap();
        assert_eq!(
            w,
            Some(Change::Row {
                table: "cases".into(),
                id: c.id
            })
        );
        assert!(matches!(west.case(c.id), Err(StoreError::NotFound { .. })));
    }
    lat.sort();
    let p95 = lat[lat.len() * 95 / 100];
    eprintln!("notification latency p95 {p95:?} (median {:?})", lat[lat.len() / 2]);
    assert!(p95 < Duration::from_secs(1), "p95 {p95:?}");
    // A dropped connection: the listener comes back and asks for a resync.
    psql(
        &db,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'cmd_east' AND query LIKE 'LISTEN%'",
    );
    let c = east.flag_case(&new_case("after the drop")).unwrap();
    let mut saw_resync = false;
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        match listen_east.next(Duration::from_secs(1)).unwrap() {
            Some(Change::Resync) => saw_resync = true,
            Some(Change::Row { id, .. }) if id == c.id => break,
            _ if saw_resync => break,
            _ => {}
        }
    }
    assert!(saw_resync, "no resync after the listener's backend was killed");
}

#[test]
fn personal_fields_and_photos_are_never_on_the_server_in_clear() {
    let db = fresh_store("sealed");
    let key = DataKey::generate();
    let mut east = open(&db, "insp_east").with_key(key.clone());
    let mut nc = new_case("sealed");
    nc.phone = Some("13912345678".into());
    nc.id_number = Some("110101199003074512".into());
    let c = east.flag_case(&nc).unwrap();
    assert_eq!(c.phone.as_deref(), Some("13912345678"));
    assert_eq!(c.id_number.as_deref(), Some("110101199003074512"));
    let photo: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let a = east.attach(c.id, "现场.jpg", &photo).unwrap();
    assert_eq!(a.mime, "image/jpeg");
    assert_eq!(east.attachment_data(a.id).unwrap().1, photo);
    // Without the key: the case reads, its personal fields stay closed.
    let mut nokey = open(&db, "cmd_east");
    let c2 = nokey.case(c.id).unwrap();
    assert!(c2.personal_sealed && c2.phone.is_none() && c2.id_number.is_none());
    assert!(nokey.attachment_data(a.id).is_err());
    assert!(nokey.flag_case(&nc).is_err(), "a phone cannot be stored without the key");
    // With another key: refused by name.
    let mut other = open(&db, "cmd_east").with_key(DataKey::generate());
    assert!(other.attachment_data(a.id).unwrap_err().to_string().contains("another data key"));
    // A dump of the database holds neither in clear.
    let c = cluster();
    let dump = std::process::Command::new("pg_dump")
        .args(["-h", &c["PG_SOCKET"], "-p", &c["PG_PORT"], "-U", "postgres", "--data-only", &db])
        .output()
        .unwrap();
    assert!(dump.status.success());
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(text.contains("sealed"), "the dump has the case");
    for secret in ["13912345678", "110101199003074512"] {
        assert!(!text.contains(secret), "{secret} in the dump");
        let hexed = jingwei_cases::seal::hex(secret.as_bytes());
        assert!(!text.contains(&hexed), "{secret} as hex in the dump");
    }
    let photo_hex = jingwei_cases::seal::hex(&photo[..64]);
    assert!(!text.contains(&photo_hex));
}

#[test]
fn the_audit_chain_is_appended_by_the_database_and_checked_here() {
    let db = fresh_store("audit");
    let mut cmd = open(&db, "cmd_east");
    let c = cmd.flag_case(&new_case("audited")).unwrap();
    let c = cmd.set_status(c.id, c.version, Status::Confirmed, Some("现场核实")).unwrap();
    cmd.assign(c.id, c.version, Some("insp_east")).unwrap();
    let mut auditor = open(&db, "auditor1");
    let rows = auditor.audit_rows().unwrap();
    // users and departments (set-up), then: insert, update + its note, update.
    let actions: Vec<&str> = rows
        .iter()
        .filter(|r| r.entity != "users" && r.entity != "departments")
        .map(|r| r.action.as_str())
        .collect();
    assert_eq!(actions, ["cases.insert", "cases.update", "case_notes.insert", "cases.update"]);
    let upd = rows.iter().find(|r| r.action == "cases.update").unwrap();
    let d: serde_json::Value = serde_json::from_str(upd.detail.as_deref().unwrap()).unwrap();
    assert_eq!(d["status"], serde_json::json!(["pending", "confirmed"]));
    assert_eq!(d["version"], serde_json::json!([1, 2]));
    assert_eq!(upd.actor, "cmd_east");
    assert_eq!(upd.department.as_deref(), Some("城东"));
    // The database's SM3 (OpenSSL through pgcrypto) is ours (RustCrypto): every row verifies.
    let signer = AuditSigner::generate();
    let cp = auditor.sign_checkpoint(&signer).unwrap();
    assert_eq!(cp.seq, rows.last().unwrap().seq);
    let r = auditor.verify_audit(Some(&signer.verifier()), &[]).unwrap();
    assert!(r.ok() && r.checkpoints == 1, "{r:?}");
    // Nobody rewrites it: not the writers, not the auditor, not the owner.
    for who in ["cmd_east", "auditor1", "admin1"] {
        for sql in [
            "UPDATE jingwei.audit SET actor = 'x'",
            "DELETE FROM jingwei.audit",
            "TRUNCATE jingwei.audit",
            "UPDATE jingwei.audit_checkpoint SET seq = 0",
        ] {
            assert!(psql_as(&user(&db, who), sql).is_err(), "{who}: {sql}");
        }
    }
    for sql in [
        "UPDATE jingwei.audit SET actor = 'x'",
        "DELETE FROM jingwei.audit WHERE seq = 1",
        "TRUNCATE jingwei.audit",
    ] {
        let owner = std::process::Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &cluster()["PG_SOCKET"],
                "-p",
                &cluster()["PG_PORT"],
                "-U",
                "postgres",
                "-d",
                &db,
                "-c",
                &format!("SET ROLE jingwei_owner; {sql}"),
            ])
            .output()
            .unwrap();
        assert!(!owner.status.success(), "the owner ran {sql}");
        assert!(String::from_utf8_lossy(&owner.stderr).contains("append-only"));
    }
    assert!(auditor.verify_audit(None, &[]).unwrap().ok());
}

#[test]
fn the_store_issues_ids_authors_and_users_and_nobody_climbs_to_the_owner() {
    let db = fresh_store("hardening");
    let as_ = |who: &str, sql: &str| psql_as(&user(&db, who), sql);
    // Administrators hold no CREATEROLE: they cannot make themselves the owner or a superuser's peer.
    for sql in [
        "GRANT jingwei_owner TO admin1",
        "CREATE ROLE sneaky LOGIN",
        "UPDATE jingwei.users SET role = 'commander' WHERE name = 'insp_east'",
    ] {
        assert!(as_("admin1", sql).is_err(), "admin1: {sql}");
    }
    // They add inspectors, commanders and auditors through the store's function, not administrators.
    let mut admin = open(&db, "admin1");
    admin.add_user("w7", Role::Commander, Some("城东"), &password("w7")).unwrap();
    assert_eq!(open(&db, "w7").role(), Some(Role::Commander));
    admin.add_user("w7", Role::Inspector, Some("城东"), &password("w7")).unwrap();
    assert_eq!(open(&db, "w7").role(), Some(Role::Inspector));
    assert!(matches!(
        admin.add_user("w6", Role::Admin, None, &password("w6")),
        Err(StoreError::Denied { .. })
    ));
    // A login that is no user of this store is not touched.
    psql(
        &db,
        "DO $$ BEGIN CREATE ROLE outsider LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    );
    assert!(
        admin
            .add_user("outsider", Role::Inspector, Some("城东"), "whatever-password")
            .is_err()
    );
    // Ids, numbers, authors and times are the store's.
    let mut east = open(&db, "insp_east");
    let c = east.flag_case(&new_case("stamped")).unwrap();
    assert!(
        as_(
            "insp_east",
            "INSERT INTO jingwei.cases (id, case_no, title) VALUES (999999, 'WJ2099-999999', 'x')"
        )
        .is_err(),
        "a number not issued"
    );
    as_(
        "insp_east",
        &format!(
            "INSERT INTO jingwei.case_notes (id, case_id, text, actor, at) VALUES (777777, {}, '冒名', 'cmd_east', '2020-01-01')",
            c.id
        ),
    )
    .unwrap();
    let n = east.notes(c.id).unwrap();
    let forged = n.iter().find(|x| x.text == "冒名").unwrap();
    assert_eq!(forged.actor, "insp_east");
    assert!(forged.id != 777_777 && !forged.at.starts_with("2020"));
    // A closed case is frozen for everyone but commanders.
    let mut cmd = open(&db, "cmd_east");
    let c = cmd.set_status(c.id, c.version, Status::Confirmed, None).unwrap();
    let c = cmd.set_status(c.id, c.version, Status::Closed, None).unwrap();
    assert!(matches!(
        east.assign(c.id, c.version, Some("insp_east")),
        Err(StoreError::Denied { .. })
    ));
    assert!(cmd.assign(c.id, c.version, Some("cmd_east")).is_ok());
}
