//! Image files through GDAL's raster API as a [`TileSource`]: GeoTIFF and Cloud-Optimized
//! GeoTIFF (RGB, RGBA, grey, paletted, any band type), GeoPackage tile pyramids and MBTiles.
//! Level 0 is the full resolution, level k the k-th overview; each is cut into 256-pixel tiles
//! read with one windowed read per band. Datasets are pooled, one per worker thread at most.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use gdal::raster::{ColorInterpretation, GdalDataType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use serde::Serialize;

use super::{Legend, LegendItem, Level, Tile, TileError, TileGrid, TileSource};
use crate::crs::Crs;
use crate::error::{LayersError, Result};

/// Tiles are this many pixels square.
pub const TILE: u32 = 256;
/// A level-0 image above this many pixels without overviews is slow to see whole.
pub const OVERVIEW_HINT_PIXELS: u64 = 4096 * 4096;

/// What a raster file is, for the layer tree, `jingwei raster info` and the hint about
/// overviews.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct RasterInfo {
    /// The file.
    #[ts(type = "string")]
    pub path: PathBuf,
    /// GDAL's driver (`GTiff`, `GPKG`, `MBTiles`, …).
    pub driver: String,
    /// Columns and rows at full resolution.
    pub size: [u64; 2],
    /// Number of bands.
    pub bands: usize,
    /// The first band's type (`UInt8`, `UInt16`, `Float32`, …).
    pub band_type: String,
    /// Colour interpretation of each band (`Red`, `Green`, `Blue`, `Alpha`, `Gray`, `Palette`, …).
    pub colors: Vec<String>,
    /// The CRS's name.
    pub crs: String,
    /// Pixel size in CRS units.
    pub pixel_size: [f64; 2],
    /// `[min_x, min_y, max_x, max_y]` in the CRS.
    pub extent: [f64; 4],
    /// Sizes of the overviews, finest first.
    pub overviews: Vec<[u64; 2]>,
    /// Internal tiling (block size).
    pub block: [u64; 2],
    /// A hint when the file is large and has no overviews (how to build them).
    pub hint: Option<String>,
}

/// How bands become colours.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct Display {
    /// One band (grey or paletted) or three (red, green, blue), numbered from 1.
    pub bands: Vec<usize>,
    /// An alpha band, numbered from 1.
    pub alpha: Option<usize>,
    /// Per displayed band, the values drawn as 0 and 255; `None` draws values as they are
    /// (clamped to 0–255).
    pub stretch: Option<Vec<[f64; 2]>>,
}

/// An image file as a tile pyramid.
pub struct RasterImage {
    key: String,
    path: PathBuf,
    grid: TileGrid,
    info: RasterInfo,
    display: Display,
    palette: Option<Vec<[u8; 4]>>,
    /// Whether a mask band (nodata, an internal mask) must be read for alpha.
    masked: bool,
    pool: Mutex<Vec<Dataset>>,
}

/// GDAL's own block cache, MB, unless `GDAL_CACHEMAX` says otherwise: decoded tiles are kept
/// by [`super::cache::TileCache`] under its own limit, so GDAL's copy of the raw blocks is kept
/// small (by default GDAL takes 5 % of the memory, which would escape that limit).
pub const GDAL_BLOCK_CACHE_MB: usize = 64;

fn open_dataset(path: &Path) -> Result<Dataset> {
    static CACHE_SET: std::sync::Once = std::sync::Once::new();
    CACHE_SET.call_once(|| {
        if std::env::var_os("GDAL_CACHEMAX").is_none() {
            let _ = gdal::config::set_config_option("GDAL_CACHEMAX", &GDAL_BLOCK_CACHE_MB.to_string());
        }
    });
    if !path.exists() {
        return Err(LayersError::NotFound { path: path.to_owned() });
    }
    Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_RASTER | GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        },
    )
    .map_err(|e| LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("not an image GDAL reads: {e}"),
    })
}

