//! Writes the trampolines and the resolver of the lazily loaded libraries (see `src/lib.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libraries loaded on first use: pkg-config name, a name for messages, and the prefixes
/// of the C functions given trampolines (the C API; C++ symbols are never called from Rust).
const LIBS: &[(&str, &str, &[&str])] = &[
    ("gdal", "GDAL", &["GDAL", "OGR", "OSR", "OCT", "CPL", "VSI", "CSL", "GNM"]),
    ("proj", "PROJ", &["proj_", "geod_"]),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=JINGWEI_EAGER_LINK");
    println!("cargo::rustc-check-cfg=cfg(jingwei_lazylink)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os != "linux" || arch != "x86_64" || std::env::var_os("JINGWEI_EAGER_LINK").is_some_and(|v| v != "0") {
        return;
    }
    match generate() {
        Ok(()) => println!("cargo:rustc-cfg=jingwei_lazylink"),
        // Linking as usual is always correct: only the start-up is slower.
        Err(e) => println!("cargo:warning=GDAL and PROJ are linked as usual ({e})"),
    }
}

struct Lib {
    label: &'static str,
    soname: String,
    functions: Vec<String>,
}

fn generate() -> Result<(), String> {
    let mut libs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for &(pkg, label, prefixes) in LIBS {
        let path = library_path(pkg)?;
        println!("cargo:rerun-if-changed={}", path.display());
        let soname = soname(&path)?;
        let mut functions = exported_functions(&path)?;
        functions.retain(|f| prefixes.iter().any(|p| f.starts_with(p)) && seen.insert(f.clone()));
        if functions.is_empty() {
            return Err(format!("{} exports none of the expected functions", path.display()));
        }
        libs.push(Lib { label, soname, functions });
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let asm = out.join("trampolines.S");
    let names = out.join("names.c");
    std::fs::write(&asm, trampolines(&libs)).map_err(|e| e.to_string())?;
    std::fs::write(&names, name_tables(&libs)).map_err(|e| e.to_string())?;
    println!("cargo:rerun-if-changed=src/resolve.c");
    cc::Build::new()
        .file(&asm)
        .file(&names)
        .file("src/resolve.c")
        .cargo_metadata(false)
        .try_compile("jingwei_lazylink")
        .map_err(|e| e.to_string())?;
    // Whole: nothing in Rust refers to these objects, yet every trampoline must be in the link.
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=jingwei_lazylink");
    println!("cargo:rustc-link-lib=dylib=dl");
    Ok(())
}

/// `lib<pkg>.so` in pkg-config's library folder, else in the multiarch one.
fn library_path(pkg: &str) -> Result<PathBuf, String> {
    let mut dirs = Vec::new();
    if let Ok(o) = Command::new("pkg-config").args(["--variable=libdir", pkg]).output()
        && o.status.success()
    {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    }
    dirs.extend(["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"].map(PathBuf::from));
    dirs.iter()
        .map(|d| d.join(format!("lib{pkg}.so")))
        .find(|p| p.exists())
        .ok_or_else(|| format!("lib{pkg}.so not found"))
}

fn run(tool: &str, args: &[&str], path: &Path) -> Result<String, String> {
    let o = Command::new(tool)
        .args(args)
        .arg(path)
        .output()
        .map_err(|e| format!("{tool}: {e}"))?;
    if !o.status.success() {
        return Err(format!("{tool} {}: {}", path.display(), String::from_utf8_lossy(&o.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The name the library is loaded by (`DT_SONAME`), as the linker would have recorded it.
fn soname(path: &Path) -> Result<String, String> {
    run("readelf", &["-d"], path)?
        .lines()
        .find(|l| l.contains("(SONAME)"))
        .and_then(|l| Some(l.split('[').nth(1)?.split(']').next()?.to_owned()))
        .ok_or_else(|| format!("{} has no SONAME", path.display()))
}

/// The functions the library defines and exports (`T` and `W` in nm's dynamic table).
fn exported_functions(path: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = run("nm", &["-D", "--defined-only"], path)?
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
            let name = name.split('@').next()?;
            let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            (matches!(kind, "T" | "W") && plain).then(|| name.to_owned())
        })
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// One trampoline per function (`jmp` through its table entry; hidden, so that the program does
/// not export it and the library's calls of its own functions stay its own), one first-call stub per entry
/// (push the entry's number, go to the common path), the common path that keeps every argument
/// register across the resolver, and the table.
fn trampolines(libs: &[Lib]) -> String {
    let mut s = String::from("# Generated by jingwei-lazylink's build.rs.\n\t.text\n");
    let all = libs.iter().flat_map(|l| &l.functions).enumerate();
    for (i, f) in all.clone() {
        let _ = write!(
            s,
            "\t.globl {f}\n\t.hidden {f}\n\t.type {f},@function\n{f}:\n\tjmp *jingwei_lazy_table+{}(%rip)\n\t.size {f},.-{f}\n",
            8 * i
        );
    }
    for (i, _) in all.clone() {
        let _ = write!(s, ".Lfirst{i}:\n\tpushq ${i}\n\tjmp jingwei_lazy_first\n");
    }
    // On entry rsp is 8 mod 16 (the caller's return address) + 8 (the entry's number) = 0 mod 16;
    // eight registers and eight 16-byte XMM slots keep it so for the call.
    s.push_str(
        "\t.p2align 4\n\t.type jingwei_lazy_first,@function\njingwei_lazy_first:\n\
         \tpushq %rdi\n\tpushq %rsi\n\tpushq %rdx\n\tpushq %rcx\n\tpushq %r8\n\tpushq %r9\n\tpushq %rax\n\tpushq %r10\n\
         \tsubq $128, %rsp\n",
    );
    for x in 0..8 {
        let _ = writeln!(s, "\tmovdqu %xmm{x}, {}(%rsp)", 16 * x);
    }
    s.push_str("\tmovq 192(%rsp), %rdi\n\tcall jingwei_lazy_resolve\n\tmovq %rax, %r11\n");
    for x in 0..8 {
        let _ = writeln!(s, "\tmovdqu {}(%rsp), %xmm{x}", 16 * x);
    }
    s.push_str(
        "\taddq $128, %rsp\n\tpopq %r10\n\tpopq %rax\n\tpopq %r9\n\tpopq %r8\n\tpopq %rcx\n\tpopq %rdx\n\tpopq %rsi\n\tpopq %rdi\n\
         \taddq $8, %rsp\n\tjmp *%r11\n\t.size jingwei_lazy_first,.-jingwei_lazy_first\n\
         \t.data\n\t.balign 8\n\t.globl jingwei_lazy_table\n\t.hidden jingwei_lazy_table\njingwei_lazy_table:\n",
    );
    for (i, _) in all {
        let _ = writeln!(s, "\t.quad .Lfirst{i}");
    }
    s.push_str("\t.section .note.GNU-stack,\"\",@progbits\n");
    s
}

/// The C tables the resolver reads: each entry's name and library, each library's soname.
fn name_tables(libs: &[Lib]) -> String {
    let mut s = String::from("/* Generated by jingwei-lazylink's build.rs. */\n");
    // One string of every name, each ended by NUL ("\\0" in the C source), and the offsets.
    let (mut names, mut offsets, mut lib_of, mut at) = (String::new(), Vec::new(), Vec::new(), 0);
    for (k, l) in libs.iter().enumerate() {
        for f in &l.functions {
            offsets.push(at);
            at += f.len() + 1;
            names.push_str(f);
            names.push_str("\\0");
            lib_of.push(k);
        }
    }
    let _ = writeln!(s, "const char jingwei_lazy_names[] = \"{names}\";");
    let _ = writeln!(s, "const unsigned jingwei_lazy_offsets[] = {{{}}};", join(&offsets));
    let _ = writeln!(s, "const unsigned char jingwei_lazy_lib[] = {{{}}};", join(&lib_of));
    let _ = writeln!(
        s,
        "const char *const jingwei_lazy_sonames[] = {{{}}};",
        libs.iter().map(|l| format!("\"{}\"", l.soname)).collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(
        s,
        "const char *const jingwei_lazy_labels[] = {{{}}};",
        libs.iter().map(|l| format!("\"{}\"", l.label)).collect::<Vec<_>>().join(", ")
    );
    s
}

fn join(v: &[usize]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
}
