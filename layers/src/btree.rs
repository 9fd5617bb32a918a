//! A read-only reader of one SQLite table's B-tree, for bulk reads of GeoPackage feature tables.
//!
//! Reading a million features through SQLite's statement engine costs more than decoding them:
//! every page is copied out of the kernel (`pread`), every row steps the virtual machine. Here
//! the file is mapped read-only and the table's B-tree is walked directly, rows `lo..=hi` by
//! rowid, decoding only the columns asked for. A SQLite connection holds a read transaction for
//! as long as the map is used, so no writer can change the file underneath (in WAL mode nothing
//! is checkpointed past the snapshot while it is open).
//!
//! It only takes the plain case: a rowid table in a UTF-8 file whose WAL (if any) is empty, no
//! generated columns, the fid an alias of the rowid. Anything else, and any page that does not
//! parse, is [`NotDirect`]: the caller reads the table through SQLite instead, which also gives
//! the user SQLite's own words for a damaged file. Pages already scanned are given back to the
//! OS (`MADV_DONTNEED`), so the map never holds more than the pages in flight.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// The direct reader does not apply here (or the file did not parse): read through SQLite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDirect(pub String);

fn not(why: impl Into<String>) -> NotDirect {
    NotDirect(why.into())
}

/// The one unsafe part: mapping the file.
#[allow(unsafe_code)]
mod map {
    /// A read-only shared mapping of a whole file.
    pub(super) struct Mapped {
        ptr: *mut libc::c_void,
        pub(super) len: usize,
    }

    // SAFETY: the mapping is read-only and lives until `drop`; the bytes are only read.
    unsafe impl Send for Mapped {}
    unsafe impl Sync for Mapped {}

    impl Mapped {
        pub(super) fn new(file: &std::fs::File) -> Result<Mapped, super::NotDirect> {
            use std::os::fd::AsRawFd;
            let len = file.metadata().map_err(|e| super::not(e.to_string()))?.len() as usize;
            if len == 0 {
                return Err(super::not("empty file"));
            }
            // SAFETY: a fresh read-only mapping of an open file; checked for failure below.
            let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0) };
            if ptr == libc::MAP_FAILED {
                return Err(super::not(std::io::Error::last_os_error().to_string()));
            }
            Ok(Mapped { ptr, len })
        }

        pub(super) fn bytes(&self) -> &[u8] {
            // SAFETY: `ptr` maps `len` readable bytes until drop. The file cannot shrink meanwhile:
            // the owner holds a read transaction (see the module notes).
            unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
        }

        /// Let the OS drop bytes `a..b` from this process (they stay in the page cache; a later
        /// read faults them back in).
        pub(super) fn release(&self, a: usize, b: usize) {
            let page = 4096;
            let (a, b) = (a / page * page, b.min(self.len));
            if a < b {
                // SAFETY: the range lies inside the mapping; DONTNEED on a read-only shared file
                // mapping only unmaps pages, the content stays the file's.
                unsafe { libc::madvise((self.ptr as *mut u8).add(a) as *mut libc::c_void, b - a, libc::MADV_DONTNEED) };
            }
        }
    }

    impl Drop for Mapped {
        fn drop(&mut self) {
            // SAFETY: unmapping what `new` mapped, once.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}
use map::Mapped;

/// Where a wanted value sits in a table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The rowid (the fid: an `INTEGER PRIMARY KEY` column is stored as NULL in the record).
    Rowid,
    /// Record column `pos`; `default` when the column has a DEFAULT (a record written before the
    /// column was added then cannot be read here).
    Column { pos: usize, default: bool },
}

/// One table of a SQLite file, open for direct reading.
pub struct Table {
    map: Mapped,
    page_size: usize,
    usable: usize,
    pages: u32,
    root: u32,
    /// Record position of the rowid-alias column (must be NULL in every record).
    pk_pos: usize,
    slots: Vec<Slot>,
    /// Holds the read transaction; dropped after the map.
    _lock: std::sync::Mutex<Connection>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("root", &self.root)
            .field("pages", &self.pages)
            .finish()
    }
}

fn sql(e: rusqlite::Error) -> NotDirect {
    not(e.to_string())
}

