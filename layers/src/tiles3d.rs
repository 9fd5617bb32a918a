//! 3D Tiles 1.0 and 1.1 tilesets, read without a renderer: `tileset.json` with its external
//! tilesets (each once: a cycle is an error), box, region and sphere bounding volumes carried
//! through the tiles' transforms into ECEF, REPLACE and ADD refinement (inherited), viewer
//! request volumes, one content (1.0 `url`, 1.1 `uri`) or several (1.1 `contents`), and implicit
//! tiling as declared; the binary contents' headers (b3dm, i3dm, pnts, cmpt and GLB) checked
//! against their byte lengths and the file's; and the choice of tiles to draw by screen-space
//! error as cesium-native computes it (geometric error × screen height ÷ (2 × distance ×
//! tan(fov/2)), 16 pixels by default).
//!
//! Implicit tiling (quadtrees and octrees of subtree files with availability bitstreams) is
//! expanded lazily, a subtree when the selection first reaches it (`implicit`); the tiles'
//! contents become geometry in the workspace CRS in `decode`, and `stream` keeps what the
//! camera needs loaded within a memory budget.
//!
//! Bad input — truncated or inconsistent headers, wrong byte lengths, bad JSON, a missing file —
//! is an error naming the file and the problem, never a panic (the binary parsers are fuzzed).

pub mod archive;
pub mod decode;
pub mod implicit;
pub mod stream;

pub use archive::{Archive, Fetch, Files};

use crate::{LayersError, Result};
use serde_json::Value as J;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A 3×1 vector.
pub type V3 = [f64; 3];

/// A bounding volume in ECEF metres (regions stay in radians and metres above the ellipsoid).
#[derive(Debug, Clone, PartialEq)]
pub enum Volume {
    /// Centre and three half-axes.
    Box {
        /// Centre.
        center: V3,
        /// Half-axes (x, y, z).
        half_axes: [V3; 3],
    },
    /// West, south, east, north (radians), minimum and maximum height (metres); and the ECEF
    /// box (low and high corners) around points sampled on it, made once by [`Volume::region`]
    /// (culling and screen-space errors ask for it every frame).
    Region([f64; 6], [V3; 2]),
    /// Centre and radius.
    Sphere {
        /// Centre.
        center: V3,
        /// Radius.
        radius: f64,
    },
}

/// How a tile's children refine it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refine {
    /// Children replace the tile.
    Replace,
    /// Children are drawn with it.
    Add,
}

/// What a content file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// Batched 3D model.
    B3dm,
    /// Instanced 3D model.
    I3dm,
    /// Point cloud.
    Pnts,
    /// Composite of the others.
    Cmpt,
    /// Binary glTF.
    Glb,
    /// JSON glTF.
    Gltf,
    /// An external tileset.
    Tileset,
    /// Something else (by its extension).
    Other,
}

impl ContentKind {
    fn of(uri: &str) -> ContentKind {
        let ext = uri
            .split(['?', '#'])
            .next()
            .unwrap_or("")
            .rsplit('.')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "b3dm" => ContentKind::B3dm,
            "i3dm" => ContentKind::I3dm,
            "pnts" => ContentKind::Pnts,
            "cmpt" => ContentKind::Cmpt,
            "glb" => ContentKind::Glb,
            "gltf" => ContentKind::Gltf,
            "json" => ContentKind::Tileset,
            _ => ContentKind::Other,
        }
    }
}

/// A tile's content.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// As written in the tileset.
    pub uri: String,
    /// The file (relative URIs resolved against the tileset's folder).
    pub path: PathBuf,
    /// What it is.
    pub kind: ContentKind,
}

/// Implicit tiling, as a tile declares it (1.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Implicit {
    /// `QUADTREE` or `OCTREE`.
    pub scheme: String,
    /// Levels per subtree file.
    pub subtree_levels: u32,
    /// Levels in all.
    pub available_levels: u32,
    /// The subtrees' URI template (`{level}`, `{x}`, `{y}`, `{z}`).
    pub subtrees: String,
    /// The contents' URI templates.
    pub contents: Vec<String>,
}

/// Where a tile of implicit tiling sits: its implicit root and its level and coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coord {
    /// The tile that declares the implicit tiling.
    pub root: usize,
    /// Level below that root (0 for the root).
    pub level: u32,
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
    /// Layer (octrees; 0 for quadtrees).
    pub z: u32,
}

/// A tile.
#[derive(Debug, Clone)]
pub struct Tile {
    /// The parent tile (`None` for the root).
    pub parent: Option<usize>,
    /// Child tiles.
    pub children: Vec<usize>,
    /// Bounding volume in ECEF (after the transforms above it).
    pub bounds: Volume,
    /// Drawn only while the camera is inside this volume.
    pub request_volume: Option<Volume>,
    /// Geometric error (metres).
    pub geometric_error: f64,
    /// Refinement (inherited when the tile has none).
    pub refine: Refine,
    /// The transform to ECEF, column-major (the product of those above it and its own).
    pub transform: [f64; 16],
    /// Contents (none for an empty tile; an external tileset's root is a child instead).
    pub contents: Vec<Content>,
    /// Implicit tiling rooted here.
    pub implicit: Option<Implicit>,
    /// For a tile of implicit tiling: where it sits.
    pub coord: Option<Coord>,
    /// The root of a subtree whose file has not been read yet: its contents and children are
    /// not known (see [`implicit::expand`]).
    pub pending: bool,
    /// Depth in the tree (0 for the root).
    pub depth: u32,
    /// The tileset file the tile is written in.
    pub source: PathBuf,
    /// An external tileset under this tile, read when the tile is first reached (tilesets
    /// opened with [`open_lazy`]); the tile is `pending` until then.
    pub external: Option<PathBuf>,
}