fn color_name(c: ColorInterpretation) -> String {
    match c {
        ColorInterpretation::RedBand => "Red".into(),
        ColorInterpretation::GreenBand => "Green".into(),
        ColorInterpretation::BlueBand => "Blue".into(),
        ColorInterpretation::AlphaBand => "Alpha".into(),
        ColorInterpretation::GrayIndex => "Gray".into(),
        ColorInterpretation::PaletteIndex => "Palette".into(),
        other => other.name(),
    }
}

/// True when a file is imagery rather than an elevation model: colour bands, a palette, more
/// than one band, or one 8-bit band. One band of 16 bits or more is elevation.
pub fn is_imagery(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if ext == "mbtiles" {
        return true;
    }
    let Ok(ds) = open_dataset(path) else { return false };
    let Ok(b) = ds.rasterband(1) else { return false };
    ds.raster_count() > 1 || b.band_type() == GdalDataType::UInt8 || matches!(b.color_interpretation(), ColorInterpretation::PaletteIndex)
}

/// Read the file's description.
pub fn info(path: &Path) -> Result<RasterInfo> {
    let ds = open_dataset(path)?;
    describe(path, &ds)
}

fn describe(path: &Path, ds: &Dataset) -> Result<RasterInfo> {
    let corrupt = |detail: String| LayersError::Corrupt {
        path: path.to_owned(),
        detail,
    };
    if ds.raster_count() == 0 {
        return Err(corrupt("has no raster bands (a vector file?)".into()));
    }
    let gt = ds
        .geo_transform()
        .map_err(|_| corrupt("has no georeferencing (no geotransform; a world file or GCPs are needed)".into()))?;
    if gt[2] != 0.0 || gt[4] != 0.0 {
        return Err(corrupt(
            "is rotated (a geotransform with rotation terms); warp it north-up first".into(),
        ));
    }
    let srs = ds.spatial_ref().map_err(|_| LayersError::MissingCrs {
        path: path.to_owned(),
        layer: "raster".into(),
    })?;
    let crs = Crs::from_spatial_ref(&srs, None);
    let (w, h) = ds.raster_size();
    let b1 = ds.rasterband(1).map_err(|e| corrupt(format!("no band 1: {e}")))?;
    let mut overviews = Vec::new();
    for i in 0..b1.overview_count().unwrap_or(0).max(0) as usize {
        if let Ok(o) = b1.overview(i) {
            overviews.push([o.x_size() as u64, o.y_size() as u64]);
        }
    }
    overviews.sort_by(|a, b| b[0].cmp(&a[0]));
    let colors = ds
        .rasterbands()
        .filter_map(|b| b.ok())
        .map(|b| color_name(b.color_interpretation()))
        .collect();
    let (x0, x1) = (gt[0], gt[0] + gt[1] * w as f64);
    let (y0, y1) = (gt[3], gt[3] + gt[5] * h as f64);
    let big = (w as u64) * (h as u64) > OVERVIEW_HINT_PIXELS;
    let hint = (big && overviews.is_empty()).then(|| {
        format!(
            "{} is {w}×{h} pixels without overviews: seeing it whole reads the whole file; build them once with `jingwei raster overviews {}`",
            path.display(),
            path.display()
        )
    });
    let block = b1.block_size();
    Ok(RasterInfo {
        path: path.to_owned(),
        driver: ds.driver().short_name(),
        size: [w as u64, h as u64],
        bands: ds.raster_count(),
        band_type: b1.band_type().name(),
        colors,
        crs: crs.label(),
        pixel_size: [gt[1].abs(), gt[5].abs()],
        extent: [x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)],
        overviews,
        block: [block.0 as u64, block.1 as u64],
        hint,
    })
}

