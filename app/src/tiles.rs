//! The session's tile machinery: the loader and cache of imagery tiles, and the watcher that
//! sends a scene again as the tiles it waited for arrive. Used by the session (which
//! holds it) and the imagery use cases (which builds scenes with it).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jingwei_layers::imagery::TileSource;
use jingwei_layers::imagery::cache::TileCache;
use jingwei_layers::imagery::loader::Loader;
use jingwei_layers::imagery::warp::Plan;
use jingwei_scene::scene::SceneData;

/// Receives every new scene of the session (the app's renderer thread).
pub type SceneSink = Box<dyn Fn(SceneData) + Send + Sync>;

/// Tiles of the chosen level one view may need before a coarser level is taken.
pub(crate) const MAX_TILES: usize = 256;
/// How long building a scene waits for tiles before it shows what it has.
pub(crate) const FIRST_WAIT: Duration = Duration::from_millis(300);
/// The tile cache's default size.
pub const DEFAULT_CACHE_BYTES: usize = 512 << 20;
/// Tile worker threads (file reads and network requests at once).
pub const WORKERS: usize = 6;

/// The session's tile machinery, made on first use.
pub(crate) struct ImageryState {
    pub(crate) loader: Arc<Loader>,
    /// The scene whose imagery is still coming, and whether a watcher finishes it.
    pub(crate) watch: Arc<Mutex<Watch>>,
}

#[derive(Default)]
pub(crate) struct Watch {
    pub(crate) pending: Option<Pending>,
    pub(crate) watching: bool,
    /// The last scene sent with imagery (for adding detail to it), and how many of its images
    /// are the whole-scene drapes (the detail drapes of the view come after them).
    pub(crate) current: Option<(SceneData, usize)>,
    /// The detail drawn for the view now: per layer, the target's extent and size.
    pub(crate) detail: Vec<(String, [f64; 4], u32)>,
}

pub(crate) struct Part {
    pub(crate) image: usize,
    pub(crate) source: Arc<dyn TileSource>,
    pub(crate) plan: Plan,
}

pub(crate) struct Pending {
    pub(crate) scene: SceneData,
    pub(crate) parts: Vec<Part>,
}

impl ImageryState {
    pub(crate) fn new(cache_bytes: usize) -> ImageryState {
        let cache = Arc::new(TileCache::new(cache_bytes));
        ImageryState {
            loader: Arc::new(Loader::new(WORKERS, cache, Duration::from_millis(250))),
            watch: Arc::new(Mutex::new(Watch::default())),
        }
    }
}

pub(crate) fn watch(loader: &Loader, state: &Mutex<Watch>, sink: &Mutex<Option<SceneSink>>) {
    let mut seen = loader.done();
    loop {
        seen = loader.wait_progress(seen, Duration::from_millis(500));
        // Several tiles at once rather than a scene per tile.
        std::thread::sleep(Duration::from_millis(100));
        let Ok(mut g) = state.lock() else { return };
        let Some(p) = g.pending.as_mut() else {
            g.watching = false;
            return;
        };
        let mut left = 0;
        for part in &p.parts {
            let c = part.plan.compose_cached(part.source.as_ref(), loader.cache());
            let d = &mut p.scene.images[part.image];
            d.rgba = Arc::new(c.rgba);
            d.missing = c.missing;
            left += c.missing;
        }
        let scene = p.scene.clone();
        if let Some((cur, _)) = g.current.as_mut() {
            *cur = scene.clone();
        }
        // Nothing more will come once the loader is idle: failed tiles stay coarse.
        let done = left == 0 || loader.pending() == 0;
        // Sent before the scene stops being pending: whoever waits for the imagery finds the
        // finished scene already sent.
        if let Ok(s) = sink.lock()
            && let Some(sink) = s.as_ref()
        {
            sink(scene);
        }
        if done {
            g.pending = None;
            g.watching = false;
            return;
        }
        drop(g);
    }
}
