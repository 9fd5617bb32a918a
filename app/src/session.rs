//! The session: what one user has open, and the use cases of the map itself — open and add
//! data, the layer tree, identify, search, the attribute table, selection, measuring, framing
//! views, save and open. The case and emergency use cases are in their own modules and work
//! on the same session.

use geo::{BoundingRect, Geometry};
use jingwei_analysis::routing::RoadGraph;
use jingwei_cases::CaseStore;
use jingwei_layers::table::{Page, TableQuery};
use jingwei_layers::{FieldKind, Job, RepairMode, Workspace, WorkspaceLayer};
use jingwei_scene::extrude::HeightRule;
use jingwei_scene::scene::{Highlight, build_scene_with, is_building_layer};
use jingwei_scene::terrain::Ground;
use jingwei_scene::view::{LocalFrame, View};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::data::{self, WorkspaceDto};
use crate::error::{Error, Result};
use crate::files;
use crate::roles;

/// The command panel's feeds and the local replay server they come from.
pub(crate) struct FeedsState {
    pub(crate) _server: jingwei_feeds::server::ServerHandle,
    /// Name, feed, when it last answered.
    pub(crate) feeds: Vec<(String, jingwei_feeds::client::Feed, Option<String>)>,
}

pub use crate::tiles::SceneSink;

/// A pixel of the 3D view: the canvas it is on and the view that canvas shows.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
pub struct Pixel {
    /// Column, from the left.
    pub x: f32,
    /// Row, from the top.
    pub y: f32,
    /// Canvas width in pixels.
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// The view drawn on the canvas.
    pub view: View,
}

impl Pixel {
    /// A pixel of a canvas of at least one pixel, at finite coordinates, seen through a view with
    /// finite numbers.
    pub fn is_valid(&self) -> bool {
        let v = &self.view;
        self.width > 0
            && self.height > 0
            && self.x.is_finite()
            && self.y.is_finite()
            && v.target.iter().all(|c| c.is_finite())
            && [v.distance_m, v.pitch_deg, v.yaw_deg, v.fov_deg].iter().all(|c| c.is_finite())
            && v.distance_m > 0.0
            && v.fov_deg > 0.0
            && v.fov_deg < 180.0
    }
}

/// A canvas size, and the view it shows now (kept angles when a new view is framed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canvas {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The view shown now.
    pub current: Option<View>,
}

/// The sources of the open workspace, recorded with the findings of a rules run so that a case
/// report can draw its site map whichever front door found it.
#[derive(Debug, Clone, Default)]
pub enum Origin {
    /// Nothing open, or a workspace with no files behind it.
    #[default]
    None,
    /// A catalog.
    Catalog(PathBuf),
    /// A saved workspace, or files added by hand.
    Files,
}

/// What one user has open. Every method takes `&self`: the session is shared by the app's
/// commands (which may run at once) and locks each part only while it uses it.
pub struct Session {
    pub(crate) workspace: Mutex<Option<Workspace>>,
    pub(crate) origin: Mutex<Origin>,
    /// The workspace file (layers, view, cases, incidents); the default store when `None`.
    pub(crate) workspace_file: Mutex<Option<PathBuf>>,
    /// The store used when the workspace has no file of its own.
    default_store: PathBuf,
    /// The case and incident store, opened on first use.
    pub(crate) store: Mutex<Option<CaseStore>>,
    /// The road network (built on first use).
    pub(crate) graph: Mutex<Option<Arc<RoadGraph>>>,
    /// The attribute table's current row order (layer, query, rows), computed once per query.
    table: Mutex<Option<(String, TableQuery, Arc<Vec<u32>>)>>,
    /// What the scene highlights.
    highlight: Mutex<Highlight>,
    /// Feed events and open incidents (by source), always drawn on top.
    pub(crate) overlay: Mutex<BTreeMap<&'static str, Vec<(String, Geometry)>>>,
    /// The first scene's extent (local metres) and tallest building: the initial view.
    extent: Mutex<Option<([f32; 4], f32)>>,
    /// The terrain of the scene last built: clicks and measurements find the ground on it.
    ground: Mutex<Option<Arc<Ground>>>,
    /// Held while the demo opens, so that two first calls open it once.
    opening: Mutex<()>,
    /// The long job under way; `cancel_job` stops it.
    job: Mutex<Job>,
    /// Whether the panels work on a drill copy.
    pub(crate) drill: AtomicBool,
    /// The live feeds of the command panel (started on first use).
    pub(crate) feeds: tokio::sync::Mutex<Option<FeedsState>>,
    pub(crate) scene_sink: Arc<Mutex<Option<SceneSink>>>,
    /// The comparison under way (its sides' scenes go to `compare_sink`).
    pub(crate) compare: Mutex<Option<crate::compare::CompareRequest>>,
    pub(crate) compare_sink: Mutex<Option<crate::compare::CompareSink>>,
    /// The time slider over a date field.
    pub(crate) time_filter: Mutex<Option<crate::compare::TimeFilter>>,
    /// Tiles of imagery: cache, loader, the scene still waiting for them (made on first use).
    pub(crate) imagery: Mutex<Option<Arc<crate::tiles::ImageryState>>>,
    /// The tile cache's size.
    pub(crate) tile_cache_bytes: usize,
    /// The shapes of each step of the last what-if scenario (the time slider shows one).
    pub(crate) scenario: Mutex<Option<Vec<Vec<(String, Geometry)>>>>,
    /// The ground's opacity when it is made see-through (pipes beneath); `None`: opaque.
    ground_opacity: Mutex<Option<f32>>,
    /// The pipe network (built on first use): its layer's id and the graph.
    pub(crate) pipes: Mutex<Option<(String, Arc<jingwei_analysis::pipes::Network>)>>,
    /// The link to the shared store, when the user logged in to one.
    pub(crate) shared: Mutex<Option<crate::shared_link::SharedLink>>,
    /// Who acts (the audit trail's actor).
    actor: String,
}