/// A tileset with its external tilesets, as one tree.
#[derive(Debug, Clone)]
pub struct Tileset {
    /// The root tileset file.
    pub path: PathBuf,
    /// `asset.version` (`1.0`, `1.1`).
    pub version: String,
    /// The tileset's geometric error.
    pub geometric_error: f64,
    /// Every tile; the root is 0.
    pub tiles: Vec<Tile>,
    /// The tileset files read (the root's first).
    pub files: Vec<PathBuf>,
    /// Subtree files read.
    pub subtrees_read: usize,
    /// What could not be read while expanding implicit tiling (one line each, naming the file);
    /// the tiles below stay out, the rest is drawn.
    pub broken: Vec<String>,
    /// Where its files come from: a folder, or a `.3tz` archive.
    pub fetch: std::sync::Arc<dyn Fetch>,
    /// External tilesets are read when their tile is first reached, not when the tileset is
    /// opened (see [`open_lazy`]).
    pub lazy: bool,
}

pub(crate) const IDENTITY: [f64; 16] = [1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1.];
/// How deep external tilesets may nest.
const MAX_NESTING: usize = 32;

fn bad(path: &Path, detail: impl Into<String>) -> LayersError {
    LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("3D Tiles: {}", detail.into()),
    }
}

pub(crate) fn mul(a: &[f64; 16], b: &[f64; 16]) -> [f64; 16] {
    let mut m = [0.0; 16];
    for c in 0..4 {
        for r in 0..4 {
            m[c * 4 + r] = (0..4).map(|k| a[k * 4 + r] * b[c * 4 + k]).sum();
        }
    }
    m
}

pub(crate) fn point(m: &[f64; 16], p: V3) -> V3 {
    [0, 1, 2].map(|r| m[r] * p[0] + m[4 + r] * p[1] + m[8 + r] * p[2] + m[12 + r])
}

fn vector(m: &[f64; 16], v: V3) -> V3 {
    [0, 1, 2].map(|r| m[r] * v[0] + m[4 + r] * v[1] + m[8 + r] * v[2])
}

fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

fn cross(a: V3, b: V3) -> V3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// The WGS 84 ellipsoid of 3D Tiles' ECEF (CGCS2000's differs by 0.1 mm in b): semi-major axis.
const A: f64 = 6_378_137.0;
/// Its flattening.
const F: f64 = 1.0 / 298.257_223_563;

/// WGS 84 (and CGCS2000) geodetic to ECEF.
pub fn geodetic_to_ecef(lon: f64, lat: f64, h: f64) -> V3 {
    let e2 = F * (2.0 - F);
    let n = A / (1.0 - e2 * lat.sin().powi(2)).sqrt();
    [
        (n + h) * lat.cos() * lon.cos(),
        (n + h) * lat.cos() * lon.sin(),
        (n * (1.0 - e2) + h) * lat.sin(),
    ]
}

/// ECEF to geodetic longitude, latitude (radians) and height (metres) on the same ellipsoid as
/// [`geodetic_to_ecef`]: Bowring's start refined by Newton steps on the latitude (sub-millimetre
/// anywhere near the Earth; the tests hold it to PROJ's `cart` inverse).
pub fn ecef_to_geodetic(p: V3) -> (f64, f64, f64) {
    let e2 = F * (2.0 - F);
    let b = A * (1.0 - F);
    let ep2 = (A * A - b * b) / (b * b);
    let lon = p[1].atan2(p[0]);
    let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
    if r < 1e-9 {
        // On the axis.
        let lat = std::f64::consts::FRAC_PI_2.copysign(p[2]);
        return (lon, lat, p[2].abs() - b);
    }
    let theta = (p[2] * A).atan2(r * b);
    let mut lat = (p[2] + ep2 * b * theta.sin().powi(3)).atan2(r - e2 * A * theta.cos().powi(3));
    for _ in 0..4 {
        let n = A / (1.0 - e2 * lat.sin().powi(2)).sqrt();
        let h = r / lat.cos() - n;
        lat = (p[2] / r / (1.0 - e2 * n / (n + h))).atan();
    }
    let n = A / (1.0 - e2 * lat.sin().powi(2)).sqrt();
    let h = if lat.cos().abs() > 1e-3 {
        r / lat.cos() - n
    } else {
        p[2] / lat.sin() - n * (1.0 - e2)
    };
    (lon, lat, h)
}

