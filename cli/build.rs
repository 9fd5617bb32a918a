//! Link the `jingwei` binary for lazy symbol binding. Rust asks the linker for `-z now`, which
//! makes the dynamic loader resolve every symbol of GDAL's hundred-odd libraries before `main`:
//! about 10 ms of every command's start-up (`LD_DEBUG=statistics`), for functions most commands
//! never call. Lazy binding is glibc's default for C programs such as GDAL's own tools.
fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,-z,lazy");
}
