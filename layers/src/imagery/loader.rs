//! Fetch tiles on worker threads into a [`TileCache`]. Each consumer (the 3D scene, the 2D
//! view, a package export) asks under its own name; a new request replaces what that name
//! had queued, so tiles that left the view are never fetched, and a tile in flight that no
//! consumer wants any more is cancelled (its flag in [`super::cancel`] raised: a network
//! request is dropped mid-way). Failures that may pass are retried with backoff; every
//! source keeps its health (tiles had, empty, failed, cancelled, the last error) for the
//! layer tree.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::cache::TileCache;
use super::{TileError, TileKey, TileSource};

/// Tries of a tile that fails with a [`TileError::Transient`] error.
pub const TRIES: u32 = 3;

/// How a source is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export_to = "api.gen.ts")]
pub struct TileHealth {
    /// Tiles fetched with data.
    pub tiles: u64,
    /// Tiles fetched without data.
    pub empty: u64,
    /// Tiles that failed after every try.
    pub failed: u64,
    /// Retries made.
    pub retries: u64,
    /// Fetches stopped because the tile left every view that asked for it.
    pub cancelled: u64,
    /// The last failure, when the last fetch failed.
    pub last_error: Option<String>,
}

struct Job {
    consumer: Arc<str>,
    source: Arc<dyn TileSource>,
    key: TileKey,
}

/// A tile being fetched: who wants it, and its cancel flag.
struct Flight {
    wanted_by: HashSet<Arc<str>>,
    cancel: Arc<AtomicBool>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    in_flight: HashMap<TileKey, Flight>,
    health: HashMap<Arc<str>, TileHealth>,
    /// Tiles finished (fetched, empty or failed), for waiting on progress.
    done: u64,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    progress: Condvar,
    stop: AtomicBool,
    cache: Arc<TileCache>,
    backoff: Duration,
}

/// Worker threads fetching tiles into a cache.
pub struct Loader {
    shared: Arc<Shared>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn work(shared: Arc<Shared>) {
    loop {
        let job = {
            let mut st = shared.lock();
            loop {
                if shared.stop.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(job) = st.queue.pop_front() {
                    if shared.cache.contains(&job.key) {
                        continue;
                    }
                    if let Some(f) = st.in_flight.get_mut(&job.key) {
                        f.wanted_by.insert(job.consumer.clone());
                        f.cancel.store(false, Ordering::Relaxed);
                        continue;
                    }
                    let cancel = Arc::new(AtomicBool::new(false));
                    st.in_flight.insert(
                        job.key.clone(),
                        Flight {
                            wanted_by: HashSet::from([job.consumer.clone()]),
                            cancel: cancel.clone(),
                        },
                    );
                    break (job, cancel);
                }
                st = shared.work.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        };
        let (job, cancel) = job;
        let (_, level, col, row) = job.key.clone();
        let mut tries = 0;
        let result = loop {
            tries += 1;
            if cancel.load(Ordering::Relaxed) {
                break Err(TileError::Cancelled);
            }
            match super::cancel::with(cancel.clone(), || job.source.fetch(level, col, row)) {
                Err(TileError::Transient(_)) if tries < TRIES && !shared.stop.load(Ordering::Relaxed) => {
                    shared.lock().health.entry(job.key.0.clone()).or_default().retries += 1;
                    std::thread::sleep(shared.backoff * 2u32.pow(tries - 1));
                }
                r => break r,
            }
        };
        let was_cancelled = matches!(result, Err(TileError::Cancelled));
        let mut st = shared.lock();
        let h = st.health.entry(job.key.0.clone()).or_default();
        match result {
            Ok(Some(t)) => {
                h.tiles += 1;
                h.last_error = None;
                shared.cache.put(job.key.clone(), Some(Arc::new(t)));
            }
            Ok(None) => {
                h.empty += 1;
                h.last_error = None;
                shared.cache.put(job.key.clone(), None);
            }
            Err(TileError::Cancelled) => h.cancelled += 1,
            Err(e) => {
                h.failed += 1;
                h.last_error = Some(e.to_string());
            }
        }
        let flight = st.in_flight.remove(&job.key);
        if was_cancelled {
            // Wanted again while it was being stopped: asked again.
            if let Some(c) = flight.and_then(|f| f.wanted_by.into_iter().next()) {
                st.queue.push_front(Job {
                    consumer: c,
                    source: job.source.clone(),
                    key: job.key.clone(),
                });
                shared.work.notify_one();
            }
        }
        st.done += 1;
        drop(st);
        shared.progress.notify_all();
    }
}

impl Loader {
    /// `threads` workers filling `cache`; transient failures wait `backoff`, then twice that.
    pub fn new(threads: usize, cache: Arc<TileCache>, backoff: Duration) -> Loader {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            progress: Condvar::new(),
            stop: AtomicBool::new(false),
            cache,
            backoff,
        });
        let workers = (0..threads.max(1))
            .map(|i| {
                let s = shared.clone();
                std::thread::Builder::new()
                    .name(format!("jingwei-tiles-{i}"))
                    .spawn(move || work(s))
                    .expect("spawning a tile worker")
            })
            .collect();
        Loader { shared, workers }
    }