impl Default for Session {
    fn default() -> Self {
        Session::new(files::demo_store(), files::actor(None))
    }
}

impl Session {
    /// A session with nothing open; cases and incidents of a workspace without a file of its
    /// own go to `default_store`; `actor` signs every change.
    pub fn new(default_store: PathBuf, actor: String) -> Session {
        // Tilesets named by http(s) URLs are read through the map-service client.
        jingwei_services::tileset::register();
        Session {
            workspace: Mutex::new(None),
            origin: Mutex::new(Origin::None),
            workspace_file: Mutex::new(None),
            default_store,
            store: Mutex::new(None),
            graph: Mutex::new(None),
            table: Mutex::new(None),
            highlight: Mutex::new(Highlight::default()),
            overlay: Mutex::new(BTreeMap::new()),
            extent: Mutex::new(None),
            ground: Mutex::new(None),
            opening: Mutex::new(()),
            job: Mutex::new(Job::new()),
            drill: AtomicBool::new(false),
            feeds: tokio::sync::Mutex::new(None),
            scene_sink: Arc::new(Mutex::new(None)),
            compare: Mutex::new(None),
            compare_sink: Mutex::new(None),
            time_filter: Mutex::new(None),
            imagery: Mutex::new(None),
            tile_cache_bytes: std::env::var("JINGWEI_TILE_CACHE_MB")
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .map_or(crate::tiles::DEFAULT_CACHE_BYTES, |mb| mb << 20),
            scenario: Mutex::new(None),
            ground_opacity: Mutex::new(None),
            pipes: Mutex::new(None),
            shared: Mutex::new(None),
            actor,
        }
    }

    /// Who signs the session's changes.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Send every new scene to `sink` (the renderer).
    pub fn set_scene_sink(&self, sink: SceneSink) -> Result<()> {
        *self.scene_sink.lock()? = Some(sink);
        Ok(())
    }

    /// Run `f` on the open workspace.
    pub fn with_workspace<T>(&self, f: impl FnOnce(&Workspace) -> Result<T>) -> Result<T> {
        let guard = self.workspace.lock()?;
        f(guard.as_ref().ok_or(Error::NoWorkspace)?)
    }

    pub(crate) fn with_workspace_mut<T>(&self, f: impl FnOnce(&mut Workspace) -> Result<T>) -> Result<T> {
        let mut guard = self.workspace.lock()?;
        f(guard.as_mut().ok_or(Error::NoWorkspace)?)
    }

    // ---- the scene ------------------------------------------------------------------------

    /// Build the scene of `ws` with the highlight and overlay, remember its ground and first
    /// extent, and hand it to the sink. Returns the scene.
    pub(crate) fn rebuild(&self, ws: &Workspace) -> Result<()> {
        let mut h = self.highlight.lock()?.clone();
        h.extra.extend(self.overlay.lock()?.values().flatten().cloned());
        h.ground_opacity = *self.ground_opacity.lock()?;
        if let Some(t) = self.time_filter.lock()?.as_ref() {
            // A layer removed since: nothing to hide.
            if let Ok(rows) = crate::compare::hidden_rows(ws, t) {
                h.hidden.push((t.layer.clone(), rows));
            }
        }
        let cmp = self.compare.lock()?.clone();
        let scene = match &cmp {
            Some(c) => self.scene_with_imagery_shown(ws, &|id, v| crate::compare::shown_in(c, 0, id, v), |compose| {
                jingwei_scene::scene::build_scene_shown(ws, &h, Some(compose), &|id, v| crate::compare::shown_in(c, 0, id, v))
            })?,
            None => self.scene_with_imagery(ws, |compose| build_scene_with(ws, &h, Some(compose)))?,
        };
        {
            let mut extent = self.extent.lock()?;
            if extent.is_none() {
                // The data's extent, with the 3D Tiles' root volumes.
                *extent = match (scene.extent_local, jingwei_scene::tiles::extent_local(ws)) {
                    (Some(e), Some((t, h))) => Some((
                        [e[0].min(t[0]), e[1].min(t[1]), e[2].max(t[2]), e[3].max(t[3])],
                        scene.max_height_m.max(h),
                    )),
                    (Some(e), None) => Some((e, scene.max_height_m)),
                    (None, t) => t,
                };
            }
        }
        *self.ground.lock()? = scene.ground.clone();
        if let Some(sink) = self.scene_sink.lock()?.as_ref() {
            sink(scene);
        }
        let update = match &cmp {
            Some(c) => crate::compare::CompareUpdate {
                compare: Some(c.compare.clone()),
                scenes: Some(self.compare_scenes(ws, c, &h)?),
            },
            None => crate::compare::CompareUpdate {
                compare: None,
                scenes: None,
            },
        };
        if let Some(sink) = self.compare_sink.lock()?.as_ref() {
            sink(update);
        }
        Ok(())
    }

    /// Replace what the scene highlights and redraw.
    pub(crate) fn highlight(&self, ws: &Workspace, h: Highlight) -> Result<()> {
        *self.highlight.lock()? = h;
        self.rebuild(ws)
    }

