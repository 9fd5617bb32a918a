//! The desktop's link to the shared store, without a display, against the throwaway cluster of
//! scripts/pg-store.sh: log in with a password and certificate, list and open cases, change
//! them with the version shown, get both versions back when someone else was first, hear other
//! users' changes batched with each id once, and carry on after the server dropped the link.

#[path = "../../store/tests/support/mod.rs"]
mod support;

use jingwei_app::Session;
use jingwei_app::shared_link::{SharedChangeInput, SharedWrite};
use jingwei_cases::Status;
use jingwei_store::NewSharedCase;
use std::time::{Duration, Instant};
use support::*;

fn url(db: &str, who: &str) -> String {
    let c = cluster();
    let t = &c["PG_TLS"];
    format!(
        "postgresql://{who}@{}:{}/{db}?hostaddr={}&sslrootcert={t}/ca.crt&sslcert={t}/{who}.crt&sslkey={t}/{who}.key",
        c["PG_HOST"], c["PG_PORT"], c["PG_HOSTADDR"]
    )
}

fn case(title: &str) -> NewSharedCase {
    NewSharedCase {
        title: title.into(),
        priority: 30.0,
        geometry: Some(geo::Geometry::Point(geo::Point::new(121.5, 31.2))),
        ..Default::default()
    }
}

#[test]
fn the_app_works_shared_cases_sees_both_versions_when_stale_and_hears_changes_once_each() {
    let db = fresh_store("link");
    let mut other = open(&db, "cmd_east");
    let ids: Vec<i64> = (0..3).map(|i| other.flag_case(&case(&format!("案{i}"))).unwrap().id).collect();
    open(&db, "insp_west").flag_case(&case("西")).unwrap();

    let s = Session::new(std::env::temp_dir().join("jw-link-unused.gpkg"), "test".into());
    // Only field users work cases in the app; a wrong password is refused.
    assert!(s.shared_connect(&url(&db, "auditor1"), Some(&password("auditor1")), None).is_err());
    assert!(s.shared_connect(&url(&db, "insp_east"), Some("wrong-password"), None).is_err());
    let who = s
        .shared_connect(&url(&db, "insp_east"), Some(&password("insp_east")), None)
        .unwrap();
    assert_eq!(who.department.as_deref(), Some("城东"));
    let listed = s.shared_list(&[]).unwrap();
    assert_eq!(listed.len(), 3, "only 城东's cases");
    let shown = s.shared_detail(ids[0]).unwrap().case;
    assert_eq!(shown.version, 1);

    // Saved with the version shown.
    let w = s
        .shared_change(&SharedChangeInput {
            id: ids[0],
            version: 1,
            status: Some("confirmed".into()),
            comment: Some("现场核实".into()),
            ..Default::default()
        })
        .unwrap();
    let SharedWrite::Saved { case: saved } = w else { panic!("{w:?}") };
    assert_eq!((saved.status, saved.version), (Status::Confirmed, 2));
    assert_eq!(s.shared_detail(ids[0]).unwrap().notes[0].text, "现场核实");

    // Someone else first: both versions come back, nothing is written.
    s.shared_detail(ids[1]).unwrap();
    other.assign(ids[1], 1, Some("w3")).unwrap();
    // Heard and re-read (as the page does) before the user acts on what they still see.
    assert_eq!(s.shared_cases(&[ids[1]]).unwrap()[0].version, 2);
    let w = s
        .shared_change(&SharedChangeInput {
            id: ids[1],
            version: 1,
            status: Some("dismissed".into()),
            ..Default::default()
        })
        .unwrap();
    let SharedWrite::Stale { yours, tried, theirs } = w else {
        panic!("{w:?}")
    };
    let yours = yours.expect("the version shown");
    assert_eq!((yours.version, yours.assignee.as_deref()), (1, None));
    assert_eq!(
        (theirs.version, theirs.assignee.as_deref(), theirs.updated_by.as_str()),
        (2, Some("w3"), "cmd_east")
    );
    assert_eq!(theirs.status, Status::Pending, "nothing written");
    assert!(tried.contains("已排除") || tried.contains("dismissed"), "{tried}");

    // Heard: many changes of three cases by another user, in few batches, each id once.
    let mut watcher = s.shared_watcher().unwrap();
    let writer = std::thread::spawn({
        let db = db.clone();
        let ids = ids.clone();
        move || {
            let mut w = open(&db, "w8");
            let t0 = Instant::now();
            for i in 0..150 {
                let id = ids[i % 3];
                let v = w.case(id).unwrap().version;
                w.assign(id, v, Some(if i % 2 == 0 { "w1" } else { "w2" })).unwrap();
            }
            t0
        }
    });
    let (mut batches, mut heard, mut seen) = (0, 0, std::collections::BTreeSet::new());
    let t0 = Instant::now();
    let mut first_after = None;
    while heard < 150 && t0.elapsed() < Duration::from_secs(30) {
        if let Some(b) = watcher.next_batch(Duration::from_secs(2), Duration::from_millis(200)).unwrap() {
            first_after.get_or_insert(t0.elapsed());
            let mut unique = b.cases.clone();
            unique.dedup();
            assert_eq!(unique, b.cases, "each id once");
            assert!(b.cases.len() <= 3 && !b.resync);
            batches += 1;
            heard += b.heard;
            seen.extend(b.cases);
        }
    }
    writer.join().unwrap();
    assert_eq!(heard, 150, "every notification heard");
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ids);
    assert!(batches < 50, "{batches} batches for 150 changes");
    assert!(first_after.unwrap() < Duration::from_secs(2));
    let fresh = s.shared_cases(&ids).unwrap();
    assert!(fresh.iter().all(|c| c.updated_by == "w8"));

    // The server drops the link (a restart, a killed backend): the next call logs in again.
    let mut su = jingwei_store::Shared::open(&superuser(&db)).unwrap();
    su.raw(&format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{db}' AND usename = 'insp_east'"
    ))
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(s.shared_list(&[]).unwrap().len(), 3);
    // The watcher answers a resync after its connection came back.
    let b = watcher
        .next_batch(Duration::from_secs(10), Duration::from_millis(100))
        .unwrap()
        .expect("a resync");
    assert!(b.resync, "{b:?}");
}
