//! Offline packages for air-gapped networks: the tiles of a source over an area and levels,
//! written into an MBTiles file (Web Mercator sources) or a GeoPackage tile pyramid (any CRS).
//! Writing resumes: tiles already in the file are not fetched again, and every batch is one
//! transaction, so an interrupted run leaves a valid file to continue. The package then opens
//! as an imagery layer through GDAL like any other file.

use std::path::Path;

use rayon::prelude::*;
use rusqlite::{Connection, params};
use serde::Serialize;

use super::{TileError, TileSource};
use crate::crs::Crs;
use crate::error::{LayersError, Result};

/// What a packaging run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackageReport {
    /// Tiles the area and levels cover.
    pub tiles: u64,
    /// Fetched and written now.
    pub written: u64,
    /// Already in the file (an earlier run).
    pub kept: u64,
    /// The source has nothing there.
    pub empty: u64,
    /// Failed (run again to retry them); the first failure's words.
    pub failed: u64,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// Tiles fetched at once between two writes.
const BATCH: usize = 64;

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> LayersError + '_ {
    move |e| LayersError::Corrupt {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

/// Package `source`'s tiles over `bbox` (CGCS2000 longitude/latitude) at levels `from..=to`,
/// counted from the coarsest (0). `.mbtiles` needs a Web Mercator source (XYZ numbering);
/// `.gpkg` takes any. `progress(done, total)` returns false to stop.
pub fn package(
    source: &dyn TileSource,
    bbox: [f64; 4],
    levels: (usize, usize),
    out: &Path,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<PackageReport> {
    let g = source.grid();
    let mut order: Vec<usize> = (0..g.levels.len()).collect();
    order.sort_by(|&a, &b| g.levels[b].res[0].total_cmp(&g.levels[a].res[0]));
    if levels.0 > levels.1 || levels.1 >= order.len() {
        return Err(LayersError::Invalid(format!(
            "levels {}-{}: the source has levels 0-{} (counted from the coarsest)",
            levels.0,
            levels.1,
            order.len().saturating_sub(1)
        )));
    }
    let b = crate::workspace::extent_in(&Crs::cgcs2000()?, bbox, &g.crs)?;
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let mbtiles = match ext.as_str() {
        "mbtiles" => true,
        "gpkg" => false,
        _ => return Err(LayersError::Invalid(format!("{}: write .mbtiles or .gpkg", out.display()))),
    };
    const HALF: f64 = 20_037_508.342_789_244;
    if mbtiles
        && !(g.crs.epsg == Some(3857)
            && g.levels
                .iter()
                .all(|l| (l.origin[0] + HALF).abs() < 1.0 && (l.origin[1] - HALF).abs() < 1.0 && l.matrix[0].is_power_of_two()))
    {
        return Err(LayersError::Invalid(format!(
            "{}: MBTiles holds Web Mercator tiles only; this source is in {}: write a .gpkg",
            out.display(),
            g.crs.label()
        )));
    }
    let conn = Connection::open(out).map_err(sql(out))?;
    let table = "tiles";
    // Per packaged level: the source level, the zoom number written, and the tile range.
    let coarsest = &g.levels[order[levels.0]];
    let mut plan = Vec::new();
    for (n, &l) in order[levels.0..=levels.1].iter().enumerate() {
        let lv = &g.levels[l];
        let [sx, sy] = lv.tile_span();
        let c0 = ((b[0] - lv.origin[0]) / sx).floor().max(0.0) as u32;
        let c1 = (((b[2] - lv.origin[0]) / sx).floor() as i64).clamp(0, i64::from(lv.matrix[0]) - 1) as u32;
        let r0 = ((lv.origin[1] - b[3]) / sy).floor().max(0.0) as u32;
        let r1 = (((lv.origin[1] - b[1]) / sy).floor() as i64).clamp(0, i64::from(lv.matrix[1]) - 1) as u32;
        let zoom = if mbtiles { lv.matrix[0].trailing_zeros() } else { n as u32 };
        plan.push((l, zoom, [c0, r0, c1, r1]));
    }
    if mbtiles {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS metadata (name TEXT, value TEXT);
             CREATE TABLE IF NOT EXISTS tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             CREATE UNIQUE INDEX IF NOT EXISTS tile_index ON tiles (zoom_level, tile_column, tile_row);",
        )
        .map_err(sql(out))?;
        conn.execute("DELETE FROM metadata", []).map_err(sql(out))?;
        let name = out.file_stem().and_then(|s| s.to_str()).unwrap_or("package").to_owned();
        for (k, v) in [
            ("name", name),
            ("type", "baselayer".into()),
            ("version", "1.0".into()),
            ("description", "packaged by Jingwei".into()),
            ("format", "png".into()),
            ("bounds", format!("{},{},{},{}", bbox[0], bbox[1], bbox[2], bbox[3])),
            ("minzoom", plan.first().map_or(0, |p| p.1).to_string()),
            ("maxzoom", plan.last().map_or(0, |p| p.1).to_string()),
        ] {
            conn.execute("INSERT INTO metadata (name, value) VALUES (?1, ?2)", params![k, v])
                .map_err(sql(out))?;
        }
    } else {
        let srs = g.crs.epsg.map_or(99_999, i64::from);
        let wkt = g.crs.wkt().unwrap_or_default();
        conn.execute_batch(
            "PRAGMA application_id = 1196444487; PRAGMA user_version = 10200;
             CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
             CREATE TABLE IF NOT EXISTS gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
             CREATE TABLE IF NOT EXISTS gpkg_tile_matrix_set (table_name TEXT NOT NULL PRIMARY KEY, srs_id INTEGER NOT NULL, min_x DOUBLE NOT NULL, min_y DOUBLE NOT NULL, max_x DOUBLE NOT NULL, max_y DOUBLE NOT NULL);
             CREATE TABLE IF NOT EXISTS gpkg_tile_matrix (table_name TEXT NOT NULL, zoom_level INTEGER NOT NULL, matrix_width INTEGER NOT NULL, matrix_height INTEGER NOT NULL, tile_width INTEGER NOT NULL, tile_height INTEGER NOT NULL, pixel_x_size DOUBLE NOT NULL, pixel_y_size DOUBLE NOT NULL, CONSTRAINT pk_ttm PRIMARY KEY (table_name, zoom_level));
             CREATE TABLE IF NOT EXISTS tiles (id INTEGER PRIMARY KEY AUTOINCREMENT, zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL, UNIQUE (zoom_level, tile_column, tile_row));",
        )
        .map_err(sql(out))?;
        for (id, org, code, name, def) in [
            (-1i64, "NONE", -1i64, "Undefined cartesian SRS", "undefined".to_owned()),
            (0, "NONE", 0, "Undefined geographic SRS", "undefined".to_owned()),
            (srs, "EPSG", srs, g.crs.name.as_str(), wkt),
        ] {
            conn.execute(
                "INSERT OR REPLACE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, organization_coordsys_id, definition) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, id, org, code, def],
            )
            .map_err(sql(out))?;
        }
        // The set's bounds: the coarsest packaged matrix; every finer level tiles them.
        let [sx, sy] = coarsest.tile_span();
        let (x0, y1) = (coarsest.origin[0], coarsest.origin[1]);
        let (x1, y0) = (x0 + sx * f64::from(coarsest.matrix[0]), y1 - sy * f64::from(coarsest.matrix[1]));
        conn.execute(
            "INSERT OR REPLACE INTO gpkg_tile_matrix_set VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![table, srs, x0, y0, x1, y1],
        )
        .map_err(sql(out))?;
        conn.execute(
            "INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id) VALUES (?1, 'tiles', ?1, ?2, ?3, ?4, ?5, ?6)",
            params![table, b[0], b[1], b[2], b[3], srs],
        )
        .map_err(sql(out))?;
        for &(l, zoom, _) in &plan {
            let lv = &g.levels[l];
            let [tx, ty] = lv.tile_span();
            conn.execute(
                "INSERT OR REPLACE INTO gpkg_tile_matrix VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    table,
                    zoom,
                    ((x1 - x0) / tx).round() as i64,
                    ((y1 - y0) / ty).round() as i64,
                    lv.tile[0],
                    lv.tile[1],
                    lv.res[0],
                    lv.res[1]
                ],
            )
            .map_err(sql(out))?;
        }
    }
    let mut report = PackageReport {
        tiles: plan
            .iter()
            .map(|(_, _, r)| u64::from(r[2] - r[0] + 1) * u64::from(r[3] - r[1] + 1))
            .sum(),
        ..Default::default()
    };
    let mut done = 0;
    for &(l, zoom, r) in &plan {
        let n = 1u32 << zoom;
        let stored_row = |row: u32| if mbtiles { n - 1 - row } else { row };
        let all: Vec<(u32, u32)> = (r[1]..=r[3]).flat_map(|row| (r[0]..=r[2]).map(move |col| (col, row))).collect();
        for batch in all.chunks(BATCH) {
            let mut todo = Vec::new();
            {
                let mut have = conn
                    .prepare_cached("SELECT 1 FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3")
                    .map_err(sql(out))?;
                for &(col, row) in batch {
                    if have.exists(params![zoom, col, stored_row(row)]).map_err(sql(out))? {
                        report.kept += 1;
                    } else {
                        todo.push((col, row));
                    }
                }
            }
            let got: Vec<((u32, u32), std::result::Result<Option<Vec<u8>>, TileError>)> =
                todo.par_iter().map(|&(c, rw)| ((c, rw), source.fetch_encoded(l, c, rw))).collect();
            let tx = conn.unchecked_transaction().map_err(sql(out))?;
            for ((col, row), res) in got {
                match res {
                    Ok(Some(bytes)) => {
                        tx.execute(
                            "INSERT OR REPLACE INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)",
                            params![zoom, col, stored_row(row), bytes],
                        )
                        .map_err(sql(out))?;
                        report.written += 1;
                    }
                    Ok(None) => report.empty += 1,
                    Err(e) => {
                        report.failed += 1;
                        report.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            tx.commit().map_err(sql(out))?;
            done += batch.len() as u64;
            if !progress(done, report.tiles) {
                return Err(LayersError::Cancelled { path: out.to_owned() });
            }
        }
    }
    Ok(report)
}