impl Display {
    /// What the file says of itself: its red, green, blue (and alpha) bands; one band grey or
    /// paletted; else the first three. Bands of more than 8 bits are stretched over their 2nd
    /// to 98th percentile.
    fn auto(ds: &Dataset) -> Result<Display, gdal::errors::GdalError> {
        let mut red = None;
        let (mut green, mut blue, mut alpha) = (None, None, None);
        for i in 1..=ds.raster_count() {
            match ds.rasterband(i)?.color_interpretation() {
                ColorInterpretation::RedBand => red = red.or(Some(i)),
                ColorInterpretation::GreenBand => green = green.or(Some(i)),
                ColorInterpretation::BlueBand => blue = blue.or(Some(i)),
                ColorInterpretation::AlphaBand => alpha = alpha.or(Some(i)),
                _ => {}
            }
        }
        let bands = match (red, green, blue) {
            (Some(r), Some(g), Some(b)) => vec![r, g, b],
            _ if ds.raster_count() >= 3 => vec![1, 2, 3],
            _ => vec![1],
        };
        let mut d = Display {
            bands,
            alpha,
            stretch: None,
        };
        if ds.rasterband(1)?.band_type() != GdalDataType::UInt8 {
            d.stretch = Some(percentiles(ds, &d.bands, 0.02)?);
        }
        Ok(d)
    }
}

/// The `cut` and `1 − cut` quantiles of each band, from a thumbnail of at most 512 pixels
/// across (GDAL reads it from the nearest overview).
fn percentiles(ds: &Dataset, bands: &[usize], cut: f64) -> Result<Vec<[f64; 2]>, gdal::errors::GdalError> {
    let (w, h) = ds.raster_size();
    let s = (512.0 / w.max(h) as f64).min(1.0);
    let (tw, th) = (((w as f64 * s).round() as usize).max(1), ((h as f64 * s).round() as usize).max(1));
    let mut out = Vec::new();
    for &b in bands {
        let band = ds.rasterband(b)?;
        let nodata = band.no_data_value();
        let buf = band.read_as::<f64>((0, 0), (w, h), (tw, th), None)?;
        let mut v: Vec<f64> = buf
            .data()
            .iter()
            .copied()
            .filter(|x| x.is_finite() && nodata.is_none_or(|n| *x != n))
            .collect();
        if v.is_empty() {
            out.push([0.0, 255.0]);
            continue;
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        let (lo, hi) = (at(cut), at(1.0 - cut));
        out.push(if hi > lo { [lo, hi] } else { [lo, lo + 1.0] });
    }
    Ok(out)
}

/// Each band's 2nd and 98th percentiles (a contrast stretch for `bands`).
pub fn stretch_of(path: &Path, bands: &[usize]) -> Result<Vec<[f64; 2]>> {
    let ds = open_dataset(path)?;
    for &b in bands {
        if b == 0 || b > ds.raster_count() {
            return Err(LayersError::Invalid(format!(
                "{}: has {} band(s), no band {b}",
                path.display(),
                ds.raster_count()
            )));
        }
    }
    percentiles(&ds, bands, 0.02).map_err(|e| LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("cannot read its bands: {e}"),
    })
}

