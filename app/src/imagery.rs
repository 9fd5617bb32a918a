//! Imagery use cases: image files and tile packages as layers, their display, overviews, and
//! drawing them into the scene without making a frame wait — tiles come from a loader on
//! worker threads; a scene first shows what is at hand (a coarser level where the right one is
//! not in yet) and is sent again, sharper, as tiles arrive.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jingwei_layers::imagery::TileSource;
use jingwei_layers::imagery::cache::TileCache;
use jingwei_layers::imagery::loader::Loader;
use jingwei_layers::imagery::raster::{self, Display, RasterInfo};
use jingwei_layers::imagery::warp::{Composite, Plan, Target};
use jingwei_layers::{ImageryLayer, Workspace};
use jingwei_scene::scene::SceneData;
use serde::Serialize;

use crate::data::{ImageryDto, describe_imagery};
use crate::error::{Error, Result};
use crate::session::Session;
pub use crate::tiles::{DEFAULT_CACHE_BYTES, WORKERS};
use crate::tiles::{FIRST_WAIT, ImageryState, MAX_TILES, Part, Pending, watch};
pub use jingwei_services::ServiceSpec;

/// A plan for `layer` into `t`, or `None` when it does not show there.
fn plan_of(layer: &ImageryLayer, t: &Target) -> Option<(Arc<dyn TileSource>, Plan)> {
    let src = layer.source.clone()?;
    let plan = Plan::new(src.grid(), t, MAX_TILES).ok()??;
    Some((src, plan))
}

fn missing(loader: &Loader, src: &dyn TileSource, plan: &Plan) -> usize {
    let key: Arc<str> = Arc::from(src.key());
    plan.tiles()
        .iter()
        .filter(|t| !loader.cache().contains(&(key.clone(), t.0, t.1, t.2)))
        .count()
}

/// Draw `layer` into `t` now, reading every tile it needs (batch renders, reports, tests).
pub fn compose_now(layer: &ImageryLayer, t: &Target, cache: &TileCache) -> Option<Composite> {
    let (src, plan) = plan_of(layer, t)?;
    plan.compose_now(src.as_ref(), cache).ok()
}

/// What an imagery layer's colours mean, for the layer tree.
#[derive(Debug, Clone, Default, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct LegendDto {
    /// The imagery layer.
    pub layer_id: String,
    /// Swatches and icons with labels.
    pub items: Vec<LegendItemDto>,
    /// A legend picture the service drew, as a `data:` URL.
    pub image: Option<String>,
    /// Why there is no legend, when asking for it failed (the layer stays as it is).
    pub error: Option<String>,
}

/// One legend entry.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct LegendItemDto {
    /// What it stands for.
    pub label: String,
    /// A swatch's colour, `#rrggbb` or `rgba(…)`.
    pub color: Option<String>,
    /// An icon, as a `data:` URL.
    pub icon: Option<String>,
}

/// Image bytes as a `data:` URL (the type read from their first bytes).
fn data_url(bytes: &[u8]) -> String {
    let mime = if bytes.starts_with(&[0xFF, 0xD8]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else {
        "image/png"
    };
    format!("data:{mime};base64,{}", crate::files::base64(bytes))
}

impl LegendDto {
    /// The DTO of a core legend.
    pub fn of(layer_id: &str, l: jingwei_layers::imagery::Legend) -> LegendDto {
        LegendDto {
            layer_id: layer_id.to_owned(),
            items: l
                .items
                .into_iter()
                .map(|i| LegendItemDto {
                    label: i.label,
                    color: i.rgba.map(|[r, g, b, a]| {
                        if a == 255 {
                            format!("#{r:02x}{g:02x}{b:02x}")
                        } else {
                            format!("rgba({r},{g},{b},{:.3})", f64::from(a) / 255.0)
                        }
                    }),
                    icon: i.icon.as_deref().map(data_url),
                })
                .collect(),
            image: l.image.as_deref().map(data_url),
            error: None,
        }
    }
}

/// One imagery layer's picture of a small area (a case's site): before and after.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct ChipDto {
    /// The imagery layer.
    pub layer_id: String,
    /// Its title.
    pub title: String,
    /// When it was taken, as far as its name or metadata say (`2023`, `2023-05-01`).
    pub epoch: Option<String>,
    /// Pixels across and down.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// The picture, PNG.
    #[ts(type = "string")]
    #[serde(serialize_with = "as_base64")]
    pub png: Vec<u8>,
}

