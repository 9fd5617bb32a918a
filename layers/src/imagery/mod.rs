//! Imagery: orthophotos, tile packages and map services seen as one thing — a pyramid of tiles
//! in some CRS ([`TileSource`]) — drawn into the workspace CRS by [`warp`].
//!
//! A [`TileSource`] answers one tile of one level. Files go through GDAL's raster API
//! ([`raster::RasterImage`]: GeoTIFF and Cloud-Optimized GeoTIFF with their overviews, GeoPackage
//! tile pyramids, MBTiles; each overview is a level cut into 256-pixel tiles); map services
//! implement the same trait elsewhere. [`cache::TileCache`] keeps decoded tiles under a byte
//! limit, [`loader::Loader`] fetches them on worker threads (a new view cancels what the old one
//! queued, failures are retried with backoff and counted as the source's health), and
//! [`warp::Plan`] picks the level and the tiles a view needs and resamples them into the view,
//! falling back to coarser tiles already at hand so that a view never waits for a file.

pub mod cache;
pub mod loader;
pub mod package;
pub mod raster;
pub mod warp;

use crate::crs::Crs;

/// One level of a tile pyramid: a grid of equal tiles in the source's CRS, x east and y north.
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    /// Size of one pixel in CRS units along x and y (both positive).
    pub res: [f64; 2],
    /// The top-left corner of tile (0, 0) in the CRS (smallest x, largest y).
    pub origin: [f64; 2],
    /// Tile width and height in pixels.
    pub tile: [u32; 2],
    /// Tiles across and down; tiles outside are never asked for.
    pub matrix: [u32; 2],
}

impl Level {
    /// Width and height of one tile in CRS units.
    pub fn tile_span(&self) -> [f64; 2] {
        [self.res[0] * f64::from(self.tile[0]), self.res[1] * f64::from(self.tile[1])]
    }
}

/// The levels of a source, in its CRS, and the extent that holds data.
#[derive(Debug, Clone)]
pub struct TileGrid {
    /// The CRS of the tiles (east/north order).
    pub crs: Crs,
    /// Levels in any order; [`TileGrid::level_for`] chooses by resolution.
    pub levels: Vec<Level>,
    /// `[min_x, min_y, max_x, max_y]` holding data, in the CRS.
    pub extent: [f64; 4],
}

impl TileGrid {
    /// The coarsest level at least as fine as `res` (CRS units per pixel), else the finest.
    pub fn level_for(&self, res: f64) -> Option<usize> {
        let coarse = |l: &Level| l.res[0].max(l.res[1]);
        let fitting = (0..self.levels.len())
            .filter(|&i| coarse(&self.levels[i]) <= res * 1.01)
            .max_by(|&a, &b| coarse(&self.levels[a]).total_cmp(&coarse(&self.levels[b])));
        fitting.or_else(|| self.finest())
    }

    /// The finest level.
    pub fn finest(&self) -> Option<usize> {
        (0..self.levels.len()).min_by(|&a, &b| {
            let (la, lb) = (&self.levels[a], &self.levels[b]);
            la.res[0].max(la.res[1]).total_cmp(&lb.res[0].max(lb.res[1]))
        })
    }

    /// Levels coarser than `level`, nearest first.
    pub fn coarser(&self, level: usize) -> Vec<usize> {
        let r = |i: usize| self.levels[i].res[0].max(self.levels[i].res[1]);
        let mut out: Vec<usize> = (0..self.levels.len()).filter(|&i| r(i) > r(level) * 1.01).collect();
        out.sort_by(|&a, &b| r(a).total_cmp(&r(b)));
        out
    }
}

/// A decoded tile: straight (not premultiplied) RGBA, row-major from the top.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes.
    pub rgba: Vec<u8>,
}

impl Tile {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.rgba.len()
    }
}

