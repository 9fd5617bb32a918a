//! ArcGIS REST cached map services (`…/MapServer`, and `…/ImageServer` with a tile cache):
//! the service's JSON (`?f=json`) gives the tiling scheme — `tileInfo` with its origin, tile
//! size and levels of detail, the spatial reference by `wkid`/`latestWkid` or WKT, the
//! `fullExtent` — and tiles come from `…/tile/{level}/{row}/{col}`.
//!
//! Quirks of real servers, handled: Web Mercator spelled `102100`, `102113` or `900913`;
//! levels of detail that do not start at 0 (a scheme cut to a city's levels); CGCS2000
//! schemes whose origin lies far outside the world (−400, 400 is common on Chinese
//! servers), which only moves where tile 0 is; an error answered as JSON with HTTP 200; a
//! dynamic service without a cache, refused with a line that says so.

use std::sync::Arc;

use jingwei_layers::Crs;
use jingwei_layers::imagery::{Legend, LegendItem, Level, Tile, TileError, TileGrid, TileSource};
use serde_json::Value;

use crate::http::{self, Client, TileStore, redact};
use crate::{DiskCache, Opened, Result, ServiceError, ServiceSpec};

/// Levels a scheme may have at most.
const MAX_LODS: usize = 30;

/// The service's base URL: without a query and a trailing slash.
fn base_of(url: &str) -> &str {
    url.split('?').next().unwrap_or(url).trim_end_matches('/')
}

/// The CRS of an ArcGIS `spatialReference` object.
pub fn crs_of(sr: &Value) -> Result<Crs> {
    let mut tried = Vec::new();
    for key in ["latestWkid", "wkid"] {
        if let Some(code) = sr[key].as_u64() {
            // Esri's codes for Web Mercator, and Google's old one.
            let code = if matches!(code, 102_100 | 102_113 | 900_913) { 3857 } else { code };
            let Ok(code) = u32::try_from(code) else { continue };
            for auth in ["EPSG", "ESRI"] {
                match Crs::parse(&format!("{auth}:{code}")) {
                    Ok(c) => return Ok(c),
                    Err(_) => tried.push(format!("{auth}:{code}")),
                }
            }
        }
    }
    if let Some(wkt) = sr["wkt"].as_str().or_else(|| sr["wkt2"].as_str()) {
        return Ok(Crs::parse(wkt)?);
    }
    Err(ServiceError::Invalid(if tried.is_empty() {
        "the tiling scheme names no spatial reference".into()
    } else {
        format!("unknown spatial reference ({})", tried.join(", "))
    }))
}

/// An ArcGIS cached map service as a tile source.
pub struct ArcGisSource {
    key: String,
    base: String,
    /// The service's level number of each grid level.
    lods: Vec<i64>,
    grid: TileGrid,
    client: Client,
    store: Option<TileStore>,
}

impl ArcGisSource {
    /// The URL of one tile.
    pub fn tile_url(&self, level: usize, col: u32, row: u32) -> String {
        format!("{}/tile/{}/{row}/{col}", self.base, self.lods[level])
    }
}

impl TileSource for ArcGisSource {
    fn key(&self) -> &str {
        &self.key
    }

    fn grid(&self) -> &TileGrid {
        &self.grid
    }

    fn fetch(&self, level: usize, col: u32, row: u32) -> std::result::Result<Option<Tile>, TileError> {
        if level >= self.lods.len() {
            return Ok(None);
        }
        let url = self.tile_url(level, col, row);
        http::tile_through(
            &self.client,
            self.store.as_ref(),
            &self.lods[level].to_string(),
            (col, row),
            &url,
            true,
        )
    }

    fn fetch_encoded(&self, level: usize, col: u32, row: u32) -> std::result::Result<Option<Vec<u8>>, TileError> {
        let tile = self.fetch(level, col, row)?;
        let id = self.lods.get(level).map_or_else(String::new, i64::to_string);
        http::encoded_through(tile, self.store.as_ref(), &id, (col, row))
    }