fn as_base64<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&crate::files::base64(b))
}

/// The epoch a title or file name states: an 8-digit date `20230501` or `2023-05-01`, else a
/// year 1950–2099.
pub fn epoch_of(name: &str) -> Option<String> {
    let digits: Vec<(usize, String)> = {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut start = 0;
        for (i, c) in name.char_indices().chain(std::iter::once((name.len(), ' '))) {
            if c.is_ascii_digit() || (c == '-' && !cur.is_empty() && cur.len() < 8) {
                if cur.is_empty() {
                    start = i;
                }
                cur.push(c);
            } else if !cur.is_empty() {
                out.push((start, std::mem::take(&mut cur)));
            }
        }
        out
    };
    let year_ok = |y: &str| y.parse::<u32>().is_ok_and(|y| (1950..2100).contains(&y));
    for (_, d) in &digits {
        let plain: String = d.chars().filter(char::is_ascii_digit).collect();
        if plain.len() == 8 && year_ok(&plain[..4]) {
            let (m, dd) = (plain[4..6].parse::<u32>().unwrap_or(0), plain[6..8].parse::<u32>().unwrap_or(0));
            if (1..=12).contains(&m) && (1..=31).contains(&dd) {
                return Some(format!("{}-{}-{}", &plain[..4], &plain[4..6], &plain[6..8]));
            }
        }
    }
    digits
        .iter()
        .flat_map(|(_, d)| d.split('-'))
        .find(|d| d.len() == 4 && year_ok(d))
        .map(str::to_owned)
}

