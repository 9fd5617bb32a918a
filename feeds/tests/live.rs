//! The real client against the real replay server on 127.0.0.1, through every fault the server
//! can inject: no good event is lost or duplicated, failures keep the last good data, the feed
//! goes stale and recovers, unchanged documents come back as 304, and nothing panics.

use jingwei_feeds::client::{Feed, FeedConfig, Health, Outcome};
use jingwei_feeds::server::{Fault, FaultPlan, ServeOptions, serve};
use jingwei_feeds::{ChangeKind, FeedFormat, ParseOptions, parse};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

mod common;

fn usgs() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/hazards/usgs_all_week_2018-02-07.geojson")).unwrap()
}

fn config(url: String) -> FeedConfig {
    FeedConfig {
        timeout: Duration::from_millis(400),
        retries: 2,
        backoff: Duration::from_millis(10),
        stale_after: 2,
        ..FeedConfig::new(&url)
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn every_fault_and_no_event_lost_or_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("all_week.geojson"), usgs()).unwrap();
    let want: HashSet<String> = parse(&usgs(), None, &ParseOptions::default())
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
    // Requests, in order (retries = 2, so a poll makes up to 3):
    let f = |x| Some(x);
    let script = vec![
        f(Fault::Status500),   // 1  poll 1: 500, then
        f(Fault::Truncate),    // 2          body cut short, then
        None,                  // 3          the document → 1707 new
        None,                  // 4  poll 2: 304
        f(Fault::Malformed),   // 5  poll 3: broken document → failed, data kept
        f(Fault::Delay(1500)), // 6  poll 4: times out, then
        f(Fault::Status500),   // 7          500, then
        f(Fault::Status500),   // 8          500 → failed (2 in a row: stale)
        f(Fault::Status500),   // 9  poll 5: 500, then
        None,                  // 10         304: the last good document's ETag still holds → recovered
        None,                  // 11 poll 6: 304
    ];
    let server = serve(
        dir.path(),
        0,
        ServeOptions {
            replay_speed: None,
            faults: FaultPlan { every: vec![], script },
        },
    )
    .unwrap();
    let mut feed = Feed::new(config(format!("{}all_week.geojson", server.url()))).unwrap();
    let rt = rt();
    let mut announced: Vec<String> = Vec::new();
    let mut outcomes = Vec::new();
    let mut health = Vec::new();
    for _ in 0..6 {
        let r = rt.block_on(feed.poll());
        for c in &r.changes {
            assert_eq!(c.kind, ChangeKind::New);
            announced.push(c.event.id.clone());
        }
        outcomes.push(match &r.outcome {
            Outcome::Fetched { events } => format!("fetched {events}"),
            Outcome::NotModified => "304".into(),
            Outcome::Failed { .. } => "failed".into(),
        });
        health.push(r.health_change);
        // The last good data is always there after the first success.
        assert_eq!(feed.store().len(), 1707);
    }
    assert_eq!(outcomes, ["fetched 1707", "304", "failed", "failed", "304", "304"]);
    assert_eq!(health, [None, None, None, Some(Health::Stale), Some(Health::Live), None]);
    assert_eq!(feed.health(), Health::Live);
    // Every good event announced exactly once.
    let unique: HashSet<String> = announced.iter().cloned().collect();
    assert_eq!(announced.len(), unique.len(), "no duplicates");
    assert_eq!(unique, want, "no losses");
    assert_eq!(server.stats.requests.load(Ordering::SeqCst), 11);
    assert_eq!(server.stats.not_modified.load(Ordering::SeqCst), 3);
    assert_eq!(server.stats.faults.load(Ordering::SeqCst), 7);
}

#[test]
fn replay_reveals_events_over_time_without_repeats() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("all_week.geojson"), usgs()).unwrap();
    // One real second is a day of the recorded week.
    let server = serve(
        dir.path(),
        0,
        ServeOptions {
            replay_speed: Some(86_400.0),
            faults: FaultPlan::default(),
        },
    )
    .unwrap();
    let mut feed = Feed::new(config(format!("{}all_week.geojson", server.url()))).unwrap();
    let rt = rt();
    let mut seen = HashSet::new();
    let mut counts = Vec::new();
    for _ in 0..4 {
        let r = rt.block_on(feed.poll());
        assert!(!matches!(r.outcome, Outcome::Failed { .. }), "{:?}", r.outcome);
        for c in r.changes {
            assert!(seen.insert(c.event.id.clone()), "announced twice: {}", c.event.id);
        }
        counts.push(feed.store().len());
        std::thread::sleep(Duration::from_millis(700));
    }
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "more events as the replay runs: {counts:?}");
    assert!(counts[0] < 1707 && counts[3] < 1707 + 1, "{counts:?}");
}

