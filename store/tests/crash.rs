//! Under load, with backends killed and the server stopped at once (`pg_ctl -m immediate`, as
//! a power cut) mid-load: 8 writers over TLS for JINGWEI_STORE_LOAD_SECS seconds (60 unless
//! set). No acknowledged change is lost, every change has exactly one audit row (none for a
//! change that rolled back), the chain verifies against a checkpoint signed before the load, and
//! the writers reconnect and go on. Prints the update latencies (the benchmark's figures).

mod support;

use geo::{Geometry, Point};
use jingwei_cases::seal::AuditSigner;
use jingwei_store::{NewSharedCase, Shared, StoreError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::*;

struct Writer {
    /// Per case: the highest version the server acknowledged.
    acked: HashMap<i64, i32>,
    /// Update latencies of acknowledged writes.
    latencies: Vec<Duration>,
    reconnects: usize,
    errors: usize,
}

fn reconnect(db: &str, who: &str, stop: &AtomicBool) -> Option<Shared> {
    while !stop.load(Ordering::Relaxed) {
        if let Ok(s) = Shared::open(&user(db, who)) {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Shared::open(&user(db, who)).ok()
}

fn write_loop(db: &str, who: &str, deadline: Instant, stop: &AtomicBool) -> Writer {
    let mut w = Writer {
        acked: HashMap::new(),
        latencies: Vec::new(),
        reconnects: 0,
        errors: 0,
    };
    let mut me = open(db, who);
    let cases: Vec<i64> = (0..4)
        .map(|i| {
            let c = me
                .flag_case(&NewSharedCase {
                    title: format!("{who} 案件 {i}"),
                    geometry: Some(Geometry::Point(Point::new(121.49 + i as f64 * 1e-3, 31.23))),
                    ..Default::default()
                })
                .unwrap();
            w.acked.insert(c.id, 1);
            c.id
        })
        .collect();
    // After an error: log in again (the server may be restarting), or stop at the end.
    let recover = |me: &mut Shared, w: &mut Writer| match reconnect(db, who, stop) {
        Some(s) => {
            *me = s;
            w.errors += 1;
            w.reconnects += 1;
            true
        }
        None => false,
    };
    let mut n = 0usize;
    while Instant::now() < deadline {
        let id = cases[n % cases.len()];
        n += 1;
        let read = match me.case(id) {
            Ok(c) => c,
            Err(_) if recover(&mut me, &mut w) => continue,
            Err(_) => break,
        };
        // What the server acknowledged is never behind.
        assert!(
            read.version >= w.acked[&id],
            "{who}: case {id} went back from {} to {}",
            w.acked[&id],
            read.version
        );
        let t = Instant::now();
        let r = if n.is_multiple_of(3) {
            me.add_note(id, &format!("巡查记录 {n}")).map(|_| None)
        } else {
            me.assign(id, read.version, Some(&format!("{who}-{n}"))).map(|c| Some(c.version))
        };
        match r {
            Ok(v) => {
                w.latencies.push(t.elapsed());
                if let Some(v) = v {
                    w.acked.insert(id, v);
                }
            }
            Err(StoreError::Stale { .. }) => panic!("{who}: stale write on its own case"),
            // In doubt (the connection died around the commit): re-read after reconnecting.
            Err(_) if recover(&mut me, &mut w) => {}
            Err(_) => break,
        }
    }
    w
}

#[test]
fn no_acknowledged_change_is_lost_when_backends_die_and_the_server_stops_at_once() {
    let secs: u64 = std::env::var("JINGWEI_STORE_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let db = fresh_store("crash");
    let signer = AuditSigner::generate();
    let before = open(&db, "auditor1").sign_checkpoint(&signer).unwrap();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let stop = AtomicBool::new(false);
    let writers: Vec<Writer> = std::thread::scope(|s| {
        let hs: Vec<_> = (1..=8)
            .map(|i| {
                let db = db.clone();
                let stop = &stop;
                s.spawn(move || write_loop(&db, &format!("w{i}"), deadline, stop))
            })
            .collect();
        // The chaos: kill every writer's backend at 1/4, stop the server at once at 1/2 (and
        // start it again a second later), kill the backends again at 3/4.
        let at = |f: f64| start + Duration::from_secs_f64(secs as f64 * f);
        let sleep_until = |t: Instant| std::thread::sleep(t.saturating_duration_since(Instant::now()));
        sleep_until(at(0.25));
        psql(
            &db,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename LIKE 'w_'",
        );
        sleep_until(at(0.5));
        run_script("crash");
        std::thread::sleep(Duration::from_secs(1));
        run_script("start");
        sleep_until(at(0.75));
        psql(
            &db,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename LIKE 'w_'",
        );
        let ws: Vec<Writer> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        stop.store(true, Ordering::Relaxed);
        ws
    });
    let mut reader = open(&db, "w8");
    let mut acked_updates = 0usize;
    let mut lat: Vec<Duration> = Vec::new();
    for (i, w) in writers.iter().enumerate() {
        assert!(w.reconnects >= 1, "w{} never had to reconnect ({} errors)", i + 1, w.errors);
        lat.extend_from_slice(&w.latencies);
        for (&id, &v) in &w.acked {
            let now = reader.case(id).unwrap();
            assert!(now.version >= v, "case {id}: acknowledged version {v}, found {}", now.version);
            acked_updates += v as usize - 1;
        }
    }
    // One audit row per committed change, no more (none of a rolled-back one), no less.
    let per_case = psql(
        &db,
        "SELECT count(*) FROM jingwei.cases c WHERE c.version - 1 <> \
         (SELECT count(*) FROM jingwei.audit a WHERE a.entity = 'cases' AND a.entity_id = c.id AND a.action = 'cases.update')",
    );
    assert_eq!(per_case, "0", "cases whose audit rows do not match their versions");
    let notes_match = psql(
        &db,
        "SELECT (SELECT count(*) FROM jingwei.case_notes) = (SELECT count(*) FROM jingwei.audit WHERE action = 'case_notes.insert')",
    );
    assert_eq!(notes_match, "t");
    let report = open(&db, "auditor1")
        .verify_audit(Some(&signer.verifier()), std::slice::from_ref(&before))
        .unwrap();
    assert!(report.ok(), "{report:?}");
    lat.sort();
    let pct = |p: usize| lat[(lat.len() * p / 100).min(lat.len() - 1)];
    eprintln!(
        "store load: 8 writers × {secs} s, {} acknowledged writes ({acked_updates} case updates), reconnects {}, \
         update latency p50 {:?} p95 {:?} p99 {:?}; audit rows {}",
        lat.len(),
        writers.iter().map(|w| w.reconnects).sum::<usize>(),
        pct(50),
        pct(95),
        pct(99),
        report.rows
    );
}
