//! Implicit tiling (3D Tiles 1.1): quadtrees and octrees whose tiles are not written out but
//! declared by availability bitstreams in subtree files (binary `.subtree` or JSON), read one
//! subtree at a time when the selection first reaches its root. A subtree holds
//! `subtreeLevels` levels; its tile and content availability is indexed level by level in
//! Morton order, and its child subtrees by the Morton index of their roots one level below.
//!
//! Tiles below an implicit root get their volume by halving the root's box along its axes (or
//! its region in longitude, latitude — and height for octrees), the root's geometric error
//! halved per level, its refinement and its transform; contents come from the URI templates
//! with `{level}`, `{x}`, `{y}` and `{z}` filled in.

use super::{Content, ContentKind, Coord, Implicit, Tile, Tileset, V3, Volume, bad};
use crate::{LayersError, Result};
use serde_json::Value as J;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The most tiles one tileset may grow to by expanding implicit tiling.
pub const MAX_TILES: usize = 5_000_000;

/// One availability: all, none, or a bitstream (bit `i` is bit `i % 8` of byte `i / 8`).
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    /// Every bit is this.
    Constant(bool),
    /// The bits.
    Bits(Vec<u8>),
}

impl Availability {
    /// Bit `i`.
    pub fn get(&self, i: usize) -> bool {
        match self {
            Availability::Constant(b) => *b,
            Availability::Bits(v) => v.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1),
        }
    }
}

/// A subtree file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Subtree {
    /// Which tiles exist.
    pub tiles: Availability,
    /// Which tiles have each content (one per content template).
    pub contents: Vec<Availability>,
    /// Which child subtrees exist.
    pub children: Availability,
}