#[test]
fn a_cap_index_with_updates_and_cancellations() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("cap");
    std::fs::create_dir(&cap).unwrap();
    let [a, b, c] = common::rain_chain();
    let server = serve(dir.path(), 0, ServeOptions::default()).unwrap();
    let mut cfg = config(format!("{}cap/index.atom", server.url()));
    cfg.format = Some(FeedFormat::CapIndex);
    let mut feed = Feed::new(cfg).unwrap();
    let rt = rt();
    let mut kinds = Vec::new();
    for (name, bytes) in [a, b, c] {
        std::fs::write(cap.join(&name), &bytes).unwrap();
        let r = rt.block_on(feed.poll());
        assert!(matches!(r.outcome, Outcome::Fetched { .. }), "{:?}", r.outcome);
        kinds.extend(r.changes.iter().map(|c| (c.kind, c.event.title.clone())));
        // Nothing new: the index is not modified, nothing is fetched again.
        let again = rt.block_on(feed.poll());
        assert_eq!(again.outcome, Outcome::NotModified);
        assert!(again.changes.is_empty());
    }
    assert_eq!(
        kinds,
        vec![
            (ChangeKind::New, "暴雨黄色预警".to_string()),
            (ChangeKind::Updated, "暴雨橙色预警".to_string()),
            (ChangeKind::Cancelled, "暴雨橙色预警".to_string()),
        ]
    );
    assert!(feed.store().is_empty());
    // A malformed alert in the folder is not listed by the index; a missing one is a 404.
    std::fs::write(cap.join("d_broken.xml"), b"<alert>").unwrap();
    let r = rt.block_on(feed.poll());
    assert!(r.changes.is_empty());
}

#[test]
fn a_dead_server_is_a_failed_poll_not_a_panic() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut feed = Feed::new(config(format!("http://127.0.0.1:{port}/x.geojson"))).unwrap();
    let rt = rt();
    let r1 = rt.block_on(feed.poll());
    let r2 = rt.block_on(feed.poll());
    assert!(matches!(r1.outcome, Outcome::Failed { .. }));
    assert_eq!(r1.requests, 3, "retried");
    assert_eq!(r2.health_change, Some(Health::Stale));
    assert!(feed.last_error().unwrap().contains(&port.to_string()));
    assert!(Feed::new(FeedConfig::new("not a url")).is_err());
}

#[test]
fn a_cap_index_through_malformed_xml_and_cut_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("cap");
    std::fs::create_dir(&cap).unwrap();
    for (name, bytes) in common::rain_chain().into_iter().take(2) {
        std::fs::write(cap.join(&name), &bytes).unwrap();
    }
    let f = |x| Some(x);
    // Poll 1: the index is malformed XML → failed. Poll 2: index fine (2), first alert cut
    // short then fine (3, 4), second alert malformed → failed, kept for the next poll (5; no
    // retry of a parse error). Poll 3: index (6), second alert (7).
    let script = vec![f(Fault::Malformed), None, f(Fault::Truncate), None, f(Fault::Malformed), None, None];
    let server = serve(
        dir.path(),
        0,
        ServeOptions {
            replay_speed: None,
            faults: FaultPlan { every: vec![], script },
        },
    )
    .unwrap();
    let mut cfg = config(format!("{}cap/index.atom", server.url()));
    cfg.format = Some(FeedFormat::CapIndex);
    let mut feed = Feed::new(cfg).unwrap();
    let rt = rt();
    let mut changes = Vec::new();
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let r = rt.block_on(feed.poll());
        outcomes.push(matches!(r.outcome, Outcome::Failed { .. }));
        changes.extend(r.changes.into_iter().map(|c| (c.kind, c.event.title)));
    }
    assert_eq!(outcomes, [true, true, false]);
    // The alert, then its update: each once, nothing lost to the faults.
    assert_eq!(
        changes,
        vec![
            (ChangeKind::New, "暴雨黄色预警".to_string()),
            (ChangeKind::Updated, "暴雨橙色预警".to_string())
        ]
    );
    assert_eq!(feed.store().len(), 1);
    assert_eq!(server.stats.faults.load(Ordering::SeqCst), 3);
}
