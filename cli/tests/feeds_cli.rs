//! `jingwei feeds` end to end: `serve` a recorded feed on 127.0.0.1 with injected faults,
//! `watch` it and get every event once as a JSON line, `parse` documents or one clear error.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn hazards() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/hazards")
}

#[test]
fn serve_with_faults_and_watch_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(hazards().join("usgs_all_week_2018-02-07.geojson"), dir.path().join("week.geojson")).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args([
            "feeds",
            "serve",
            dir.path().to_str().unwrap(),
            "--port",
            "0",
            "--fault",
            "500@2",
            "--fault",
            "truncate@3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let base = first.trim().rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let out = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args([
            "feeds",
            "watch",
            &format!("{base}week.geojson"),
            "--interval",
            "0.1",
            "--polls",
            "3",
            "--json",
            "--retries",
            "3",
        ])
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1707, "every event once, whatever the faults");
    assert!(lines.iter().all(|l| l["change"] == "new"));
    let mut ids: Vec<&str> = lines.iter().map(|l| l["event"]["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1707);
}

#[test]
fn parse_prints_events_or_one_clear_error() {
    let j = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_jingwei")).args(args).output().unwrap();
    let cap = hazards().join("cap/oasiscap_fixtures/ipaws-5e6dd9de023f1930ef6548d9.xml");
    let out = j(&["feeds", "parse", cap.to_str().unwrap(), "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "cap");
    assert_eq!(v["events"][0]["msg_type"], "cancel");
    let sta = hazards().join("sensorthings/frost_entitiesDefault.json");
    let out = j(&[
        "feeds",
        "parse",
        sta.to_str().unwrap(),
        "--threshold",
        "datastream name 2>5.5",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("evil.xml");
    std::fs::write(
        &evil,
        "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><alert>&x;</alert>",
    )
    .unwrap();
    let out = j(&["feeds", "parse", evil.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("evil.xml") && err.contains("DTD"), "{err}");
    let out = j(&["feeds", "watch", "http://127.0.0.1:1/x", "--interval", "0"]);
    assert!(!out.status.success());
}