    /// Replace one source's part of the overlay (feed events, open incidents) and redraw.
    pub(crate) fn set_overlay(&self, ws: &Workspace, source: &'static str, items: Vec<(String, Geometry)>) -> Result<()> {
        self.overlay.lock()?.insert(source, items);
        self.rebuild(ws)
    }

    /// Clear the highlight.
    pub fn clear_selection(&self) -> Result<()> {
        self.with_workspace(|ws| self.highlight(ws, Highlight::default()))
    }

    /// The pixel as its pane of a split screen sees it (a swipe shares one camera: unchanged).
    pub fn in_pane(&self, p: &Pixel) -> Pixel {
        let Ok(g) = self.compare.lock() else { return *p };
        let Some(c) = g
            .as_ref()
            .filter(|c| matches!(c.compare, jingwei_scene::compare::Compare::Split { .. }))
        else {
            return *p;
        };
        for pane in jingwei_scene::compare::panes(&c.compare, &p.view, p.width, p.height) {
            let [x, y, w, h] = pane.rect.map(|v| v as f32);
            if p.x >= x && p.x < x + w && p.y >= y && p.y < y + h {
                return Pixel {
                    x: p.x - x,
                    y: p.y - y,
                    width: pane.rect[2],
                    height: pane.rect[3],
                    view: pane.view,
                };
            }
        }
        *p
    }

    /// The terrain of the scene on screen, if it has one.
    pub fn ground(&self) -> Option<Arc<Ground>> {
        self.ground.lock().ok()?.clone()
    }

    /// The workspace point (CRS metres) under a pixel of the 3D view: on the terrain where the
    /// scene has one, else on flat ground; `None` above the horizon.
    pub fn ground_xy(&self, ws: &Workspace, p: &Pixel) -> Option<(f64, f64)> {
        if !p.is_valid() {
            return None;
        }
        let p = &self.in_pane(p);
        let [lx, lz] = p.view.terrain_point(p.x, p.y, p.width, p.height, self.ground().as_deref())?;
        Some(LocalFrame::new(ws.origin_xy).to_world(f64::from(lx), f64::from(lz)))
    }

    /// The longitude/latitude (CGCS2000) of the ground under a pixel of the 3D view.
    pub fn pixel_lonlat(&self, p: &Pixel) -> Result<[f64; 2]> {
        self.with_workspace(|ws| {
            let (x, y) = self
                .ground_xy(ws, p)
                .ok_or_else(|| Error::Invalid("that point is not on the ground".into()))?;
            let (lon, lat) = ws.to_lonlat()?.transform(x, y)?;
            Ok([lon, lat])
        })
    }

    // ---- opening data ---------------------------------------------------------------------