impl Table {
    /// Open `table` of the SQLite file at `path` for reading columns `columns` (by name, in the
    /// order rows will give them) directly; `pk` is the table's `INTEGER PRIMARY KEY`.
    pub fn open(path: &Path, table: &str, pk: &str, columns: &[&str]) -> Result<Table, NotDirect> {
        let lock = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(sql)?;
        // The read transaction: from the first read until drop, no writer can commit (rollback
        // journal) or checkpoint past this snapshot (WAL).
        lock.execute_batch("BEGIN").map_err(sql)?;
        let (root, create): (i64, String) = lock
            .query_row(
                "SELECT rootpage, sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [table],
                |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())),
            )
            .map_err(sql)?;
        if create.to_ascii_uppercase().contains("WITHOUT ROWID") {
            return Err(not("WITHOUT ROWID table"));
        }
        let mode: String = lock.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(sql)?;
        if mode.eq_ignore_ascii_case("wal") {
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                return Err(not("rows in the write-ahead log"));
            }
        }
        // Record positions, in declaration order (table_xinfo also lists generated columns,
        // which records may leave out).
        let mut st = lock
            .prepare(&format!("PRAGMA table_xinfo({})", crate::gpkg::quote_ident(table)))
            .map_err(sql)?;
        let cols: Vec<(String, bool, i64, i64)> = st
            .query_map([], |r| {
                Ok((r.get(1)?, r.get::<_, Option<String>>(4)?.is_some(), r.get(5)?, r.get(6)?))
            })
            .map_err(sql)?
            .collect::<Result<_, _>>()
            .map_err(sql)?;
        drop(st);
        if cols.iter().any(|c| c.3 != 0) {
            return Err(not("generated or hidden columns"));
        }
        if cols.iter().filter(|c| c.2 != 0).count() != 1 {
            return Err(not("no single-column primary key"));
        }
        let pk_pos = cols
            .iter()
            .position(|c| c.0 == pk && c.2 == 1)
            .ok_or_else(|| not("fid is not the primary key"))?;
        let slots = columns
            .iter()
            .map(|name| match cols.iter().position(|c| c.0 == *name) {
                Some(p) if p == pk_pos => Ok(Slot::Rowid),
                Some(pos) => Ok(Slot::Column { pos, default: cols[pos].1 }),
                None => Err(not(format!("no column {name}"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Open and map after the transaction has read: what is mapped is its snapshot.
        let file = std::fs::File::open(path).map_err(|e| not(e.to_string()))?;
        let map = Mapped::new(&file)?;
        let head = map.bytes();
        if head.len() < 100 || &head[..16] != b"SQLite format 3\0" {
            return Err(not("not a SQLite file"));
        }
        let page_size = match u16::from_be_bytes([head[16], head[17]]) {
            1 => 65_536,
            n => usize::from(n),
        };
        if !page_size.is_power_of_two() || !(512..=65_536).contains(&page_size) {
            return Err(not("bad page size"));
        }
        let usable = page_size - usize::from(head[20]);
        if usable < 480 {
            return Err(not("bad reserved space"));
        }
        let encoding = u32::from_be_bytes(head[56..60].try_into().expect("4 bytes"));
        if encoding > 1 {
            return Err(not("UTF-16 text"));
        }
        let mut pages = (map.len / page_size) as u32;
        // The header's page count is valid when written by the same change as the counter.
        let (counter, count, valid_for) = (&head[24..28], &head[28..32], &head[92..96]);
        let declared = u32::from_be_bytes(count.try_into().expect("4 bytes"));
        if counter == valid_for && declared > 0 {
            pages = pages.min(declared);
        }
        let root = u32::try_from(root).map_err(|_| not("bad root page"))?;
        Ok(Table {
            map,
            page_size,
            usable,
            pages,
            root,
            pk_pos,
            slots,
            _lock: std::sync::Mutex::new(lock),
        })
    }

    /// Page `n` (1-based) and the offset of its B-tree header.
    fn page(&self, n: u32) -> Result<(&[u8], usize), NotDirect> {
        if n == 0 || n > self.pages {
            return Err(not(format!("page {n} out of range")));
        }
        let a = (n as usize - 1) * self.page_size;
        Ok((&self.map.bytes()[a..a + self.page_size], if n == 1 { 100 } else { 0 }))
    }

    /// Visit the rows with rowid in `lo..=hi`, in rowid order: `row` gets the rowid and the
    /// wanted values (in the order given to [`Table::open`]).
    pub fn scan<E: From<NotDirect>>(&self, lo: i64, hi: i64, mut row: impl FnMut(i64, &[ValueRef<'_>]) -> Result<(), E>) -> Result<(), E> {
        let mut s = Scan {
            t: self,
            lo,
            hi,
            overflow: Vec::new(),
            serials: Vec::new(),
            touched: (usize::MAX, 0),
            visits: 0,
            last: None,
        };
        let out = s.walk(self.root, 0, &mut row);
        // Give the pages read back (the map would otherwise keep the whole file resident).
        let (a, b) = s.touched;
        if a < b {
            self.map.release(a, b);
        }
        out.map(|_| ())
    }
}

/// Bytes of mapped pages a scan reads before it gives them back.
const RELEASE_EVERY: usize = 1 << 18;

#[derive(PartialEq)]
enum Flow {
    More,
    Done,
}

struct Scan<'t> {
    t: &'t Table,
    lo: i64,
    hi: i64,
    /// A row's payload put together from its overflow pages.
    overflow: Vec<u8>,
    serials: Vec<(u64, usize)>,
    /// Byte span of the leaf and overflow pages read.
    touched: (usize, usize),
    /// Pages visited (a sound tree visits each at most once) and the last rowid given.
    visits: u32,
    last: Option<i64>,
}

/// A SQLite varint at the start of `b`: its value and length.
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..8 {
        let c = *b.get(i)?;
        v = (v << 7) | u64::from(c & 0x7f);
        if c < 0x80 {
            return Some((v, i + 1));
        }
    }
    Some(((v << 8) | u64::from(*b.get(8)?), 9))
}

fn be_u16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?)))
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A big-endian two's-complement integer of 1 to 8 bytes.
fn be_int(b: &[u8]) -> i64 {
    let mut v = i64::from(b[0] as i8);
    for &c in &b[1..] {
        v = (v << 8) | i64::from(c);
    }
    v
}