/// Why a tile could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// It will not come (a corrupt file, a refused request, an exception report).
    #[error("{0}")]
    Failed(String),
    /// It may come on another try (a timeout, a busy server).
    #[error("{0}")]
    Transient(String),
    /// Nobody wants it any more (it left the view while it was being fetched).
    #[error("cancelled: the tile left the view")]
    Cancelled,
}

/// Whether the tile a loader worker is fetching is still wanted. The [`loader::Loader`] sets
/// a flag per tile in flight and raises it when every view that asked for the tile has moved
/// on; a source whose fetch can stop early (a network request) polls it and answers
/// [`TileError::Cancelled`].
pub mod cancel {
    use std::cell::RefCell;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    thread_local! {
        static TOKEN: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
    }

    /// The calling thread's flag for the tile it fetches, if a loader set one.
    pub fn token() -> Option<Arc<AtomicBool>> {
        TOKEN.with(|t| t.borrow().clone())
    }

    /// True when the tile the calling thread fetches is no longer wanted.
    pub fn is_cancelled() -> bool {
        TOKEN.with(|t| t.borrow().as_ref().is_some_and(|f| f.load(Ordering::Relaxed)))
    }

    /// Run `f` with `flag` as the calling thread's flag.
    pub fn with<T>(flag: Arc<AtomicBool>, f: impl FnOnce() -> T) -> T {
        let before = TOKEN.with(|t| t.borrow_mut().replace(flag));
        let out = f();
        TOKEN.with(|t| *t.borrow_mut() = before);
        out
    }
}

/// What a layer's colours mean, for the layer tree: swatches with labels (a palette's
/// classes, the bands an image shows), icons with labels (an ArcGIS legend) or a picture the
/// service draws (a WMS/WMTS legend graphic).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Legend {
    /// The entries, in the order shown.
    pub items: Vec<LegendItem>,
    /// A legend picture (PNG, JPEG or GIF bytes), as the service drew it.
    pub image: Option<Vec<u8>>,
}

/// One legend entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegendItem {
    /// What it stands for.
    pub label: String,
    /// Its colour, for a swatch.
    pub rgba: Option<[u8; 4]>,
    /// Its icon (image bytes), where the service draws one.
    pub icon: Option<Vec<u8>>,
}

/// A pyramid of tiles: an image file, a tile package or a map service.
pub trait TileSource: Send + Sync {
    /// A key unique among the sources of a session (the cache is shared).
    fn key(&self) -> &str;
    /// The tile grid.
    fn grid(&self) -> &TileGrid;
    /// Tile (`col`, `row`) of `level`; `Ok(None)` where the source has no data.
    fn fetch(&self, level: usize, col: u32, row: u32) -> Result<Option<Tile>, TileError>;

    /// What the source says is at (`x`, `y`) in its CRS, seen at `res` CRS units per pixel
    /// (WMS GetFeatureInfo): one attribute map per feature. Pictures say nothing.
    fn feature_info(&self, x: f64, y: f64, res: f64) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, TileError> {
        let _ = (x, y, res);
        Ok(Vec::new())
    }

    /// What the layer's colours mean (a service may be asked; call it off the frame path).
    fn legend(&self) -> Result<Legend, TileError> {
        Ok(Legend::default())
    }

    /// The tile as an image file's bytes (PNG or JPEG), for packages: a service's own bytes,
    /// else the decoded tile written as PNG.
    fn fetch_encoded(&self, level: usize, col: u32, row: u32) -> Result<Option<Vec<u8>>, TileError> {
        let Some(t) = self.fetch(level, col, row)? else { return Ok(None) };
        encode_png(&t).map(Some)
    }
}

/// A tile as PNG bytes.
pub fn encode_png(t: &Tile) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut out),
        &t.rgba,
        t.width,
        t.height,
        image::ExtendedColorType::Rgba8,
    )
    .map_err(|e| TileError::Failed(format!("cannot write a PNG tile: {e}")))?;
    Ok(out)
}

/// Where one tile lives: source key, level, column, row.
pub type TileKey = (std::sync::Arc<str>, usize, u32, u32);
