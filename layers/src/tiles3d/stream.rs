//! Streaming a tileset: the tiles a camera needs, loaded and decoded by worker threads (off the
//! frame path), nearest and most central first, at most `max_in_flight` at a time, a load
//! cancelled when its tile leaves the view, and a hard memory budget. Over the budget, tiles
//! not drawn go first (least recently used); if what is drawn still does not fit, detail drops
//! — the screen-space error allowed grows — instead of memory. A tile whose finer children are
//! not loaded yet stays drawn in their place (no holes while refining); tiles nobody has drawn
//! for a while are let go, so that at rest what is resident is what is seen.

use super::{Camera, Refine, Tile, Tileset, decode::Placer, decode::TileGeometry, select};
use crate::crs::Crs;
use crate::{LayersError, Result};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a tileset streams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamOptions {
    /// Screen-space error (pixels) above which a tile is refined (cesium-native's default: 16).
    pub max_sse: f64,
    /// Bytes of decoded geometry held at most (default 512 MiB).
    pub budget_bytes: usize,
    /// Loads at a time.
    pub max_in_flight: usize,
    /// Worker threads.
    pub workers: usize,
    /// A tile not drawn for this long is let go even under the budget.
    pub linger: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            max_sse: 16.0,
            budget_bytes: 512 << 20,
            max_in_flight: 8,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4)),
            linger: Duration::from_secs(5),
        }
    }
}

pub use super::archive::{Fetch, Files};

struct Job {
    tile: usize,
    data: Tile,
    cancel: Arc<AtomicBool>,
}

struct Done {
    tile: usize,
    /// Bytes of the files read.
    file_bytes: usize,
    result: std::result::Result<Vec<Arc<TileGeometry>>, String>,
}

struct Resident {
    geoms: Vec<Arc<TileGeometry>>,
    bytes: usize,
    last_drawn: Instant,
}

/// What one [`Streamer::update`] decided.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// The tiles to draw now, with their geometry (tile index, one geometry per content).
    pub draw: Vec<(usize, Vec<Arc<TileGeometry>>)>,
    /// Tiles the selection wanted.
    pub wanted: usize,
    /// Of them, drawn at their own detail (the rest stand in through an ancestor, or wait).
    pub wanted_resident: usize,
    /// Loads under way.
    pub in_flight: usize,
    /// Loads cancelled by this update (their tiles left the view).
    pub cancelled: usize,
    /// Tiles evicted by this update.
    pub evicted: usize,
    /// Tiles resident.
    pub resident: usize,
    /// Bytes resident.
    pub resident_bytes: usize,
    /// The factor on the allowed screen-space error (1 within the budget; more when detail had
    /// to drop to stay in it).
    pub sse_factor: f64,
    /// Tiles left out because they lie outside the view.
    pub culled: usize,
    /// Nothing in flight and every wanted tile resident (or broken).
    pub settled: bool,
}

/// A tileset being streamed for one view.
pub struct Streamer {
    ts: Tileset,
    opts: StreamOptions,
    resident: HashMap<usize, Resident>,
    /// Loads under way: their cancel flag and the bytes they are expected to take.
    in_flight: HashMap<usize, (Arc<AtomicBool>, usize)>,
    broken: HashMap<usize, String>,
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    workers: Vec<std::thread::JoinHandle<()>>,
    sse_factor: f64,
    resident_bytes: usize,
    fetch: Arc<dyn Fetch>,
    /// The detail that last starved, and when.
    starved: Option<(f64, Instant)>,
    /// The tiles the last update drew.
    last_drawn: Vec<usize>,
    /// Decoded bytes and file bytes of the loads so far: their ratio estimates a load's cost.
    seen: (usize, usize),
}

