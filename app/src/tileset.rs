//! A city's 3D Tiles, checked before they are loaded (`jingwei tileset FILE`): the tree with its
//! external tilesets, and every content's header against its byte lengths. What a planner's IT
//! runs on a vendor's delivery: every broken content named, one line each.

use crate::Result;
use jingwei_layers::tiles3d::{self, ContentKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What a tileset holds, and what in it is broken.
#[derive(Debug, Clone, Serialize)]
pub struct TilesetReport {
    /// The root tileset file.
    pub path: String,
    /// `asset.version`.
    pub version: String,
    /// Tiles, external tilesets' included.
    pub tiles: usize,
    /// Tileset files read.
    pub files: usize,
    /// The deepest tile's depth.
    pub depth: u32,
    /// Contents by kind (`b3dm`, `pnts`, …).
    pub contents: BTreeMap<String, usize>,
    /// Features in all (batches, instances, points) as the contents' feature tables count them.
    pub features: u64,
    /// Bytes of content.
    pub bytes: u64,
    /// Tiles that declare implicit tiling.
    pub implicit_roots: usize,
    /// Subtree files of implicit tiling read (every one is, to check the whole tileset).
    pub subtrees: usize,
    /// One line per broken content: the file and the problem.
    pub broken: Vec<String>,
}

/// Read the tileset and check every content's header (a tileset that cannot be read at all is
/// the error; broken contents are listed).
pub fn check_tileset(path: &Path) -> Result<TilesetReport> {
    let mut ts = tiles3d::open(path)?;
    tiles3d::implicit::expand_all(&mut ts)?;
    let mut r = TilesetReport {
        path: path.display().to_string(),
        version: ts.version.clone(),
        tiles: ts.tiles.len(),
        files: ts.files.len(),
        depth: ts.tiles.iter().map(|t| t.depth).max().unwrap_or(0),
        contents: BTreeMap::new(),
        features: 0,
        bytes: 0,
        implicit_roots: ts.tiles.iter().filter(|t| t.implicit.is_some()).count(),
        subtrees: ts.subtrees_read,
        broken: ts.broken.clone(),
    };
    for t in &ts.tiles {
        for c in &t.contents {
            let kind = format!("{:?}", c.kind).to_lowercase();
            *r.contents.entry(kind).or_default() += 1;
            if matches!(c.kind, ContentKind::Gltf | ContentKind::Other) {
                if !c.path.is_file() {
                    r.broken.push(format!("{}: missing", c.path.display()));
                }
                continue;
            }
            match tiles3d::read_content(&c.path) {
                Ok(h) => {
                    r.bytes += h.byte_length as u64;
                    r.features += h.features.unwrap_or(0) + h.inner.iter().filter_map(|i| i.features).sum::<u64>();
                }
                Err(e) => r.broken.push(e.to_string()),
            }
        }
    }
    Ok(r)
}
