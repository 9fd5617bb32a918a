//! Decoded tiles under a byte limit, least recently used out first.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::{Tile, TileKey};

/// What the cache holds for a key: a tile, or the knowledge that there is none.
pub type Entry = Option<Arc<Tile>>;

/// Every empty answer still costs this much (the key and the bookkeeping).
const EMPTY_COST: usize = 64;

#[derive(Default)]
struct Inner {
    map: HashMap<TileKey, (Entry, u64)>,
    by_use: BTreeMap<u64, TileKey>,
    tick: u64,
    bytes: usize,
    peak: usize,
}

/// A bounded, thread-safe cache of decoded tiles, shared by all sources of a session.
pub struct TileCache {
    limit: usize,
    inner: Mutex<Inner>,
}

fn cost(e: &Entry) -> usize {
    e.as_ref().map_or(EMPTY_COST, |t| t.bytes() + EMPTY_COST)
}

impl TileCache {
    /// A cache holding at most `limit_bytes` of tiles.
    pub fn new(limit_bytes: usize) -> TileCache {
        TileCache {
            limit: limit_bytes.max(1 << 20),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent data (every update is
        // finished before the next starts), so a poisoned lock is taken over.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry for `key`, marking it used; `None` when not cached.
    pub fn get(&self, key: &TileKey) -> Option<Entry> {
        let mut g = self.lock();
        let inner = &mut *g;
        inner.tick += 1;
        let tick = inner.tick;
        let (entry, used) = inner.map.get_mut(key)?;
        inner.by_use.remove(used);
        *used = tick;
        inner.by_use.insert(tick, key.clone());
        Some(entry.clone())
    }

    /// True when `key` is cached (without marking it used).
    pub fn contains(&self, key: &TileKey) -> bool {
        self.lock().map.contains_key(key)
    }

    /// Store `entry`, evicting the least recently used until the cache fits its limit again.
    pub fn put(&self, key: TileKey, entry: Entry) {
        let mut g = self.lock();
        let inner = &mut *g;
        inner.tick += 1;
        let tick = inner.tick;
        inner.bytes += cost(&entry);
        if let Some((old, used)) = inner.map.insert(key.clone(), (entry, tick)) {
            inner.bytes -= cost(&old);
            inner.by_use.remove(&used);
        }
        inner.by_use.insert(tick, key);
        while inner.bytes > self.limit {
            let Some((_, k)) = inner.by_use.pop_first() else { break };
            if let Some((old, _)) = inner.map.remove(&k) {
                inner.bytes -= cost(&old);
            }
        }
        inner.peak = inner.peak.max(inner.bytes);
    }

    /// Drop every tile of one source (its file changed, or it was removed).
    pub fn forget_source(&self, source: &str) {
        let mut g = self.lock();
        let inner = &mut *g;
        let gone: Vec<TileKey> = inner.map.keys().filter(|k| &*k.0 == source).cloned().collect();
        for k in gone {
            if let Some((old, used)) = inner.map.remove(&k) {
                inner.bytes -= cost(&old);
                inner.by_use.remove(&used);
            }
        }
    }

    /// Bytes held now, the most ever held, and the limit.
    pub fn usage(&self) -> (usize, usize, usize) {
        let g = self.lock();
        (g.bytes, g.peak, self.limit)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(n: usize) -> Entry {
        Some(Arc::new(Tile {
            width: 1,
            height: 1,
            rgba: vec![0; n],
        }))
    }

    #[test]
    fn evicts_least_recently_used_within_limit() {
        let c = TileCache::new(3 << 20);
        let k = |i: u32| -> TileKey { (Arc::from("s"), 0, i, 0) };
        c.put(k(1), tile(1 << 20));
        c.put(k(2), tile(1 << 20));
        assert!(c.get(&k(1)).is_some(), "1 used again, so 2 is the oldest");
        c.put(k(3), tile(1 << 20));
        assert!(!c.contains(&k(2)), "2 evicted");
        assert!(c.contains(&k(1)) && c.contains(&k(3)));
        let (bytes, peak, limit) = c.usage();
        assert!(bytes <= limit && peak <= limit, "{bytes} {peak} {limit}");
        c.put(k(4), None);
        assert_eq!(c.get(&k(4)), Some(None), "an empty tile is remembered as empty");
        c.forget_source("s");
        assert!(c.is_empty());
        assert_eq!(c.usage().0, 0);
    }
}
