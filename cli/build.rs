fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,-z,lazy");
}