impl RasterImage {
    /// Open `path`; `display` chooses bands and stretch (`None`: what the file says). `key`
    /// names the source in the shared cache.
    pub fn open(path: &Path, key: &str, display: Option<Display>) -> Result<RasterImage> {
        let ds = open_dataset(path)?;
        let info = describe(path, &ds)?;
        let corrupt = |detail: String| LayersError::Corrupt {
            path: path.to_owned(),
            detail,
        };
        let display = match display {
            Some(d) => d,
            None => Display::auto(&ds).map_err(|e| corrupt(format!("cannot read its bands: {e}")))?,
        };
        for &b in display.bands.iter().chain(display.alpha.iter()) {
            if b == 0 || b > info.bands {
                return Err(LayersError::Invalid(format!(
                    "{}: has {} band(s), no band {b}",
                    path.display(),
                    info.bands
                )));
            }
        }
        if !matches!(display.bands.len(), 1 | 3) {
            return Err(LayersError::Invalid(format!(
                "{}: show one band (grey) or three (red, green, blue), not {}",
                path.display(),
                display.bands.len()
            )));
        }
        if let Some(s) = &display.stretch
            && s.len() != display.bands.len()
        {
            return Err(LayersError::Invalid(format!(
                "{}: give one stretch range per shown band ({} ranges for {} bands)",
                path.display(),
                s.len(),
                display.bands.len()
            )));
        }
        let first = ds.rasterband(display.bands[0]).map_err(|e| corrupt(e.to_string()))?;
        let palette = (display.bands.len() == 1).then(|| first.color_table()).flatten().map(|ct| {
            (0..ct.entry_count())
                .map(|i| {
                    ct.entry_as_rgb(i)
                        .map_or([0; 4], |e| [e.r, e.g, e.b, e.a].map(|c| c.clamp(0, 255) as u8))
                })
                .collect()
        });
        let masked = display.alpha.is_none() && first.mask_flags().map(|f| !f.is_all_valid()).unwrap_or(false);
        let gt = ds.geo_transform().map_err(|e| corrupt(e.to_string()))?;
        let (w, h) = ds.raster_size();
        let level = |lw: u64, lh: u64| Level {
            res: [gt[1].abs() * w as f64 / lw as f64, gt[5].abs() * h as f64 / lh as f64],
            origin: [info.extent[0], info.extent[3]],
            tile: [TILE, TILE],
            matrix: [lw.div_ceil(u64::from(TILE)) as u32, lh.div_ceil(u64::from(TILE)) as u32],
        };
        let mut levels = vec![level(w as u64, h as u64)];
        levels.extend(info.overviews.iter().map(|o| level(o[0], o[1])));
        let crs = Crs::from_spatial_ref(&ds.spatial_ref().map_err(|e| corrupt(e.to_string()))?, None);
        let img = RasterImage {
            key: key.to_owned(),
            path: path.to_owned(),
            grid: TileGrid {
                crs,
                levels,
                extent: info.extent,
            },
            info,
            display,
            palette,
            masked,
            pool: Mutex::new(vec![ds]),
        };
        // A damaged file (truncated, a broken tile) is refused now rather than drawn with
        // holes: its coarsest tile and its last full-resolution tile (the end of the file, as
        // a rule) are read once.
        let coarsest = (0..img.grid.levels.len()).max_by(|&a, &b| img.grid.levels[a].res[0].total_cmp(&img.grid.levels[b].res[0]));
        let last = &img.grid.levels[0];
        for (l, c, r) in [(coarsest.unwrap_or(0), 0, 0), (0, last.matrix[0] - 1, last.matrix[1] - 1)] {
            img.fetch(l, c, r)
                .map_err(|e| LayersError::Invalid(format!("{e} (the file is damaged or truncated)")))?;
        }
        Ok(img)
    }

    /// The file's description.
    pub fn info(&self) -> &RasterInfo {
        &self.info
    }

    /// How bands become colours.
    pub fn display(&self) -> &Display {
        &self.display
    }

