//! XYZ and TMS URL templates (`{z}`, `{x}`, `{y}`, `{-y}`, `{s}`) on the Web Mercator grid of
//! Google-compatible tiles.

use std::sync::Arc;

use jingwei_layers::Crs;
use jingwei_layers::imagery::{Level, Tile, TileError, TileGrid, TileSource};

use crate::http::{self, Client, TileStore, redact};
use crate::{DiskCache, Opened, Result, ServiceError, ServiceSpec};

/// Web Mercator's half width, metres.
pub const HALF: f64 = 20_037_508.342_789_244;

/// The Google-compatible grid, levels 0 to `max`.
pub fn web_mercator_grid(max: u32) -> Result<TileGrid> {
    let levels = (0..=max)
        .map(|z| {
            let n = 1u32 << z;
            Level {
                res: [2.0 * HALF / (256.0 * f64::from(n)); 2],
                origin: [-HALF, HALF],
                tile: [256, 256],
                matrix: [n, n],
            }
        })
        .collect();
    Ok(TileGrid {
        crs: Crs::from_epsg(3857)?,
        levels,
        extent: [-HALF, -HALF, HALF, HALF],
    })
}

/// A URL template as a tile source.
pub struct XyzSource {
    key: String,
    template: String,
    subdomains: Vec<String>,
    tms: bool,
    grid: TileGrid,
    client: Client,
    store: Option<TileStore>,
}

impl XyzSource {
    /// The URL of one tile.
    pub fn tile_url(&self, z: usize, x: u32, y: u32) -> String {
        let n = 1u32 << z;
        let flipped = n - 1 - y;
        let y_shown = if self.tms { flipped } else { y };
        let mut u = self
            .template
            .replace("{z}", &z.to_string())
            .replace("{x}", &x.to_string())
            .replace("{-y}", &flipped.to_string())
            .replace("{y}", &y_shown.to_string());
        if !self.subdomains.is_empty() {
            u = u.replace("{s}", &self.subdomains[(x + y) as usize % self.subdomains.len()]);
        }
        u
    }
}

impl TileSource for XyzSource {
    fn key(&self) -> &str {
        &self.key
    }

    fn grid(&self) -> &TileGrid {
        &self.grid
    }

    fn fetch_encoded(&self, level: usize, col: u32, row: u32) -> std::result::Result<Option<Vec<u8>>, TileError> {
        let tile = self.fetch(level, col, row)?;
        http::encoded_through(tile, self.store.as_ref(), &level.to_string(), (col, row))
    }

    fn fetch(&self, level: usize, col: u32, row: u32) -> std::result::Result<Option<Tile>, TileError> {
        let url = self.tile_url(level, col, row);
        http::tile_through(&self.client, self.store.as_ref(), &level.to_string(), (col, row), &url, true)
    }
}

/// Open a template.
pub fn open(spec: &ServiceSpec, cache: Option<&DiskCache>) -> Result<Opened> {
    if !(spec.url.contains("{z}") && spec.url.contains("{x}") && (spec.url.contains("{y}") || spec.url.contains("{-y}"))) {
        return Err(ServiceError::Invalid(format!(
            "{}: a tile template needs {{z}}, {{x}} and {{y}} (or {{-y}})",
            redact(&spec.url)
        )));
    }
    if spec.url.contains("{s}") && spec.subdomains.is_empty() {
        return Err(ServiceError::Invalid(format!(
            "{}: the template has {{s}}; give its subdomains",
            redact(&spec.url)
        )));
    }
    let max = spec.max_level.unwrap_or(18).min(24);
    let identity = format!("xyz|{}", spec.url.split('?').next().unwrap_or(""));
    let source = XyzSource {
        key: identity.clone(),
        template: spec.url.clone(),
        subdomains: spec.subdomains.clone(),
        tms: spec.kind == "tms",
        grid: web_mercator_grid(max)?,
        client: Client::new(spec)?,
        store: cache.map(|c| TileStore::new(c, &identity)),
    };
    Ok(Opened {
        title: spec.layer.clone().unwrap_or_else(|| "tiles".into()),
        detail: format!("{} template · levels 0–{max}", if source.tms { "TMS" } else { "XYZ" }),
        source: Arc::new(source),
    })
}
