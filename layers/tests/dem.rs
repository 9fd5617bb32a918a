//! A DEM (the real SRTM tile of Andorra in `../shared/data/raster/`): read through GDAL, sampled
//! at pixel centres exactly as `gdallocationinfo` reports, bilinear between them.

use jingwei_layers::dem::{Dem, Terrain};
use jingwei_layers::{Crs, Workspace};
use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    std::env::var_os("JINGWEI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

fn gdal_value(path: &Path, col: usize, row: usize) -> f64 {
    let out = Command::new("gdallocationinfo")
        .arg("-valonly")
        .arg(path)
        .args([col.to_string(), row.to_string()])
        .output()
        .expect("gdallocationinfo (gdal-bin)");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn the_andorra_srtm_tile_reads_and_samples_like_gdal() {
    let path = shared().join("raster/srtm3_N42E001_andorra.tif");
    let dem = Dem::open(&path).unwrap();
    assert_eq!(dem.size, (1201, 1201));
    assert_eq!(dem.crs.epsg, Some(4326));
    let g = dem.geo_transform;
    for (col, row) in [(600, 600), (100, 900), (1000, 50), (333, 777)] {
        // The centre of pixel (col, row).
        let (x, y) = (g[0] + (col as f64 + 0.5) * g[1], g[3] + (row as f64 + 0.5) * g[5]);
        let want = gdal_value(&path, col, row);
        let got = dem.height_at(x, y).unwrap();
        assert!((got - want).abs() < 1e-3, "({col}, {row}): {got} vs gdallocationinfo {want}");
    }
    // Between two centres: the mean of the two.
    let (x0, y0) = (g[0] + 600.5 * g[1], g[3] + 600.5 * g[5]);
    let mid = dem.height_at(x0 + g[1] / 2.0, y0).unwrap();
    let (a, b) = (gdal_value(&path, 600, 600), gdal_value(&path, 601, 600));
    assert!((mid - (a + b) / 2.0).abs() < 1e-3, "{mid} vs {a}, {b}");
    // Off the tile: nothing.
    assert_eq!(dem.height_at(5.0, 42.5), None);

    // In a workspace (UTM 31N, from the tile's centre): the same heights at the same places.
    let mut ws: Option<Workspace> = None;
    Workspace::set_terrain_file(&mut ws, &path).unwrap();
    let ws = ws.unwrap();
    assert_eq!(ws.crs.epsg, Some(32631));
    let t: &Terrain = ws.terrain.as_ref().unwrap();
    let to_utm = jingwei_layers::Transformer::new(&Crs::from_epsg(4326).unwrap(), &ws.crs).unwrap();
    let (ux, uy) = to_utm.transform(x0, y0).unwrap();
    let h = t.sampler().unwrap().height_at(ux, uy).unwrap();
    assert!((h - a).abs() < 1e-2, "{h} vs {a}");
    // A missing file and a file that is no raster are named.
    let e = Dem::open(Path::new("/nonexistent/dem.tif")).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/dem.tif"), "{e}");
    let e = Dem::open(&shared().join("encoding/lujiazui_pois_gbk.shp")).unwrap_err().to_string();
    assert!(e.contains("lujiazui_pois_gbk.shp") && e.contains("raster"), "{e}");
}

#[test]
fn a_saved_workspace_keeps_its_terrain_and_opens_flat_when_the_dem_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let dem = dir.path().join("andorra.tif");
    std::fs::copy(shared().join("raster/srtm3_N42E001_andorra.tif"), &dem).unwrap();
    let mut ws: Option<Workspace> = None;
    Workspace::load_file(&mut ws, &dem, None).unwrap();
    Workspace::load_file(&mut ws, &shared().join("osm/andorra_osm.gpkg"), None).unwrap();
    let ws = ws.unwrap();
    let saved = dir.path().join("ws.gpkg");
    jingwei_layers::saved::save_workspace(&ws, &saved, None).unwrap();
    let (back, _) = jingwei_layers::saved::open_workspace(&saved).unwrap();
    assert_eq!(back.terrain.as_ref().unwrap().dem.path, std::fs::canonicalize(&dem).unwrap());
    // The DEM moved away: the workspace still opens, with all its layers, on flat ground.
    std::fs::remove_file(&dem).unwrap();
    let (flat, _) = jingwei_layers::saved::open_workspace(&saved).unwrap();
    assert!(flat.terrain.is_none());
    assert_eq!(flat.layers.len(), ws.layers.len());
}

#[test]
fn a_dem_that_is_not_square_reads_the_right_way_round() {
    // 300 columns × 120 rows cut from the tile by gdal_translate.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.tif");
    let st = Command::new("gdal_translate")
        .args(["-q", "-srcwin", "400", "500", "300", "120"])
        .arg(shared().join("raster/srtm3_N42E001_andorra.tif"))
        .arg(&cut)
        .status()
        .unwrap();
    assert!(st.success());
    let dem = Dem::open(&cut).unwrap();
    assert_eq!(dem.size, (300, 120));
    let g = dem.geo_transform;
    for (col, row) in [(0, 0), (299, 0), (0, 119), (250, 100), (17, 63)] {
        let (x, y) = (g[0] + (col as f64 + 0.5) * g[1], g[3] + (row as f64 + 0.5) * g[5]);
        let want = gdal_value(&cut, col, row);
        let got = dem.height_at(x, y).unwrap();
        assert!((got - want).abs() < 1e-3, "({col}, {row}): {got} vs {want}");
    }
}
