//! A read-only reader of one SQLite table's B-tree, for bulk reads of GeoPackage feature tables.
//!
//! Reading a million features through SQLite's statement engine costs more than decoding them:
//! every row steps its virtual machine, every page is a system call of its own. Here the
//! table's B-tree is walked directly, rows `lo..=hi` by rowid, decoding only the columns asked
//! for; leaf pages are read in runs that grow while they are consecutive in the file (up to
//! 256 KiB), so a scan holds a window of the file, never the file. A SQLite connection holds a
//! read transaction while the table is open, so no writer can change the file underneath (in
//! WAL mode nothing is checkpointed past the snapshot while it is open).
//!
//! It only takes the plain case: a rowid table in a UTF-8 file whose WAL (if any) is empty, no
//! generated columns, the fid an alias of the rowid. Anything else, and any page that does not
//! parse, is [`NotDirect`]: the caller reads the table through SQLite instead, which also gives
//! the user SQLite's own words for a damaged file.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// The direct reader does not apply here (or the file did not parse): read through SQLite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDirect(pub String);

fn not(why: impl Into<String>) -> NotDirect {
    NotDirect(why.into())
}

use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::{Arc, Mutex};

/// The database file, opened once per file (device and inode) for the life of the process and
/// never closed: closing any descriptor of a file drops every POSIX lock this process holds on
/// it, those of SQLite's own connections included (SQLite defers its closes for the same
/// reason). One descriptor per distinct file read; a deleted file's space comes back at exit.
fn shared_file(path: &Path) -> Result<Arc<std::fs::File>, NotDirect> {
    /// Open files by (device, inode).
    type Files = Vec<((u64, u64), Arc<std::fs::File>)>;
    static FILES: Mutex<Files> = Mutex::new(Vec::new());
    let io = |e: std::io::Error| not(format!("{}: {e}", path.display()));
    let key = |m: &std::fs::Metadata| (m.dev(), m.ino());
    let mut files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    let want = key(&std::fs::metadata(path).map_err(io)?);
    if let Some((_, f)) = files.iter().find(|(k, _)| *k == want) {
        return Ok(f.clone());
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let got = key(&file.metadata().map_err(io)?);
    // Replaced between the two looks: keep this descriptor too (it must not be closed).
    let f = match files.iter().find(|(k, _)| *k == got) {
        Some((_, f)) => {
            let f = f.clone();
            files.push((got, Arc::new(file)));
            f
        }
        None => {
            let f = Arc::new(file);
            files.push((got, f.clone()));
            f
        }
    };
    if got != want {
        return Err(not("the file was replaced while it was opened"));
    }
    Ok(f)
}

/// Where a wanted value sits in a table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The rowid (the fid: an `INTEGER PRIMARY KEY` column is stored as NULL in the record).
    Rowid,
    /// Record column `pos`; `default` when the column has a DEFAULT (a record written before the
    /// column was added then cannot be read here); `real` for REAL affinity, whose values
    /// SQLite may store as integers and gives back as reals.
    Column { pos: usize, default: bool, real: bool },
}

/// One table of a SQLite file, open for direct reading.
pub struct Table {
    file: Arc<std::fs::File>,
    page_size: usize,
    usable: usize,
    pages: u32,
    root: u32,
    /// Record position of the rowid-alias column (must be NULL in every record).
    pk_pos: usize,
    slots: Vec<Slot>,
    /// Holds the read transaction (and answers counts in the same snapshot).
    lock: Mutex<Connection>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("root", &self.root)
            .field("pages", &self.pages)
            .finish()
    }
}