fn numbers<const N: usize>(path: &Path, v: &J, what: &str) -> Result<[f64; N]> {
    let a = v
        .as_array()
        .filter(|a| a.len() == N)
        .ok_or_else(|| bad(path, format!("{what}: {N} numbers expected")))?;
    let mut out = [0.0; N];
    for (o, x) in out.iter_mut().zip(a) {
        *o = x
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| bad(path, format!("{what}: {N} finite numbers expected")))?;
    }
    Ok(out)
}

fn volume(path: &Path, v: &J, m: &[f64; 16], what: &str) -> Result<Volume> {
    if let Some(b) = v.get("box") {
        let b: [f64; 12] = numbers(path, b, &format!("{what}.box"))?;
        return Ok(Volume::Box {
            center: point(m, [b[0], b[1], b[2]]),
            half_axes: [
                vector(m, [b[3], b[4], b[5]]),
                vector(m, [b[6], b[7], b[8]]),
                vector(m, [b[9], b[10], b[11]]),
            ],
        });
    }
    if let Some(r) = v.get("region") {
        let r: [f64; 6] = numbers(path, r, &format!("{what}.region"))?;
        if r[1] > r[3] || r[4] > r[5] || r[1].abs() > std::f64::consts::FRAC_PI_2 + 1e-9 || r[3].abs() > std::f64::consts::FRAC_PI_2 + 1e-9
        {
            return Err(bad(
                path,
                format!("{what}.region: south above north, or minimum height above maximum"),
            ));
        }
        return Ok(Volume::region(r));
    }
    if let Some(s) = v.get("sphere") {
        let s: [f64; 4] = numbers(path, s, &format!("{what}.sphere"))?;
        if s[3] < 0.0 {
            return Err(bad(path, format!("{what}.sphere: a negative radius")));
        }
        let scale = (0..3).map(|c| norm([m[c * 4], m[c * 4 + 1], m[c * 4 + 2]])).fold(0.0, f64::max);
        return Ok(Volume::Sphere {
            center: point(m, [s[0], s[1], s[2]]),
            radius: s[3] * scale,
        });
    }
    Err(bad(path, format!("{what}: no box, region or sphere")))
}

impl Volume {
    /// A region (west, south, east, north radians; lowest and highest height, metres).
    pub fn region(r: [f64; 6]) -> Volume {
        let (lo, hi) = region_box(&r);
        Volume::Region(r, [lo, hi])
    }

    /// Distance (metres) from an ECEF point to the volume; 0 inside. A region is taken as the
    /// ECEF box around points sampled on it (a little larger than the region itself).
    pub fn distance(&self, p: V3) -> f64 {
        match self {
            Volume::Sphere { center, radius } => (norm(sub(p, *center)) - radius).max(0.0),
            Volume::Box { center, half_axes } => {
                let d = sub(p, *center);
                let mut sq = 0.0;
                for i in 0..3 {
                    let a = half_axes[i];
                    let len = norm(a);
                    let (unit, half) = if len > 1e-12 {
                        ([a[0] / len, a[1] / len, a[2] / len], len)
                    } else {
                        // A flat box: the axis is the normal of the other two.
                        let n = cross(half_axes[(i + 1) % 3], half_axes[(i + 2) % 3]);
                        let l = norm(n);
                        if l <= 1e-12 {
                            continue;
                        }
                        ([n[0] / l, n[1] / l, n[2] / l], 0.0)
                    };
                    let excess = (dot(d, unit).abs() - half).max(0.0);
                    sq += excess * excess;
                }
                sq.sqrt()
            }
            Volume::Region(_, [lo, hi]) => (0..3)
                .map(|k| (lo[k] - p[k]).max(p[k] - hi[k]).max(0.0).powi(2))
                .sum::<f64>()
                .sqrt(),
        }
    }
}

/// Whether a JSON file is a 3D Tiles tileset (`asset.version` and a `root`, read from its
/// first 64 KiB without parsing the whole).
pub fn is_tileset(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::new();
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    if f.take(65_536).read_to_end(&mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    text.trim_start().starts_with('{') && text.contains("\"asset\"") && text.contains("\"root\"") && text.contains("\"geometricError\"")
}

/// A volume's footprint in a workspace CRS (`[min_x, min_y, max_x, max_y]`) and its lowest and
/// highest height, from points sampled on it.
pub fn footprint(v: &Volume, placer: &decode::Placer) -> Result<([f64; 4], [f64; 2])> {
    let pts: Vec<V3> = match v {
        Volume::Region(r, _) => {
            let mut p = Vec::new();
            for i in 0..=4 {
                for j in 0..=4 {
                    for h in [r[4], r[5]] {
                        p.push(geodetic_to_ecef(
                            r[0] + (r[2] - r[0]) * f64::from(i) / 4.0,
                            r[1] + (r[3] - r[1]) * f64::from(j) / 4.0,
                            h,
                        ));
                    }
                }
            }
            p
        }
        Volume::Box { center, half_axes } => {
            let mut p = Vec::new();
            for a in [-1.0, 0.0, 1.0] {
                for b in [-1.0, 0.0, 1.0] {
                    for c in [-1.0, 1.0] {
                        p.push([0, 1, 2].map(|k| center[k] + half_axes[0][k] * a + half_axes[1][k] * b + half_axes[2][k] * c));
                    }
                }
            }
            p
        }
        Volume::Sphere { center, radius } => {
            let mut p = vec![*center];
            for k in 0..3 {
                for s in [-1.0, 1.0] {
                    let mut q = *center;
                    q[k] += s * radius;
                    p.push(q);
                }
            }
            p
        }
    };
    let placed = placer.place(&pts)?;
    let mut e = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    let mut h = [f64::INFINITY, f64::NEG_INFINITY];
    for p in placed {
        e = [e[0].min(p[0]), e[1].min(p[1]), e[2].max(p[0]), e[3].max(p[1])];
        h = [h[0].min(p[2]), h[1].max(p[2])];
    }
    Ok((e, h))
}

/// Read a tileset and every external tileset it reaches: a `tileset.json` in a folder, or a
/// `.3tz` archive (its `tileset.json`; every path inside it is the archive's path joined with
/// the file's name in it).
pub fn open(path: &Path) -> Result<Tileset> {
    if archive::is_url(path) {
        let (root, fetch) = archive::open_remote(&path.to_string_lossy())?;
        let mut ts = open_with(&root, fetch)?;
        ts.path = path.to_owned();
        return Ok(ts);
    }
    let is_3tz = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("3tz"));
    if is_3tz {
        let archive = Archive::open(path)?;
        return open_with(&path.join("tileset.json"), std::sync::Arc::new(archive));
    }
    open_with(path, std::sync::Arc::new(Files))
}

