//! Link flags for the `jingwei` binary, both about start-up:
//! - lazy symbol binding: Rust asks the linker for `-z now`, which makes the dynamic loader
//!   resolve every symbol of GDAL's hundred-odd libraries before `main`, about 10 ms of every
//!   command (`LD_DEBUG=statistics`) for functions most commands never call. Lazy binding is
//!   glibc's default for C programs such as GDAL's own tools.
//! - packed relative relocations (DT_RELR, glibc ≥ 2.36): the position-independent binary's
//!   ~280,000 relative relocations take a few hundred KB instead of 6.5 MB, which the loader
//!   would otherwise read from disk on a cold start.
fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,-z,lazy");
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