    /// `…/legend?f=json`: each layer's symbols as labelled icons (base64 images).
    fn legend(&self) -> std::result::Result<Legend, TileError> {
        let url = http::with_params(&format!("{}/legend", self.base), &[("f".into(), "json".into())]);
        let text = self.client.text(&url).map_err(|e| TileError::Failed(e.to_string()))?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| TileError::Failed(format!("{}: the legend is not JSON: {e}", redact(&self.client.url(&url)))))?;
        if let Some(err) = doc.get("error") {
            return Err(TileError::Failed(format!(
                "{}: the service answered error {}: {}",
                redact(&self.client.url(&url)),
                err["code"].as_i64().unwrap_or(0),
                err["message"].as_str().unwrap_or("")
            )));
        }
        let mut items = Vec::new();
        for layer in doc["layers"].as_array().into_iter().flatten() {
            let name = layer["layerName"].as_str().unwrap_or("");
            let entries = layer["legend"].as_array().map_or(&[][..], Vec::as_slice);
            for e in entries {
                let label = e["label"].as_str().filter(|l| !l.is_empty()).unwrap_or(name);
                let icon = e["imageData"]
                    .as_str()
                    .and_then(jingwei_layers::encoding::base64_decode)
                    .filter(|b| image::guess_format(b).is_ok());
                items.push(LegendItem {
                    label: if entries.len() > 1 && !name.is_empty() && label != name {
                        format!("{name}: {label}")
                    } else {
                        label.to_owned()
                    },
                    rgba: None,
                    icon,
                });
            }
        }
        Ok(Legend { items, image: None })
    }
}

/// `[xmin, ymin, xmax, ymax]` of an ArcGIS envelope, in `to` (the tiling scheme's CRS).
fn envelope(v: &Value, to: &Crs) -> Option<[f64; 4]> {
    let e = [v["xmin"].as_f64()?, v["ymin"].as_f64()?, v["xmax"].as_f64()?, v["ymax"].as_f64()?];
    if !(e[0] < e[2] && e[1] < e[3]) {
        return None;
    }
    let Ok(from) = crs_of(&v["spatialReference"]) else { return Some(e) };
    // Another CRS: carried over like any extent.
    jingwei_layers::workspace::extent_in(&from, e, to).ok()
}

/// The tiling scheme of a service's JSON: the grid, and each level's number.
pub fn scheme(doc: &Value, max_level: Option<u32>) -> Result<(TileGrid, Vec<i64>)> {
    let ti = &doc["tileInfo"];
    let bad = |d: &str| ServiceError::Invalid(d.to_owned());
    let crs = crs_of(&ti["spatialReference"]).or_else(|_| crs_of(&doc["spatialReference"]))?;
    let origin = [
        ti["origin"]["x"].as_f64().ok_or_else(|| bad("tileInfo has no origin"))?,
        ti["origin"]["y"].as_f64().ok_or_else(|| bad("tileInfo has no origin"))?,
    ];
    let size = |k: &str| ti[k].as_u64().filter(|&n| (1..=4096).contains(&n)).map(|n| n as u32);
    let tile = [size("cols").unwrap_or(256), size("rows").unwrap_or(256)];
    let extent = envelope(&doc["fullExtent"], &crs)
        .or_else(|| envelope(&doc["initialExtent"], &crs))
        .or_else(|| envelope(&doc["extent"], &crs))
        .ok_or_else(|| bad("the service gives no extent (fullExtent)"))?;
    let mut lods: Vec<(i64, f64)> = ti["lods"]
        .as_array()
        .ok_or_else(|| bad("tileInfo has no levels of detail (lods)"))?
        .iter()
        .filter_map(|l| Some((l["level"].as_i64()?, l["resolution"].as_f64().filter(|r| *r > 0.0)?)))
        .filter(|(l, _)| max_level.is_none_or(|m| *l <= i64::from(m)))
        .collect();
    lods.sort_by(|a, b| b.1.total_cmp(&a.1));
    lods.truncate(MAX_LODS);
    if lods.is_empty() {
        return Err(bad("tileInfo lists no usable level of detail"));
    }
    let levels = lods
        .iter()
        .map(|&(_, res)| {
            let span = [res * f64::from(tile[0]), res * f64::from(tile[1])];
            // Columns and rows up to the far side of the extent (the origin is the top left).
            let cols = ((extent[2] - origin[0]) / span[0]).ceil().clamp(1.0, f64::from(u32::MAX / 2));
            let rows = ((origin[1] - extent[1]) / span[1]).ceil().clamp(1.0, f64::from(u32::MAX / 2));
            Level {
                res: [res; 2],
                origin,
                tile,
                matrix: [cols as u32, rows as u32],
            }
        })
        .collect();
    Ok((TileGrid { crs, levels, extent }, lods.iter().map(|l| l.0).collect()))
}

