//! ARCHITECTURE.md's table of crates is the law: every workspace crate is in it at its path,
//! depends (normal, build or dev) only on the workspace crates its row allows, and a core crate
//! never reaches Bevy, Tauri, wry, winit or wgpu through any dependency path. Read from the
//! table itself and `cargo metadata`'s resolved graph, so the document cannot drift.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::process::Command;

/// Name prefixes of what a core crate must never reach.
const FORBIDDEN: &[&str] = &["bevy", "tauri", "wry", "tao", "webkit2gtk", "winit", "wgpu"];

/// One row of the table.
#[derive(Debug)]
struct Row {
    path: String,
    kind: String,
    allowed: BTreeSet<String>,
}

fn cells(line: &str) -> Vec<String> {
    line.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect()
}

fn names_in(cell: &str) -> BTreeSet<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// The crate table of ARCHITECTURE.md: `| \`crate\` | \`path/\` | kind | \`dep\`, … |`.
fn table() -> BTreeMap<String, Row> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../ARCHITECTURE.md")).unwrap();
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `jingwei-")) {
        let c = cells(line);
        assert!(
            c.len() >= 5,
            "ARCHITECTURE.md: a crate row needs crate | path | kind | may depend on | role: {line}"
        );
        let name = names_in(&c[0]).into_iter().next().unwrap();
        let path = names_in(&c[1]).into_iter().next().unwrap_or_default();
        rows.insert(
            name,
            Row {
                path: path.trim_end_matches('/').to_string(),
                kind: c[2].clone(),
                allowed: names_in(&c[3]),
            },
        );
    }
    rows
}

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--manifest-path",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn packages(meta: &Value) -> impl Iterator<Item = &Value> {
    meta["packages"].as_array().unwrap().iter()
}

/// For every package reachable from `root` through normal and build dependencies, the path
/// that reaches it.
fn reachable(meta: &Value, root_name: &str) -> HashMap<String, Vec<String>> {
    let name_of: HashMap<&str, &str> = packages(meta)
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let deps: HashMap<&str, Vec<&str>> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let runtime = n["deps"].as_array().unwrap().iter().filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null() || k["kind"] == "build")
            });
            (n["id"].as_str().unwrap(), runtime.map(|d| d["pkg"].as_str().unwrap()).collect())
        })
        .collect();
    let root = name_of
        .iter()
        .find(|(_, n)| **n == root_name)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("{root_name} is not in the workspace"));
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    let mut queue = VecDeque::from([(root, vec![root_name.to_owned()])]);
    while let Some((id, path)) = queue.pop_front() {
        for d in deps.get(id).into_iter().flatten() {
            let name = name_of[d].to_owned();
            if seen.contains_key(&name) {
                continue;
            }
            let mut p = path.clone();
            p.push(name.clone());
            seen.insert(name, p.clone());
            queue.push_back((d, p));
        }
    }
    seen
}

/// The workspace members: name → (manifest folder relative to the root, direct workspace
/// dependencies of any kind).
fn members(meta: &Value) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let root = meta["workspace_root"].as_str().unwrap().to_string();
    let ids: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let names: BTreeSet<String> = packages(meta)
        .filter(|p| ids.contains(p["id"].as_str().unwrap()))
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    packages(meta)
        .filter(|p| ids.contains(p["id"].as_str().unwrap()))
        .map(|p| {
            let dir = std::path::Path::new(p["manifest_path"].as_str().unwrap())
                .parent()
                .unwrap()
                .strip_prefix(&root)
                .unwrap()
                .display()
                .to_string();
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_string())
                .filter(|n| names.contains(n))
                .collect();
            (p["name"].as_str().unwrap().to_string(), (dir, deps))
        })
        .collect()
}

#[test]
fn every_crate_keeps_to_its_row_of_the_architecture_table() {
    let meta = metadata();
    let rows = table();
    let members = members(&meta);
    assert!(rows.len() >= 9, "the table has {} rows", rows.len());
    for (name, (dir, deps)) in &members {
        let row = rows
            .get(name)
            .unwrap_or_else(|| panic!("workspace crate {name} is missing from ARCHITECTURE.md's table"));
        assert_eq!(&row.path, dir, "ARCHITECTURE.md gives {name} the wrong path");
        for d in deps {
            assert!(
                row.allowed.contains(d),
                "{name} depends on {d}, which its row in ARCHITECTURE.md does not allow (allowed: {:?})",
                row.allowed
            );
        }
        for a in &row.allowed {
            assert!(
                deps.contains(a),
                "ARCHITECTURE.md lets {name} depend on {a}, but it does not: keep the table true"
            );
        }
    }
    for name in rows.keys() {
        assert!(
            members.contains_key(name),
            "ARCHITECTURE.md lists {name}, which is not a workspace crate"
        );
    }
}

#[test]
fn core_crates_never_reach_ui_frameworks() {
    let meta = metadata();
    let rows = table();
    let core: Vec<&String> = rows.iter().filter(|(_, r)| r.kind == "core").map(|(n, _)| n).collect();
    assert!(
        core.iter().any(|c| *c == "jingwei-app") && core.iter().any(|c| *c == "jingwei-scene"),
        "{core:?}"
    );
    for c in core {
        for (name, path) in reachable(&meta, c) {
            assert!(
                !FORBIDDEN
                    .iter()
                    .any(|f| name == *f || name.starts_with(&format!("{f}_")) || name.starts_with(&format!("{f}-"))),
                "{c} reaches {name}: {}",
                path.join(" -> ")
            );
            assert!(
                rows.get(&name).is_none_or(|r| r.kind == "core"),
                "core crate {c} reaches {name}: {}",
                path.join(" -> ")
            );
        }
    }
}

#[test]
fn the_check_would_catch_a_violation() {
    // The desktop app is allowed Tauri and Bevy, and does reach them: proof the graph walk sees
    // real edges; and a row that allowed too little would be caught.
    let meta = metadata();
    let r = reachable(&meta, "jingwei-desktop");
    assert_eq!(r.get("tauri").and_then(|p| p.first()).map(String::as_str), Some("jingwei-desktop"));
    assert!(r.contains_key("wgpu"), "the desktop app reaches wgpu through the viewer");
    let members = members(&meta);
    assert!(members["jingwei-cases"].1.contains("jingwei-analysis"));
    assert!(
        !members["jingwei-cases"].1.contains("jingwei-feeds"),
        "cases no longer needs feeds for a date"
    );
}
