//! The command-line tools' memory allocator: mimalloc. A command reads, indexes and frees
//! millions of small geometries; mimalloc does that with less CPU time than the C library's
//! allocator (see BENCHMARKS.md, 2026-12-07). The C libraries (GDAL, PROJ, SQLite) keep the C
//! library's allocator; the app (Bevy, WebKit) keeps the system's.
//!
//! Built without transparent huge pages (`no_thp`): asked for them, the kernel compacts memory
//! on the spot when it is fragmented, and the same read of a million buildings took anywhere
//! from 0.28 to 0.82 s depending on what ran before it.

/// mimalloc for every Rust allocation of the binary that includes this module.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
