//! The shared store's benchmark (not part of the test run; `scripts/bench-store.sh` runs it):
//! 8 writers over TLS for JINGWEI_STORE_LOAD_SECS seconds (60 unless set) updating cases of
//! their department, and a commander of the same department listening. Reports the update
//! latency (read + versioned write + commit, audit row and notification included) and the
//! notification latency (from the writer's acknowledged commit to the listener's receipt; a
//! notification that arrives before the writer has its acknowledgement is not counted) as
//! p50/p95/p99, and the throughput. One JSON line.

mod support;

use geo::{Geometry, Point};
use jingwei_store::{Change, Listener, NewSharedCase};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::*;

#[test]
#[ignore = "benchmark: scripts/bench-store.sh"]
fn bench_store_under_load() {
    let secs: u64 = std::env::var("JINGWEI_STORE_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let db = fresh_store("bench");
    // Per case, the acknowledged commits not yet announced, oldest first.
    let sent: Mutex<HashMap<i64, VecDeque<Instant>>> = Mutex::new(HashMap::new());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut listener = Listener::open(&user(&db, "cmd_east")).unwrap();
    let (updates, notes) = std::thread::scope(|s| {
        let sent = &sent;
        let db = &db;
        let writers: Vec<_> = (1..=8)
            .map(|i| {
                s.spawn(move || {
                    let who = format!("w{i}");
                    let mut me = open(db, &who);
                    let ids: Vec<i64> = (0..4)
                        .map(|k| {
                            me.flag_case(&NewSharedCase {
                                title: format!("{who}-{k}"),
                                geometry: Some(Geometry::Point(Point::new(121.5, 31.23))),
                                ..Default::default()
                            })
                            .unwrap()
                            .id
                        })
                        .collect();
                    let mut lat = Vec::new();
                    let mut n = 0usize;
                    while Instant::now() < deadline {
                        let id = ids[n % ids.len()];
                        n += 1;
                        let t = Instant::now();
                        let c = me.case(id).unwrap();
                        me.assign(id, c.version, Some(&format!("{who}-{n}"))).unwrap();
                        let now = Instant::now();
                        sent.lock().unwrap().entry(id).or_default().push_back(now);
                        lat.push(now - t);
                    }
                    lat
                })
            })
            .collect();
        // The listener: each notification is matched with the oldest acknowledged commit of
        // its case not yet announced (one notification per change); nothing is re-read, so this
        // is the delivery's latency, not a client's.
        let mut note_lat = Vec::new();
        while Instant::now() < deadline + Duration::from_secs(2) {
            if let Ok(Some(Change::Row { table, id })) = listener.next(Duration::from_millis(500)) {
                let got = Instant::now();
                if table != "cases" {
                    continue;
                }
                if let Some(t) = sent.lock().unwrap().get_mut(&id).and_then(VecDeque::pop_front) {
                    note_lat.push(got.saturating_duration_since(t));
                }
            }
        }
        let lat: Vec<Duration> = writers.into_iter().flat_map(|h| h.join().unwrap()).collect();
        (lat, note_lat)
    });
    let pct = |v: &mut Vec<Duration>, p: usize| {
        v.sort();
        v[(v.len() * p / 100).min(v.len() - 1)].as_secs_f64() * 1000.0
    };
    let (mut u, mut n) = (updates, notes);
    println!(
        "{}",
        serde_json::json!({
            "writers": 8, "seconds": secs, "updates": u.len(), "updates_per_s": u.len() as f64 / secs as f64,
            "update_ms": {"p50": pct(&mut u, 50), "p95": pct(&mut u, 95), "p99": pct(&mut u, 99)},
            "notifications_measured": n.len(),
            "notify_ms": {"p50": pct(&mut n, 50), "p95": pct(&mut n, 95), "p99": pct(&mut n, 99)},
        })
    );
}
