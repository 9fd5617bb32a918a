//! Kill -9 in the middle of writes: a child process writes notes and whole imports of findings
//! as fast as it can and reports each commit; the parent kills it at several moments and checks
//! that every reported commit is there, no import is half there, the audit trail matches, and
//! the GeoPackage is intact.

use gdal::vector::LayerAccess;
use jingwei_analysis::violations::{BuildingFields, Buildings, Inputs, Thresholds, ZoneFields, Zones, detect};
use jingwei_cases::{CaseStore, Filter};
use jingwei_layers::{RepairMode, Workspace};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "JINGWEI_CRASH_CHILD_STORE";

fn demo() -> Workspace {
    Workspace::open_catalog(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo/catalog.json"),
        None,
        RepairMode::Repair,
    )
    .unwrap()
}

/// The writer, run only as the child (the parent starts this test binary with the variable set).
#[test]
fn crash_child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else { return };
    let ws = demo();
    let b = &ws.layer("buildings").unwrap().layer;
    let z = &ws.layer("control_zones").unwrap().layer;
    let inputs = Inputs {
        buildings: Buildings {
            layer: b,
            fields: BuildingFields::default(),
        },
        permits: None,
        zones: vec![Zones {
            layer: z,
            fields: ZoneFields {
                zone_type: z.field_index("zone_type"),
                name: None,
                default_type: String::new(),
            },
        }],
        previous: None,
    };
    let findings = detect(&inputs, &Thresholds::default()).findings;
    let mut store = CaseStore::open(Path::new(&path)).unwrap();
    let case = store.list(&Filter::default()).unwrap()[0].case_no.clone();
    let start: u64 = std::env::var("JINGWEI_CRASH_START").unwrap().parse().unwrap();
    println!("ready {}", findings.len());
    for i in start.. {
        if i % 4 == 0 {
            store
                .import_findings(&findings, &format!("batch{i}"), |f| b.geometries.geometry(f.row), "child")
                .unwrap();
            println!("batch {i}");
        } else {
            store.add_note(&case, &format!("note {i}"), "child").unwrap();
            println!("note {i}");
        }
    }
}

#[test]
fn kill_9_loses_no_committed_change_and_never_corrupts_the_store() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.gpkg");
    let ws = demo();
    {
        let mut store = CaseStore::open_or_create(&path, &ws.crs).unwrap();
        let g = ws
            .layer("buildings")
            .unwrap()
            .layer
            .geometries
            .iter()
            .flatten()
            .next()
            .unwrap()
            .to_geo();
        store.flag(&g, Some(("buildings", 1)), "crash test", None, "parent").unwrap();
    }
    let mut committed_notes = Vec::new();
    let mut committed_batches = Vec::new();
    let mut batch_size = 0usize;
    let mut next = 0u64;
    for (round, delay_ms) in [150u64, 700, 1300, 40].into_iter().enumerate() {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child_writer", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .env("JINGWEI_CRASH_START", next.to_string())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("child.err")).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until it writes, then let it run for a while and kill it mid-stream.
        let t0 = Instant::now();
        let mut ready_at = None;
        let mut lines = Vec::new();
        loop {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(5)) {
                // libtest prints "test crash_child_writer ... " without a newline before it.
                if let Some((_, n)) = l.split_once("ready ") {
                    batch_size = n.trim().parse().unwrap();
                    ready_at = Some(Instant::now());
                }
                lines.push(l);
            }
            if ready_at.is_some_and(|r| r.elapsed() >= Duration::from_millis(delay_ms)) {
                break;
            }
            if t0.elapsed() > Duration::from_secs(120) || (ready_at.is_none() && child.try_wait().unwrap().is_some()) {
                let err = std::fs::read_to_string(dir.path().join("child.err")).unwrap_or_default();
                panic!("round {round}: the child never got ready:\n{err}");
            }
        }
        // SIGKILL: no destructors, no flushing, no rollback by the process itself.
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        let mut wrote = 0;
        for l in &lines {
            if let Some(i) = l.strip_prefix("note ") {
                committed_notes.push(format!("note {i}"));
                wrote += 1;
            } else if let Some(i) = l.strip_prefix("batch ") {
                committed_batches.push(format!("batch{i}"));
                wrote += 1;
            }
        }
        assert!(
            wrote > 0 || delay_ms < 100,
            "round {round}: the child committed nothing in {delay_ms} ms"
        );

        // The file is intact and holds every reported commit; nothing is half-written.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok", "round {round}");
        let notes: Vec<String> = conn
            .prepare("SELECT text FROM case_notes")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for n in &committed_notes {
            assert!(notes.contains(n), "round {round}: committed '{n}' lost");
        }
        // At most the one write in flight at each kill may be there unreported.
        assert!(notes.len() <= committed_notes.len() + round + 1);
        let note_audits: i64 = conn
            .query_row("SELECT count(*) FROM case_audit WHERE action = 'note'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(note_audits as usize, notes.len(), "every note has its audit entry");
        let mut per_batch = conn
            .prepare("SELECT building_layer, count(*) FROM cases WHERE building_layer LIKE 'batch%' GROUP BY 1")
            .unwrap();
        let batches: Vec<(String, i64)> = per_batch
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (name, n) in &batches {
            assert_eq!(*n as usize, batch_size, "round {round}: {name} is half there");
        }
        for name in &committed_batches {
            assert!(batches.iter().any(|(b, _)| b == name), "round {round}: committed {name} lost");
        }
        drop(per_batch);
        drop(conn);
        // Reopening works and continues where it stopped.
        CaseStore::open(&path).unwrap();
        let last = lines
            .iter()
            .filter_map(|l| {
                l.split_once(' ')
                    .and_then(|(k, i)| (k == "note" || k == "batch").then(|| i.parse::<u64>().ok()).flatten())
            })
            .max();
        next = last.map_or(next, |l| l + 2);
        eprintln!("round {round}: killed after {delay_ms} ms, {wrote} commits reported, all present");
    }
    assert!(
        committed_notes.len() > 10 && !committed_batches.is_empty(),
        "{} notes, {} batches",
        committed_notes.len(),
        committed_batches.len()
    );
    let ds = gdal::Dataset::open(&path).unwrap();
    assert!(ds.layer_by_name("cases").unwrap().feature_count() > 1);
}
