//! No import cycle inside any crate: for each crate, the modules of `src/` (one file each) and
//! the `crate::module` paths each file names form a graph that must have no cycle. A cycle means
//! two modules that cannot be understood (or moved) one without the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// module → the modules of the same crate it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files: Vec<(String, String)> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).filter(|m| m != "lib" && m != "main").collect();
    let mut g = BTreeMap::new();
    for (m, text) in &files {
        if !modules.contains(m) {
            continue;
        }
        let mut uses = BTreeSet::new();
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if modules.contains(&name) && name != *m {
                uses.insert(name);
            }
        }
        // `use crate::{a, b}` lists.
        for (i, _) in text.match_indices("crate::{") {
            let list: String = text[i + 8..].chars().take_while(|c| *c != '}').collect();
            for part in list.split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if modules.contains(&name) && name != *m {
                    uses.insert(name);
                }
            }
        }
        g.insert(m.clone(), uses);
    }
    g
}

/// A cycle of the graph, if it has one.
fn cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            match state.get(d.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|s| s == d).unwrap();
                    let mut c = stack[from..].to_vec();
                    c.push(d.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(d, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in g.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0
            && let Some(c) = visit(n, g, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_crate_has_an_import_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let crates = [
        "layers",
        "analysis",
        "cases",
        "feeds",
        "services",
        "scene",
        "app",
        "viewer",
        "cli",
        "src-tauri",
    ];
    for c in crates {
        let g = graph(&root.join(c).join("src"));
        assert!(g.len() >= 2, "{c}: {g:?}");
        if let Some(cyc) = cycle(&g) {
            panic!("{c}/src has an import cycle: {}", cyc.join(" → "));
        }
    }
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let g = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
        ("d".to_string(), BTreeSet::new()),
    ]);
    assert_eq!(cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    let dag = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::new()),
    ]);
    assert!(cycle(&dag).is_none());
}