impl Streamer {
    /// Stream `ts` into the workspace CRS `crs`, reading contents as it reads its files.
    pub fn new(ts: Tileset, crs: &Crs, opts: StreamOptions) -> Result<Streamer> {
        let fetch = ts.fetch.clone();
        // Fail here, not in a worker, when the CRS cannot be reached.
        Placer::new(crs)?;
        let (jobs, job_rx) = channel::<Job>();
        let (done_tx, done) = channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..opts.workers.max(1))
            .map(|k| {
                let (job_rx, done_tx, fetch, crs) = (job_rx.clone(), done_tx.clone(), fetch.clone(), crs.clone());
                std::thread::Builder::new()
                    .name(format!("tiles3d-{k}"))
                    .spawn(move || worker(&job_rx, &done_tx, fetch.as_ref(), &crs))
                    .map_err(|e| LayersError::Invalid(format!("cannot start a tile loader: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Streamer {
            ts,
            opts,
            resident: HashMap::new(),
            in_flight: HashMap::new(),
            broken: HashMap::new(),
            jobs: Some(jobs),
            done,
            workers,
            sse_factor: 1.0,
            resident_bytes: 0,
            seen: (0, 0),
            last_drawn: Vec::new(),
            starved: None,
            fetch,
        })
    }

    /// The tileset (grown by the implicit subtrees read so far).
    pub fn tileset(&self) -> &Tileset {
        &self.ts
    }

    /// The options.
    pub fn options(&self) -> &StreamOptions {
        &self.opts
    }

    /// Set the memory budget (takes effect at the next update).
    pub fn set_budget(&mut self, bytes: usize) {
        self.opts.budget_bytes = bytes;
        self.starved = None;
    }

    /// Contents that could not be loaded: the tile and one line naming the file and the problem.
    pub fn broken(&self) -> impl Iterator<Item = (usize, &str)> {
        self.broken.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// Bytes resident.
    pub fn resident_bytes(&self) -> usize {
        self.resident_bytes
    }

    /// The tiles the last update drew, with their geometry (for picking what is seen).
    pub fn drawn(&self) -> Vec<(usize, Vec<Arc<TileGeometry>>)> {
        self.last_drawn
            .iter()
            .filter_map(|t| self.resident.get(t).map(|r| (*t, r.geoms.clone())))
            .collect()
    }

    /// Tiles resident.
    pub fn resident_tiles(&self) -> impl Iterator<Item = usize> + '_ {
        self.resident.keys().copied()
    }

    fn take_done(&mut self) {
        while let Ok(d) = self.done.try_recv() {
            self.in_flight.remove(&d.tile);
            match d.result {
                Ok(geoms) => {
                    let bytes = geoms.iter().map(|g| g.bytes()).sum();
                    self.seen.0 += bytes;
                    self.seen.1 += d.file_bytes;
                    self.resident_bytes += bytes;
                    if let Some(old) = self.resident.insert(
                        d.tile,
                        Resident {
                            geoms,
                            bytes,
                            last_drawn: Instant::now(),
                        },
                    ) {
                        self.resident_bytes -= old.bytes;
                    }
                }
                Err(e) if e.is_empty() => {}
                Err(e) => {
                    self.broken.insert(d.tile, e);
                }
            }
        }
    }

    fn evict(&mut self, k: usize) {
        if let Some(r) = self.resident.remove(&k) {
            self.resident_bytes -= r.bytes;
        }
    }

    /// Decide what to draw from `cam`: take finished loads, select, stand in for tiles not yet
    /// loaded, cancel loads no longer wanted, keep to the budget and start new loads.
    pub fn update(&mut self, cam: &Camera) -> Update {
        self.take_done();
        let sel = select(&mut self.ts, cam, self.opts.max_sse * self.sse_factor);
        let wanted: HashSet<usize> = sel.draw.iter().copied().collect();
        let now = Instant::now();
        let mut u = Update {
            wanted: wanted.len(),
            culled: sel.culled,
            ..Update::default()
        };
        // What is drawn: the wanted tiles that are resident, and for a missing tile that
        // replaces its parent the nearest resident ancestor in its place.
        let mut stand_ins: HashSet<usize> = HashSet::new();
        let mut missing = Vec::new();
        // Coarser tiles to load first where nothing stands in yet (as CesiumJS's
        // preloadAncestors): a coarse picture soon, the fine one as it comes.
        let mut ancestors: Vec<usize> = Vec::new();
        for &t in &sel.draw {
            if self.resident.contains_key(&t) {
                u.wanted_resident += 1;
            } else if !self.broken.contains_key(&t) {
                missing.push(t);
                let mut a = self.ts.tiles[t].parent;
                let mut coarse = None;
                while let Some(p) = a {
                    let tile = &self.ts.tiles[p];
                    if tile.refine == Refine::Add {
                        // Drawn with its children anyway.
                        break;
                    }
                    if self.resident.contains_key(&p) {
                        stand_ins.insert(p);
                        coarse = None;
                        break;
                    }
                    if coarse.is_none() && !tile.contents.is_empty() && !self.broken.contains_key(&p) {
                        coarse = Some(p);
                    }
                    a = tile.parent;
                }
                if let Some(c) = coarse
                    && !ancestors.contains(&c)
                {
                    ancestors.push(c);
                }
            }
        }
        let under_stand_in = |ts: &Tileset, t: usize| {
            let mut a = ts.tiles[t].parent;
            while let Some(p) = a {
                if stand_ins.contains(&p) {
                    return true;
                }
                a = ts.tiles[p].parent;
            }
            false
        };
        let mut draw: Vec<usize> = sel
            .draw
            .iter()
            .copied()
            .filter(|t| self.resident.contains_key(t) && !under_stand_in(&self.ts, *t))
            .collect();
        let mut stand_ins: Vec<usize> = stand_ins.into_iter().filter(|t| !wanted.contains(t)).collect();
        stand_ins.sort_unstable();
        draw.extend(stand_ins);
        let drawn: HashSet<usize> = draw.iter().copied().collect();
        for t in &drawn {
            if let Some(r) = self.resident.get_mut(t) {
                r.last_drawn = now;
            }
        }
        // Loads whose tiles are no longer wanted are called off.
        let gone: Vec<usize> = self
            .in_flight
            .keys()
            .copied()
            .filter(|t| !wanted.contains(t) && !ancestors.contains(t))
            .collect();
        for t in gone {
            if let Some((c, _)) = self.in_flight.remove(&t) {
                c.store(true, Ordering::Relaxed);
                u.cancelled += 1;
            }
        }
        // Tiles not drawn, the longest undrawn first: those undrawn for longer than `linger`
        // go now; the others go when the budget needs their room.
        let mut idle: std::collections::VecDeque<usize> = {
            let mut v: Vec<(Instant, usize)> = self
                .resident
                .iter()
                .filter(|(t, _)| !drawn.contains(t))
                .map(|(t, r)| (r.last_drawn, *t))
                .collect();
            v.sort_unstable();
            let mut q = std::collections::VecDeque::new();
            for (when, t) in v {
                if self.resident_bytes > self.opts.budget_bytes || now.duration_since(when) > self.opts.linger {
                    self.evict(t);
                    u.evicted += 1;
                } else {
                    q.push_back(t);
                }
            }
            q
        };
        // New loads, nearest and most central first. A load starts only if what it is expected
        // to take fits beside what is resident and under way, after letting idle tiles go (the
        // first load of an empty stream always starts); one that cannot is starved.
        missing.retain(|t| !self.in_flight.contains_key(t));
        let prio = |t: &Tile| {
            let c = t.bounds.center();
            let d = super::sub(c, cam.position);
            let dist = t.bounds.distance(cam.position);
            let cos = super::dot(d, cam.forward) / super::norm(d).max(1e-9);
            dist * (2.0 - cos)
        };
        // Each tile's priority once (a region's volume is sampled to measure it), then sorted.
        let mut ranked: Vec<(f64, usize)> = missing.iter().map(|&t| (prio(&self.ts.tiles[t]), t)).collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        let missing: Vec<usize> = ranked.into_iter().map(|(_, t)| t).collect();
        ancestors.retain(|t| !self.in_flight.contains_key(t));
        let ratio = if self.seen.1 > 0 {
            self.seen.0 as f64 / self.seen.1 as f64
        } else {
            3.0
        };
        let mut committed = self.resident_bytes + self.in_flight.values().map(|(_, e)| e).sum::<usize>();
        let mut starved = false;
        for t in ancestors.into_iter().chain(missing.iter().copied()) {
            if self.in_flight.len() >= self.opts.max_in_flight {
                break;
            }
            let file: u64 = self.ts.tiles[t].contents.iter().filter_map(|c| self.fetch.size(&c.path)).sum();
            let estimate = (file as f64 * ratio) as usize;
            while committed + estimate > self.opts.budget_bytes
                && let Some(old) = idle.pop_front()
            {
                let before = self.resident_bytes;
                self.evict(old);
                u.evicted += 1;
                committed -= before - self.resident_bytes;
            }
            if committed + estimate > self.opts.budget_bytes && committed > 0 {
                starved = true;
                continue;
            }
            let cancel = Arc::new(AtomicBool::new(false));
            let job = Job {
                tile: t,
                data: self.ts.tiles[t].clone(),
                cancel: cancel.clone(),
            };
            if self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok()) {
                self.in_flight.insert(t, (cancel, estimate));
                committed += estimate;
            }
        }
        // What is wanted does not fit: drop detail (the next update selects coarser tiles and
        // lets the finer ones go). Well under the budget, with nothing missing, let it come back
        // — but not to a detail that starved in the last ten seconds.
        if self.resident_bytes > self.opts.budget_bytes || starved {
            self.starved = Some((self.sse_factor, now));
            self.sse_factor = (self.sse_factor * 1.5).min(1e6);
        } else if self.resident_bytes < self.opts.budget_bytes / 2 && self.sse_factor > 1.0 && missing.is_empty() {
            let next = (self.sse_factor / 1.25).max(1.0);
            let recent = self
                .starved
                .is_some_and(|(f, when)| next <= f && now.duration_since(when) < Duration::from_secs(10));
            if !recent {
                self.sse_factor = next;
            }
        }
        u.draw = draw
            .into_iter()
            .filter_map(|t| self.resident.get(&t).map(|r| (t, r.geoms.clone())))
            .collect();
        self.last_drawn = u.draw.iter().map(|(t, _)| *t).collect();
        u.in_flight = self.in_flight.len();
        u.resident = self.resident.len();
        u.resident_bytes = self.resident_bytes;
        u.sse_factor = self.sse_factor;
        u.settled = u.in_flight == 0
            && sel
                .draw
                .iter()
                .all(|t| self.resident.contains_key(t) || self.broken.contains_key(t));
        u
    }

    /// Update until settled (or `timeout`), for a still camera: what a rendered picture of a
    /// view waits for.
    pub fn settle(&mut self, cam: &Camera, timeout: Duration) -> Update {
        let start = Instant::now();
        loop {
            let u = self.update(cam);
            if u.settled || start.elapsed() > timeout {
                return u;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Streamer {
    fn drop(&mut self) {
        for (c, _) in self.in_flight.values() {
            c.store(true, Ordering::Relaxed);
        }
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker(jobs: &Mutex<Receiver<Job>>, done: &Sender<Done>, fetch: &dyn Fetch, crs: &Crs) {
    let placer = match Placer::new(crs) {
        Ok(p) => p,
        Err(_) => return,
    };
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            return;
        };
        let mut file_bytes = 0;
        let result = if job.cancel.load(Ordering::Relaxed) {
            // An empty error: called off, not broken.
            Err(String::new())
        } else {
            load(&job, fetch, &placer, &mut file_bytes)
        };
        if done
            .send(Done {
                tile: job.tile,
                file_bytes,
                result,
            })
            .is_err()
        {
            return;
        }
    }
}

fn load(job: &Job, fetch: &dyn Fetch, placer: &Placer, file_bytes: &mut usize) -> std::result::Result<Vec<Arc<TileGeometry>>, String> {
    let mut out = Vec::new();
    for c in &job.data.contents {
        let bytes = fetch.fetch(&c.path).map_err(|e| e.to_string())?;
        *file_bytes += bytes.len();
        if job.cancel.load(Ordering::Relaxed) {
            return Err(String::new());
        }
        let g = super::decode::decode_with(&c.path, &bytes, &job.data, placer, fetch).map_err(|e| e.to_string())?;
        out.push(Arc::new(g));
    }
    Ok(out)
}
