//! The 3D view in the app: the viewer's offscreen renderer on a thread of its own (Bevy owns
//! its world there), fed scenes and views, answering with RGBA frames. Case reports' site maps
//! are drawn by a renderer of their own size.

use jingwei_app::compare::CompareUpdate;
use jingwei_app::report::{MAP_H, MAP_W, SiteMapRenderer};
use jingwei_scene::compare::{Compare, panes};
use jingwei_scene::scene::SceneData;
use jingwei_scene::tiles::Sources;
use jingwei_scene::view::{Frame, View};
use jingwei_viewer::render::{FrameTiming, Renderer};
use std::sync::mpsc::{Sender, channel};
use std::time::Instant;

/// A frame, the milliseconds spent on it, the renderer's split of them, and whether 3D tiles the
/// view wants are still coming (the page draws again soon).
pub type Rendered = (Frame, f64, FrameTiming, bool);

type Reply = Sender<Result<Rendered, String>>;

enum Job {
    Scene(SceneData),
    Compare(CompareUpdate),
    Render {
        width: u32,
        height: u32,
        view: View,
        twin: Option<Option<Sources>>,
        /// A half-size frame of a moving view: tiles are chosen for the size of the full frames.
        motion: bool,
        reply: Reply,
    },
    SiteMap {
        scene: Box<SceneData>,
        view: View,
        reply: Sender<Result<Vec<u8>, String>>,
    },
}

/// Handle to the render thread.
pub struct RenderService {
    tx: Sender<Job>,
}

fn run(rx: std::sync::mpsc::Receiver<Job>) {
    let mut renderer: Option<Renderer> = None;
    let mut site: Option<Renderer> = None;
    let mut scene = SceneData::default();
    let mut scene_dirty = true;
    // A comparison: how the frame is shared and the other sides' scenes (slots 1…).
    let mut compare: Option<Compare> = None;
    let mut others: Vec<SceneData> = Vec::new();
    let mut others_dirty = false;
    let mut had_panes = false;
    // Whether the renderer's tile and imagery pipelines are compiled (in the first idle moment
    // after its first frame: see `Renderer::prepare_pipelines`), and whether tiles were drawn.
    let mut prepared = false;
    let mut had_tiles = false;
    // The size of the last full frame: what the tiles are chosen for (see `RenderService::render`).
    let mut rest_size: Option<(u32, u32)> = None;
    loop {
        let job = if prepared || renderer.is_none() {
            match rx.recv() {
                Ok(j) => j,
                Err(_) => break,
            }
        } else {
            match rx.recv_timeout(std::time::Duration::from_millis(300)) {
                Ok(j) => j,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(r) = renderer.as_mut()
                        && let Err(e) = r.prepare_pipelines()
                    {
                        eprintln!("jingwei-desktop: preparing the renderer's pipelines: {e}");
                    }
                    prepared = true;
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        };
        match job {
            Job::Scene(s) => {
                scene = s;
                scene_dirty = true;
            }
            Job::Compare(u) => {
                compare = u.compare;
                if let Some(s) = u.scenes {
                    others = s;
                    others_dirty = true;
                }
                if compare.is_none() {
                    others.clear();
                }
            }
            Job::Render {
                width,
                height,
                view,
                twin,
                motion,
                reply,
            } => {
                let t0 = Instant::now();
                let mut trim = false;
                // A new size (the window resized, or the half-size frames of a moving view and
                // the full ones at rest) keeps the renderer and its scene.
                if let Some(r) = renderer.as_mut()
                    && let Err(e) = r.resize(width, height)
                {
                    let _ = reply.send(Err(e.to_string()));
                    continue;
                }
                if renderer.is_none() {
                    match Renderer::new(width, height) {
                        Ok(r) => {
                            renderer = Some(r);
                            prepared = false;
                            scene_dirty = true;
                            others_dirty = true;
                            had_panes = false;
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e.to_string()));
                            continue;
                        }
                    }
                }
                let Some(r) = renderer.as_mut() else { continue };
                if scene_dirty {
                    r.set_scene(&scene);
                    scene_dirty = false;
                    // The meshes' upload copies are freed by this frame: give them back after
                    // it (a city of a million buildings leaves hundreds of MB in the arenas).
                    trim = true;
                }
                r.set_view(&view);
                // The tilesets streamed for this view: loads start or finish on their workers,
                // the frame shows what is resident.
                let pending = match &twin {
                    Some(Some(src)) => {
                        if !motion {
                            rest_size = Some((width, height));
                        }
                        let (tw, th) = rest_size.filter(|_| motion).unwrap_or((width, height));
                        let f = jingwei_scene::tiles::stream(src, &view, tw, th);
                        r.set_tiles(src.origin_xy, &f.tiles);
                        had_tiles = true;
                        !f.settled
                    }
                    Some(None) => {
                        r.set_tiles([0.0; 2], &[]);
                        // The last tileset went: what its loaders and tiles freed goes back
                        // after this frame.
                        trim = std::mem::take(&mut had_tiles);
                        false
                    }
                    // The workspace was busy: the tiles stay as they were; ask again soon.
                    None => true,
                };
                match &compare {
                    Some(c) => {
                        if others_dirty {
                            r.clear_slots_from(1 + others.len());
                            for (i, s) in others.iter().enumerate() {
                                r.set_scene_slot(i + 1, s);
                            }
                            others_dirty = false;
                        }
                        r.set_panes(Some(panes(c, &view, width, height)));
                        had_panes = true;
                    }
                    None if had_panes => {
                        r.set_panes(None);
                        r.clear_slots_from(1);
                        had_panes = false;
                    }
                    None => {}
                }
                let out = r
                    .render()
                    .map(|f| (f, t0.elapsed().as_secs_f64() * 1000.0, r.last_timing(), pending))
                    .map_err(|e| e.to_string());
                let _ = reply.send(out);
                if trim {
                    jingwei_layers::give_back_freed_memory();
                }
            }
            Job::SiteMap { scene: s, view, reply } => {
                let out = (|| {
                    if site.is_none() {
                        site = Some(Renderer::new(MAP_W, MAP_H).map_err(|e| e.to_string())?);
                    }
                    let r = site.as_mut().ok_or("no renderer")?;
                    r.render_png(&s, &view).map_err(|e| e.to_string())
                })();
                let _ = reply.send(out);
            }
        }
    }
}

