//! Imagery through GDAL's raster API: a real Landsat scene warped into another CRS against
//! `gdalwarp`, a CGCS2000 image landing in a Gauss-Krüger workspace where PROJ puts it,
//! overviews built beside a file (never into it) and used, the loader's cancelling and health.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use gdal::raster::{Buffer, RasterCreationOptions};
use gdal::spatial_ref::SpatialRef;
use gdal::{Dataset, DriverManager};
use jingwei_layers::imagery::cache::TileCache;
use jingwei_layers::imagery::loader::Loader;
use jingwei_layers::imagery::raster::{self, Display, RasterImage};
use jingwei_layers::imagery::warp::{Plan, Target};
use jingwei_layers::imagery::{TileSource, raster::is_imagery};
use jingwei_layers::{Crs, Transformer};

fn landsat() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/imagery/L7_ETMs.tif")
}

/// Bands of a GeoTIFF written by a GDAL tool, as bytes.
fn read_bands(path: &Path, bands: &[usize]) -> (usize, usize, Vec<Vec<u8>>) {
    let ds = Dataset::open(path).unwrap();
    let (w, h) = ds.raster_size();
    let planes = bands
        .iter()
        .map(|&b| {
            ds.rasterband(b)
                .unwrap()
                .read_as::<u8>((0, 0), (w, h), (w, h), None)
                .unwrap()
                .data()
                .to_vec()
        })
        .collect();
    (w, h, planes)
}

