//! Progress and cancellation for long operations (reading a layer, running the rules): one
//! handle that the caller keeps a clone of, usable from many threads at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A progress callback: work done so far and the total (0 when unknown).
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// The job was cancelled; nothing it was making is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// Progress reporting and a cancel flag. Cloning shares both.
#[derive(Clone, Default)]
pub struct Job {
    progress: Option<Progress>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("done", &self.done.load(Ordering::Relaxed))
            .field("total", &self.total.load(Ordering::Relaxed))
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Job {
    /// A job with no progress callback that nobody has cancelled.
    pub fn new() -> Job {
        Job::default()
    }

    /// Report progress to `progress` (called from worker threads).
    pub fn with_progress(mut self, progress: Progress) -> Job {
        self.progress = Some(progress);
        self
    }

    /// Share `flag` as the cancel flag (setting it cancels the job).
    pub fn with_cancel(mut self, flag: Arc<AtomicBool>) -> Job {
        self.cancel = flag;
        self
    }

    /// The cancel flag, for another thread to set.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Ask the job to stop.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Whether the job was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once the job was asked to stop.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() { Err(Cancelled) } else { Ok(()) }
    }

    /// Report an absolute position (for work that counts for itself).
    pub fn report(&self, done: u64, total: u64) {
        if let Some(p) = &self.progress {
            p(done, total);
        }
    }

    /// Announce `units` more units of work to come.
    pub fn plan(&self, units: u64) {
        self.total.fetch_add(units, Ordering::Relaxed);
    }

    /// `units` units of the planned work are done; the callback hears of it about every
    /// 1/256 of the total (and at the end), not on every call.
    pub fn advance(&self, units: u64) {
        let before = self.done.fetch_add(units, Ordering::Relaxed);
        let done = before + units;
        let total = self.total.load(Ordering::Relaxed);
        let step = (total / 256).max(1);
        if self.progress.is_some() && (before / step != done / step || done >= total) {
            self.report(done.min(total), total);
        }
    }

    /// Units done so far through [`Job::advance`].
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Units planned through [`Job::plan`].
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn advance_reports_in_steps_and_reaches_the_total() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let job = Job::new().with_progress(Arc::new(move |d, t| s2.lock().unwrap().push((d, t))));
        job.plan(1000);
        for _ in 0..1000 {
            job.advance(1);
        }
        let seen = seen.lock().unwrap();
        // About every 1/256 of the total (a step of 3 units here), not on every unit.
        assert!(seen.len() >= 256 && seen.len() <= 1000 / 3 + 1, "{} reports", seen.len());
        assert_eq!(*seen.last().unwrap(), (1000, 1000));
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn a_clone_shares_the_cancel_flag() {
        let job = Job::new();
        let other = job.clone();
        assert_eq!(job.check(), Ok(()));
        other.cancel();
        assert_eq!(job.check(), Err(Cancelled));
    }
}
