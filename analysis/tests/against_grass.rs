//! The flood and viewshed models against GRASS GIS (Debian's grass-core, installed by
//! scripts/setup.sh), run on the same rasters: `r.lake` for the flooded extent and depths,
//! `r.viewshed` for what an observer sees.

use std::path::{Path, PathBuf};
use std::process::Command;

use gdal::Dataset;
use jingwei_analysis::scenario::flood;
use jingwei_analysis::scenario::viewshed::{Camera, Surface, viewshed};
use jingwei_layers::dem::Dem;

fn andorra() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/raster/srtm3_N42E001_andorra.tif")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("jingwei-grass-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `script` in a throwaway GRASS location made from `raster`, with the raster imported as
/// `dem` and the region set to it.
fn grass(dir: &Path, raster: &Path, script: &str) {
    let loc = dir.join("loc");
    let _ = std::fs::remove_dir_all(&loc);
    let full = format!(
        "r.in.gdal -o input={} output=dem --quiet && g.region raster=dem && {script}",
        raster.display()
    );
    let out = Command::new("grass")
        .arg("-c")
        .arg(raster)
        .arg(&loc)
        .args(["--exec", "bash", "-c", &full])
        .output()
        .expect("GRASS GIS (Debian's grass-core) is installed by scripts/setup.sh");
    assert!(out.status.success(), "grass failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Band 1 of a raster as f64 with no-data as NaN.
fn read(path: &Path) -> (usize, usize, Vec<f64>) {
    let ds = Dataset::open(path).unwrap();
    let b = ds.rasterband(1).unwrap();
    let nd = b.no_data_value();
    let buf = b.read_band_as::<f64>().unwrap();
    let ((cols, rows), mut v) = buf.into_shape_and_vec();
    for x in &mut v {
        if nd.is_some_and(|n| *x == n) || x.is_nan() {
            *x = f64::NAN;
        }
    }
    (cols, rows, v)
}

fn compare_lake(dem_path: &Path, dir: &Path, x: f64, y: f64, level: f64) -> usize {
    let out = dir.join(format!("lake_{level}.tif"));
    grass(
        dir,
        dem_path,
        &format!(
            "r.lake elevation=dem water_level={level} coordinates={x},{y} lake=lake --quiet && \
             r.out.gdal input=lake output={} format=GTiff type=Float32 --quiet -c",
            out.display()
        ),
    );
    let dem = Dem::open(dem_path).unwrap();
    let ours = flood::from_level(&dem, x, y, level).unwrap();
    let (cols, rows, theirs) = read(&out);
    assert_eq!((cols, rows), dem.size);
    // r.lake 8.2 reads its 3×3 window with the last column as dry (load_window_values tests
    // `col + j > cols - 1` after `cols -= 1`): cells of the last column get water from their
    // neighbours but never pass it on. The same DEM with its last column as no-data, plus the
    // last-column cells next to its water, must match r.lake cell for cell; on the whole DEM
    // ours floods a superset.
    let mut inner = dem.clone();
    for r in 0..rows {
        inner.heights[r * cols + cols - 1] = f32::NAN;
    }
    let mut bordered = flood::from_level(&inner, x, y, level).unwrap();
    let lv = level as f32;
    for r in 0..rows {
        let i = r * cols + cols - 1;
        let wet_beside = (r.saturating_sub(1)..(r + 2).min(rows)).any(|rr| bordered.depth[rr * cols + cols - 2] > 0.0);
        if wet_beside && dem.heights[i] < lv {
            bordered.depth[i] = lv - dem.heights[i];
        }
    }
    for (a, b) in bordered.depth.iter().zip(&ours.depth) {
        assert!(*a == 0.0 || (a - b).abs() < 1e-3);
    }
    let ours = bordered;
    let mut wet = 0;
    for (i, t) in theirs.iter().enumerate() {
        let o = f64::from(ours.depth[i]);
        if t.is_nan() {
            assert_eq!(o, 0.0, "cell {i}: dry in r.lake, {o} m deep in ours");
        } else {
            wet += 1;
            assert!((o - t).abs() < 1e-3, "cell {i}: r.lake {t} m, ours {o} m");
        }
    }
    assert_eq!(wet, ours.cells());
    wet
}

#[test]
fn flooding_andorra_gives_r_lakes_cells_and_depths() {
    let dir = tmp("lake");
    // A valley seed at two levels (299,666 and 540,549 cells of 1,442,401 with GRASS 8.2).
    let a = compare_lake(&andorra(), &dir, 1.52, 42.5, 1100.0);
    let b = compare_lake(&andorra(), &dir, 1.52, 42.5, 1500.0);
    assert!(a > 100_000 && b > a, "{a} {b}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn flooding_a_synthetic_valley_gives_r_lakes_cells() {
    // A V-shaped valley in a projected CRS, written as a GeoTIFF for both.
    let dir = tmp("valley");
    let path = dir.join("valley.tif");
    let (cols, rows) = (301usize, 151usize);
    let mut v = Vec::with_capacity(cols * rows);
    for r in 0..rows {
        for c in 0..cols {
            v.push((0.1 * (c as f64 - 150.0).abs() * 10.0 + 0.001 * r as f64 * 10.0 + 20.0) as f32);
        }
    }
    let drv = gdal::DriverManager::get_driver_by_name("GTiff").unwrap();
    let mut ds = drv.create_with_band_type::<f32, _>(&path, cols, rows, 1).unwrap();
    ds.set_geo_transform(&[500_000.0, 10.0, 0.0, 3_500_000.0, 0.0, -10.0]).unwrap();
    ds.set_spatial_ref(&gdal::spatial_ref::SpatialRef::from_epsg(4549).unwrap())
        .unwrap();
    let mut buf = gdal::raster::Buffer::new((cols, rows), v);
    ds.rasterband(1).unwrap().write((0, 0), (cols, rows), &mut buf).unwrap();
    drop(ds);
    let wet = compare_lake(&path, &dir, 501_505.0, 3_499_245.0, 30.005);
    // Known answer: cells with 20 + |c − 150| + 0.01·r < 30.005 (no cell sits on the level).
    let want = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (c, r)))
        .filter(|(c, r)| 20.0 + (*c as f64 - 150.0).abs() + 0.01 * (*r as f64) < 30.005)
        .count();
    assert_eq!(wet, want);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn viewsheds_agree_with_r_viewshed() {
    let dir = tmp("viewshed");
    // r.viewshed wants metres: Andorra in UTM 31N at 90 m.
    let utm = dir.join("andorra_utm.tif");
    let st = Command::new("gdalwarp")
        .args([
            "-q",
            "-t_srs",
            "EPSG:32631",
            "-tr",
            "90",
            "90",
            "-r",
            "bilinear",
            "-te",
            "370000",
            "4700000",
            "410000",
            "4740000",
        ])
        .arg(andorra())
        .arg(&utm)
        .status()
        .unwrap();
    assert!(st.success());
    let dem = Dem::open(&utm).unwrap();
    let g = dem.geo_transform;
    let s = Surface {
        x0: g[0],
        y0: g[3],
        cell: g[1],
        cols: dem.size.0,
        rows: dem.size.1,
        z: dem.heights.clone(),
    };
    for (k, (ox, oy, h)) in [(390_045.0, 4_720_045.0, 10.0), (381_045.0, 4_711_045.0, 30.0)]
        .into_iter()
        .enumerate()
    {
        let out = dir.join(format!("vs{k}.tif"));
        grass(
            &dir,
            &utm,
            &format!(
                "r.viewshed -b input=dem output=vs coordinates={ox},{oy} observer_elevation={h} target_elevation=0 \
                 max_distance=6000 --quiet && r.out.gdal input=vs output={} format=GTiff type=Byte --quiet -c",
                out.display()
            ),
        );
        let cam = Camera {
            x: ox,
            y: oy,
            height_m: h,
            heading_deg: 0.0,
            fov_deg: 360.0,
            range_m: 6000.0,
        };
        let ground = f64::from(s.z[s.cell_of(ox, oy).unwrap()]);
        let ours = viewshed(&s, &cam, ground, 0.0);
        let (_, _, theirs) = read(&out);
        let (mut both, mut agree, mut seen_t, mut seen_o) = (0usize, 0usize, 0usize, 0usize);
        for (i, t) in theirs.iter().enumerate() {
            let (x, y) = s.centre(i);
            // Cells clearly inside the range (the edge cell's centre may fall either side).
            if (x - ox).hypot(y - oy) > 5900.0 || s.z[i].is_nan() {
                continue;
            }
            let t = *t == 1.0;
            both += 1;
            agree += usize::from(t == ours[i]);
            seen_t += usize::from(t);
            seen_o += usize::from(ours[i]);
        }
        let share = agree as f64 / both as f64;
        eprintln!("observer {k}: {both} cells, agreement {share:.4}, visible r.viewshed {seen_t} ours {seen_o}");
        assert!(share > 0.95, "observer {k}: only {share:.4} of {both} cells agree");
        assert!((seen_o as f64 / seen_t as f64 - 1.0).abs() < 0.1, "{seen_o} vs {seen_t}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
