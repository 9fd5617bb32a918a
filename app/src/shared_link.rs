//! The desktop app on the shared store: a session logs in as its user, lists and opens the
//! cases that user may see, changes them carrying the version it showed, and hears other
//! users' changes. A change refused as stale comes back with both versions — the one the user
//! saw and the one the store has now, with who changed it and when — so the page can show the
//! two side by side instead of an error line.
//!
//! Notifications carry ids only, and a busy bureau sends many: [`ChangeWatcher::next_batch`]
//! gathers what arrives within a short window into one batch with each id once, so the page
//! re-reads each changed case once however often it changed.

use crate::shared::{Whoami, read_data_key};
use crate::{Error, Result, Session};
use jingwei_cases::Status;
use jingwei_store::{CaseChange, Change, Connect, Listener, Shared, SharedCase, SharedFilter, SharedNote, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

/// The session's link to the shared store.
pub(crate) struct SharedLink {
    connect: Connect,
    conn: Shared,
    /// The last few versions of each case read for the user (a change carries one of them:
    /// the one the page shows, perhaps older than one re-read since).
    seen: HashMap<i64, Vec<SharedCase>>,
}

/// A shared case with its notes.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SharedDetail {
    /// The case.
    pub case: SharedCase,
    /// Its notes, oldest first.
    pub notes: Vec<SharedNote>,
}

/// A change of a shared case from the page.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct SharedChangeInput {
    /// The case.
    pub id: i64,
    /// The version the user saw.
    pub version: i32,
    /// A new status.
    #[ts(optional)]
    pub status: Option<String>,
    /// A new assignee (`""` clears it).
    #[ts(optional)]
    pub assignee: Option<String>,
    /// A note with the change.
    #[ts(optional)]
    pub comment: Option<String>,
}

/// What became of a change.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SharedWrite {
    /// Saved: the case as it is now.
    Saved {
        /// The case.
        case: Box<SharedCase>,
    },
    /// Someone changed the case since the user saw it; nothing was written.
    Stale {
        /// The case as the user saw it (when this session showed it).
        yours: Option<Box<SharedCase>>,
        /// What the user tried, in words.
        tried: String,
        /// The case as it is now.
        theirs: Box<SharedCase>,
    },
}

/// The changes heard in one window, each id once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ts_rs::TS)]
pub struct ChangeBatch {
    /// Cases changed (their notes, attachments, conflicts included).
    pub cases: Vec<i64>,
    /// Incidents changed (their log included).
    pub incidents: Vec<i64>,
    /// The connection dropped and came back: what was missed is unknown; read everything again.
    pub resync: bool,
    /// Notifications gathered into this batch.
    pub heard: usize,
}

/// Hears the store's changes and hands them over in batches.
pub struct ChangeWatcher {
    listener: Listener,
}

impl ChangeWatcher {
    /// Wait up to `wait` for a change; then keep gathering for `window` (at most), and answer
    /// the batch (`None`: nothing within `wait`).
    pub fn next_batch(&mut self, wait: Duration, window: Duration) -> Result<Option<ChangeBatch>> {
        let first = match self.listener.next(wait)? {
            Some(c) => c,
            None => return Ok(None),
        };
        let (mut cases, mut incidents) = (BTreeSet::new(), BTreeSet::new());
        let mut batch = ChangeBatch::default();
        let mut take = |c: Change, b: &mut ChangeBatch| {
            b.heard += 1;
            match c {
                Change::Row { table, id } if table == "cases" => {
                    cases.insert(id);
                }
                Change::Row { table, id } if table == "incidents" => {
                    incidents.insert(id);
                }
                Change::Row { .. } => {}
                Change::Resync => b.resync = true,
            }
        };
        take(first, &mut batch);
        let until = Instant::now() + window;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.listener.next(left)? {
                Some(c) => take(c, &mut batch),
                None => break,
            }
        }
        batch.cases = cases.into_iter().collect();
        batch.incidents = incidents.into_iter().collect();
        Ok(Some(batch))
    }
}