    fn read(&self, ds: &Dataset, level: usize, col: u32, row: u32) -> Result<Option<Tile>, String> {
        // Level k > 0 is overview k − 1 (sorted finest first, as GDAL lists them).
        let [lw, lh] = if level == 0 {
            self.info.size
        } else {
            *self.info.overviews.get(level - 1).ok_or("no such level")?
        };
        let (x0, y0) = (u64::from(col) * u64::from(TILE), u64::from(row) * u64::from(TILE));
        if x0 >= lw || y0 >= lh {
            return Ok(None);
        }
        let (w, h) = ((lw - x0).min(u64::from(TILE)) as usize, (lh - y0).min(u64::from(TILE)) as usize);
        let band_at = |b: usize| -> Result<gdal::raster::RasterBand<'_>, String> {
            let band = ds.rasterband(b).map_err(|e| e.to_string())?;
            if level == 0 {
                return Ok(band);
            }
            // Overviews are matched by size: GDAL's order is not guaranteed finest first.
            let n = band.overview_count().map_err(|e| e.to_string())?.max(0) as usize;
            (0..n)
                .filter_map(|i| band.overview(i).ok())
                .find(|o| o.x_size() as u64 == lw && o.y_size() as u64 == lh)
                .ok_or_else(|| format!("band {b} has no {lw}×{lh} overview"))
        };
        let read = |band: &gdal::raster::RasterBand<'_>| -> Result<Vec<f32>, String> {
            let mut buf = vec![0f32; w * h];
            band.read_into_slice((x0 as isize, y0 as isize), (w, h), (w, h), &mut buf, None)
                .map_err(|e| e.to_string())?;
            Ok(buf)
        };
        let mut planes = Vec::new();
        for &b in &self.display.bands {
            planes.push(read(&band_at(b)?)?);
        }
        let alpha: Option<Vec<f32>> = match self.display.alpha {
            Some(a) => Some(read(&band_at(a)?)?),
            None if self.masked => {
                let band = band_at(self.display.bands[0])?;
                let mask = band.open_mask_band().map_err(|e| e.to_string())?;
                Some(read(&mask)?)
            }
            None => None,
        };
        let t = TILE as usize;
        let mut rgba = vec![0u8; t * t * 4];
        let to_byte = |v: f32, i: usize| -> u8 {
            match &self.display.stretch {
                Some(s) => {
                    let [lo, hi] = s[i];
                    ((f64::from(v) - lo) / (hi - lo) * 255.0).round().clamp(0.0, 255.0) as u8
                }
                None => v.round().clamp(0.0, 255.0) as u8,
            }
        };
        let mut any = false;
        for y in 0..h {
            for x in 0..w {
                let k = y * w + x;
                let o = (y * t + x) * 4;
                let a = alpha.as_ref().map_or(255, |a| a[k].round().clamp(0.0, 255.0) as u8);
                let px = match (&self.palette, planes.len()) {
                    (Some(p), _) => {
                        let i = planes[0][k];
                        if i >= 0.0 && (i as usize) < p.len() {
                            p[i as usize]
                        } else {
                            [0; 4]
                        }
                    }
                    (None, 1) => {
                        let g = to_byte(planes[0][k], 0);
                        [g, g, g, 255]
                    }
                    _ => [to_byte(planes[0][k], 0), to_byte(planes[1][k], 1), to_byte(planes[2][k], 2), 255],
                };
                let a = ((u16::from(px[3]) * u16::from(a)) / 255) as u8;
                rgba[o..o + 4].copy_from_slice(&[px[0], px[1], px[2], a]);
                any |= a > 0;
            }
        }
        Ok(any.then_some(Tile {
            width: TILE,
            height: TILE,
            rgba,
        }))
    }
}

impl TileSource for RasterImage {
    fn key(&self) -> &str {
        &self.key
    }

    fn grid(&self) -> &TileGrid {
        &self.grid
    }

    fn fetch(&self, level: usize, col: u32, row: u32) -> Result<Option<Tile>, TileError> {
        let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let ds = match pooled {
            Some(ds) => ds,
            None => open_dataset(&self.path).map_err(|e| TileError::Failed(e.to_string()))?,
        };
        let out = self
            .read(&ds, level, col, row)
            .map_err(|e| TileError::Failed(format!("{}: level {level} tile {col},{row}: {e}", self.path.display())));
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 8 {
            pool.push(ds);
        }
        out
    }