/// [`open`] with the files read through `fetch`.
pub fn open_with(path: &Path, fetch: std::sync::Arc<dyn Fetch>) -> Result<Tileset> {
    open_tree(path, fetch, false)
}

/// [`open_with`], reading each external tileset only when the streamer first reaches its tile
/// (as Cesium does): a tree of many thousand files — an oblique model's — opens at once, and
/// only the parts ever looked at are read. A file that cannot be read then leaves its tile
/// without children and is listed in [`Tileset::broken`].
pub fn open_lazy(path: &Path, fetch: std::sync::Arc<dyn Fetch>) -> Result<Tileset> {
    open_tree(path, fetch, true)
}

/// The deepest a lazily read tree may grow (its external tilesets are not checked for cycles).
const MAX_LAZY_DEPTH: u32 = 256;

fn open_tree(path: &Path, fetch: std::sync::Arc<dyn Fetch>, lazy: bool) -> Result<Tileset> {
    let mut ts = Tileset {
        lazy,
        path: path.to_owned(),
        version: String::new(),
        geometric_error: 0.0,
        tiles: Vec::new(),
        files: Vec::new(),
        subtrees_read: 0,
        broken: Vec::new(),
        fetch,
    };
    let mut seen = HashSet::new();
    let (version, ge) = load(&mut ts, path, None, &IDENTITY, Refine::Replace, 0, &mut seen)?;
    ts.version = version;
    ts.geometric_error = ge;
    Ok(ts)
}

/// Read one tileset file; its root becomes a child of `parent` (or the root of all).
fn load(
    ts: &mut Tileset,
    path: &Path,
    parent: Option<usize>,
    transform: &[f64; 16],
    refine: Refine,
    nesting: usize,
    seen: &mut HashSet<PathBuf>,
) -> Result<(String, f64)> {
    if nesting > MAX_NESTING {
        return Err(bad(path, format!("external tilesets nested more than {MAX_NESTING} deep")));
    }
    let bytes = ts.fetch.fetch(path)?;
    let key = path.canonicalize().unwrap_or_else(|_| archive::normalize(path));
    if !seen.insert(key) {
        return Err(bad(path, "an external tileset refers back to itself (a cycle)"));
    }
    let j: J = serde_json::from_slice(&bytes).map_err(|e| bad(path, format!("not JSON: {e}")))?;
    let version = j
        .pointer("/asset/version")
        .and_then(J::as_str)
        .ok_or_else(|| bad(path, "no asset.version"))?
        .to_owned();
    if !matches!(version.as_str(), "1.0" | "1.1" | "0.0") {
        return Err(bad(path, format!("asset.version {version}: this reads 3D Tiles 1.0 and 1.1")));
    }
    let ge = j
        .get("geometricError")
        .and_then(J::as_f64)
        .filter(|g| g.is_finite() && *g >= 0.0)
        .ok_or_else(|| bad(path, "no geometricError (a number ≥ 0)"))?;
    let root = j.get("root").ok_or_else(|| bad(path, "no root tile"))?;
    ts.files.push(path.to_owned());
    let depth = parent.map_or(0, |p| ts.tiles[p].depth + 1);
    tile(ts, path, root, parent, transform, refine, depth, nesting, seen, "root")?;
    Ok((version, ge))
}