impl Session {
    /// Log in to the shared store (`postgresql://user@host:port/db?sslrootcert=…&sslcert=…&sslkey=…`)
    /// with `password`; `data_key` opens personal fields. Replaces any earlier link.
    pub fn shared_connect(&self, url: &str, password: Option<&str>, data_key: Option<&Path>) -> Result<Whoami> {
        let mut connect = Connect::parse(url.trim())?;
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            connect.password = Some(p.to_owned());
        }
        let mut conn = Shared::open(&connect)?;
        if let Some(k) = data_key {
            conn = conn.with_key(read_data_key(k)?);
        }
        let who = Whoami {
            store: conn.target(),
            role: conn.role(),
            department: conn.department().map(str::to_owned),
        };
        if !matches!(who.role, Some(jingwei_store::Role::Inspector | jingwei_store::Role::Commander)) {
            return Err(Error::Invalid(format!(
                "{}: only inspectors and commanders work cases in the app (this login is {})",
                who.store,
                who.role.map(|r| r.id()).unwrap_or("no user of the store")
            )));
        }
        *self.shared.lock()? = Some(SharedLink {
            connect,
            conn,
            seen: HashMap::new(),
        });
        Ok(who)
    }

    /// Drop the link.
    pub fn shared_disconnect(&self) -> Result<()> {
        *self.shared.lock()? = None;
        Ok(())
    }

    /// Who the link is logged in as (`None`: no link).
    pub fn shared_whoami(&self) -> Result<Option<Whoami>> {
        Ok(self.shared.lock()?.as_ref().map(|l| Whoami {
            store: l.conn.target(),
            role: l.conn.role(),
            department: l.conn.department().map(str::to_owned),
        }))
    }

    /// Run `f` on the link's connection; once more on a new connection if the old one broke.
    fn with_link<T>(&self, mut f: impl FnMut(&mut Shared) -> jingwei_store::Result<T>) -> Result<(T, SharedLinkGuard<'_>)> {
        let mut guard = self.shared.lock()?;
        let link = guard
            .as_mut()
            .ok_or_else(|| Error::Invalid("not connected to a shared store".into()))?;
        let r = match f(&mut link.conn) {
            Err(_) if !link.conn.is_alive() => {
                link.conn.reconnect()?;
                f(&mut link.conn)
            }
            r => r,
        };
        Ok((r?, SharedLinkGuard(guard)))
    }

    /// The cases the user may see (all statuses when `statuses` is empty), newest first.
    pub fn shared_list(&self, statuses: &[Status]) -> Result<Vec<SharedCase>> {
        let f = SharedFilter {
            statuses: statuses.to_vec(),
            ..Default::default()
        };
        let (cases, mut g) = self.with_link(|s| s.cases(&f))?;
        g.remember(&cases);
        Ok(cases)
    }

    /// Some cases by id (those still visible), as the page re-reads what it heard changed.
    pub fn shared_cases(&self, ids: &[i64]) -> Result<Vec<SharedCase>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let f = SharedFilter {
            ids: ids.to_vec(),
            ..Default::default()
        };
        let (cases, mut g) = self.with_link(|s| s.cases(&f))?;
        g.remember(&cases);
        Ok(cases)
    }

    /// A case with its notes.
    pub fn shared_detail(&self, id: i64) -> Result<SharedDetail> {
        let ((case, notes), mut g) = self.with_link(|s| Ok((s.case(id)?, s.notes(id)?)))?;
        g.remember(std::slice::from_ref(&case));
        Ok(SharedDetail { case, notes })
    }

    /// Change a case, carrying the version the user saw; a stale change is answered with both
    /// versions and nothing written.
    pub fn shared_change(&self, input: &SharedChangeInput) -> Result<SharedWrite> {
        let status = match input.status.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(
                Status::parse(s)
                    .ok_or_else(|| Error::Invalid(format!("status '{s}': one of pending, confirmed, dismissed, rectifying, closed")))?,
            ),
            None => None,
        };
        let change = CaseChange {
            status,
            assignee: input.assignee.as_ref().map(|a| Some(a.trim().to_owned()).filter(|a| !a.is_empty())),
            comment: input.comment.clone(),
        };
        let mut tried = Vec::new();
        if let Some(s) = status {
            tried.push(format!("状态 → {}", s.name_zh()));
        }
        if let Some(a) = &change.assignee {
            tried.push(format!("承办人 → {}", a.as_deref().unwrap_or("（无）")));
        }
        if let Some(c) = change.comment.as_deref().filter(|c| !c.trim().is_empty()) {
            tried.push(format!("备注：{c}"));
        }
        let result = self.with_link(|s| s.change_case(input.id, input.version, &change));
        match result {
            Ok((case, mut g)) => {
                g.remember(std::slice::from_ref(&case));
                Ok(SharedWrite::Saved { case: Box::new(case) })
            }
            Err(Error::Store(StoreError::Stale { theirs, .. })) => {
                let mut guard = self.shared.lock()?;
                let yours = guard.as_mut().and_then(|l| {
                    let seen = l
                        .seen
                        .get(&input.id)?
                        .iter()
                        .find(|c| c.version == input.version)
                        .cloned()
                        .map(Box::new);
                    remember(l, std::slice::from_ref(&theirs));
                    seen
                });
                Ok(SharedWrite::Stale {
                    yours,
                    tried: tried.join("；"),
                    theirs,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// A watcher of the store's changes, on a connection of its own.
    pub fn shared_watcher(&self) -> Result<ChangeWatcher> {
        let connect = self
            .shared
            .lock()?
            .as_ref()
            .map(|l| l.connect.clone())
            .ok_or_else(|| Error::Invalid("not connected to a shared store".into()))?;
        Ok(ChangeWatcher {
            listener: Listener::open(&connect)?,
        })
    }
}

/// The link, still locked after a call (so that what it read is remembered as shown).
struct SharedLinkGuard<'a>(std::sync::MutexGuard<'a, Option<SharedLink>>);

impl SharedLinkGuard<'_> {
    fn remember(&mut self, cases: &[SharedCase]) {
        if let Some(l) = self.0.as_mut() {
            remember(l, cases);
        }
    }
}

/// Versions of a case kept (the page shows one of the last few).
const VERSIONS_KEPT: usize = 4;

fn remember(l: &mut SharedLink, cases: &[SharedCase]) {
    for c in cases {
        let v = l.seen.entry(c.id).or_default();
        if !v.iter().any(|o| o.version == c.version) {
            v.push(c.clone());
            if v.len() > VERSIONS_KEPT {
                v.remove(0);
            }
        }
    }
}
