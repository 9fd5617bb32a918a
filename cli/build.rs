//! Link flags for the `jingwei` binary, both about start-up:
//! - lazy symbol binding: Rust asks the linker for `-z now`, which makes the dynamic loader
//!   resolve every symbol of GDAL's hundred-odd libraries before `main`, about 10 ms of every
//!   command (`LD_DEBUG=statistics`) for functions most commands never call. Lazy binding is
//!   glibc's default for C programs such as GDAL's own tools.
//! - packed relative relocations (DT_RELR): the position-independent binary's ~280,000 relative
//!   relocations take 61 KB instead of 6.5 MB, which the loader reads from disk on a cold start
//!   (0.33 → 0.25 s). It needs binutils ≥ 2.38 and glibc ≥ 2.36, so it is used only where a
//!   test program linked with it runs.
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-link-arg-bins=-Wl,-z,lazy");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    if links_and_runs(Path::new(&out), "-Wl,-z,pack-relative-relocs") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether a C program linked with `flag` (as a PIE) builds and runs here.
fn links_and_runs(dir: &Path, flag: &str) -> bool {
    let (src, exe) = (dir.join("relr_probe.c"), dir.join("relr_probe"));
    // A pointer in initialised data: a relative relocation the flag packs.
    let program = "static const char *s = \"ok\"; const char **p = &s; int main(void) { return **p != 'o'; }\n";
    if std::fs::write(&src, program).is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(cc)
        .args(["-fPIE", "-pie", flag, "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .is_ok_and(|o| o.status.success() && o.stderr.is_empty());
    built && Command::new(&exe).status().is_ok_and(|s| s.success())
}