#[allow(clippy::too_many_arguments)]
fn tile(
    ts: &mut Tileset,
    path: &Path,
    j: &J,
    parent: Option<usize>,
    above: &[f64; 16],
    inherited: Refine,
    depth: u32,
    nesting: usize,
    seen: &mut HashSet<PathBuf>,
    at: &str,
) -> Result<usize> {
    if !j.is_object() {
        return Err(bad(path, format!("{at}: a tile is a JSON object")));
    }
    let own = match j.get("transform") {
        Some(t) => numbers::<16>(path, t, &format!("{at}.transform"))?,
        None => IDENTITY,
    };
    let m = mul(above, &own);
    let bounds = volume(
        path,
        j.get("boundingVolume")
            .ok_or_else(|| bad(path, format!("{at}: no boundingVolume")))?,
        &m,
        &format!("{at}.boundingVolume"),
    )?;
    let request_volume = j
        .get("viewerRequestVolume")
        .map(|v| volume(path, v, &m, &format!("{at}.viewerRequestVolume")))
        .transpose()?;
    let geometric_error = j
        .get("geometricError")
        .and_then(J::as_f64)
        .filter(|g| g.is_finite() && *g >= 0.0)
        .ok_or_else(|| bad(path, format!("{at}: no geometricError (a number ≥ 0)")))?;
    let refine = match j.get("refine").and_then(J::as_str).map(str::to_ascii_uppercase).as_deref() {
        None => inherited,
        Some("ADD") => Refine::Add,
        Some("REPLACE") => Refine::Replace,
        Some(r) => return Err(bad(path, format!("{at}.refine: {r} (ADD or REPLACE)"))),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut uris = Vec::new();
    for c in j
        .get("content")
        .into_iter()
        .chain(j.get("contents").and_then(J::as_array).into_iter().flatten())
    {
        let uri = c
            .get("uri")
            .or_else(|| c.get("url"))
            .and_then(J::as_str)
            .ok_or_else(|| bad(path, format!("{at}.content: no uri")))?;
        uris.push(uri.to_owned());
    }
    let mut implicit = j.get("implicitTiling").map(|i| Implicit {
        scheme: i.get("subdivisionScheme").and_then(J::as_str).unwrap_or("").to_owned(),
        subtree_levels: i.get("subtreeLevels").and_then(J::as_u64).unwrap_or(0).min(31) as u32,
        available_levels: i.get("availableLevels").and_then(J::as_u64).unwrap_or(0).min(31) as u32,
        subtrees: i.pointer("/subtrees/uri").and_then(J::as_str).unwrap_or("").to_owned(),
        contents: Vec::new(),
    });
    if let Some(i) = &implicit
        && (!matches!(i.scheme.as_str(), "QUADTREE" | "OCTREE")
            || i.subtree_levels == 0
            || i.available_levels == 0
            || i.subtrees.is_empty())
    {
        return Err(bad(
            path,
            format!("{at}.implicitTiling: a QUADTREE or OCTREE scheme, subtreeLevels and availableLevels ≥ 1 and a subtrees uri"),
        ));
    }
    if implicit.is_some() && matches!(bounds, Volume::Sphere { .. }) {
        return Err(bad(path, format!("{at}: implicit tiling needs a box or region, not a sphere")));
    }
    if let Some(i) = &mut implicit {
        // The contents are templates, resolved per tile when its subtree is read.
        i.contents = std::mem::take(&mut uris);
    }
    let pending = implicit.is_some();
    let me = ts.tiles.len();
    ts.tiles.push(Tile {
        parent,
        children: Vec::new(),
        bounds,
        request_volume,
        geometric_error,
        refine,
        transform: m,
        contents: Vec::new(),
        coord: implicit.as_ref().map(|_| Coord {
            root: ts.tiles.len(),
            level: 0,
            x: 0,
            y: 0,
            z: 0,
        }),
        implicit,
        pending,
        depth,
        source: path.to_owned(),
        external: None,
    });
    if let Some(p) = parent {
        ts.tiles[p].children.push(me);
    }
    for uri in uris {
        let kind = ContentKind::of(&uri);
        let file = archive::normalize(&dir.join(uri.split(['?', '#']).next().unwrap_or(&uri)));
        if kind == ContentKind::Tileset && ts.lazy && ts.tiles[me].external.is_none() {
            ts.tiles[me].external = Some(file);
            ts.tiles[me].pending = true;
        } else if kind == ContentKind::Tileset {
            load(ts, &file, Some(me), &m, refine, nesting + 1, seen)?;
        } else {
            ts.tiles[me].contents.push(Content { uri, path: file, kind });
        }
    }
    if let Some(children) = j.get("children") {
        let children = children.as_array().ok_or_else(|| bad(path, format!("{at}.children: an array")))?;
        for (k, c) in children.iter().enumerate() {
            tile(
                ts,
                path,
                c,
                Some(me),
                &m,
                refine,
                depth + 1,
                nesting,
                seen,
                &format!("{at}.children[{k}]"),
            )?;
        }
    }
    Ok(me)
}

/// Read the external tileset of pending tile `i` (see [`open_lazy`]): its root becomes `i`'s
/// child. A file that cannot be read is listed in `ts.broken` and leaves `i` as it is.
fn expand_external(ts: &mut Tileset, i: usize) -> Result<()> {
    let Some(file) = ts.tiles[i].external.take() else {
        return Ok(());
    };
    ts.tiles[i].pending = false;
    if ts.tiles.len() >= implicit::MAX_TILES {
        return Err(bad(&file, format!("the tileset grows past {} tiles", implicit::MAX_TILES)));
    }
    if ts.tiles[i].depth >= MAX_LAZY_DEPTH {
        ts.broken.push(format!("{}: deeper than {MAX_LAZY_DEPTH} tiles", file.display()));
        return Ok(());
    }
    let (m, refine, before) = (ts.tiles[i].transform, ts.tiles[i].refine, ts.tiles.len());
    if let Err(e) = load(ts, &file, Some(i), &m, refine, 0, &mut HashSet::new()) {
        // Nothing half-read stays: the tiles added before the error go again.
        ts.tiles.truncate(before);
        ts.tiles[i].children.retain(|c| *c < before);
        for t in &mut ts.tiles {
            t.children.retain(|c| *c < before);
        }
        ts.broken.push(e.to_string());
    }
    Ok(())
}

/// The header of a tile content, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentHeader {
    /// What it is.
    pub kind: ContentKind,
    /// Its byte length (the header's, equal to the bytes there are).
    pub byte_length: usize,
    /// The feature table's JSON (`{}` when there is none).
    pub feature_table: J,
    /// Features: BATCH_LENGTH (b3dm), INSTANCES_LENGTH (i3dm) or POINTS_LENGTH (pnts).
    pub features: Option<u64>,
    /// Where the embedded glTF starts and how long it is (b3dm, i3dm with an embedded glTF, GLB).
    pub gltf: Option<(usize, usize)>,
    /// The inner tiles of a composite.
    pub inner: Vec<ContentHeader>,
}