    fn reset(&self) -> Result<()> {
        *self.store.lock()? = None;
        *self.graph.lock()? = None;
        *self.pipes.lock()? = None;
        *self.table.lock()? = None;
        *self.extent.lock()? = None;
        self.overlay.lock()?.clear();
        *self.highlight.lock()? = Highlight::default();
        // A comparison and a time filter name the old workspace's layers.
        *self.compare.lock()? = None;
        *self.time_filter.lock()? = None;
        self.drill.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// Replace the open workspace (and with it the store's file, the caches, the highlight)
    /// while holding the workspace: no use case sees half of the old one and half of the new.
    fn install(&self, ws: Workspace, origin: Origin, file: Option<PathBuf>) -> Result<WorkspaceDto> {
        jingwei_scene::style::check_workspace(&ws)?;
        let mut guard = self.workspace.lock()?;
        self.reset()?;
        *self.workspace_file.lock()? = file;
        *self.origin.lock()? = origin;
        self.rebuild(&ws)?;
        let dto = data::describe(&ws);
        *guard = Some(ws);
        Ok(dto)
    }

    /// Open a catalog as the session's workspace (replacing what was open).
    pub fn open_catalog(&self, catalog: &Path) -> Result<WorkspaceDto> {
        let ws = Workspace::open_catalog(catalog, None, RepairMode::Repair)?;
        self.install(ws, Origin::Catalog(catalog.to_path_buf()), None)
    }

    /// Open the demo city once; later calls (and calls while it opens) describe what is open.
    pub fn open_demo(&self) -> Result<WorkspaceDto> {
        // One opening at a time: a second call waits for the first and finds it open.
        let _opening = self.opening.lock()?;
        if let Some(ws) = self.workspace.lock()?.as_ref() {
            return Ok(data::describe(ws));
        }
        self.open_catalog(&files::demo_catalog())
    }

    /// The About box: version, commit, libraries, and the licences of the bundled data and of
    /// the open workspace's layers.
    pub fn about(&self) -> Result<crate::about::AboutDto> {
        let guard = self.workspace.lock()?;
        Ok(crate::about::about(guard.as_ref()))
    }

    /// Describe the open workspace.
    pub fn describe(&self) -> Result<WorkspaceDto> {
        self.with_workspace(|ws| Ok(data::describe(ws)))
    }

    /// A layer as GeoJSON in CGCS2000 lon/lat.
    pub fn layer_geojson(&self, id: &str) -> Result<String> {
        self.with_workspace(|ws| data::layer_geojson(ws, id))
    }

    /// Start a long job (it replaces the previous one as the job [`Session::cancel_job`]
    /// stops); `progress` receives (done, total).
    pub fn start_job(&self, progress: Option<jingwei_layers::job::Progress>) -> Result<Job> {
        let job = match progress {
            Some(p) => Job::new().with_progress(p),
            None => Job::new(),
        };
        *self.job.lock()? = job.clone();
        Ok(job)
    }

    /// Cancel the long job under way (its use case then answers that it was cancelled; nothing
    /// it was making is kept).
    pub fn cancel_job(&self) -> Result<()> {
        self.job.lock()?.cancel();
        Ok(())
    }

    /// Add every layer of a file (any format the core reads). It is read without holding the
    /// workspace, into an empty copy in its CRS: a failed or cancelled load leaves the
    /// workspace as it was.
    pub fn add_file(&self, path: &Path, job: &Job) -> Result<WorkspaceDto> {
        let mut next = self.workspace.lock()?.as_ref().map(Workspace::like);
        let added = Workspace::load_file(&mut next, path, Some(job.clone())).map_err(|e| match e {
            jingwei_layers::LayersError::Cancelled { path } => Error::Cancelled(format!("{}: reading", path.display())),
            e => e.into(),
        })?;
        let next = next
            .filter(|_| added > 0)
            .ok_or_else(|| Error::Invalid(format!("{}: no layer with geometry", path.display())))?;
        let mut guard = self.workspace.lock()?;
        match guard.as_mut() {
            Some(ws) => ws.append(next)?,
            None => *guard = Some(next),
        }
        // A file added by hand: the workspace is no longer the catalog's alone.
        *self.origin.lock()? = Origin::Files;
        let ws = guard.as_ref().ok_or(Error::NoWorkspace)?;
        job.report(1, 1);
        *self.graph.lock()? = None;
        *self.pipes.lock()? = None;
        self.rebuild(ws)?;
        Ok(data::describe(ws))
    }

    // ---- the layer tree -------------------------------------------------------------------

    fn layer_mut<'a>(ws: &'a mut Workspace, id: &str) -> Result<&'a mut WorkspaceLayer> {
        ws.layers.iter_mut().find(|l| l.id == id).ok_or_else(|| Error::NoLayer(id.into()))
    }

    /// Show or hide a layer.
    pub fn set_layer_visible(&self, id: &str, visible: bool) -> Result<()> {
        self.with_workspace_mut(|ws| {
            if let Some(t) = ws.tilesets.iter_mut().find(|l| l.id == id) {
                // Streamed per frame: no scene to build again.
                t.visible = visible;
                return Ok(());
            }
            match ws.imagery.iter_mut().find(|l| l.id == id) {
                Some(l) => l.visible = visible,
                None => Self::layer_mut(ws, id)?.visible = visible,
            }
            self.rebuild(ws)
        })
    }

    /// Make the ground see-through (0–1) to show what lies beneath it — pipes at their depth,
    /// tunnels — or opaque again (`None`).
    pub fn set_ground_opacity(&self, opacity: Option<f32>) -> Result<()> {
        if let Some(a) = opacity
            && !(a.is_finite() && (0.0..=1.0).contains(&a))
        {
            return Err(Error::Invalid(format!("ground opacity {a}: give 0–1")));
        }
        *self.ground_opacity.lock()? = opacity;
        self.with_workspace(|ws| self.rebuild(ws))
    }

    /// Set a layer's opacity (clamped to 0–1).
    pub fn set_layer_opacity(&self, id: &str, opacity: f32) -> Result<()> {
        if !opacity.is_finite() {
            return Err(Error::Invalid(format!("opacity {opacity}: give a number from 0 to 1")));
        }
        self.with_workspace_mut(|ws| {
            match ws.imagery.iter_mut().find(|l| l.id == id) {
                Some(l) => l.opacity = opacity.clamp(0.0, 1.0),
                None => Self::layer_mut(ws, id)?.opacity = opacity.clamp(0.0, 1.0),
            }
            self.rebuild(ws)
        })
    }

    /// Move a layer up (+1, drawn later, higher in the tree) or down (−1).
    pub fn move_layer(&self, id: &str, delta: i32) -> Result<WorkspaceDto> {
        self.with_workspace_mut(|ws| {
            // Imagery moves among the imagery (always under the vector layers).
            if let Some(i) = ws.imagery.iter().position(|l| l.id == id) {
                let j = (i as i64 + i64::from(delta)).clamp(0, ws.imagery.len() as i64 - 1) as usize;
                let l = ws.imagery.remove(i);
                ws.imagery.insert(j, l);
                self.rebuild(ws)?;
                return Ok(data::describe(ws));
            }
            let i = ws.layers.iter().position(|l| l.id == id).ok_or_else(|| Error::NoLayer(id.into()))?;
            let j = (i as i64 + i64::from(delta)).clamp(0, ws.layers.len() as i64 - 1) as usize;
            let l = ws.layers.remove(i);
            ws.layers.insert(j, l);
            self.rebuild(ws)?;
            Ok(data::describe(ws))
        })
    }

    /// Remove a layer from the workspace (its file is not touched).
    pub fn remove_layer(&self, id: &str) -> Result<WorkspaceDto> {
        self.with_workspace_mut(|ws| {
            if let Some(i) = ws.tilesets.iter().position(|l| l.id == id) {
                // Its stream (workers, resident tiles) goes with the last copy of it: the
                // renderer drops its tiles at the next frame.
                ws.tilesets.remove(i);
                return Ok(data::describe(ws));
            }
            if let Some(i) = ws.imagery.iter().position(|l| l.id == id) {
                let l = ws.imagery.remove(i);
                if let (Some(src), Some(st)) = (&l.source, self.imagery.lock()?.as_ref()) {
                    st.loader.cache().forget_source(src.key());
                }
                self.rebuild(ws)?;
                return Ok(data::describe(ws));
            }
            let i = ws.layers.iter().position(|l| l.id == id).ok_or_else(|| Error::NoLayer(id.into()))?;
            ws.layers.remove(i);
            *self.table.lock()? = None;
            *self.graph.lock()? = None;
            *self.pipes.lock()? = None;
            self.rebuild(ws)?;
            Ok(data::describe(ws))
        })
    }

    // ---- views ----------------------------------------------------------------------------

    /// The view that frames the whole workspace obliquely.
    pub fn initial_view(&self, width: u32, height: u32) -> Result<View> {
        let (extent, max_h) = self.extent.lock()?.ok_or(Error::NoWorkspace)?;
        Ok(View::frame(extent, max_h, width.max(1) as f32 / height.max(1) as f32, 45.0, 20.0))
    }

    /// A view framing a layer.
    pub fn zoom_to_layer(&self, id: &str, canvas: Canvas) -> Result<View> {
        self.with_workspace(|ws| {
            // A tileset: its root volume, up to its top.
            if let Some(t) = ws.tilesets.iter().find(|t| t.id == id) {
                let (pitch, yaw) = canvas.current.map_or((50.0, 20.0), |v| (v.pitch_deg.max(5.0), v.yaw_deg));
                return Ok(View::frame_world(
                    ws.origin_xy,
                    t.extent,
                    20.0,
                    t.heights[1].max(0.0) as f32,
                    canvas.width.max(1) as f32 / canvas.height.max(1) as f32,
                    pitch,
                    yaw,
                ));
            }
            let wl = ws.layer(id).ok_or_else(|| Error::NoLayer(id.into()))?;
            let e = wl
                .layer
                .extent()
                .ok_or_else(|| Error::Missing(format!("layer '{id}' has no geometry")))?;
            Ok(frame_box(ws, e, 20.0, canvas, 5.0))
        })
    }

    // ---- explore --------------------------------------------------------------------------

    /// The features under a pixel of the 3D view (the pixel's ray meets the ground, the
    /// visible layers' R-trees answer, topmost layer first, at most five).
    pub fn identify(&self, p: &Pixel) -> Result<Vec<Identified>> {
        let pane = self.in_pane(p);
        let mpp = f64::from(pane.view.metres_per_pixel(pane.height));
        // The file layers under the lock; the visible services' sources taken along, to be
        // asked after it is released.
        let (mut hits, services, crs, at) = self.with_workspace(|ws| {
            let Some((wx, wy)) = self.ground_xy(ws, p) else {
                return Ok((Vec::new(), Vec::new(), ws.crs.clone(), None));
            };
            // Beyond the workspace CRS's area of use and the data: one clear error.
            let data = ws.lonlat_extent();
            ws.to_lonlat()?.point(wx, wy, data)?;
            let services: Vec<_> = ws
                .imagery
                .iter()
                .rev()
                .filter(|l| l.visible)
                .filter_map(|l| Some((l.title.clone(), l.source.clone()?)))
                .collect();
            Ok((identify_at(ws, wx, wy, mpp * 4.0), services, ws.crs.clone(), Some(((wx, wy), data))))
        })?;
        if let Some((at, data)) = at {
            hits.extend(Session::identify_services(&services, &crs, at, mpp, data));
        }
        // A city twin's tile feature in front of the ground comes first.
        if let Some(hit) = self.identify_tiles(&pane) {
            hits.insert(0, hit);
        }
        Ok(hits)
    }

    /// The feature of a drawn 3D tile under a pixel: its batch table's properties, the tile's
    /// content and where the ray meets it.
    fn identify_tiles(&self, p: &Pixel) -> Option<Identified> {
        let (src, titles) = {
            let guard = self.workspace.lock().ok()?;
            let ws = guard.as_ref()?;
            let titles: BTreeMap<String, String> = ws.tilesets.iter().map(|t| (t.id.clone(), t.title.clone())).collect();
            (jingwei_scene::tiles::Sources::of(ws)?, titles)
        };
        let hit = jingwei_scene::tiles::pick(&src, &p.view, p.x, p.y, p.width, p.height)?;
        let mut attributes = hit.properties;
        attributes.insert("content".into(), hit.uri.into());
        attributes.insert("x".into(), serde_json::json!((hit.at[0] * 100.0).round() / 100.0));
        attributes.insert("y".into(), serde_json::json!((hit.at[1] * 100.0).round() / 100.0));
        attributes.insert("height_m".into(), serde_json::json!((hit.at[2] * 100.0).round() / 100.0));
        Some(Identified {
            layer: titles.get(&hit.layer_id).cloned().unwrap_or(hit.layer_id),
            fid: hit.feature.map_or(-1, i64::from),
            attributes,
        })
    }

    /// Features whose text attributes contain `query` (case-insensitive), at most `limit`
    /// (default 20, at most 200), topmost layer first.
    pub fn search(&self, query: &str, limit: Option<usize>) -> Result<Vec<SearchHit>> {
        self.with_workspace(|ws| Ok(search(ws, query, limit.unwrap_or(20).min(200))))
    }

    /// Fly to a feature and highlight it.
    pub fn fly_to_feature(&self, layer_id: &str, fid: i64, canvas: Canvas) -> Result<View> {
        self.with_workspace(|ws| {
            let wl = ws.layer(layer_id).ok_or_else(|| Error::NoLayer(layer_id.into()))?;
            let row = wl.layer.row_of_fid(fid).ok_or_else(|| Error::NoFeature {
                layer: wl.title.clone(),
                fid,
            })?;
            let g = wl
                .layer
                .geometries
                .geometry(row)
                .clone()
                .ok_or_else(|| Error::Missing("the feature has no geometry".into()))?;
            let view = fly_to(ws, &g, canvas).ok_or_else(|| Error::Missing("the feature has no geometry".into()))?;
            let building = is_building_layer(&wl.id, &wl.layer);
            self.highlight(
                ws,
                Highlight {
                    building: building.then(|| (wl.layer.name.clone(), fid)),
                    shape: (!building).then_some(g),
                    ..Highlight::default()
                },
            )?;
            Ok(view)
        })
    }

    /// Where a pixel is on the ground: CGCS2000 lon/lat and workspace x/y.
    pub fn cursor_position(&self, p: &Pixel) -> Result<Option<CursorDto>> {
        self.with_workspace(|ws| {
            let Some((x, y)) = self.ground_xy(ws, p) else { return Ok(None) };
            let (lon, lat) = ws.to_lonlat()?.transform(x, y)?;
            Ok(Some(CursorDto {
                lon,
                lat,
                x,
                y,
                crs: ws.crs.label(),
            }))
        })
    }

    /// One page of a layer's attribute table, in the order and with the filter asked for (the
    /// order is computed once per query and kept, so scrolling a million rows only fetches
    /// what shows). At most 1000 rows a page.
    pub fn attribute_page(&self, layer_id: &str, query: TableQuery, offset: usize, limit: usize) -> Result<Page> {
        let q = TableQuery {
            sort: query.sort.filter(|s| !s.is_empty()),
            desc: query.desc,
            filter: query.filter.filter(|f| !f.trim().is_empty()),
        };
        self.with_workspace(|ws| {
            let wl = ws.layer(layer_id).ok_or_else(|| Error::NoLayer(layer_id.into()))?;
            let mut cache = self.table.lock()?;
            let rows = match cache.as_ref() {
                Some((id, cq, rows)) if id == layer_id && *cq == q => rows.clone(),
                _ => {
                    let rows = Arc::new(jingwei_layers::table::order(&wl.layer, &q)?);
                    *cache = Some((layer_id.to_string(), q, rows.clone()));
                    rows
                }
            };
            Ok(jingwei_layers::table::page(&wl.layer, &rows, offset, limit.min(1000)))
        })
    }

    /// Highlight selected features (table rows); with `zoom`, a view that frames them.
    pub fn select_features(&self, layer_id: &str, fids: &[i64], zoom: Option<Canvas>) -> Result<Option<View>> {
        self.with_workspace(|ws| {
            let wl = ws.layer(layer_id).ok_or_else(|| Error::NoLayer(layer_id.into()))?;
            self.highlight(
                ws,
                Highlight {
                    selection: (!fids.is_empty()).then(|| (wl.layer.name.clone(), fids.to_vec())),
                    ..Highlight::default()
                },
            )?;
            let Some(canvas) = zoom else { return Ok(None) };
            let boxes = fids
                .iter()
                .filter_map(|fid| wl.layer.row_of_fid(*fid))
                .filter_map(|row| wl.layer.geometries.geometry(row).as_ref().and_then(bbox_of));
            let Some(ext) = union(boxes) else { return Ok(None) };
            let m = 60.0f64.max((ext[2] - ext[0]).max(ext[3] - ext[1]) * 0.2);
            Ok(Some(frame_box(ws, ext, m, canvas, 30.0)))
        })
    }

    /// The height of the building under a pixel (the first prism the ray enters, on the
    /// terrain as drawn).
    pub fn measure_height(&self, p: &Pixel) -> Result<Option<HeightDto>> {
        if !p.is_valid() {
            return Ok(None);
        }
        self.with_workspace(|ws| {
            let ground = self.ground();
            let mut best: Option<(f64, HeightDto)> = None;
            for wl in ws.layers.iter().filter(|l| l.visible && is_building_layer(&l.id, &l.layer)) {
                let Some(hit) = pick_building(ws, wl, p, ground.as_deref()) else {
                    continue;
                };
                if best.as_ref().is_some_and(|(t, _)| hit.t >= *t) {
                    continue;
                }
                let name = roles::text(&wl.layer, roles::Field::Name.find(&wl.layer), hit.row);
                best = Some((
                    hit.t,
                    HeightDto {
                        layer: wl.title.clone(),
                        fid: wl.layer.fids[hit.row],
                        name,
                        height_m: hit.top_m - hit.base_m,
                        base_m: hit.base_m,
                        top_m: hit.top_m,
                        hit_z_m: hit.point[2],
                    },
                ));
            }
            Ok(best.map(|b| b.1))
        })
    }

    // ---- save and open --------------------------------------------------------------------

    /// The file this session's records are in: the open store's (a drill copy during a drill),
    /// else the workspace file, else the default store.
    pub fn store_path(&self) -> Result<PathBuf> {
        if let Some(s) = self.store.lock()?.as_ref() {
            return Ok(s.path().to_path_buf());
        }
        Ok(self.workspace_file.lock()?.clone().unwrap_or_else(|| self.default_store.clone()))
    }

    /// Save the workspace (layers, tree, the view given) into its workspace file, with its
    /// cases and incidents; `path` saves to another file, which becomes the workspace file.
    /// The store is held for the whole save: no case or incident is written meanwhile (and so
    /// none is lost when the finished copy replaces the file).
    pub fn save(&self, path: Option<&Path>, view: Option<View>) -> Result<PathBuf> {
        self.with_workspace(|ws| {
            let mut store = self.store.lock()?;
            let current = match store.as_ref() {
                Some(s) => s.path().to_path_buf(),
                None => self.workspace_file.lock()?.clone().unwrap_or_else(|| self.default_store.clone()),
            };
            let target = path.map(Path::to_path_buf).unwrap_or_else(|| current.clone());
            if target != current && current.exists() && !target.exists() {
                // Saving as: the cases and incidents come along (no transaction is open: every
                // write happens under the lock held here).
                std::fs::copy(&current, &target).map_err(|e| Error::io(&target, e))?;
            }
            // The save renames a finished copy over the file: close the store first; the next
            // use opens the saved file.
            *store = None;
            let view = view.map(|v| serde_json::to_value(v).unwrap_or_default());
            jingwei_layers::saved::save_workspace(ws, &target, view)?;
            *self.workspace_file.lock()? = Some(target.clone());
            drop(store);
            files::remember(&target);
            Ok(target)
        })
    }

    /// Open a saved workspace file (layers, tree, view, cases, incidents).
    pub fn open_saved(&self, path: &Path) -> Result<OpenedDto> {
        let (mut ws, view) = jingwei_layers::saved::open_workspace(path)?;
        self.open_services(&mut ws);
        let view: Option<View> = view.and_then(|v| serde_json::from_value(v).ok());
        let dto = self.install(ws, Origin::Files, Some(path.to_path_buf()))?;
        files::remember(path);
        Ok(OpenedDto {
            workspace: dto,
            view,
            path: path.display().to_string(),
        })
    }

    // ---- the store ------------------------------------------------------------------------

    /// Run `f` on the session's case and incident store (opened, or created in the workspace
    /// CRS, on first use), holding the workspace meanwhile — locks are always taken workspace
    /// first, then store, so opening another workspace never interleaves with a store write.
    /// Not for use while holding the workspace: see [`Session::with_store_in`].
    pub fn with_store<T>(&self, f: impl FnOnce(&mut CaseStore) -> Result<T>) -> Result<T> {
        self.with_workspace(|ws| self.with_store_in(ws, f))
    }

    /// [`Session::with_store`] for a use case that holds the workspace `ws`.
    pub fn with_store_in<T>(&self, ws: &Workspace, f: impl FnOnce(&mut CaseStore) -> Result<T>) -> Result<T> {
        let mut guard = self.store.lock()?;
        f(self.open_store(&mut guard, &ws.crs)?)
    }

    /// The store in `guard`, opened (or created in `crs`) when it is not open yet.
    fn open_store<'a>(&self, guard: &'a mut Option<CaseStore>, crs: &jingwei_layers::Crs) -> Result<&'a mut CaseStore> {
        if guard.is_none() {
            let path = self.workspace_file.lock()?.clone().unwrap_or_else(|| self.default_store.clone());
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            *guard = Some(CaseStore::open_or_create(&path, crs)?);
        }
        guard.as_mut().ok_or(Error::Poisoned)
    }

    /// Start a drill: from now on the panels work on a marked copy of the store (a no-op
    /// during a drill).
    pub fn drill_start(&self) -> Result<DrillDto> {
        self.with_workspace(|ws| self.drill_start_in(ws))
    }

    fn drill_start_in(&self, ws: &Workspace) -> Result<DrillDto> {
        let mut guard = self.store.lock()?;
        let real = self.open_store(&mut guard, &ws.crs)?;
        if real.is_drill()? {
            return Ok(DrillDto {
                drill: true,
                store: real.path().display().to_string(),
            });
        }
        let dest = real.path().with_extension(format!("drill-{}.gpkg", files::stamp()));
        let drill = real.drill_copy(&dest, &self.actor)?;
        let store = drill.path().display().to_string();
        *guard = Some(drill);
        self.drill.store(true, Ordering::SeqCst);
        Ok(DrillDto { drill: true, store })
    }

    /// Whether a drill is on, and the store the panels write to.
    pub fn drill_state(&self) -> Result<DrillDto> {
        Ok(DrillDto {
            drill: self.drill.load(Ordering::SeqCst),
            store: self
                .store
                .lock()?
                .as_ref()
                .map(|c| c.path().display().to_string())
                .unwrap_or_default(),
        })
    }
}