fn gdalwarp(args: &[&str]) {
    let out = Command::new("gdalwarp")
        .args(["-q", "-overwrite"])
        .args(args)
        .output()
        .expect("gdalwarp (gdal-bin) runs");
    assert!(out.status.success(), "gdalwarp failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Mean and largest absolute difference of the RGB of `ours` and GDAL's planes where ours is
/// opaque; and how many pixels were compared.
fn diff(ours: &[u8], gdal: &[Vec<u8>]) -> (f64, u8, usize) {
    let (mut sum, mut max, mut n) = (0u64, 0u8, 0usize);
    for (i, px) in ours.chunks_exact(4).enumerate() {
        if px[3] < 255 {
            continue;
        }
        for c in 0..3 {
            let d = px[c].abs_diff(gdal[c][i]);
            sum += u64::from(d);
            max = max.max(d);
        }
        n += 1;
    }
    (sum as f64 / (3 * n.max(1)) as f64, max, n)
}

#[test]
fn landsat_warped_to_lonlat_matches_gdalwarp() {
    let path = landsat();
    assert!(is_imagery(&path), "six 8-bit bands are imagery");
    let dem = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/raster/srtm3_N42E001_andorra.tif");
    if dem.exists() {
        assert!(!is_imagery(&dem), "one 16-bit band is elevation");
    }
    let display = Display {
        bands: vec![3, 2, 1],
        alpha: None,
        stretch: None,
    };
    let img = RasterImage::open(&path, "l7", Some(display)).unwrap();
    let info = img.info();
    assert_eq!(info.size, [349, 352]);
    assert_eq!(info.bands, 6);
    assert!(info.hint.is_none(), "small: no hint about overviews");
    // The middle 80 % of the scene, in longitude/latitude.
    let e = info.extent;
    let to_ll = Transformer::new(&img.grid().crs, &Crs::from_epsg(4326).unwrap()).unwrap();
    let (x0, y0) = to_ll.transform(e[0] + (e[2] - e[0]) * 0.1, e[1] + (e[3] - e[1]) * 0.1).unwrap();
    let (x1, y1) = to_ll.transform(e[0] + (e[2] - e[0]) * 0.9, e[1] + (e[3] - e[1]) * 0.9).unwrap();
    let target = Target {
        crs: Crs::from_epsg(4326).unwrap(),
        extent: [x0, y0, x1, y1],
        width: 300,
        height: 280,
    };
    let plan = Plan::new(img.grid(), &target, 256).unwrap().expect("overlaps");
    assert_eq!(plan.level, 0, "no overviews: full resolution");
    let cache = TileCache::new(64 << 20);
    let ours = plan.compose_now(&img, &cache).unwrap();
    assert_eq!(ours.missing, 0);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gdal.tif");
    let te: Vec<String> = [x0, y0, x1, y1].iter().map(|v| format!("{v:.12}")).collect();
    gdalwarp(&[
        "-t_srs",
        "EPSG:4326",
        "-te",
        &te[0],
        &te[1],
        &te[2],
        &te[3],
        "-ts",
        "300",
        "280",
        "-r",
        "bilinear",
        path.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let (w, h, planes) = read_bands(&out, &[3, 2, 1]);
    assert_eq!((w, h), (300, 280));
    let (mean, max, n) = diff(&ours.rgba, &planes);
    eprintln!("Landsat → EPSG:4326 vs gdalwarp: {n} pixels, mean |Δ| {mean:.3}, max |Δ| {max}");
    assert!(n > 300 * 280 * 95 / 100, "nearly every pixel drawn ({n})");
    assert!(mean < 0.6, "mean difference {mean}");
    assert!(max <= 12, "largest difference {max}");
}

/// A north-up RGB GeoTIFF, tiled, in `epsg`, filled by `px(col, row)`.
fn write_tiff(path: &Path, epsg: u32, gt: [f64; 6], (w, h): (usize, usize), px: impl Fn(usize, usize) -> [u8; 3]) {
    let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
    let opts = RasterCreationOptions::from_iter(["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE"]);
    let mut ds = driver.create_with_band_type_with_options::<u8, _>(path, w, h, 3, &opts).unwrap();
    ds.set_geo_transform(&gt).unwrap();
    ds.set_spatial_ref(&SpatialRef::from_epsg(epsg).unwrap()).unwrap();
    for b in 0..3 {
        let mut band = ds.rasterband(b + 1).unwrap();
        for y0 in (0..h).step_by(256) {
            let rows = 256.min(h - y0);
            let data: Vec<u8> = (y0..y0 + rows)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .map(|(x, y)| px(x, y)[b])
                .collect();
            band.write((0, y0 as isize), (w, rows), &mut Buffer::new((w, rows), data)).unwrap();
        }
    }
}

#[test]
fn cgcs2000_image_lands_where_proj_puts_it_in_a_gauss_kruger_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lujiazui_4490.tif");
    // 0.0001° pixels near Lujiazui, grey with a red 3×3 block at columns/rows 300–302, 200–202.
    let gt = [121.46, 0.0001, 0.0, 31.26, 0.0, -0.0001];
    write_tiff(&path, 4490, gt, (600, 400), |x, y| {
        if (300..303).contains(&x) && (200..203).contains(&y) {
            [255, 0, 0]
        } else {
            [100, 100, 100]
        }
    });
    let img = RasterImage::open(&path, "cgcs", None).unwrap();
    assert_eq!(img.display().bands, vec![1, 2, 3]);
    let ws = Crs::from_epsg(4549).unwrap(); // CGCS2000 / 3-degree Gauss-Kruger CM 120E
    let (lon, lat) = (gt[0] + 301.5 * gt[1], gt[3] + 201.5 * gt[5]);
    let (x, y) = Transformer::new(&Crs::cgcs2000().unwrap(), &ws)
        .unwrap()
        .transform(lon, lat)
        .unwrap();
    // A 2 m/pixel view with the block off-centre.
    let extent = [x - 330.0, y - 270.0, x + 470.0, y + 530.0];
    let target = Target {
        crs: ws,
        extent,
        width: 400,
        height: 400,
    };
    let plan = Plan::new(img.grid(), &target, 256).unwrap().unwrap();
    let cache = TileCache::new(64 << 20);
    let c = plan.compose_now(&img, &cache).unwrap();
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
    for (i, p) in c.rgba.chunks_exact(4).enumerate() {
        if p[0] > 200 && p[1] < 60 && p[3] == 255 {
            sx += (i % 400) as f64 + 0.5;
            sy += (i / 400) as f64 + 0.5;
            n += 1.0;
        }
    }
    assert!(n > 0.0, "the red block is drawn");
    let (ex, ey) = ((x - extent[0]) / 2.0, (extent[3] - y) / 2.0);
    let (gx, gy) = (sx / n, sy / n);
    eprintln!("red block at ({gx:.2}, {gy:.2}), PROJ says ({ex:.2}, {ey:.2})");
    assert!(
        (gx - ex).abs() <= 1.0 && (gy - ey).abs() <= 1.0,
        "within a pixel: ({gx}, {gy}) vs ({ex}, {ey})"
    );
}

#[test]
fn overviews_are_built_beside_the_file_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.tif");
    let (w, h) = (4200usize, 4100usize);
    // A smooth field with stripes every 500 pixels, in a Gauss-Krüger zone.
    write_tiff(&path, 4549, [420_000.0, 0.5, 0.0, 3_460_000.0, 0.0, -0.5], (w, h), |x, y| {
        let s = if x % 500 < 40 { 255 } else { 0 };
        [(x * 255 / w) as u8, (y * 255 / h) as u8, s]
    });
    let before = std::fs::read(&path).unwrap();
    let info = raster::info(&path).unwrap();
    assert!(info.overviews.is_empty());
    let hint = info.hint.expect("a large file without overviews gets a hint");
    assert!(hint.contains("jingwei raster overviews"), "{hint}");

    // Seen whole without overviews it would be read whole: not drawn at that scale.
    {
        let img = RasterImage::open(&path, "big-no-ovr", None).unwrap();
        let whole = Target {
            crs: Crs::from_epsg(4549).unwrap(),
            extent: img.info().extent,
            width: 512,
            height: 500,
        };
        assert!(Plan::new(img.grid(), &whole, 16).unwrap().is_none(), "289 tiles for one view");
        let e = img.info().extent;
        let zoomed = Target {
            extent: [e[0], e[3] - 200.0, e[0] + 200.0, e[3]],
            ..whole
        };
        assert!(Plan::new(img.grid(), &zoomed, 16).unwrap().is_some(), "zoomed in, it shows");
    }
    let mut seen = Vec::new();
    let factors = raster::build_overviews(&path, &mut |f| {
        seen.push(f);
        true
    })
    .unwrap();
    assert_eq!(factors, vec![2, 4, 8, 16, 32]);
    assert!(seen.windows(2).all(|p| p[1] >= p[0]), "progress only grows");
    assert!(
        seen.last().is_some_and(|&f| f > 0.99),
        "progress reaches the end: {:?}",
        seen.last()
    );
    assert!(dir.path().join("big.tif.ovr").exists(), "an external .ovr");
    assert!(std::fs::read(&path).unwrap() == before, "the image itself is untouched");
    let info = raster::info(&path).unwrap();
    assert_eq!(info.overviews.len(), 5);
    assert_eq!(info.overviews[0], [2100, 2050]);
    assert!(info.hint.is_none());

    // The whole image in 512 pixels: an overview, equal to gdalwarp reading the same one.
    let img = RasterImage::open(&path, "big", None).unwrap();
    let e = img.info().extent;
    let target = Target {
        crs: Crs::from_epsg(4549).unwrap(),
        extent: e,
        width: 512,
        height: 500,
    };
    let plan = Plan::new(img.grid(), &target, 256).unwrap().unwrap();
    assert!(plan.level > 0, "an overview, not the full resolution");
    assert!(plan.tiles().len() <= 16, "{} tiles", plan.tiles().len());
    let cache = TileCache::new(64 << 20);
    let ours = plan.compose_now(&img, &cache).unwrap();
    let out = dir.path().join("gdal.tif");
    let te: Vec<String> = e.iter().map(|v| format!("{v}")).collect();
    gdalwarp(&[
        "-te",
        &te[0],
        &te[1],
        &te[2],
        &te[3],
        "-ts",
        "512",
        "500",
        "-r",
        "bilinear",
        path.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    let (_, _, planes) = read_bands(&out, &[1, 2, 3]);
    let (mean, max, n) = diff(&ours.rgba, &planes);
    eprintln!(
        "overview level {} vs gdalwarp: {n} pixels, mean |Δ| {mean:.3}, max |Δ| {max}",
        plan.level
    );
    assert!(n > 512 * 500 * 98 / 100);
    assert!(mean < 2.0, "mean difference {mean}");
}

#[test]
fn loader_fetches_on_workers_and_a_new_view_cancels_the_old_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.tif");
    write_tiff(&path, 4549, [420_000.0, 1.0, 0.0, 3_460_000.0, 0.0, -1.0], (2048, 2048), |x, y| {
        [(x % 256) as u8, (y % 256) as u8, 7]
    });
    let img: Arc<dyn TileSource> = Arc::new(RasterImage::open(&path, "grid", None).unwrap());
    let cache = Arc::new(TileCache::new(64 << 20));
    let loader = Loader::new(1, cache.clone(), Duration::from_millis(10));
    let all: Vec<(usize, u32, u32)> = (0..8).flat_map(|r| (0..8).map(move |c| (0, c, r))).collect();
    loader.want("view", vec![(img.clone(), all)]);
    // The view moves at once: only these two are wanted now.
    loader.want("view", vec![(img.clone(), vec![(0, 7, 7), (0, 6, 7)])]);
    assert!(loader.wait_idle(Duration::from_secs(30)));
    let h = loader.health("grid");
    assert!(h.tiles >= 2 && h.tiles <= 4, "the old queue was dropped: {} tiles fetched", h.tiles);
    assert_eq!(h.failed, 0);
    assert!(cache.contains(&(Arc::from("grid"), 0, 7, 7)));
    // A tile past the image's last column is empty, not an error.
    loader.want("view", vec![(img.clone(), vec![(0, 9, 0)])]);
    assert!(loader.wait_idle(Duration::from_secs(30)));
    assert_eq!(loader.health("grid").empty, 1);
    assert_eq!(cache.get(&(Arc::from("grid"), 0, 9, 0)), Some(None));
}

#[test]
fn legends_name_a_palettes_classes_and_an_images_bands() {
    use gdal::raster::{ColorEntry, ColorTable, PaletteInterpretation};
    let dir = tempfile::tempdir().unwrap();
    // A land-use map: classes 1 (most), 3, 7 used of a 10-colour palette; 0 is nodata.
    let path = dir.path().join("landuse.tif");
    {
        let driver = DriverManager::get_driver_by_name("GTiff").unwrap();
        let mut ds = driver.create_with_band_type::<u8, _>(&path, 300, 200, 1).unwrap();
        ds.set_geo_transform(&[420_000.0, 2.0, 0.0, 3_460_000.0, 0.0, -2.0]).unwrap();
        ds.set_spatial_ref(&SpatialRef::from_epsg(4549).unwrap()).unwrap();
        let mut band = ds.rasterband(1).unwrap();
        let data: Vec<u8> = (0..200)
            .flat_map(|y| (0..300).map(move |x| (x, y)))
            .map(|(x, y)| match (x, y) {
                (x, _) if x < 10 => 0,
                (x, y) if x < 200 && y < 150 => 1,
                (x, _) if x < 260 => 3,
                _ => 7,
            })
            .collect();
        band.write((0, 0), (300, 200), &mut Buffer::new((300, 200), data)).unwrap();
        band.set_no_data_value(Some(0.0)).unwrap();
        let mut ct = ColorTable::new(PaletteInterpretation::Rgba);
        for i in 0..10u16 {
            ct.set_color_entry(i, &ColorEntry::rgba(i as i16 * 20, 200 - i as i16 * 10, 50, 255));
        }
        band.set_color_table(&ct);
    }
    // Class names as GDAL keeps them beside a file (PAM).
    let names = ["", "耕地", "", "林地", "", "", "", "城镇住宅用地"];
    let cats: String = names.iter().map(|n| format!("<Category>{n}</Category>")).collect();
    std::fs::write(
        dir.path().join("landuse.tif.aux.xml"),
        format!("<PAMDataset><PAMRasterBand band=\"1\"><CategoryNames>{cats}</CategoryNames></PAMRasterBand></PAMDataset>"),
    )
    .unwrap();
    let img = RasterImage::open(&path, "landuse", None).unwrap();
    let legend = img.legend().unwrap();
    let got: Vec<(&str, [u8; 4])> = legend.items.iter().map(|i| (i.label.as_str(), i.rgba.unwrap())).collect();
    assert_eq!(
        got,
        vec![
            ("1 耕地", [20, 190, 50, 255]),
            ("3 林地", [60, 170, 50, 255]),
            ("7 城镇住宅用地", [140, 130, 50, 255])
        ],
        "the classes used, most common first, nodata left out"
    );

    // An RGB image: which band is drawn as which colour, over which range.
    let rgb = dir.path().join("rgb.tif");
    write_tiff(&rgb, 4549, [420_000.0, 1.0, 0.0, 3_460_000.0, 0.0, -1.0], (64, 64), |x, y| {
        [x as u8, y as u8, 9]
    });
    let shown = Display {
        bands: vec![3, 2, 1],
        alpha: None,
        stretch: Some(vec![[0.0, 9.0], [0.0, 63.0], [0.0, 63.0]]),
    };
    let img = RasterImage::open(&rgb, "rgb", Some(shown)).unwrap();
    let labels: Vec<String> = img.legend().unwrap().items.into_iter().map(|i| i.label).collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert!(labels[0].starts_with("band 3") && labels[0].ends_with("0 – 9"), "{labels:?}");
    assert!(labels[1].starts_with("band 2") && labels[1].ends_with("0 – 63"), "{labels:?}");
}