/// Read and check a content file's header.
pub fn read_content(path: &Path) -> Result<ContentHeader> {
    let bytes = std::fs::read(path).map_err(|e| LayersError::io(path, e))?;
    parse_content(path, &bytes)
}

/// [`read_content`] on bytes (`path` names them in errors).
pub fn parse_content(path: &Path, bytes: &[u8]) -> Result<ContentHeader> {
    parse_at(path, bytes, 0)
}

fn parse_at(path: &Path, bytes: &[u8], nesting: usize) -> Result<ContentHeader> {
    let u32_at = |i: usize| -> Result<usize> {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| bad(path, format!("cut short at byte {} of {}", i, bytes.len())))
    };
    let magic = bytes.get(0..4).ok_or_else(|| bad(path, "shorter than a header"))?;
    let kind = match magic {
        b"b3dm" => ContentKind::B3dm,
        b"i3dm" => ContentKind::I3dm,
        b"pnts" => ContentKind::Pnts,
        b"cmpt" => ContentKind::Cmpt,
        b"glTF" => ContentKind::Glb,
        m => return Err(bad(path, format!("unknown magic {:?}", String::from_utf8_lossy(m)))),
    };
    let version = u32_at(4)?;
    let byte_length = u32_at(8)?;
    let name = match kind {
        ContentKind::B3dm => "b3dm",
        ContentKind::I3dm => "i3dm",
        ContentKind::Pnts => "pnts",
        ContentKind::Cmpt => "cmpt",
        _ => "GLB",
    };
    if byte_length != bytes.len() {
        return Err(bad(
            path,
            format!("{name}: the header says {byte_length} bytes, there are {}", bytes.len()),
        ));
    }
    let expected_version = if kind == ContentKind::Glb { 2 } else { 1 };
    if version != expected_version {
        return Err(bad(path, format!("{name} version {version} (this reads {expected_version})")));
    }
    let mut h = ContentHeader {
        kind,
        byte_length,
        feature_table: J::Object(Default::default()),
        features: None,
        gltf: None,
        inner: Vec::new(),
    };
    match kind {
        ContentKind::Glb => {
            h.gltf = Some((0, byte_length));
        }
        ContentKind::Cmpt => {
            if nesting > 8 {
                return Err(bad(path, "composite tiles nested more than 8 deep"));
            }
            let n = u32_at(12)?;
            let mut at = 16;
            for k in 0..n {
                let len = u32_at(at + 8).map_err(|_| bad(path, format!("cmpt: inner tile {k} cut short")))?;
                let inner = at
                    .checked_add(len)
                    .and_then(|end| bytes.get(at..end))
                    .filter(|b| b.len() >= 12)
                    .ok_or_else(|| bad(path, format!("cmpt: inner tile {k} of {len} bytes runs past the end")))?;
                h.inner.push(parse_at(path, inner, nesting + 1)?);
                at += len;
            }
            if at != byte_length {
                return Err(bad(path, format!("cmpt: {} bytes after the inner tiles", byte_length - at)));
            }
        }
        ContentKind::B3dm | ContentKind::I3dm | ContentKind::Pnts => {
            let header: usize = if kind == ContentKind::I3dm { 32 } else { 28 };
            let [ftj, ftb, btj, btb] = [u32_at(12)?, u32_at(16)?, u32_at(20)?, u32_at(24)?];
            let body = [ftj, ftb, btj, btb]
                .iter()
                .try_fold(header, |a, b| a.checked_add(*b))
                .filter(|end| *end <= byte_length)
                .ok_or_else(|| {
                    bad(
                        path,
                        format!(
                            "{name}: tables of {ftj}+{ftb}+{btj}+{btb} bytes do not fit in {byte_length} (a header of an older layout?)"
                        ),
                    )
                })?;
            let ft = &bytes[header..header + ftj];
            let ft = std::str::from_utf8(ft)
                .ok()
                .map(|s| s.trim_end_matches([' ', '\0']))
                .ok_or_else(|| bad(path, format!("{name}: the feature table's JSON is not UTF-8")))?;
            h.feature_table = if ft.is_empty() {
                J::Object(Default::default())
            } else {
                serde_json::from_str(ft).map_err(|e| bad(path, format!("{name}: feature table JSON: {e}")))?
            };
            let count = |key: &str| -> Result<Option<u64>> {
                match h.feature_table.get(key) {
                    None => Ok(None),
                    Some(v) => v
                        .as_u64()
                        .map(Some)
                        .ok_or_else(|| bad(path, format!("{name}: {key} is not a whole number"))),
                }
            };
            h.features = match kind {
                ContentKind::B3dm => count("BATCH_LENGTH")?,
                ContentKind::I3dm => Some(count("INSTANCES_LENGTH")?.ok_or_else(|| bad(path, "i3dm: no INSTANCES_LENGTH"))?),
                _ => Some(count("POINTS_LENGTH")?.ok_or_else(|| bad(path, "pnts: no POINTS_LENGTH"))?),
            };
            // Positions must lie inside the feature table's binary body.
            let positions: &[(&str, usize)] = match kind {
                ContentKind::Pnts => &[("POSITION", 12), ("POSITION_QUANTIZED", 6)],
                ContentKind::I3dm => &[("POSITION", 12), ("POSITION_QUANTIZED", 6)],
                _ => &[],
            };
            for (key, size) in positions {
                if let Some(off) = h.feature_table.pointer(&format!("/{key}/byteOffset")) {
                    let off = off
                        .as_u64()
                        .ok_or_else(|| bad(path, format!("{name}: {key}.byteOffset is not a whole number")))?;
                    let n = h.features.unwrap_or(0);
                    let end = n.checked_mul(*size as u64).and_then(|b| b.checked_add(off));
                    if end.is_none_or(|e| e > ftb as u64) {
                        return Err(bad(
                            path,
                            format!("{name}: {n} {key} values from byte {off} run past the feature table's {ftb} bytes"),
                        ));
                    }
                }
            }
            match kind {
                ContentKind::B3dm => h.gltf = Some((body, byte_length - body)),
                ContentKind::I3dm if u32_at(28)? == 1 => h.gltf = Some((body, byte_length - body)),
                _ => {}
            }
            if let Some((start, len)) = h.gltf {
                let glb = &bytes[start..start + len];
                if !glb.starts_with(b"glTF") {
                    return Err(bad(path, format!("{name}: no GLB after the tables")));
                }
                let glen = glb
                    .get(8..12)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                    .ok_or_else(|| bad(path, format!("{name}: the GLB is cut short")))?;
                if glen > len {
                    return Err(bad(path, format!("{name}: the GLB says {glen} bytes, {len} are left")));
                }
            }
        }
        _ => {}
    }
    Ok(h)
}