/// What was clicked.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Identified {
    /// The layer's title.
    pub layer: String,
    /// Feature id.
    pub fid: i64,
    /// Attributes, labelled `alias（name）` where the source gives an alias.
    #[ts(type = "Record<string, unknown>")]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// The features at a workspace point, topmost visible layer first, at most three a layer and
/// (about) five in all.
pub fn identify_at(ws: &Workspace, x: f64, y: f64, tolerance_m: f64) -> Vec<Identified> {
    let mut out = Vec::new();
    for wl in ws.layers.iter().rev().filter(|l| l.visible) {
        for hit in wl.index.at_point(&wl.layer.geometries, x, y, tolerance_m).into_iter().take(3) {
            let f = wl.layer.feature(hit.row);
            let attributes = wl
                .layer
                .fields
                .iter()
                .enumerate()
                .map(|(i, fd)| {
                    let label = if fd.alias.trim().is_empty() {
                        fd.name.clone()
                    } else {
                        format!("{}（{}）", fd.alias, fd.name)
                    };
                    (label, serde_json::to_value(f.value(i)).unwrap_or_default())
                })
                .collect();
            out.push(Identified {
                layer: wl.title.clone(),
                fid: f.fid(),
                attributes,
            });
        }
        if out.len() >= 5 {
            break;
        }
    }
    out
}