/// Every open imagery layer's picture of `bbox` (workspace coordinates) widened by a third, a
/// square of `px` pixels, oldest epoch first; layers with nothing there are left out.
pub fn chips(ws: &Workspace, bbox: [f64; 4], px: u32) -> Vec<ChipDto> {
    let (cx, cy) = ((bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0);
    let half = ((bbox[2] - bbox[0]).max(bbox[3] - bbox[1]) * 0.5 * 1.33).max(30.0);
    let t = Target {
        crs: ws.crs.clone(),
        extent: [cx - half, cy - half, cx + half, cy + half],
        width: px,
        height: px,
    };
    let cache = TileCache::new(64 << 20);
    let mut out: Vec<ChipDto> = ws
        .imagery
        .iter()
        .filter_map(|l| {
            let c = compose_now(l, &t, &cache)?;
            if !c.rgba.chunks_exact(4).any(|p| p[3] > 0) {
                return None;
            }
            let tile = jingwei_layers::imagery::Tile {
                width: c.width,
                height: c.height,
                rgba: c.rgba,
            };
            let png = jingwei_layers::imagery::encode_png(&tile).ok()?;
            let path = l.spec.get("path").and_then(|p| p.as_str()).unwrap_or("");
            Some(ChipDto {
                layer_id: l.id.clone(),
                title: l.title.clone(),
                epoch: epoch_of(&l.title).or_else(|| epoch_of(Path::new(path).file_name().and_then(|f| f.to_str()).unwrap_or(""))),
                width: c.width,
                height: c.height,
                png,
            })
        })
        .collect();
    out.sort_by(|a, b| a.epoch.cmp(&b.epoch));
    out
}

/// The disk cache of map services' tiles: `JINGWEI_TILE_DISK_MB` megabytes (default 2048) in
/// the user's cache folder.
pub fn disk_cache() -> jingwei_services::DiskCache {
    jingwei_services::DiskCache {
        dir: crate::files::cache_dir().join("tiles"),
        limit_bytes: std::env::var("JINGWEI_TILE_DISK_MB")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(2048)
            << 20,
    }
}

/// Open a map service layer for a workspace in `ws_crs` as an imagery layer with `id`.
pub fn open_service(id: &str, spec: &jingwei_services::ServiceSpec, ws_crs: &jingwei_layers::Crs) -> Result<ImageryLayer> {
    let o = jingwei_services::open(spec, ws_crs, Some(&disk_cache()))?;
    Ok(ImageryLayer::new(id, &o.title, spec.to_value(), o.source, ws_crs, o.detail, None)?)
}

/// Open the imagery layers of `ws` that the core left closed (map services), in place; one
/// that cannot be reached stays closed with the reason as its detail.
pub fn open_closed_services(ws: &mut Workspace) {
    let crs = ws.crs.clone();
    for l in ws.imagery.iter_mut().filter(|l| l.source.is_none()) {
        if l.spec.get("kind").and_then(|k| k.as_str()) == Some("file") {
            continue;
        }
        let opened = jingwei_services::ServiceSpec::from_value(&l.spec)
            .map_err(Error::from)
            .and_then(|spec| open_service(&l.id, &spec, &crs));
        match opened {
            Ok(mut o) => {
                (o.title, o.visible, o.opacity) = (l.title.clone(), l.visible, l.opacity);
                *l = o;
            }
            Err(e) => l.detail = e.to_string(),
        }
    }
}

/// Package a service's tiles over `bbox` (CGCS2000 lon/lat) at `levels` (from the coarsest,
/// 0) into `out` (`.mbtiles` or `.gpkg`), resuming what an earlier run wrote
/// (`jingwei tiles package`). The matrix set is chosen for the area's own Gauss-Krüger zone
/// when the spec leaves it open.
pub fn package_service(
    spec: &jingwei_services::ServiceSpec,
    bbox: [f64; 4],
    levels: (usize, usize),
    out: &Path,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<jingwei_layers::imagery::package::PackageReport> {
    crate::data::check_lonlat(bbox[0], bbox[1])?;
    crate::data::check_lonlat(bbox[2], bbox[3])?;
    if !(bbox[0] < bbox[2] && bbox[1] < bbox[3]) {
        return Err(Error::Invalid(format!(
            "bbox {bbox:?}: give west,south,east,north with west < east and south < north"
        )));
    }
    let crs = Workspace::for_lonlat((bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0)?.crs;
    let o = jingwei_services::open(spec, &crs, Some(&disk_cache()))?;
    Ok(jingwei_layers::imagery::package::package(
        o.source.as_ref(),
        bbox,
        levels,
        out,
        progress,
    )?)
}

fn data_check_bbox(b: [f64; 4]) -> Result<()> {
    crate::data::check_lonlat(b[0], b[1])?;
    crate::data::check_lonlat(b[2], b[3])?;
    if !(b[0] < b[2] && b[1] < b[3]) {
        return Err(Error::Invalid(format!(
            "bbox {b:?}: give west,south,east,north with west < east and south < north"
        )));
    }
    Ok(())
}

/// A raster file's description (`jingwei raster info`).
pub fn raster_info(path: &Path) -> Result<RasterInfo> {
    Ok(raster::info(path)?)
}

/// Build a raster's overviews into an external `.ovr` (`jingwei raster overviews`); `progress`
/// gets 0–1 and returns false to cancel. Returns the factors built.
pub fn build_overviews(path: &Path, progress: &mut dyn FnMut(f64) -> bool) -> Result<Vec<i32>> {
    Ok(raster::build_overviews(path, progress)?)
}

/// Parse a band list such as `3,2,1` (red, green, blue) or `1` (grey).
pub fn parse_bands(s: &str) -> Result<Vec<usize>> {
    let bands: Vec<usize> = s
        .split(',')
        .map(|b| b.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::Invalid(format!("bands '{s}': numbers from 1, as R,G,B (e.g. 3,2,1) or one band")))?;
    if !matches!(bands.len(), 1 | 3) || bands.contains(&0) {
        return Err(Error::Invalid(format!("bands '{s}': give three (R,G,B) or one, numbered from 1")));
    }
    Ok(bands)
}

/// Show an imagery file's `bands` (`None`: those it names itself) and stretch each over its
/// 2nd–98th percentile when `stretch`: the layer is opened again with that display.
pub fn set_display(ws: &mut Workspace, id: &str, bands: Option<Vec<usize>>, stretch: bool) -> Result<()> {
    let i = ws
        .imagery
        .iter()
        .position(|l| l.id == id)
        .ok_or_else(|| Error::NoLayer(id.into()))?;
    let l = &ws.imagery[i];
    let path = l
        .spec
        .get("path")
        .and_then(|p| p.as_str())
        .filter(|_| l.spec.get("kind").and_then(|k| k.as_str()) == Some("file"))
        .ok_or_else(|| Error::Invalid(format!("imagery layer '{id}' is not a file: its bands are the service's")))?
        .to_owned();
    let bands = match bands {
        Some(b) => b,
        None => raster::RasterImage::open(Path::new(&path), "probe", None)?.display().bands.clone(),
    };
    let stretch = if stretch {
        Some(raster::stretch_of(Path::new(&path), &bands)?)
    } else {
        None
    };
    let display = Display {
        bands,
        alpha: None,
        stretch,
    };
    let mut layer = ImageryLayer::open_file(id, Path::new(&path), Some(display), &ws.crs)?;
    let old = &ws.imagery[i];
    (layer.title, layer.visible, layer.opacity) = (old.title.clone(), old.visible, old.opacity);
    ws.imagery[i] = layer;
    Ok(())
}

impl Session {
    pub(crate) fn imagery_state(&self) -> Result<Arc<ImageryState>> {
        let mut g = self.imagery.lock()?;
        Ok(g.get_or_insert_with(|| Arc::new(ImageryState::new(self.tile_cache_bytes))).clone())
    }

    /// Build `scene`'s imagery with what the loader has within [`FIRST_WAIT`]; what is still
    /// coming is finished by a watcher that sends the scene again.
    pub(crate) fn scene_with_imagery(
        &self,
        ws: &Workspace,
        build: impl FnOnce(jingwei_scene::scene::ComposeImagery<'_>) -> SceneData,
    ) -> Result<SceneData> {
        self.scene_with_imagery_shown(ws, &|_, v| v, build)
    }

    /// [`Session::scene_with_imagery`] with the imagery layers' visibility decided by `shown`
    /// (one side of a comparison).
    pub(crate) fn scene_with_imagery_shown(
        &self,
        ws: &Workspace,
        shown: jingwei_scene::scene::Shown<'_>,
        build: impl FnOnce(jingwei_scene::scene::ComposeImagery<'_>) -> SceneData,
    ) -> Result<SceneData> {
        if !ws.imagery.iter().any(|l| shown(&l.id, l.visible) && l.source.is_some()) {
            if let Some(st) = self.imagery.lock()?.as_ref() {
                let mut w = st.watch.lock()?;
                w.pending = None;
                w.current = None;
                w.detail.clear();
            }
            return Ok(build(&|_, _| None));
        }
        let st = self.imagery_state()?;
        let loader = st.loader.clone();
        let deadline = Instant::now() + FIRST_WAIT;
        let parts: std::cell::RefCell<Vec<(String, Arc<dyn TileSource>, Plan)>> = Default::default();
        let compose = |l: &ImageryLayer, t: &Target| -> Option<Composite> {
            let (src, plan) = plan_of(l, t)?;
            let mut tiles = plan.preview_tiles();
            tiles.extend(plan.tiles());
            loader.want(&format!("scene:{}", l.id), vec![(src.clone(), tiles)]);
            let mut seen = loader.done();
            while missing(&loader, src.as_ref(), &plan) > 0 {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                seen = loader.wait_progress(seen, deadline - now);
            }
            let c = plan.compose_cached(src.as_ref(), loader.cache());
            parts.borrow_mut().push((l.id.clone(), src, plan));
            Some(c)
        };
        let scene = build(&compose);
        let parts: Vec<Part> = parts
            .into_inner()
            .into_iter()
            .filter_map(|(id, source, plan)| {
                let image = scene.images.iter().position(|d| d.layer_id == id && d.missing > 0)?;
                Some(Part { image, source, plan })
            })
            .collect();
        let mut w = st.watch.lock()?;
        w.pending = (!parts.is_empty()).then(|| Pending {
            scene: scene.clone(),
            parts,
        });
        w.current = Some((scene.clone(), scene.images.len()));
        w.detail.clear();
        self.start_watcher(&st, &mut w)?;
        Ok(scene)
    }

    /// Start the watcher when something is pending and none runs. The flag changes only under
    /// the watch lock: a watcher that is ending has already cleared it, so a scene is never
    /// left without one.
    fn start_watcher(&self, st: &Arc<ImageryState>, w: &mut crate::tiles::Watch) -> Result<()> {
        if w.pending.is_some() && !w.watching {
            let (loader, watch_state, sink) = (st.loader.clone(), st.watch.clone(), self.scene_sink.clone());
            std::thread::Builder::new()
                .name("jingwei-imagery".into())
                .spawn(move || watch(&loader, &watch_state, &sink))
                .map_err(|e| Error::Render(format!("cannot start the imagery thread: {e}")))?;
            w.watching = true;
        }
        Ok(())
    }

    /// Sharpen the imagery under `view` (a `width × height` canvas): where the scene's drape of a
    /// layer is coarser than the view needs by more than half again, a detail drape of what the
    /// view sees is added at the view's resolution (at most [`jingwei_scene::imagery::MAX_TEXTURE`]
    /// pixels, never finer than the imagery), its tiles fetched meanwhile; a view that moved
    /// little keeps the detail it has. Returns whether a new scene was sent.
    pub fn refine_imagery(&self, view: &jingwei_scene::view::View, width: u32, height: u32) -> Result<bool> {
        let Some(st) = self.imagery.lock()?.clone() else { return Ok(false) };
        if width == 0 || height == 0 {
            return Ok(false);
        }
        // Asked on every frame: a workspace busy elsewhere (a rules run) is not waited for —
        // the frame is drawn as it is.
        let guard = match self.workspace.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::WouldBlock) => return Ok(false),
            Err(std::sync::TryLockError::Poisoned(_)) => return Err(Error::Poisoned),
        };
        let Some(ws) = guard.as_ref() else { return Ok(false) };
        {
            let frame = jingwei_scene::local::LocalFrame::new(ws.origin_xy);
            // The ground the view sees: a 5 × 5 grid of its pixels on y = 0, within four times
            // the camera's distance of its target.
            let reach = f64::from(view.distance_m) * 4.0;
            let t = view.target;
            let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
            for j in 0..5 {
                for i in 0..5 {
                    let (px, py) = (width as f32 * i as f32 / 4.0, height as f32 * j as f32 / 4.0);
                    let Some([lx, lz]) = view.ground_point(px.min(width as f32 - 1.0), py.min(height as f32 - 1.0), width, height) else {
                        continue;
                    };
                    let (dx, dz) = (f64::from(lx - t[0]), f64::from(lz - t[2]));
                    let d = dx.hypot(dz);
                    let k = if d > reach { reach / d } else { 1.0 };
                    let (x, y) = frame.to_world(f64::from(t[0]) + dx * k, f64::from(t[2]) + dz * k);
                    b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
                }
            }
            if !(b[0] < b[2] && b[1] < b[3]) {
                return Ok(false);
            }
            let need = f64::from(view.metres_per_pixel(height)).max(0.01);
            let mut w = st.watch.lock()?;
            let Some((current, base_count)) = w.current.clone() else {
                return Ok(false);
            };
            let mut wanted: Vec<(String, Target)> = Vec::new();
            for d in current.images.iter().take(base_count) {
                let Some(l) = ws.imagery.iter().find(|l| l.id == d.layer_id && l.visible) else {
                    continue;
                };
                let xs = d.mesh.positions.iter().map(|p| p[0]);
                let span = f64::from(xs.clone().fold(f32::MIN, f32::max) - xs.fold(f32::MAX, f32::min));
                let base_res = span / f64::from(d.width.max(1));
                if need * 1.5 >= base_res {
                    continue;
                }
                let Some(mut tg) = jingwei_scene::imagery::target(ws, l, Some(b)) else {
                    continue;
                };
                // At the view's resolution, within the texture limit and the imagery's own.
                let (ew, eh) = (tg.extent[2] - tg.extent[0], tg.extent[3] - tg.extent[1]);
                let at_view = (ew.max(eh) / need).ceil().min(f64::from(jingwei_scene::imagery::MAX_TEXTURE));
                if at_view < f64::from(tg.width.max(tg.height)) {
                    let s = at_view / ew.max(eh);
                    (tg.width, tg.height) = (((ew * s).round() as u32).max(1), ((eh * s).round() as u32).max(1));
                }
                // No gain when the imagery itself is no finer than the drape already shows.
                let res = (tg.extent[2] - tg.extent[0]) / f64::from(tg.width.max(1));
                if res * 1.5 > base_res {
                    continue;
                }
                wanted.push((l.id.clone(), tg));
            }
            // The same detail as now (the view moved less than a fifth, the scale by less than a
            // third): nothing to do.
            let same = wanted.len() == w.detail.len()
                && wanted.iter().zip(&w.detail).all(|((id, t), (did, de, dw))| {
                    let e = t.extent;
                    let shift = (e[0] - de[0]).abs().max((e[3] - de[3]).abs());
                    id == did && shift < (e[2] - e[0]) * 0.2 && (f64::from(t.width) / f64::from(*dw) - 1.0).abs() < 0.33
                });
            if same {
                return Ok(false);
            }
            let mut scene = current.clone();
            scene.images.truncate(base_count);
            let mut parts: Vec<Part> = w
                .pending
                .take()
                .map(|p| p.parts.into_iter().filter(|p| p.image < base_count).collect())
                .unwrap_or_default();
            w.detail.clear();
            for (id, tg) in wanted {
                let Some(l) = ws.imagery.iter().find(|l| l.id == id) else {
                    continue;
                };
                let Some((src, plan)) = plan_of(l, &tg) else { continue };
                let mut tiles = plan.preview_tiles();
                tiles.extend(plan.tiles());
                st.loader.want(&format!("detail:{id}"), vec![(src.clone(), tiles)]);
                let c = plan.compose_cached(src.as_ref(), st.loader.cache());
                let mut d =
                    jingwei_scene::imagery::drape(&format!("{id}#detail"), l.opacity, &tg, &c, ws.origin_xy, scene.ground.as_deref());
                // Just above the whole-scene drape of the same layer.
                for p in &mut d.mesh.positions {
                    p[1] += 0.05;
                }
                if d.missing > 0 {
                    parts.push(Part {
                        image: scene.images.len(),
                        source: src,
                        plan,
                    });
                }
                w.detail.push((id, tg.extent, tg.width));
                scene.images.push(d);
            }
            w.pending = (!parts.is_empty()).then(|| Pending {
                scene: scene.clone(),
                parts,
            });
            w.current = Some((scene.clone(), base_count));
            if let Ok(s) = self.scene_sink.lock()
                && let Some(sink) = s.as_ref()
            {
                sink(scene);
            }
            self.start_watcher(&st, &mut w)?;
            Ok(true)
        }
    }

    /// True while a scene's imagery is still coming.
    pub fn imagery_pending(&self) -> bool {
        self.imagery
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(|st| st.watch.lock().map(|w| w.pending.is_some()).unwrap_or(false)))
            .unwrap_or(false)
    }

    /// Wait until no scene's imagery is coming, or `timeout`; true when complete.
    pub fn wait_imagery(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while self.imagery_pending() {
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// The workspace's imagery layers for the tree.
    pub fn imagery(&self) -> Result<Vec<ImageryDto>> {
        let st = self.imagery.lock()?.clone();
        self.with_workspace(|ws| Ok(describe_imagery(ws, st.as_ref().map(|s| s.loader.as_ref()))))
    }

    /// Show other bands of an imagery file (see [`set_display`]) and redraw.
    pub fn set_imagery_bands(&self, id: &str, bands: &str, stretch: bool) -> Result<Vec<ImageryDto>> {
        let bands = parse_bands(bands)?;
        self.with_workspace_mut(|ws| {
            set_display(ws, id, Some(bands), stretch)?;
            self.rebuild(ws)
        })?;
        self.imagery()
    }

    /// Open the saved map service layers of a workspace being opened (see
    /// [`open_closed_services`]).
    pub(crate) fn open_services(&self, ws: &mut Workspace) {
        open_closed_services(ws);
    }

    /// What the visible map service layers (WMS GetFeatureInfo) say is at `ws_crs` point
    /// (`x`, `y`) seen at `mpp` metres per pixel; a service that fails is left out. Called
    /// without holding the workspace: the requests go over the network.
    pub(crate) fn identify_services(
        layers: &[(String, Arc<dyn TileSource>)],
        ws_crs: &jingwei_layers::Crs,
        (x, y): (f64, f64),
        mpp: f64,
        data: Option<jingwei_layers::area::LonLatBox>,
    ) -> Vec<crate::session::Identified> {
        let mut out = Vec::new();
        for (title, src) in layers {
            let crs = &src.grid().crs;
            let Ok(t) = jingwei_layers::Transformer::new(ws_crs, crs) else {
                continue;
            };
            // A click outside the service CRS's area of use asks nothing of it.
            let (Ok((sx, sy)), Ok((sx2, sy2))) = (t.point(x, y, data), t.transform(x + mpp, y)) else {
                continue;
            };
            let res = (sx2 - sx).hypot(sy2 - sy).max(1e-12);
            if let Ok(found) = src.feature_info(sx, sy, res) {
                out.extend(found.into_iter().enumerate().map(|(i, attributes)| crate::session::Identified {
                    layer: title.clone(),
                    fid: i as i64,
                    attributes,
                }));
            }
        }
        out
    }

    /// The visible imagery over `bbox` (CGCS2000 west, south, east, north) as one PNG of
    /// `width × height` pixels in longitude/latitude, layers blended bottom to top with their
    /// opacity — the 2D preview's imagery when there is no 3D device.
    pub fn imagery_2d(&self, bbox: [f64; 4], width: u32, height: u32) -> Result<Vec<u8>> {
        data_check_bbox(bbox)?;
        if !(1..=4096).contains(&width) || !(1..=4096).contains(&height) {
            return Err(Error::Invalid(format!("an image of {width}×{height} pixels: give 1 to 4096 each")));
        }
        let t = Target {
            crs: jingwei_layers::Crs::cgcs2000()?,
            extent: bbox,
            width,
            height,
        };
        let tile = self.compose_visible(&t)?;
        jingwei_layers::imagery::encode_png(&tile).map_err(|e| Error::Render(e.to_string()))
    }

    /// The visible imagery layers composed for a target (any CRS), fetched here and now
    /// through the session's tile cache: transparent where there is none.
    pub fn compose_visible(&self, t: &Target) -> Result<jingwei_layers::imagery::Tile> {
        let st = self.imagery_state()?;
        // The visible layers' sources and opacities, taken under the lock; the tiles (a
        // service's over the network) are read after it is released.
        let layers = self.with_workspace(|ws| Ok(visible_sources(ws)))?;
        Ok(compose_layers(&layers, t, st.loader.cache()))
    }

    /// The layers a map service offers: identifier and title.
    pub fn service_layers(&self, spec: &jingwei_services::ServiceSpec) -> Result<Vec<(String, String)>> {
        Ok(jingwei_services::list_layers(spec)?)
    }

    /// Add a map service layer (WMTS, WMS, XYZ) to the workspace, under the vector layers and
    /// over the imagery already there. Nothing is fetched until then: a service is reached
    /// only once the user configured it.
    pub fn add_service(&self, spec: &jingwei_services::ServiceSpec) -> Result<crate::data::WorkspaceDto> {
        // Capabilities are read without holding the workspace.
        let crs = self.with_workspace(|ws| Ok(ws.crs.clone()))?;
        let base = spec.layer.clone().unwrap_or_else(|| spec.kind.clone());
        let layer = open_service(&base, spec, &crs)?;
        self.with_workspace_mut(|ws| {
            let mut layer = layer;
            layer.id = ws.unique_imagery_id(&base);
            ws.imagery.push(layer);
            self.rebuild(ws)?;
            Ok(crate::data::describe(ws))
        })
    }

    /// The case's site on every imagery layer of the workspace (before and after), `px`
    /// pixels square.
    pub fn case_imagery(&self, key: &str, px: u32) -> Result<Vec<ChipDto>> {
        if !(16..=2048).contains(&px) {
            return Err(Error::Invalid(format!("a picture of {px} pixels: give 16 to 2048")));
        }
        self.with_workspace(|ws| {
            let case = self.with_store_in(ws, |s| Ok(s.case(key)?))?;
            let g = case
                .geometry
                .as_ref()
                .ok_or_else(|| Error::Missing(format!("case {key} has no place")))?;
            let b = crate::session::bbox_of(g).ok_or_else(|| Error::Missing(format!("case {key} has no place")))?;
            Ok(chips(ws, b, px))
        })
    }

    /// What imagery layer `id`'s colours mean: a file's classes or bands, a service's legend
    /// picture or symbols. The service is asked without holding the workspace; a failure
    /// is said in the answer's `error`, never fatal to the layer.
    pub fn imagery_legend(&self, id: &str) -> Result<LegendDto> {
        let src = self.with_workspace(|ws| {
            let l = ws
                .imagery
                .iter()
                .find(|l| l.id == id)
                .ok_or_else(|| Error::Missing(format!("no imagery layer '{id}'")))?;
            Ok(l.source.clone())
        })?;
        let Some(src) = src else {
            return Ok(LegendDto {
                layer_id: id.to_owned(),
                error: Some(format!("imagery layer '{id}' is closed")),
                ..Default::default()
            });
        };
        Ok(match src.legend() {
            Ok(l) => LegendDto::of(id, l),
            Err(e) => LegendDto {
                layer_id: id.to_owned(),
                error: Some(e.to_string()),
                ..Default::default()
            },
        })
    }

    /// Bytes of tiles cached now, the most so far, and the limit.
    pub fn tile_cache_usage(&self) -> Result<(usize, usize, usize)> {
        Ok(self.imagery_state()?.loader.cache().usage())
    }
}

/// Imagery layers (source, opacity; bottom first) composed for a target, the tiles fetched
/// here and now through `cache`: transparent where there is none.
pub fn compose_layers(layers: &[(Arc<dyn TileSource>, f32)], t: &Target, cache: &TileCache) -> jingwei_layers::imagery::Tile {
    let (width, height) = (t.width, t.height);
    let mut out = vec![0u8; (width * height * 4) as usize];
    for (src, opacity) in layers {
        let opacity = *opacity;
        let Some(plan) = Plan::new(src.grid(), t, MAX_TILES).ok().flatten() else {
            continue;
        };
        let Ok(c) = plan.compose_now(src.as_ref(), cache) else {
            continue;
        };
        for (o, p) in out.chunks_exact_mut(4).zip(c.rgba.chunks_exact(4)) {
            // Straight alpha "over".
            let a = f32::from(p[3]) / 255.0 * opacity;
            let b = f32::from(o[3]) / 255.0;
            let ao = a + b * (1.0 - a);
            if ao <= 0.0 {
                continue;
            }
            for k in 0..3 {
                o[k] = ((f32::from(p[k]) * a + f32::from(o[k]) * b * (1.0 - a)) / ao).round() as u8;
            }
            o[3] = (ao * 255.0).round() as u8;
        }
    }
    jingwei_layers::imagery::Tile { width, height, rgba: out }
}

/// A workspace's visible imagery composed for a target, for batch use (the CLI's prints) with a
/// cache of its own.
pub fn compose_workspace(ws: &Workspace, t: &Target) -> jingwei_layers::imagery::Tile {
    compose_layers(&visible_sources(ws), t, &TileCache::new(256 << 20))
}

/// The visible imagery layers' sources and opacities, bottom first.
pub(crate) fn visible_sources(ws: &Workspace) -> Vec<(Arc<dyn TileSource>, f32)> {
    ws.imagery
        .iter()
        .filter(|l| l.visible && l.opacity > 0.0)
        .filter_map(|l| Some((l.source.clone()?, l.opacity)))
        .collect()
}