/// Where the camera is and what it sees.
#[derive(Debug, Clone, Copy)]
pub struct Camera {
    /// Position (ECEF metres).
    pub position: V3,
    /// Height of the view in pixels.
    pub screen_height: f64,
    /// Vertical field of view (radians).
    pub fov_y: f64,
    /// The view's six planes (`n·p + d ≥ 0` inside; ECEF), when culling to the view: left,
    /// right, bottom, top, near, far.
    pub frustum: Option<[[f64; 4]; 6]>,
    /// Where the camera looks (unit vector, ECEF), for load priorities.
    pub forward: V3,
}

impl Camera {
    /// A camera at `eye` looking at `target`, `up` roughly up (all ECEF), with a vertical field
    /// of view, an aspect (width ÷ height), a frame `screen_height` pixels high and a far
    /// distance; its frustum culls.
    pub fn looking(eye: V3, target: V3, up: V3, fov_y: f64, aspect: f64, screen_height: f64, far: f64) -> Camera {
        let unit = |v: V3| {
            let l = norm(v).max(1e-12);
            [v[0] / l, v[1] / l, v[2] / l]
        };
        let f = unit(sub(target, eye));
        let r = unit(cross(f, up));
        let u = cross(r, f);
        let (th, tw) = ((fov_y / 2.0).tan(), (fov_y / 2.0).tan() * aspect);
        // Inward normals of the side planes through the eye.
        let plane = |n: V3| {
            let n = unit(n);
            [n[0], n[1], n[2], -dot(n, eye)]
        };
        let comb = |a: V3, ka: f64, b: V3, kb: f64| [a[0] * ka + b[0] * kb, a[1] * ka + b[1] * kb, a[2] * ka + b[2] * kb];
        let left = plane(comb(r, 1.0, f, tw));
        let right = plane(comb(r, -1.0, f, tw));
        let bottom = plane(comb(u, 1.0, f, th));
        let top = plane(comb(u, -1.0, f, th));
        let near = [f[0], f[1], f[2], -dot(f, eye)];
        let far_p = [-f[0], -f[1], -f[2], dot(f, eye) + far];
        Camera {
            position: eye,
            screen_height,
            fov_y,
            frustum: Some([left, right, bottom, top, near, far_p]),
            forward: f,
        }
    }

