//! The current events of a feed: deduplicated by id, newer versions replacing older ones, CAP
//! updates replacing what they reference and cancellations withdrawing it.

use crate::{Event, MsgType};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// What happened to an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// First seen.
    New,
    /// A newer version, or a CAP Update of it.
    Updated,
    /// Withdrawn by a CAP Cancel.
    Cancelled,
}

/// One change, with the event as it now is (for a cancellation: as it was).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// What happened.
    pub kind: ChangeKind,
    /// The event.
    pub event: Event,
}

/// Current events by id.
#[derive(Debug, Clone, Default)]
pub struct EventStore {
    events: BTreeMap<String, Event>,
    /// Ids withdrawn or superseded (a late copy of them is not news).
    retired: HashSet<String>,
    /// Cancellation messages already applied.
    cancels_seen: HashSet<String>,
}

impl EventStore {
    /// Apply one message; returns what changed (nothing for a duplicate).
    pub fn apply(&mut self, e: Event) -> Vec<Change> {
        match e.msg_type {
            MsgType::Alert => {
                if self.retired.contains(&e.id) {
                    return Vec::new();
                }
                match self.events.get(&e.id) {
                    Some(old) if old.version_ms >= e.version_ms => Vec::new(),
                    Some(_) => {
                        self.events.insert(e.id.clone(), e.clone());
                        vec![Change {
                            kind: ChangeKind::Updated,
                            event: e,
                        }]
                    }
                    None => {
                        self.events.insert(e.id.clone(), e.clone());
                        vec![Change {
                            kind: ChangeKind::New,
                            event: e,
                        }]
                    }
                }
            }
            MsgType::Update => {
                if self.retired.contains(&e.id) || self.events.get(&e.id).is_some_and(|old| old.version_ms >= e.version_ms) {
                    return Vec::new();
                }
                let mut replaced = self.events.contains_key(&e.id);
                for r in &e.references {
                    replaced |= self.events.remove(r).is_some();
                    self.retired.insert(r.clone());
                }
                self.events.insert(e.id.clone(), e.clone());
                vec![Change {
                    kind: if replaced { ChangeKind::Updated } else { ChangeKind::New },
                    event: e,
                }]
            }
            MsgType::Cancel => {
                if !self.cancels_seen.insert(e.id.clone()) {
                    return Vec::new();
                }
                let mut out = Vec::new();
                for r in &e.references {
                    self.retired.insert(r.clone());
                    if let Some(old) = self.events.remove(r) {
                        out.push(Change {
                            kind: ChangeKind::Cancelled,
                            event: old,
                        });
                    }
                }
                out
            }
        }
    }

    /// The current events, by id.
    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.events.values()
    }

    /// One event.
    pub fn get(&self, id: &str) -> Option<&Event> {
        self.events.get(id)
    }

    /// Number of current events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}
