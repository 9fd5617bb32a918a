//! What the build is, for `jingwei --version` and the app's About box: the commit it was built
//! from and the versions of the frameworks it was built with.
//! - `JINGWEI_COMMIT` / `JINGWEI_COMMIT_DATE` (set by `scripts/release.sh`, or by whoever builds
//!   from a source archive without `.git`) win; else `git` is asked; else "unknown".
//! - Bevy, Tauri, geo and rstar come from `Cargo.lock`, the versions actually compiled in.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crate's folder, as cargo says when it runs this script. Not `env!`: a build script
/// compiled in another checkout that shares the target folder is reused with that checkout's
/// path baked in (seen: a removed clean clone's path, so "unknown" commit and versions).
fn manifest_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(manifest_dir()).output().ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// The version of `name` in the lock file (the first entry, as the workspace uses one).
fn locked(lock: &str, name: &str) -> String {
    let needle = format!("name = \"{name}\"\nversion = \"");
    lock.find(&needle)
        .and_then(|i| lock[i + needle.len()..].split('"').next())
        .unwrap_or("?")
        .to_owned()
}

fn main() {
    println!("cargo:rerun-if-env-changed=JINGWEI_COMMIT");
    println!("cargo:rerun-if-env-changed=JINGWEI_COMMIT_DATE");
    let root = manifest_dir().join("..");
    // A new commit moves HEAD or the branch it names (loose or packed).
    // Only paths that exist: cargo reruns a build script on every build for a missing one. The
    // refs folder is watched whole, as a commit in a fresh clone writes a branch file that was
    // only in packed-refs before.
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for f in ["HEAD", "packed-refs", "refs/heads"] {
            let p = Path::new(&git_dir).join(f);
            if p.exists() {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
    }
    let commit = std::env::var("JINGWEI_COMMIT")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let date = std::env::var("JINGWEI_COMMIT_DATE")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| git(&["log", "-1", "--format=%cs", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=JINGWEI_COMMIT={commit}");
    println!("cargo:rustc-env=JINGWEI_COMMIT_DATE={date}");
    let lock_path = root.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    for (var, name) in [("BEVY", "bevy"), ("TAURI", "tauri"), ("GEO", "geo"), ("RSTAR", "rstar")] {
        println!("cargo:rustc-env=JINGWEI_{var}_VERSION={}", locked(&lock, name));
    }
    println!("cargo:rustc-env=JINGWEI_TARGET={}", std::env::var("TARGET").unwrap_or_default());
}
