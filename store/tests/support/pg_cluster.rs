//! The throwaway cluster of `scripts/pg-store.sh`, started once per test binary: its KEY=VALUE
//! lines, the script's other verbs, and psql as the superuser over its socket. Included by the
//! store's tests and the CLI's (`#[path]`), so that there is one copy.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

pub fn cluster() -> &'static HashMap<String, String> {
    static S: OnceLock<HashMap<String, String>> = OnceLock::new();
    S.get_or_init(|| run_script("start"))
}

pub fn run_script(verb: &str) -> HashMap<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg-store.sh");
    let out = std::process::Command::new(&script)
        .arg(verb)
        .output()
        .expect("scripts/pg-store.sh runs");
    assert!(
        out.status.success(),
        "pg-store.sh {verb}: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

/// psql as the superuser on database `db`: the statement's output, trimmed.
pub fn psql(db: &str, sql: &str) -> String {
    let c = cluster();
    let out = std::process::Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &c["PG_SOCKET"],
            "-p",
            &c["PG_PORT"],
            "-U",
            "postgres",
            "-d",
            db,
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