    /// The cache it fills.
    pub fn cache(&self) -> &Arc<TileCache> {
        &self.shared.cache
    }

    /// `consumer` now wants these tiles, in this order: what it queued before and did not
    /// start is dropped, and tiles in flight that it alone wanted are cancelled. Tiles cached
    /// or in flight are not asked again.
    pub fn want(&self, consumer: &str, wanted: Vec<(Arc<dyn TileSource>, Vec<(usize, u32, u32)>)>) {
        let mut st = self.shared.lock();
        st.queue.retain(|j| &*j.consumer != consumer);
        let consumer: Arc<str> = Arc::from(consumer);
        let mut keys = HashSet::new();
        let mut jobs = Vec::new();
        for (source, tiles) in wanted {
            let key: Arc<str> = Arc::from(source.key());
            for (l, c, r) in tiles {
                let k = (key.clone(), l, c, r);
                keys.insert(k.clone());
                if let Some(f) = st.in_flight.get_mut(&k) {
                    f.wanted_by.insert(consumer.clone());
                    f.cancel.store(false, Ordering::Relaxed);
                } else if !self.shared.cache.contains(&k) {
                    jobs.push(Job {
                        consumer: consumer.clone(),
                        source: source.clone(),
                        key: k,
                    });
                }
            }
        }
        for (k, f) in st.in_flight.iter_mut() {
            if !keys.contains(k) && f.wanted_by.remove(&consumer) && f.wanted_by.is_empty() {
                f.cancel.store(true, Ordering::Relaxed);
            }
        }
        st.queue.extend(jobs);
        drop(st);
        self.shared.work.notify_all();
    }

    /// Tiles queued plus in flight.
    pub fn pending(&self) -> usize {
        let st = self.shared.lock();
        st.queue.len() + st.in_flight.len()
    }

    /// Tiles finished so far (a counter that only grows).
    pub fn done(&self) -> u64 {
        self.shared.lock().done
    }

    /// Wait while `busy` holds, at most `timeout`; the state at the end.
    fn wait_while(&self, timeout: Duration, busy: impl Fn(&State) -> bool) -> std::sync::MutexGuard<'_, State> {
        let end = Instant::now() + timeout;
        let mut st = self.shared.lock();
        while busy(&st) {
            let now = Instant::now();
            if now >= end {
                break;
            }
            st = self
                .shared
                .progress
                .wait_timeout(st, end - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        st
    }

    /// Wait until more than `seen` tiles are done, or nothing is pending, or `timeout`;
    /// returns the count done.
    pub fn wait_progress(&self, seen: u64, timeout: Duration) -> u64 {
        self.wait_while(timeout, |st| st.done <= seen && !(st.queue.is_empty() && st.in_flight.is_empty()))
            .done
    }

    /// Wait until nothing is pending or `timeout`; true when idle.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let st = self.wait_while(timeout, |st| !(st.queue.is_empty() && st.in_flight.is_empty()));
        st.queue.is_empty() && st.in_flight.is_empty()
    }

    /// A source's health so far.
    pub fn health(&self, source: &str) -> TileHealth {
        self.shared.lock().health.get(source).cloned().unwrap_or_default()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.work.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}
