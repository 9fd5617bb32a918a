//! The core crates never reach Bevy, Tauri or wry through any dependency path (normal, build or
//! dev), so their tests build and run in seconds. Read from `cargo metadata`'s resolved graph.

use serde_json::Value;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::process::Command;

/// Crates that hold the core and must stay free of UI frameworks.
const CORE: &[&str] = &["jingwei-layers", "jingwei-analysis", "jingwei-cases", "jingwei-feeds"];
/// Crates that may depend on UI frameworks.
const UI_ALLOWED: &[&str] = &["jingwei-viewer", "jingwei-desktop"];
/// Name prefixes of what the core must never reach.
const FORBIDDEN: &[&str] = &["bevy", "tauri", "wry", "tao", "webkit2gtk", "winit", "wgpu"];

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

/// For every package reachable from `root`, the path that reaches it.
fn reachable(meta: &Value, root_name: &str) -> HashMap<String, Vec<String>> {
    let name_of: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let deps: HashMap<&str, Vec<&str>> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap(),
                n["deps"].as_array().unwrap().iter().map(|d| d["pkg"].as_str().unwrap()).collect(),
            )
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

#[test]
fn core_crates_never_reach_ui_frameworks() {
    let meta = metadata();
    let members: BTreeSet<String> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            meta["packages"].as_array().unwrap().iter().find(|p| p["id"] == *id).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for core in CORE {
        assert!(members.contains(*core), "{core} missing from the workspace");
        for (name, path) in reachable(&meta, core) {
            assert!(
                !FORBIDDEN
                    .iter()
                    .any(|f| name == *f || name.starts_with(&format!("{f}_")) || name.starts_with(&format!("{f}-"))),
                "{core} reaches {name}: {}",
                path.join(" -> ")
            );
            assert!(
                !UI_ALLOWED.contains(&name.as_str()),
                "{core} depends on {name}: {}",
                path.join(" -> ")
            );
        }
    }
    // Every workspace crate is classified, so a new core crate cannot slip past this test.
    for m in &members {
        assert!(
            CORE.contains(&m.as_str()) || UI_ALLOWED.contains(&m.as_str()) || ["jingwei-cli", "jingwei-tests"].contains(&m.as_str()),
            "workspace crate {m} is not classified in tests/tests/dependency_rules.rs"
        );
    }
}

#[test]
fn the_check_would_catch_a_violation() {
    // The viewer is allowed Bevy, and does reach it: proof the graph walk sees real edges.
    let meta = metadata();
    if let Some(path) = reachable(&meta, "jingwei-desktop").get("tauri") {
        assert_eq!(path.first().map(String::as_str), Some("jingwei-desktop"));
    } else {
        panic!("jingwei-desktop should reach tauri");
    }
}