/// Bytes of a record value of serial type `t`.
fn serial_len(t: u64) -> Option<usize> {
    Some(match t {
        0 | 8 | 9 => 0,
        1..=4 => t as usize,
        5 => 6,
        6 | 7 => 8,
        10 | 11 => return None,
        n => ((n - 12) / 2) as usize,
    })
}

fn value(t: u64, b: &[u8]) -> ValueRef<'_> {
    match t {
        0 => ValueRef::Null,
        1..=6 => ValueRef::Integer(be_int(b)),
        7 => ValueRef::Real(f64::from_bits(u64::from_be_bytes(b.try_into().expect("8 bytes")))),
        8 => ValueRef::Integer(0),
        9 => ValueRef::Integer(1),
        n if n % 2 == 0 => ValueRef::Blob(b),
        _ => ValueRef::Text(b),
    }
}

impl Scan<'_> {
    fn touch(&mut self, page: u32) {
        let a = (page as usize - 1) * self.t.page_size;
        self.touched = (self.touched.0.min(a), self.touched.1.max(a + self.t.page_size));
    }

    fn walk<E: From<NotDirect>>(
        &mut self,
        page: u32,
        depth: u32,
        row: &mut impl FnMut(i64, &[ValueRef<'_>]) -> Result<(), E>,
    ) -> Result<Flow, E> {
        let bad = |what: &str| not(format!("page {page}: {what}"));
        self.visits += 1;
        if depth > 64 || self.visits > self.t.pages {
            return Err(bad("B-tree loops").into());
        }
        let t = self.t;
        let (p, h) = t.page(page)?;
        let n = be_u16(p, h + 3).ok_or_else(|| bad("header"))?;
        match p[h] {
            // Interior: child i holds the rowids in (key i-1, key i]; the right-most the rest.
            0x05 => {
                let mut prev: Option<i64> = None;
                for i in 0..n {
                    let at = be_u16(p, h + 12 + 2 * i).ok_or_else(|| bad("cell pointer"))?;
                    let child = be_u32(p, at).ok_or_else(|| bad("cell"))?;
                    let (key, _) = varint(p.get(at + 4..).unwrap_or(&[])).ok_or_else(|| bad("cell"))?;
                    let key = key as i64;
                    if key >= self.lo && prev.is_none_or(|k| k < self.hi) && self.walk(child, depth + 1, row)? == Flow::Done {
                        return Ok(Flow::Done);
                    }
                    if key >= self.hi {
                        return Ok(Flow::Done);
                    }
                    prev = Some(key);
                }
                let right = be_u32(p, h + 8).ok_or_else(|| bad("right pointer"))?;
                self.walk(right, depth + 1, row)
            }
            0x0d => {
                self.touch(page);
                for i in 0..n {
                    let at = be_u16(p, h + 8 + 2 * i).ok_or_else(|| bad("cell pointer"))?;
                    let cell = p.get(at..t.usable).ok_or_else(|| bad("cell"))?;
                    let (size, a) = varint(cell).ok_or_else(|| bad("cell"))?;
                    let (rowid, b) = varint(&cell[a..]).ok_or_else(|| bad("cell"))?;
                    let rowid = rowid as i64;
                    if rowid < self.lo {
                        continue;
                    }
                    if rowid > self.hi {
                        return Ok(Flow::Done);
                    }
                    if self.last.is_some_and(|l| l >= rowid) {
                        return Err(bad("rowids out of order").into());
                    }
                    self.last = Some(rowid);
                    let body = &cell[a + b..];
                    let size = usize::try_from(size).map_err(|_| bad("payload size"))?;
                    let payload: &[u8] = match self.local(size) {
                        None => body.get(..size).ok_or_else(|| bad("payload"))?,
                        Some(local) => {
                            let first = be_u32(body, local).ok_or_else(|| bad("overflow pointer"))?;
                            let mut buf = std::mem::take(&mut self.overflow);
                            buf.clear();
                            buf.extend_from_slice(body.get(..local).ok_or_else(|| bad("payload"))?);
                            self.follow(first, size, &mut buf)?;
                            self.overflow = buf;
                            &self.overflow
                        }
                    };
                    // The record: header (its length, then one serial type per column), body.
                    let (hlen, mut k) = varint(payload).ok_or_else(|| bad("record"))?;
                    let hlen = usize::try_from(hlen).map_err(|_| bad("record"))?;
                    let mut off = hlen;
                    self.serials.clear();
                    while k < hlen {
                        let (t, n) = varint(payload.get(k..hlen).ok_or_else(|| bad("record"))?).ok_or_else(|| bad("record"))?;
                        let len = serial_len(t).ok_or_else(|| bad("serial type"))?;
                        self.serials.push((t, off));
                        off += len;
                        k += n;
                    }
                    if off > payload.len() {
                        return Err(bad("record longer than its payload").into());
                    }
                    if self.serials.get(t.pk_pos).is_some_and(|&(s, _)| s != 0) {
                        return Err(not("the fid is not the rowid").into());
                    }
                    let mut vals = [ValueRef::Null; 16];
                    let mut more = Vec::new();
                    let wanted = t.slots.len();
                    let out: &mut [ValueRef<'_>] = if wanted <= vals.len() {
                        &mut vals[..wanted]
                    } else {
                        more.resize(wanted, ValueRef::Null);
                        &mut more
                    };
                    for (o, slot) in out.iter_mut().zip(&t.slots) {
                        *o = match *slot {
                            Slot::Rowid => ValueRef::Integer(rowid),
                            Slot::Column { pos, default } => match self.serials.get(pos) {
                                Some(&(s, at)) => value(s, &payload[at..at + serial_len(s).expect("checked")]),
                                // Written before the column was added: SQLite would give its default.
                                None if default => return Err(not("a row older than a column with a default").into()),
                                None => ValueRef::Null,
                            },
                        };
                    }
                    row(rowid, out)?;
                }
                // Give back what this scan has read so far once it adds up (rows are handed
                // out one at a time and not kept, so nothing still points into these pages).
                let (a, b) = self.touched;
                if b.saturating_sub(a) >= RELEASE_EVERY {
                    t.map.release(a, b);
                    self.touched = (usize::MAX, 0);
                }
                Ok(Flow::More)
            }
            other => Err(bad(&format!("page type {other} in a table B-tree")).into()),
        }
    }

    /// For a payload of `size` bytes: `None` when it fits in the cell, else the bytes kept in
    /// the cell (the rest is on overflow pages), as SQLite's file format defines.
    fn local(&self, size: usize) -> Option<usize> {
        let u = self.t.usable;
        let x = u - 35;
        if size <= x {
            return None;
        }
        let m = ((u - 12) * 32 / 255) - 23;
        let k = m + ((size - m) % (u - 4));
        Some(if k <= x { k } else { m })
    }

    /// Append the overflow chain starting at `page` to `buf` until it holds `size` bytes.
    fn follow(&mut self, mut page: u32, size: usize, buf: &mut Vec<u8>) -> Result<(), NotDirect> {
        let mut hops = 0u32;
        while buf.len() < size {
            hops += 1;
            if hops > self.t.pages {
                return Err(not("overflow chain loops"));
            }
            self.touch(page);
            let (p, _) = self.t.page(page)?;
            let take = (size - buf.len()).min(self.t.usable - 4);
            buf.extend_from_slice(&p[4..4 + take]);
            page = be_u32(p, 0).expect("4 bytes");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_integers_decode_as_sqlite_writes_them() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81]), None);
        assert_eq!(be_int(&[0xff]), -1);
        assert_eq!(be_int(&[0x80, 0, 0]), -(1 << 23));
        assert_eq!(be_int(&[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff]), (1 << 47) - 1);
        assert_eq!(serial_len(13), Some(0));
        assert_eq!(serial_len(19), Some(3));
        assert_eq!(serial_len(10), None);
    }
}
