//! # jingwei-lazylink — GDAL and PROJ loaded on first use
//!
//! GDAL's shared library pulls in about 110 others (PROJ, GEOS, HDF5, netCDF, Poppler, curl,
//! …): the dynamic loader mapped and relocated all of them before `main` on every start of
//! every Jingwei program, some 20–30 ms, whether the command touched GDAL or not (most of the
//! application's own readers do not). This crate's build script writes, for every C function
//! that `libgdal` and `libproj` export, a trampoline of the same name that jumps through a
//! table; each entry first points at a resolver that `dlopen`s the library, looks the function
//! up, stores it in the table and jumps on, so a function costs one indirect jump after its
//! first call. Because the trampolines define every symbol the bindings use, the linker's
//! `--as-needed` leaves both libraries out of the program's `DT_NEEDED`.
//!
//! Only on Linux x86-64 (elsewhere, or with `JINGWEI_EAGER_LINK=1` at build time, the libraries
//! are linked as usual). When a library cannot be loaded at its first use, the program prints
//! one line naming it and the loader's reason, and exits with status 127 — what the loader
//! itself would have done at start-up.
//!
//! Nothing here is called from Rust: linking the crate is all it takes (`use jingwei_lazylink
//! as _;` in the crate that uses GDAL).

/// Whether this build loads GDAL and PROJ lazily (false where they are linked as usual).
pub const LAZY: bool = cfg!(jingwei_lazylink);

// The edges that order this crate's library before theirs in the link (see Cargo.toml).
use gdal_sys as _;
use proj_sys as _;