/// Open an ArcGIS REST cached service.
pub fn open(spec: &ServiceSpec, cache: Option<&DiskCache>) -> Result<Opened> {
    let client = Client::new(spec)?;
    let base = base_of(&spec.url).to_owned();
    if !(base.ends_with("/MapServer") || base.ends_with("/ImageServer")) {
        return Err(ServiceError::Invalid(format!(
            "{}: an ArcGIS REST service URL ends in /MapServer (or /ImageServer)",
            redact(&spec.url)
        )));
    }
    let url = http::with_params(&base, &[("f".into(), "json".into())]);
    let text = client.text(&url)?;
    let bad = |detail: String| ServiceError::Capabilities {
        url: redact(&client.url(&url)),
        detail,
    };
    let doc: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    if let Some(err) = doc.get("error") {
        // ArcGIS answers errors as JSON, often with HTTP 200.
        let details = err["details"]
            .as_array()
            .map_or_else(String::new, |d| d.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "));
        return Err(bad(format!(
            "the service answered error {}: {}{}",
            err["code"].as_i64().unwrap_or(0),
            err["message"].as_str().unwrap_or(""),
            if details.is_empty() {
                String::new()
            } else {
                format!(" ({details})")
            }
        )));
    }
    if doc.get("tileInfo").is_none_or(Value::is_null) || doc["singleFusedMapCache"] == Value::Bool(false) {
        return Err(bad(
            "a dynamic service without a tile cache; add it through its WMS endpoint instead".into(),
        ));
    }
    let (grid, lods) = scheme(&doc, spec.max_level).map_err(|e| bad(e.to_string()))?;
    let identity = format!("arcgis|{base}");
    let title = doc["documentInfo"]["Title"]
        .as_str()
        .filter(|t| !t.is_empty())
        .or_else(|| doc["mapName"].as_str().filter(|t| !t.is_empty() && *t != "Layers"))
        .map(str::to_owned)
        .or_else(|| spec.layer.clone())
        .unwrap_or_else(|| base.rsplit('/').nth(1).unwrap_or("ArcGIS").to_owned());
    let detail = format!(
        "ArcGIS REST · {} · levels {}–{}",
        grid.crs.label(),
        lods.first().copied().unwrap_or(0),
        lods.last().copied().unwrap_or(0)
    );
    let source = ArcGisSource {
        key: identity.clone(),
        base,
        lods,
        grid,
        client,
        store: cache.map(|c| TileStore::new(c, &identity)),
    };
    Ok(Opened {
        source: Arc::new(source),
        title,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_mercator_by_any_of_its_codes_and_levels_from_any_number() {
        for code in [102_100, 102_113, 900_913, 3857] {
            let c = crs_of(&serde_json::json!({ "wkid": code })).unwrap();
            assert_eq!(c.label(), Crs::from_epsg(3857).unwrap().label(), "{code}");
        }
        // A CGCS2000 scheme with the origin Chinese servers use, cut to levels 10–12.
        let doc = serde_json::json!({
            "tileInfo": { "rows": 256, "cols": 256, "origin": { "x": -400.0, "y": 400.0 },
                "spatialReference": { "wkid": 4490, "latestWkid": 4490 },
                "lods": [ { "level": 12, "resolution": 0.000_171_661_376_953_125 },
                          { "level": 10, "resolution": 0.000_686_645_507_812_5 },
                          { "level": 11, "resolution": 0.000_343_322_753_906_25 } ] },
            "fullExtent": { "xmin": 121.4, "ymin": 31.1, "xmax": 121.6, "ymax": 31.3,
                "spatialReference": { "wkid": 4490 } }
        });
        let (g, lods) = scheme(&doc, None).unwrap();
        assert_eq!(lods, vec![10, 11, 12], "coarsest first");
        let l = &g.levels[0];
        assert_eq!(l.origin, [-400.0, 400.0]);
        // The extent's far corner lies within the matrix, and not far inside it.
        let span = l.res[0] * 256.0;
        assert!(f64::from(l.matrix[0]) * span >= 121.6 + 400.0);
        assert!(f64::from(l.matrix[0] - 1) * span < 121.6 + 400.0);
        assert!(scheme(&doc, Some(11)).unwrap().1 == vec![10, 11], "a user's deepest level");
        // An unknown code is one line that names it.
        let e = crs_of(&serde_json::json!({ "wkid": 999_999 })).unwrap_err().to_string();
        assert!(e.contains("999999"), "{e}");
    }
}
