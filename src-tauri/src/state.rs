//! What the app holds: the application API's session, and the renderer that draws the scenes
//! the session builds.

use jingwei_app::Session;
use std::sync::OnceLock;
use std::time::Instant;

use crate::scene3d::RenderService;

static STARTED: OnceLock<Instant> = OnceLock::new();
static FIRST_FRAME_S: OnceLock<f64> = OnceLock::new();

/// Remember when the process started (for the cold-start figure).
pub fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

/// Note that a frame went to the page (the first one sets the cold-start figure).
pub fn frame_shown() {
    if let Some(t0) = STARTED.get() {
        // One line on stderr, once: what an installer's check (and IT reading a log) looks for.
        FIRST_FRAME_S.get_or_init(|| {
            let s = t0.elapsed().as_secs_f64();
            eprintln!("jingwei-desktop: first 3D frame after {s:.1} s");
            s
        });
    }
}

/// Seconds from process start to the first frame handed to the page.
#[cfg_attr(not(feature = "smoke"), allow(dead_code))]
pub fn first_frame_s() -> Option<f64> {
    FIRST_FRAME_S.get().copied()
}

/// The app's state: one session, one renderer.
pub struct AppState {
    /// Everything the user has open, and every use case.
    pub session: Session,
    /// The 3D view.
    pub renderer: RenderService,
    /// Bumped by each log-in to (and log-out of) the shared store: the watcher of an older link
    /// stops.
    pub shared_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl AppState {
    /// A session whose scenes go to a new render thread.
    pub fn new() -> AppState {
        let renderer = RenderService::start();
        let session = Session::default();
        // A fresh session's lock cannot be poisoned; were it, scenes would simply not show.
        let _ = session.set_scene_sink(renderer.scene_sink());
        let _ = session.set_compare_sink(renderer.compare_sink());
        AppState {
            session,
            renderer,
            shared_generation: Default::default(),
        }
    }
}
