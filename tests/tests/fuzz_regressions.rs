//! Every input the fuzzers kept — the minimised corpus (`fuzz/corpus/<target>/`) and each crash
//! they found, fixed since (`fuzz/regressions/<target>/`) — replayed through the same target
//! bodies on stable, in every CI run: none may panic.

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::path::Path;

#[test]
fn fuzz_corpus_and_crashes_replay_without_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0usize;
    let mut failures = Vec::new();
    for (name, body) in harness::TARGETS {
        let mut inputs = 0usize;
        for kind in ["corpus", "regressions"] {
            let dir = root.join(kind).join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut files: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
            files.sort();
            for f in files {
                let data = std::fs::read(&f).unwrap();
                if std::env::var_os("JINGWEI_FUZZ_TRACE").is_some() {
                    eprintln!("{}", f.display());
                }
                if std::panic::catch_unwind(|| body(&data)).is_err() {
                    failures.push(f.display().to_string());
                }
                inputs += 1;
            }
        }
        assert!(inputs > 0, "target {name} has no kept corpus (run scripts/fuzz.sh)");
        replayed += inputs;
    }
    assert!(failures.is_empty(), "{} of {replayed} inputs panic: {failures:#?}", failures.len());
}