/// A search hit.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SearchHit {
    /// Layer id.
    pub layer_id: String,
    /// Layer title.
    pub layer: String,
    /// Feature id.
    pub fid: i64,
    /// The field that matched.
    pub field: String,
    /// Its value.
    pub value: String,
}

/// Features whose text attributes contain `query` (case-insensitive): a building name, a
/// permit number, an address. At most `limit`, topmost layer first.
pub fn search(ws: &Workspace, query: &str, limit: usize) -> Vec<SearchHit> {
    let q = query.trim().to_lowercase();
    let mut out = Vec::new();
    if q.is_empty() || limit == 0 {
        return out;
    }
    for wl in ws.layers.iter().rev() {
        let text: Vec<usize> = (0..wl.layer.fields.len())
            .filter(|i| wl.layer.fields[*i].kind == FieldKind::Text)
            .collect();
        for row in 0..wl.layer.len() {
            let f = wl.layer.feature(row);
            let hit = text.iter().find_map(|i| {
                f.value(*i)
                    .as_str()
                    .filter(|v| v.to_lowercase().contains(&q))
                    .map(|v| (*i, v.to_string()))
            });
            if let Some((i, value)) = hit {
                out.push(SearchHit {
                    layer_id: wl.id.clone(),
                    layer: wl.title.clone(),
                    fid: f.fid(),
                    field: wl.layer.fields[i].name.clone(),
                    value,
                });
                if out.len() >= limit {
                    return out;
                }
            }
        }
    }
    out
}