/// SQLite's column affinity rule for REAL: the declared type names REAL, FLOA or DOUB (and no INT).
fn real_affinity(decl: &str) -> bool {
    let d = decl.to_ascii_uppercase();
    !d.contains("INT")
        && !d.contains("CHAR")
        && !d.contains("CLOB")
        && !d.contains("TEXT")
        && !d.contains("BLOB")
        && (d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB"))
}

/// A column as `PRAGMA table_xinfo` lists it.
struct Col {
    name: String,
    decl: String,
    has_default: bool,
    /// Position in the primary key (0: not in it).
    pk: i64,
    /// Generated or virtual-table column (0: stored in the record).
    hidden: i64,
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
        // The file as SQLite resolved it (through symbolic links): its log sits beside it.
        let file_name = std::path::PathBuf::from(lock.path().filter(|p| !p.is_empty()).ok_or_else(|| not("no file name"))?);
        let mode: String = lock.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(sql)?;
        if mode.eq_ignore_ascii_case("wal") {
            let mut wal = file_name.clone().into_os_string();
            wal.push("-wal");
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                return Err(not("rows in the write-ahead log"));
            }
        }
        // Record positions, in declaration order (table_xinfo also lists generated columns,
        // which records may leave out).
        let mut st = lock
            .prepare("SELECT name, type, dflt_value, pk, hidden FROM pragma_table_xinfo(?1)")
            .map_err(sql)?;
        let cols: Vec<Col> = st
            .query_map([table], |r| {
                Ok(Col {
                    name: r.get(0)?,
                    decl: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    has_default: r.get::<_, Option<String>>(2)?.is_some(),
                    pk: r.get(3)?,
                    hidden: r.get(4)?,
                })
            })
            .map_err(sql)?
            .collect::<Result<_, _>>()
            .map_err(sql)?;
        drop(st);
        if cols.iter().any(|c| c.hidden != 0) {
            return Err(not("generated or hidden columns"));
        }
        if cols.iter().filter(|c| c.pk != 0).count() != 1 {
            return Err(not("no single-column primary key"));
        }
        let pk_pos = cols
            .iter()
            .position(|c| c.name == pk && c.pk == 1 && c.decl.eq_ignore_ascii_case("INTEGER"))
            .ok_or_else(|| not("fid is not the primary key"))?;
        // An INTEGER PRIMARY KEY is the rowid itself unless SQLite made an index for it (as it
        // does for `INTEGER PRIMARY KEY DESC`).
        let pk_index: bool = lock
            .query_row("SELECT count(*) > 0 FROM pragma_index_list(?1) WHERE origin = 'pk'", [table], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        if pk_index {
            return Err(not("the fid is not the rowid"));
        }
        let slots = columns
            .iter()
            .map(|name| match cols.iter().position(|c| c.name == *name) {
                Some(p) if p == pk_pos => Ok(Slot::Rowid),
                Some(pos) => Ok(Slot::Column {
                    pos,
                    default: cols[pos].has_default,
                    real: real_affinity(&cols[pos].decl),
                }),
                None => Err(not(format!("no column {name}"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Opened after the transaction has read: what is read is its snapshot.
        let file = shared_file(&file_name)?;
        let len = file.metadata().map_err(|e| not(e.to_string()))?.len();
        let mut head = [0u8; 100];
        if len < 100 || file.read_exact_at(&mut head, 0).is_err() || &head[..16] != b"SQLite format 3\0" {
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
        let mut pages = u32::try_from(len / page_size as u64).map_err(|_| not("too many pages"))?;
        // The header's page count is valid when written by the same change as the counter.
        let (counter, count, valid_for) = (&head[24..28], &head[28..32], &head[92..96]);
        let declared = u32::from_be_bytes(count.try_into().expect("4 bytes"));
        if counter == valid_for && declared > 0 {
            pages = pages.min(declared);
        }
        let root = u32::try_from(root).map_err(|_| not("bad root page"))?;
        Ok(Table {
            file,
            page_size,
            usable,
            pages,
            root,
            pk_pos,
            slots,
            lock: Mutex::new(lock),
        })
    }

    /// Run a count query (`?1`, `?2` bound to `a`, `b` where given) in this table's snapshot.
    pub fn count(&self, sql_text: &str, range: Option<(i64, i64)>) -> Result<i64, NotDirect> {
        let conn = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        match range {
            Some((a, b)) => conn.query_row(sql_text, [a, b], |r| r.get(0)),
            None => conn.query_row(sql_text, [], |r| r.get(0)),
        }
        .map_err(sql)
    }

    fn check(&self, n: u32) -> Result<(), NotDirect> {
        if n == 0 || n > self.pages {
            return Err(not(format!("page {n} out of range")));
        }
        Ok(())
    }

    /// Read `count` pages from page `n` (1-based) into `buf`.
    fn read(&self, n: u32, count: u32, buf: &mut Vec<u8>) -> Result<(), NotDirect> {
        self.check(n)?;
        buf.resize(count as usize * self.page_size, 0);
        self.file
            .read_exact_at(buf, u64::from(n - 1) * self.page_size as u64)
            .map_err(|e| not(format!("page {n}: {e}")))
    }

    /// Visit the rows with rowid in `lo..=hi`, in rowid order: `row` gets the rowid and the
    /// wanted values (in the order given to [`Table::open`]).
    pub fn scan<E: From<NotDirect>>(&self, lo: i64, hi: i64, mut row: impl FnMut(i64, &[ValueRef<'_>]) -> Result<(), E>) -> Result<(), E> {
        // The window's buffer is the thread's last one: a scan per chunk of a big table would
        // otherwise map and fault in a fresh 256 KiB each time.
        thread_local! {
            static BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut s = Scan {
            t: self,
            lo,
            hi,
            window: Window {
                buf: BUF.take(),
                first: 0,
                count: 0,
            },
            overflow: Vec::new(),
            serials: Vec::new(),
            visits: 0,
            last: None,
        };
        let done = s.walk(self.root, 0, &mut row).map(|_| ());
        BUF.set(std::mem::take(&mut s.window.buf));
        done
    }
}

/// SQLite's largest string or blob (`SQLITE_MAX_LENGTH`).
const MAX_LENGTH: usize = 1_000_000_000;

/// The longest run of consecutive pages read at once, in bytes.
const RUN_BYTES: usize = 256 << 10;

/// Consecutive pages of the file, read at once: leaf pages are usually consecutive, so the run
/// grows (doubling, up to [`RUN_BYTES`]) while the scan moves on to the page after it, and
/// starts again at one page when it jumps.
#[derive(Default)]
struct Window {
    buf: Vec<u8>,
    first: u32,
    count: u32,
}

impl Window {
    /// The offset of page `n` in `buf`, reading it (and the pages after it) first if needed.
    fn load(&mut self, t: &Table, n: u32) -> Result<usize, NotDirect> {
        if let Some(at) = self.offset(t, n) {
            return Ok(at);
        }
        t.check(n)?;
        let longest = (RUN_BYTES / t.page_size).max(1) as u32;
        let run = if self.count > 0 && n == self.first + self.count {
            (self.count * 2).min(longest)
        } else {
            1
        };
        let run = run.min(t.pages - n + 1);
        t.read(n, run, &mut self.buf)?;
        (self.first, self.count) = (n, run);
        Ok(0)
    }

    /// The offset of page `n` in `buf`, if it is there.
    fn offset(&self, t: &Table, n: u32) -> Option<usize> {
        (n >= self.first && n < self.first + self.count).then(|| (n - self.first) as usize * t.page_size)
    }
}

#[derive(PartialEq)]
enum Flow {
    More,
    Done,
}

struct Scan<'t> {
    t: &'t Table,
    lo: i64,
    hi: i64,
    /// Leaf pages, read in runs.
    window: Window,
    /// A row's payload put together from its overflow pages.
    overflow: Vec<u8>,
    serials: Vec<(u64, usize)>,
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

/// Parse a record's header (its length, then one serial type per column) into each column's
/// serial type and offset in `payload`; `None` unless every value lies inside the payload.
fn record_header(payload: &[u8], serials: &mut Vec<(u64, usize)>) -> Option<()> {
    let (hlen, mut k) = varint(payload)?;
    let hlen = usize::try_from(hlen).ok().filter(|&h| h <= payload.len())?;
    let mut off = hlen;
    serials.clear();
    while k < hlen {
        let (t, n) = varint(payload.get(k..hlen)?)?;
        serials.push((t, off));
        off = off.checked_add(serial_len(t)?).filter(|&o| o <= payload.len())?;
        k += n;
    }
    Some(())
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
        let h = if page == 1 { 100 } else { 0 };
        let at = self.window.load(t, page)?;
        let kind = self.window.buf[at + h];
        let n = be_u16(&self.window.buf[at..at + t.page_size], h + 3).ok_or_else(|| bad("header"))?;
        match kind {
            // Interior: child i holds the rowids in (key i-1, key i]; the right-most the rest.
            0x05 => {
                // Its own copy: the children are read into the window.
                let p = self.window.buf[at..at + t.page_size].to_vec();
                let p = &p[..];
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
                let p = &self.window.buf[at..at + t.page_size];
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
                    // No payload is larger than the pages that could hold it.
                    let size = usize::try_from(size)
                        .ok()
                        .filter(|&n| n <= t.pages as usize * (t.usable - 4) && n <= MAX_LENGTH)
                        .ok_or_else(|| bad("payload size"))?;
                    let payload: &[u8] = match self.local(size) {
                        None => body.get(..size).ok_or_else(|| bad("payload"))?,
                        Some(local) => {
                            let first = be_u32(body, local).ok_or_else(|| bad("overflow pointer"))?;
                            self.overflow.clear();
                            self.overflow.extend_from_slice(body.get(..local).ok_or_else(|| bad("payload"))?);
                            follow(t, &self.window, first, size, &mut self.overflow)?;
                            &self.overflow
                        }
                    };
                    record_header(payload, &mut self.serials).ok_or_else(|| bad("record"))?;
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
                            Slot::Column { pos, default, real } => match self.serials.get(pos) {
                                Some(&(s, at)) => match value(s, &payload[at..at + serial_len(s).expect("checked")]) {
                                    ValueRef::Integer(i) if real => ValueRef::Real(i as f64),
                                    v => v,
                                },
                                // Written before the column was added: SQLite would give its default.
                                None if default => return Err(not("a row older than a column with a default").into()),
                                None => ValueRef::Null,
                            },
                        };
                    }
                    row(rowid, out)?;
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
}

/// Append the overflow chain starting at `page` to `buf` until it holds `size` bytes: from the
/// window where the page is in it, else read on its own.
fn follow(t: &Table, window: &Window, mut page: u32, size: usize, buf: &mut Vec<u8>) -> Result<(), NotDirect> {
    let mut hops = 0u32;
    let mut own = Vec::new();
    while buf.len() < size {
        hops += 1;
        if hops > t.pages {
            return Err(not("overflow chain loops"));
        }
        let p = match window.offset(t, page) {
            Some(at) => &window.buf[at..at + t.page_size],
            None => {
                t.read(page, 1, &mut own)?;
                &own[..]
            }
        };
        let take = (size - buf.len()).min(t.usable - 4);
        buf.extend_from_slice(&p[4..4 + take]);
        page = be_u32(p, 0).expect("4 bytes");
        if buf.len() < size && page == 0 {
            return Err(not("overflow chain ends early"));
        }
    }
    Ok(())
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

    #[test]
    fn record_headers_outside_their_payload_are_refused() {
        let mut serials = Vec::new();
        // Header of 3 bytes: NULL, an 8-bit integer; body: one byte.
        assert_eq!(record_header(&[3, 0, 1, 42], &mut serials), Some(()));
        assert_eq!(serials, vec![(0, 3), (1, 3)]);
        assert_eq!(value(1, &[42]), ValueRef::Integer(42));
        // A text of 2^63 bytes twice (their lengths would wrap a usize), a header longer than
        // the record, a value past its end.
        let huge = [0xff; 9];
        let mut rec = vec![19];
        rec.extend(huge);
        rec.extend(huge);
        assert_eq!(record_header(&rec, &mut serials), None);
        assert_eq!(record_header(&[9, 1], &mut serials), None);
        assert_eq!(record_header(&[2, 6, 0, 0], &mut serials), None);
    }
}
