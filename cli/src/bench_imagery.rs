//! `jingwei-tools bench-imagery --file big.tif [--cache-mb 256] [--wmts URL]`:
//! the imagery figures of BENCHMARKS.md, as one JSON line — the first frame of a large tiled
//! GeoTIFF with overviews (opened, drawn whole at 1600×900 through the loader and cache as the
//! app does), the peak memory while panning across it at 0.5 m per pixel under a cache limit,
//! tiles per second read from the file, and tiles per second from a local WMTS.
//! `scripts/bench-imagery.sh` makes the file and starts the WMTS.

use anyhow::{Context, Result};
use jingwei_layers::Crs;
use jingwei_layers::imagery::TileSource;
use jingwei_layers::imagery::cache::TileCache;
use jingwei_layers::imagery::loader::Loader;
use jingwei_layers::imagery::raster::RasterImage;
use jingwei_layers::imagery::warp::{Plan, Target};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The GeoTIFF to measure.
    #[arg(long)]
    file: PathBuf,
    /// The tile cache's limit, MB.
    #[arg(long, default_value_t = 256)]
    cache_mb: usize,
    /// A WMTS capabilities URL (e.g. a local MapProxy) to measure tiles per second from.
    #[arg(long)]
    wmts: Option<String>,
    /// The WMTS layer.
    #[arg(long)]
    wmts_layer: Option<String>,
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Draw `t` as the app does: ask the loader, wait until every tile is in, compose.
fn frame(src: &Arc<dyn TileSource>, loader: &Loader, t: &Target) -> Result<(usize, usize)> {
    let plan = Plan::new(src.grid(), t, 256)?.context("the view misses the image")?;
    let mut tiles = plan.preview_tiles();
    tiles.extend(plan.tiles());
    let n = tiles.len();
    loader.want("bench", vec![(src.clone(), tiles)]);
    loader.wait_idle(Duration::from_secs(120));
    let c = plan.compose_cached(src.as_ref(), loader.cache());
    Ok((n, c.missing))
}

pub fn run(a: Args) -> Result<ExitCode> {
    let size_gb = std::fs::metadata(&a.file)
        .with_context(|| format!("{}: cannot read", a.file.display()))?
        .len() as f64
        / 1e9;
    let rss0 = peak_rss_mb();
    let t0 = Instant::now();
    let src: Arc<dyn TileSource> = Arc::new(RasterImage::open(&a.file, "bench", None)?);
    let open_ms = t0.elapsed().as_secs_f64() * 1e3;
    let ws = Crs::from_epsg(4550)?;
    let e = src.grid().extent;
    let cache = Arc::new(TileCache::new(a.cache_mb << 20));
    let loader = Loader::new(jingwei_app::imagery::WORKERS, cache.clone(), Duration::from_millis(100));
    // The first frame: the whole image at 1600×900.
    let whole = Target {
        crs: ws.clone(),
        extent: e,
        width: 1600,
        height: 900,
    };
    let (first_tiles, missing) = frame(&src, &loader, &whole)?;
    let first_frame_ms = t0.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(missing == 0, "the first frame lacks {missing} tiles");
    // Panning at 0.5 m per pixel across the image, 200 views, each 1600×900 (800 × 450 m).
    let t1 = Instant::now();
    let done0 = loader.done();
    let (w, h) = (e[2] - e[0], e[3] - e[1]);
    let mut views = 0;
    for i in 0..200 {
        let f = f64::from(i) / 199.0;
        let (cx, cy) = (
            e[0] + 400.0 + (w - 800.0) * f,
            e[3] - 225.0 - (h - 450.0) * (0.5 + 0.4 * (f * 12.0).sin()),
        );
        let t = Target {
            crs: ws.clone(),
            extent: [cx - 400.0, cy - 225.0, cx + 400.0, cy + 225.0],
            width: 1600,
            height: 900,
        };
        frame(&src, &loader, &t)?;
        views += 1;
    }
    let pan_s = t1.elapsed().as_secs_f64();
    let tiles_read = loader.done() - done0;
    let (_, cache_peak, cache_limit) = cache.usage();
    let mut out = serde_json::json!({
        "file_gb": size_gb,
        "open_ms": open_ms,
        "first_frame_ms": first_frame_ms,
        "first_frame_tiles": first_tiles,
        "pan_views": views,
        "pan_s": pan_s,
        "file_tiles_per_s": tiles_read as f64 / pan_s,
        "cache_limit_mb": cache_limit >> 20,
        "cache_peak_mb": cache_peak >> 20,
        "rss_before_mb": rss0,
        "peak_rss_mb": peak_rss_mb(),
    });
    if let Some(url) = &a.wmts {
        let spec = jingwei_services::ServiceSpec {
            kind: "wmts".into(),
            url: url.clone(),
            layer: a.wmts_layer.clone(),
            ..Default::default()
        };
        let o = jingwei_services::open(&spec, &ws, None)?;
        let g = o.source.grid();
        let l = g.finest().context("no levels")?;
        let lv = &g.levels[l];
        // 600 tiles around the layer's centre at the finest level.
        let (cx, cy) = ((g.extent[0] + g.extent[2]) / 2.0, (g.extent[1] + g.extent[3]) / 2.0);
        let [sx, sy] = lv.tile_span();
        let (c0, r0) = (((cx - lv.origin[0]) / sx) as u32 - 12, ((lv.origin[1] - cy) / sy) as u32 - 12);
        let tiles: Vec<(usize, u32, u32)> = (0..24).flat_map(|r| (0..25).map(move |c| (l, c0 + c, r0 + r))).collect();
        let n = tiles.len();
        let wcache = Arc::new(TileCache::new(512 << 20));
        let wl = Loader::new(jingwei_app::imagery::WORKERS, wcache, Duration::from_millis(100));
        let t2 = Instant::now();
        wl.want("bench", vec![(o.source.clone(), tiles)]);
        wl.wait_idle(Duration::from_secs(600));
        let s = t2.elapsed().as_secs_f64();
        out["wmts_tiles"] = n.into();
        out["wmts_tiles_per_s"] = (n as f64 / s).into();
        out["wmts_health"] = serde_json::to_value(wl.health(o.source.key()))?;
    }
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}