/// Read a subtree file: binary (`subt`, version 1) or JSON. `bits` is the number of tile bits
/// it must hold and `child_bits` that of child subtrees; bitstreams too short for them are an
/// error naming the file.
pub fn read_subtree(path: &Path, bytes: &[u8], bits: usize, child_bits: usize, fetch: &dyn super::Fetch) -> Result<Subtree> {
    let (json, bin): (J, &[u8]) = if bytes.starts_with(b"subt") {
        let u32_at = |i: usize| bytes.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let u64_at = |i: usize| bytes.get(i..i + 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
        let version = u32_at(4).ok_or_else(|| bad(path, "subtree: shorter than its header"))?;
        if version != 1 {
            return Err(bad(path, format!("subtree version {version} (this reads 1)")));
        }
        let (jl, bl) = match (u64_at(8), u64_at(16)) {
            (Some(j), Some(b)) => (j, b),
            _ => return Err(bad(path, "subtree: shorter than its header")),
        };
        let end_json = 24u64.checked_add(jl);
        let end_bin = end_json.and_then(|e| e.checked_add(bl));
        if end_bin.is_none_or(|e| e > bytes.len() as u64) {
            return Err(bad(
                path,
                format!(
                    "subtree: the header says {jl} bytes of JSON and {bl} of binary, {} are left",
                    bytes.len().saturating_sub(24)
                ),
            ));
        }
        let (ej, eb) = (end_json.unwrap_or(0) as usize, end_bin.unwrap_or(0) as usize);
        let json = serde_json::from_slice(&bytes[24..ej]).map_err(|e| bad(path, format!("subtree JSON: {e}")))?;
        (json, &bytes[ej..eb])
    } else {
        let json = serde_json::from_slice(bytes).map_err(|e| bad(path, format!("subtree: neither binary nor JSON: {e}")))?;
        (json, &[])
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut buffers: Vec<Vec<u8>> = Vec::new();
    for (i, b) in json.get("buffers").and_then(J::as_array).into_iter().flatten().enumerate() {
        let len = b.get("byteLength").and_then(J::as_u64).unwrap_or(0) as usize;
        let data = match b.get("uri").and_then(J::as_str) {
            None => bin.to_vec(),
            Some(uri) => fetch.fetch(&super::archive::normalize(&dir.join(uri)))?,
        };
        if data.len() < len {
            return Err(bad(path, format!("subtree: buffer {i} says {len} bytes, {} are there", data.len())));
        }
        buffers.push(data);
    }
    let view = |v: usize| -> Result<&[u8]> {
        let bv = json
            .get("bufferViews")
            .and_then(|a| a.get(v))
            .ok_or_else(|| bad(path, format!("subtree: no bufferView {v}")))?;
        let buf = bv.get("buffer").and_then(J::as_u64).unwrap_or(0) as usize;
        let off = bv.get("byteOffset").and_then(J::as_u64).unwrap_or(0) as usize;
        let len = bv.get("byteLength").and_then(J::as_u64).unwrap_or(0) as usize;
        buffers
            .get(buf)
            .and_then(|b| b.get(off..off.checked_add(len)?))
            .ok_or_else(|| bad(path, format!("subtree: bufferView {v} runs past its buffer")))
    };
    let availability = |a: Option<&J>, what: &str, bits: usize| -> Result<Availability> {
        let a = a.ok_or_else(|| bad(path, format!("subtree: no {what}")))?;
        if let Some(c) = a.get("constant").and_then(J::as_u64) {
            return Ok(Availability::Constant(c == 1));
        }
        let v = a
            .get("bitstream")
            .or_else(|| a.get("bufferView"))
            .and_then(J::as_u64)
            .ok_or_else(|| bad(path, format!("subtree: {what} has neither a constant nor a bitstream")))?;
        let data = view(v as usize)?;
        if data.len() * 8 < bits {
            return Err(bad(
                path,
                format!("subtree: {what} holds {} bits, {bits} are needed", data.len() * 8),
            ));
        }
        Ok(Availability::Bits(data.to_vec()))
    };
    let tiles = availability(json.get("tileAvailability"), "tileAvailability", bits)?;
    let contents = match json.get("contentAvailability") {
        None => Vec::new(),
        Some(J::Array(a)) => a
            .iter()
            .map(|c| availability(Some(c), "contentAvailability", bits))
            .collect::<Result<_>>()?,
        // 3D Tiles Next drafts wrote one object.
        Some(c) => vec![availability(Some(c), "contentAvailability", bits)?],
    };
    let children = availability(json.get("childSubtreeAvailability"), "childSubtreeAvailability", child_bits)?;
    Ok(Subtree { tiles, contents, children })
}

/// Interleave the bits of x, y (and z): the Morton index within a level.
pub fn morton(x: u32, y: u32, z: u32, octree: bool) -> u64 {
    let mut m = 0u64;
    for b in 0..21 {
        if octree {
            m |= (u64::from(x >> b & 1) << (3 * b)) | (u64::from(y >> b & 1) << (3 * b + 1)) | (u64::from(z >> b & 1) << (3 * b + 2));
        } else {
            m |= (u64::from(x >> b & 1) << (2 * b)) | (u64::from(y >> b & 1) << (2 * b + 1));
        }
    }
    m
}

/// The x, y, z of a Morton index.
pub fn demorton(m: u64, octree: bool) -> (u32, u32, u32) {
    let (mut x, mut y, mut z) = (0u32, 0u32, 0u32);
    for b in 0..21 {
        if octree {
            x |= ((m >> (3 * b) & 1) as u32) << b;
            y |= ((m >> (3 * b + 1) & 1) as u32) << b;
            z |= ((m >> (3 * b + 2) & 1) as u32) << b;
        } else {
            x |= ((m >> (2 * b) & 1) as u32) << b;
            y |= ((m >> (2 * b + 1) & 1) as u32) << b;
        }
    }
    (x, y, z)
}

/// A URI template with the tile's level and coordinates filled in.
pub fn fill(template: &str, c: &Coord) -> String {
    template
        .replace("{level}", &c.level.to_string())
        .replace("{x}", &c.x.to_string())
        .replace("{y}", &c.y.to_string())
        .replace("{z}", &c.z.to_string())
}

fn lerp(a: V3, b: V3, t: f64) -> V3 {
    [a[0] + b[0] * t, a[1] + b[1] * t, a[2] + b[2] * t]
}

/// The volume of the tile at `c` below a root of volume `root`.
pub fn subdivide(root: &Volume, c: &Coord, octree: bool) -> Volume {
    let n = f64::from(1u32 << c.level.min(31));
    let frac = |i: u32| (2.0 * f64::from(i) + 1.0) / n - 1.0;
    match root {
        Volume::Box { center, half_axes } => {
            let [u, v, w] = *half_axes;
            let mut ctr = lerp(*center, u, frac(c.x));
            ctr = lerp(ctr, v, frac(c.y));
            let w2 = if octree {
                ctr = lerp(ctr, w, frac(c.z));
                w.map(|k| k / n)
            } else {
                w
            };
            Volume::Box {
                center: ctr,
                half_axes: [u.map(|k| k / n), v.map(|k| k / n), w2],
            }
        }
        Volume::Region(r, _) => {
            let (dx, dy) = ((r[2] - r[0]) / n, (r[3] - r[1]) / n);
            let (h0, h1) = if octree {
                let dh = (r[5] - r[4]) / n;
                (r[4] + dh * f64::from(c.z), r[4] + dh * f64::from(c.z + 1))
            } else {
                (r[4], r[5])
            };
            Volume::region([
                r[0] + dx * f64::from(c.x),
                r[1] + dy * f64::from(c.y),
                r[0] + dx * f64::from(c.x + 1),
                r[1] + dy * f64::from(c.y + 1),
                h0,
                h1,
            ])
        }
        // Refused when the tileset is read.
        Volume::Sphere { .. } => root.clone(),
    }
}

/// Read the subtree rooted at tile `i` (a pending tile of implicit tiling) and add its tiles:
/// `i`'s own contents, its available descendants within the subtree, and the roots of its child
/// subtrees (pending in their turn). A subtree that cannot be read leaves `i` without children
/// and is listed in `ts.broken`; the call itself fails only when the tileset would grow past
/// [`MAX_TILES`].
pub fn expand(ts: &mut Tileset, i: usize) -> Result<()> {
    if ts.tiles[i].external.is_some() {
        return super::expand_external(ts, i);
    }
    let Some(c) = ts.tiles[i].coord.filter(|_| ts.tiles[i].pending) else {
        return Ok(());
    };
    ts.tiles[i].pending = false;
    let root = &ts.tiles[c.root];
    let Some(imp) = root.implicit.clone() else {
        return Ok(());
    };
    let dir = root.source.parent().unwrap_or(Path::new(".")).to_owned();
    let path = super::archive::normalize(&dir.join(fill(&imp.subtrees, &c)));
    ts.subtrees_read += 1;
    match subtree_tiles(ts, i, c, &imp, &dir, &path) {
        Ok(()) => Ok(()),
        Err(e @ LayersError::Corrupt { .. }) if ts.tiles.len() >= MAX_TILES => Err(e),
        Err(e) => {
            ts.broken.push(e.to_string());
            Ok(())
        }
    }
}

fn subtree_tiles(ts: &mut Tileset, i: usize, c: Coord, imp: &Implicit, dir: &Path, path: &Path) -> Result<()> {
    let octree = imp.scheme == "OCTREE";
    let branch: u64 = if octree { 8 } else { 4 };
    let levels = imp.subtree_levels.min(imp.available_levels.saturating_sub(c.level)).max(1);
    let level_start = |l: u32| -> u64 { (branch.pow(l) - 1) / (branch - 1) };
    let bits = level_start(imp.subtree_levels.min(10)) as usize;
    let child_bits = branch.saturating_pow(imp.subtree_levels.min(10)) as usize;
    if imp.subtree_levels > 10 {
        return Err(bad(
            path,
            format!("subtreeLevels {}: more than 10 are not read", imp.subtree_levels),
        ));
    }
    let fetch = ts.fetch.clone();
    let bytes = fetch.fetch(path)?;
    let st = read_subtree(path, &bytes, bits, child_bits, fetch.as_ref())?;
    if !st.tiles.get(0) {
        return Err(bad(path, "subtree: its root tile is not available, though its parent says it is"));
    }
    let root = ts.tiles[c.root].clone();
    let contents_of = |k: usize, at: &Coord| -> Vec<Content> {
        imp.contents
            .iter()
            .enumerate()
            .filter(|(j, _)| st.contents.get(*j).is_some_and(|a| a.get(k)))
            .map(|(_, t)| {
                let uri = fill(t, at);
                Content {
                    path: super::archive::normalize(&dir.join(uri.split(['?', '#']).next().unwrap_or(&uri))),
                    kind: ContentKind::of(&uri),
                    uri,
                }
            })
            .collect()
    };
    ts.tiles[i].contents = contents_of(0, &c);
    // (level within the subtree, Morton index within that level) → tile.
    let mut at: HashMap<(u32, u64), usize> = HashMap::new();
    at.insert((0, 0), i);
    let new_tile = |ts: &mut Tileset, parent: usize, g: Coord, pending: bool, contents: Vec<Content>| -> Result<usize> {
        if ts.tiles.len() >= MAX_TILES {
            return Err(bad(path, format!("implicit tiling grows past {MAX_TILES} tiles")));
        }
        let k = ts.tiles.len();
        ts.tiles.push(Tile {
            parent: Some(parent),
            children: Vec::new(),
            bounds: subdivide(&root.bounds, &g, octree),
            request_volume: None,
            geometric_error: root.geometric_error / f64::from(1u32 << g.level.min(31)),
            refine: root.refine,
            transform: root.transform,
            contents,
            implicit: None,
            coord: Some(g),
            pending,
            depth: root.depth + g.level,
            source: root.source.clone(),
            external: None,
        });
        ts.tiles[parent].children.push(k);
        Ok(k)
    };
    for l in 1..levels {
        for m in 0..branch.pow(l) {
            let k = (level_start(l) + m) as usize;
            if !st.tiles.get(k) {
                continue;
            }
            let Some(&parent) = at.get(&(l - 1, m / branch)) else {
                return Err(bad(path, format!("subtree: a tile at level {l} whose parent is not available")));
            };
            let g = below(&c, l, m, octree);
            let contents = contents_of(k, &g);
            let t = new_tile(ts, parent, g, false, contents)?;
            at.insert((l, m), t);
        }
    }
    // Child subtrees: one level below the subtree's last, if the tileset goes that deep.
    let l = imp.subtree_levels;
    if c.level + l < imp.available_levels {
        for m in 0..branch.pow(l) {
            if !st.children.get(m as usize) {
                continue;
            }
            let Some(&parent) = at.get(&(l - 1, m / branch)) else {
                return Err(bad(path, "subtree: a child subtree whose parent tile is not available"));
            };
            new_tile(ts, parent, below(&c, l, m, octree), true, Vec::new())?;
        }
    }
    Ok(())
}

/// The tile `l` levels below `c` at Morton index `m` of that level (within `c`'s subtree).
fn below(c: &Coord, l: u32, m: u64, octree: bool) -> Coord {
    let (x, y, z) = demorton(m, octree);
    Coord {
        root: c.root,
        level: c.level + l,
        x: (c.x << l) | x,
        y: (c.y << l) | y,
        z: (c.z << l) | z,
    }
}

/// Expand every subtree (for a check of the whole tileset); stops at [`MAX_TILES`].
pub fn expand_all(ts: &mut Tileset) -> Result<()> {
    let mut k = 0;
    while k < ts.tiles.len() {
        if ts.tiles[k].pending {
            expand(ts, k)?;
        }
        k += 1;
    }
    Ok(())
}

/// The subtree file of a pending tile (for messages).
pub fn subtree_path(ts: &Tileset, i: usize) -> Option<PathBuf> {
    let c = ts.tiles[i].coord?;
    let root = &ts.tiles[c.root];
    let imp = root.implicit.as_ref()?;
    Some(root.source.parent().unwrap_or(Path::new(".")).join(fill(&imp.subtrees, &c)))
}