    fn legend(&self) -> Result<Legend, TileError> {
        let failed = |e: String| TileError::Failed(format!("{}: {e}", self.path.display()));
        let ds = open_dataset(&self.path).map_err(|e| failed(e.to_string()))?;
        let band_name = |b: usize| -> String {
            let c = self.info.colors.get(b - 1).map_or("", String::as_str);
            if c.is_empty() || c == "Undefined" {
                format!("band {b}")
            } else {
                format!("band {b} ({c})")
            }
        };
        let range = |i: usize| -> String {
            match self.display.stretch.as_ref().and_then(|s| s.get(i)) {
                Some([lo, hi]) => format!("{} – {}", trim_number(*lo), trim_number(*hi)),
                None => "0 – 255".into(),
            }
        };
        let mut items = Vec::new();
        match (&self.palette, self.display.bands.as_slice()) {
            (Some(palette), &[b]) => {
                // The classes the image uses (counted on a small read; GDAL takes it from an
                // overview where there is one), most common first, named by the band's
                // category names where it has them.
                let band = ds.rasterband(b).map_err(|e| failed(e.to_string()))?;
                let (w, h) = band.size();
                let shape = (w.min(512), h.min(512));
                let buf = band
                    .read_as::<u8>((0, 0), (w, h), shape, Some(gdal::raster::ResampleAlg::NearestNeighbour))
                    .map_err(|e| failed(e.to_string()))?;
                let mut counts = [0u64; 256];
                for v in buf.data() {
                    counts[usize::from(*v)] += 1;
                }
                let nodata = band.no_data_value().map(|v| v as i64);
                let names = crate::ffi::category_names(&band);
                let mut used: Vec<usize> = (0..256)
                    .filter(|&v| counts[v] > 0 && nodata != Some(v as i64) && v < palette.len())
                    .collect();
                used.sort_by(|a, b| counts[*b].cmp(&counts[*a]).then(a.cmp(b)));
                used.truncate(MAX_LEGEND_CLASSES);
                for v in used {
                    let named = names.get(v).map(|n| n.trim()).filter(|n| !n.is_empty());
                    items.push(LegendItem {
                        label: named.map_or_else(|| v.to_string(), |n| format!("{v} {n}")),
                        rgba: Some(palette[v]),
                        icon: None,
                    });
                }
            }
            (None, &[b]) => {
                let r = self
                    .display
                    .stretch
                    .as_ref()
                    .and_then(|s| s.first())
                    .copied()
                    .unwrap_or([0.0, 255.0]);
                items.push(LegendItem {
                    label: format!("{} {}", band_name(b), trim_number(r[0])),
                    rgba: Some([0, 0, 0, 255]),
                    icon: None,
                });
                items.push(LegendItem {
                    label: format!("{} {}", band_name(b), trim_number(r[1])),
                    rgba: Some([255, 255, 255, 255]),
                    icon: None,
                });
            }
            (_, bands) => {
                for (i, (&b, rgba)) in bands.iter().zip([[255, 0, 0, 255], [0, 160, 0, 255], [0, 0, 255, 255]]).enumerate() {
                    items.push(LegendItem {
                        label: format!("{} {}", band_name(b), range(i)),
                        rgba: Some(rgba),
                        icon: None,
                    });
                }
            }
        }
        Ok(Legend { items, image: None })
    }
}

/// Classes a paletted image's legend lists at most.
pub const MAX_LEGEND_CLASSES: usize = 32;

/// A number as a legend shows it: no trailing zeros.
fn trim_number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Build overviews of `path` (factors 2, 4, 8, … until the smallest fits one tile) into an
/// external `.ovr` beside it, never rewriting the file itself; `progress` gets 0–1 and returns
/// false to cancel. Returns the factors built.
pub fn build_overviews(path: &Path, progress: &mut dyn FnMut(f64) -> bool) -> Result<Vec<i32>> {
    let info = info(path)?;
    let mut factors = Vec::new();
    let mut f = 2u64;
    while info.size[0].max(info.size[1]).div_ceil(f / 2) > u64::from(TILE) {
        factors.push(f as i32);
        f *= 2;
    }
    if factors.is_empty() {
        return Ok(factors);
    }
    let ds = open_dataset(path)?;
    let paletted = ds
        .rasterband(1)
        .map(|b| matches!(b.color_interpretation(), ColorInterpretation::PaletteIndex))
        .unwrap_or(false);
    let resampling = if paletted { "NEAREST" } else { "AVERAGE" };
    for (k, v) in [
        ("COMPRESS_OVERVIEW", "DEFLATE"),
        ("BIGTIFF_OVERVIEW", "IF_SAFER"),
        ("INTERLEAVE_OVERVIEW", "PIXEL"),
        ("GDAL_TIFF_OVR_BLOCKSIZE", "256"),
    ] {
        let _ = gdal::config::set_thread_local_config_option(k, v);
    }
    let r = crate::ffi::build_overviews(&ds, resampling, &factors, progress);
    for k in [
        "COMPRESS_OVERVIEW",
        "BIGTIFF_OVERVIEW",
        "INTERLEAVE_OVERVIEW",
        "GDAL_TIFF_OVR_BLOCKSIZE",
    ] {
        let _ = gdal::config::clear_thread_local_config_option(k);
    }
    r.map_err(|detail| LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("building overviews failed: {detail}"),
    })?;
    Ok(factors)
}