    /// A tile's screen-space error from here (pixels); infinite inside its volume.
    pub fn sse(&self, t: &Tile) -> f64 {
        let d = t.bounds.distance(self.position);
        if d <= 0.0 {
            return f64::INFINITY;
        }
        t.geometric_error * self.screen_height / (2.0 * d * (self.fov_y / 2.0).tan())
    }

    /// Whether a volume lies wholly outside the view (never, without a frustum).
    pub fn culls(&self, v: &Volume) -> bool {
        let Some(planes) = &self.frustum else {
            return false;
        };
        let outside = |center: V3, half_axes: &[V3; 3]| {
            planes.iter().any(|p| {
                let n = [p[0], p[1], p[2]];
                let ext: f64 = half_axes.iter().map(|a| dot(*a, n).abs()).sum();
                dot(n, center) + p[3] < -ext
            })
        };
        match v {
            Volume::Sphere { center, radius } => planes.iter().any(|p| dot([p[0], p[1], p[2]], *center) + p[3] < -radius),
            Volume::Box { center, half_axes } => outside(*center, half_axes),
            Volume::Region(_, [lo, hi]) => {
                let h = [0, 1, 2].map(|k| (hi[k] - lo[k]) / 2.0);
                outside(
                    [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0),
                    &[[h[0], 0.0, 0.0], [0.0, h[1], 0.0], [0.0, 0.0, h[2]]],
                )
            }
        }
    }
}

impl Volume {
    /// A sphere around the volume (centre, radius; ECEF).
    pub fn bounding_sphere(&self) -> (V3, f64) {
        match self {
            Volume::Sphere { center, radius } => (*center, *radius),
            Volume::Box { center, half_axes } => {
                let [u, v, w] = half_axes;
                (
                    *center,
                    norm([u[0] + v[0] + w[0], u[1] + v[1] + w[1], u[2] + v[2] + w[2]]).max(
                        // The longest diagonal of the box.
                        [[1.0, 1.0, -1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]]
                            .iter()
                            .map(|s| norm([0, 1, 2].map(|k| u[k] * s[0] + v[k] * s[1] + w[k] * s[2])))
                            .fold(0.0, f64::max),
                    ),
                )
            }
            Volume::Region(_, [lo, hi]) => {
                let c = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
                (c, norm(sub(*hi, *lo)) / 2.0)
            }
        }
    }

    /// The volume's centre (ECEF).
    pub fn center(&self) -> V3 {
        self.bounding_sphere().0
    }
}

/// The ECEF box around points sampled on a region (a little larger than the region itself).
fn region_box(r: &[f64; 6]) -> (V3, V3) {
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for i in 0..=2 {
        for j in 0..=2 {
            for h in [r[4], r[5]] {
                let lon = r[0] + (r[2] - r[0]) * i as f64 / 2.0;
                let lat = r[1] + (r[3] - r[1]) * j as f64 / 2.0;
                let q = geodetic_to_ecef(lon, lat, h);
                for k in 0..3 {
                    lo[k] = lo[k].min(q[k]);
                    hi[k] = hi[k].max(q[k]);
                }
            }
        }
    }
    (lo, hi)
}

/// The tiles to draw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Tiles whose contents are drawn, in the order visited.
    pub draw: Vec<usize>,
    /// Tiles visited.
    pub visited: usize,
    /// Tiles left out because they lie outside the view.
    pub culled: usize,
}

/// The tiles to draw from `cam` so that no drawn tile's screen-space error exceeds `max_sse`
/// where a finer one exists: a tile within it is drawn and not refined; one above it is
/// refined (its children replace it, or are drawn with it for ADD). Tiles outside the view
/// (and their subtrees) are left out; subtrees of implicit tiling are read as they are reached.
pub fn select(ts: &mut Tileset, cam: &Camera, max_sse: f64) -> Selection {
    let mut s = Selection::default();
    if !ts.tiles.is_empty() {
        visit(ts, 0, cam, max_sse, &mut s);
    }
    s
}

fn visit(ts: &mut Tileset, i: usize, cam: &Camera, max_sse: f64, s: &mut Selection) {
    s.visited += 1;
    {
        let t = &ts.tiles[i];
        if let Some(v) = &t.request_volume
            && v.distance(cam.position) > 0.0
        {
            return;
        }
        if cam.culls(&t.bounds) {
            s.culled += 1;
            return;
        }
    }
    // An external tileset read lazily is read only when its tile is to be refined.
    let pending = ts.tiles[i].pending && (ts.tiles[i].external.is_none() || cam.sse(&ts.tiles[i]) > max_sse);
    if pending && implicit::expand(ts, i).is_err() {
        // Past the tile limit: draw what is there.
        ts.tiles[i].children.clear();
    }
    let t = &ts.tiles[i];
    let refine = cam.sse(t) > max_sse && !t.children.is_empty();
    if !refine || t.refine == Refine::Add {
        if !t.contents.is_empty() {
            s.draw.push(i);
        }
        if !refine {
            return;
        }
    }
    let children = t.children.clone();
    for c in children {
        visit(ts, c, cam, max_sse, s);
    }
}