/// The nearest building of an extruded-building layer hit by the ray through a pixel (see
/// `jingwei_scene::pick::pick_prism`), standing on `ground` where the scene has one.
pub(crate) fn pick_building(
    ws: &Workspace,
    wl: &WorkspaceLayer,
    p: &Pixel,
    ground: Option<&Ground>,
) -> Option<jingwei_scene::pick::PrismHit> {
    let rule = HeightRule::for_layer(&wl.layer);
    jingwei_scene::pick::pick_prism(
        &wl.layer,
        &wl.index,
        &rule,
        ws.origin_xy,
        &p.view,
        p.x,
        p.y,
        p.width,
        p.height,
        ground,
        &ws.clip,
    )
}

/// Where the cursor is: CGCS2000 lon/lat and workspace x/y (Gauss-Krüger metres).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CursorDto {
    /// Longitude (CGCS2000).
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Workspace x (east).
    pub x: f64,
    /// Workspace y (north).
    pub y: f64,
    /// The workspace CRS.
    pub crs: String,
}

/// A building's height, measured where the view ray hits it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct HeightDto {
    /// Layer title.
    pub layer: String,
    /// Feature id.
    pub fid: i64,
    /// The building's name, if it has one.
    pub name: Option<String>,
    /// Top minus base.
    pub height_m: f64,
    /// Base height (on the terrain).
    pub base_m: f64,
    /// Top height.
    pub top_m: f64,
    /// Height where the ray hit.
    pub hit_z_m: f64,
}