impl RenderService {
    /// Start the render thread (its renderers are made on the first frame).
    pub fn start() -> RenderService {
        let (tx, rx) = channel::<Job>();
        if let Err(e) = std::thread::Builder::new().name("jingwei-render".into()).spawn(move || run(rx)) {
            // Without the thread every frame answers that the renderer has stopped.
            eprintln!("jingwei-desktop: cannot start the render thread: {e}");
        }
        RenderService { tx }
    }

    /// Where the session sends its scenes.
    pub fn scene_sink(&self) -> jingwei_app::session::SceneSink {
        let tx = self.tx.clone();
        Box::new(move |s| {
            let _ = tx.send(Job::Scene(s));
        })
    }

    /// Where the session sends its comparisons.
    pub fn compare_sink(&self) -> jingwei_app::compare::CompareSink {
        let tx = self.tx.clone();
        Box::new(move |u| {
            let _ = tx.send(Job::Compare(u));
        })
    }

    /// Render a frame with the tilesets of `twin` streamed for it (`Some(None)`: none; `None`:
    /// keep the tiles drawn); `motion`: a smaller frame of a moving view, whose tiles are those
    /// of the full frames (a smaller frame would ask for coarser tiles, the full frame at rest
    /// for the finer ones again, each switch reloading them). Returns the frame with the
    /// milliseconds spent on the render thread (render, readback and any renderer set-up), the
    /// renderer's own split of them, and whether tiles are still coming.
    pub fn render(&self, width: u32, height: u32, view: View, twin: Option<Option<Sources>>, motion: bool) -> Result<Rendered, String> {
        let (reply, rx) = channel();
        self.tx
            .send(Job::Render {
                width,
                height,
                view,
                twin,
                motion,
                reply,
            })
            .map_err(|_| "the renderer has stopped".to_string())?;
        rx.recv().map_err(|_| "the renderer has stopped".to_string())?
    }
}

/// Site maps of case reports, drawn on the render thread.
impl SiteMapRenderer for &RenderService {
    fn render_png(&mut self, scene: &SceneData, view: &View) -> jingwei_app::Result<Vec<u8>> {
        let (reply, rx) = channel();
        self.tx
            .send(Job::SiteMap {
                scene: Box::new(scene.clone()),
                view: *view,
                reply,
            })
            .map_err(|_| jingwei_app::Error::Render("the renderer has stopped".into()))?;
        rx.recv()
            .map_err(|_| jingwei_app::Error::Render("the renderer has stopped".into()))?
            .map_err(jingwei_app::Error::Render)
    }
}