/// An opened workspace: its description and saved view.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct OpenedDto {
    /// The layer tree.
    pub workspace: WorkspaceDto,
    /// The view saved with it.
    pub view: Option<View>,
    /// The file.
    pub path: String,
}

/// Drill mode: whether it is on, and the file the drill writes to.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DrillDto {
    /// On.
    pub drill: bool,
    /// The store written to.
    pub store: String,
}

/// The box of a geometry (`[min_x, min_y, max_x, max_y]`).
pub fn bbox_of<G: BoundingRect<f64, Output = Option<geo::Rect<f64>>>>(g: &G) -> Option<[f64; 4]> {
    let r = g.bounding_rect()?;
    Some([r.min().x, r.min().y, r.max().x, r.max().y])
}

/// The box around boxes (`None` for none).
pub(crate) fn union(boxes: impl Iterator<Item = [f64; 4]>) -> Option<[f64; 4]> {
    boxes.reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
}

/// The tallest visible building top in a workspace box (m), at least 60 m: what a view of the
/// box must keep in frame.
fn tallest_in(ws: &Workspace, bbox: [f64; 4]) -> f32 {
    let mut top: f64 = 60.0;
    for wl in ws.layers.iter().filter(|l| l.visible && is_building_layer(&l.id, &l.layer)) {
        let rule = HeightRule::for_layer(&wl.layer);
        for row in wl.index.candidates(bbox) {
            top = top.max(rule.heights(&wl.layer, row).1);
        }
    }
    top as f32
}

/// A view framing a workspace box (grown by `margin_m`) on a canvas, keeping the current
/// view's azimuth and its pitch (at least `min_pitch`), tall buildings in it whole.
pub fn frame_box(ws: &Workspace, bbox: [f64; 4], margin_m: f64, canvas: Canvas, min_pitch: f32) -> View {
    let (pitch, yaw) = canvas
        .current
        .map_or((min_pitch.max(50.0), 20.0), |v| (v.pitch_deg.max(min_pitch), v.yaw_deg));
    View::frame_world(
        ws.origin_xy,
        bbox,
        margin_m,
        tallest_in(ws, bbox),
        canvas.width.max(1) as f32 / canvas.height.max(1) as f32,
        pitch,
        yaw,
    )
}

/// A view centred on `g`, close enough to read a building, keeping the current angles.
pub fn fly_to(ws: &Workspace, g: &Geometry, canvas: Canvas) -> Option<View> {
    let b = bbox_of(g)?;
    Some(frame_box(ws, b, 80.0f64.max((b[2] - b[0]).max(b[3] - b[1])), canvas, 30.0))
}
