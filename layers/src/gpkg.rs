//! A fast, parallel reader for GeoPackage feature tables, straight from the file.
//!
//! GeoPackage is SQLite with geometry blobs (a small header + WKB), so reading it directly
//! avoids GDAL's per-feature object overhead; row ranges are read by several threads at once,
//! from the table's B-tree pages ([`crate::btree`]) where that applies, else through SQLite.
//! [`crate::Source`] uses it for plain feature tables and falls back to GDAL for everything
//! else (views, curve types, extensions); the test suite checks both readers agree on every
//! GeoPackage in the shared data.

use rayon::prelude::*;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

use crate::btree::{NotDirect, Table};
use crate::crs::Crs;
use crate::geoms::{Geometries, Segment};
use crate::layer::Layer;
use crate::validity::{Action, GeometryIssue, Problem};
use crate::value::{Column, FieldDef, FieldKind, Texts, Value};
use crate::wkb::push_gpkg_blob;

/// Why the native reader declined a table (the caller falls back to GDAL).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Declined(pub String);

fn open(path: &Path) -> Result<Connection, Declined> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| Declined(e.to_string()))?;
    // Reads here are scans of fid ranges, each page read once: a small page cache per reader
    // (256 KiB instead of 2 MiB) loses nothing.
    conn.pragma_update(None, "cache_size", -256).map_err(sql_err)?;
    Ok(conn)
}

fn contents_of(path: &Path, data_type: &str) -> bool {
    let Ok(conn) = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return false;
    };
    conn.query_row("SELECT count(*) FROM gpkg_contents WHERE data_type = ?1", [data_type], |r| {
        r.get::<_, i64>(0)
    })
    .is_ok_and(|n| n > 0)
}

/// True when the GeoPackage holds a tile pyramid (imagery).
pub fn has_tiles(path: &Path) -> bool {
    contents_of(path, "tiles")
}

/// True when the GeoPackage holds feature tables.
pub fn has_features(path: &Path) -> bool {
    contents_of(path, "features")
}

fn sql_err(e: rusqlite::Error) -> Declined {
    Declined(e.to_string())
}

fn kind_of(decl: &str) -> FieldKind {
    let d = decl.to_ascii_uppercase();
    if d.starts_with("BOOL") {
        FieldKind::Boolean
    } else if d.contains("INT") {
        FieldKind::Integer
    } else if d.starts_with("REAL") || d.starts_with("FLOAT") || d.starts_with("DOUBLE") || d.starts_with("NUMERIC") {
        FieldKind::Real
    } else if d == "DATE" {
        FieldKind::Date
    } else if d == "DATETIME" {
        FieldKind::DateTime
    } else if d == "BLOB" {
        FieldKind::Binary
    } else {
        FieldKind::Text
    }
}

fn value_of(v: ValueRef<'_>, kind: FieldKind) -> Value {
    match (v, kind) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(i), FieldKind::Boolean) => Value::Boolean(i != 0),
        (ValueRef::Integer(i), FieldKind::Real) => Value::Real(i as f64),
        (ValueRef::Integer(i), _) => Value::Integer(i),
        (ValueRef::Real(r), _) => Value::Real(r),
        (ValueRef::Text(t), k) => {
            let s = String::from_utf8_lossy(t).into_owned();
            match k {
                FieldKind::Date => Value::Date(s),
                FieldKind::DateTime => Value::DateTime(s.replacen(' ', "T", 1)),
                _ => Value::Text(s),
            }
        }
        (ValueRef::Blob(_), _) => Value::Null,
    }
}

/// Read a feature table (the first one if `table` is `None`). `Err` means "use GDAL instead".
pub fn read_layer(path: &Path, table: Option<&str>) -> Result<Layer, Declined> {
    read_layer_fields(path, table, None)
}

/// Like [`read_layer`], keeping only the named attribute fields (all when `keep` is `None`).
pub fn read_layer_fields(path: &Path, table: Option<&str>, keep: Option<&[&str]>) -> Result<Layer, Declined> {
    read_layer_progress(path, table, keep, &crate::job::Job::new())
}

/// Like [`read_layer_fields`], reporting rows read to `job` and stopping (declined) as soon as
/// it is cancelled.
///
/// Rows are counted per fid range first, the layer's vectors are allocated once at their final
/// size, and each reader thread fills its own disjoint slice: no chunk is ever held twice.
pub fn read_layer_progress(path: &Path, table: Option<&str>, keep: Option<&[&str]>, job: &crate::job::Job) -> Result<Layer, Declined> {
    read_layer_with(path, table, keep, Reader::Auto, job)
}

/// How the rows of a table are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Straight from the file's B-tree ([`crate::btree`]) where that applies, through SQLite
    /// otherwise, or when the file does not parse (SQLite then names the damage).
    Auto,
    /// Only from the B-tree: declined where it does not apply (for tests and benchmarks).
    Direct,
    /// Only through SQLite's statements.
    Sqlite,
}

/// Like [`read_layer_progress`], with the choice of [`Reader`].
pub fn read_layer_with(
    path: &Path,
    table: Option<&str>,
    keep: Option<&[&str]>,
    reader: Reader,
    job: &crate::job::Job,
) -> Result<Layer, Declined> {
    let plan = plan(path, table, keep, (rayon::current_num_threads() * 4).max(64))?;
    let direct = match reader {
        Reader::Sqlite => None,
        Reader::Auto => direct_table(path, &plan).ok(),
        Reader::Direct => Some(direct_table(path, &plan)?),
    };
    let fallback = reader == Reader::Auto;
    match read_planned(path, &plan, job, direct.as_ref(), fallback) {
        // The direct reader's snapshot is older than the table now (or the file would not
        // parse): read it all through SQLite.
        Err(e) if fallback && direct.is_some() && (e.0 == CHANGED || e.0.starts_with(NOT_DIRECT)) => {
            read_planned(path, &plan, job, None, false)
        }
        done => done,
    }
}

/// Read the plan's rows: from `direct` where given (a range it cannot read is read through
/// SQLite if `fallback`), counting rows in its snapshot.
fn read_planned(path: &Path, plan: &Plan, job: &crate::job::Job, direct: Option<&Table>, fallback: bool) -> Result<Layer, Declined> {
    // Dense fids (the usual case: 1..=N) make every range's row count its length. GDAL keeps
    // the feature count in gpkg_ogr_contents, which saves a count(*) (a whole-table scan); if
    // that count was stale the read notices a range of another length and counts instead.
    let span = plan.span();
    if plan.feature_count == Some(span) {
        let lengths = plan.ranges.iter().map(|(a, b)| (b - a + 1) as usize).collect();
        match read_counted(path, plan, lengths, job, direct, fallback) {
            Err(e) if e.0 == CHANGED => {}
            done => return done,
        }
    }
    let total: i64 = match direct {
        Some(t) => t.count(&plan.count_all, None)?,
        None => open(path)?.query_row(&plan.count_all, [], |r| r.get(0)).map_err(sql_err)?,
    };
    let counts: Vec<usize> = if total == span {
        plan.ranges.iter().map(|(a, b)| (b - a + 1) as usize).collect()
    } else if let Some(t) = direct {
        plan.ranges
            .iter()
            .map(|&(a, b)| Ok(t.count(&plan.count, Some((a, b)))? as usize))
            .collect::<Result<_, Declined>>()?
    } else {
        plan.ranges
            .par_iter()
            .map(|&(a, b)| -> Result<usize, Declined> {
                let conn = open(path)?;
                conn.query_row(&plan.count, [a, b], |r| r.get::<_, i64>(0))
                    .map(|n| n as usize)
                    .map_err(sql_err)
            })
            .collect::<Result<_, _>>()?
    };
    read_counted(path, plan, counts, job, direct, fallback)
}

/// Why a range read declined: it held another number of rows than counted.
const CHANGED: &str = "the table changed while it was read";

/// Read the plan's ranges, of `counts` rows each, into one layer.
fn read_counted(
    path: &Path,
    plan: &Plan,
    counts: Vec<usize>,
    job: &crate::job::Job,
    direct: Option<&Table>,
    fallback: bool,
) -> Result<Layer, Declined> {
    let n: usize = counts.iter().sum();
    let fields = plan.fields.clone();
    let mut fids = vec![0i64; n];
    let mut columns: Vec<Column> = fields
        .iter()
        .map(|f| match Column::for_kind(f.kind, 0) {
            Column::Integer(_) => Column::Integer(crate::value::Nullable::nulls(n)),
            Column::Real(_) => Column::Real(crate::value::Nullable::nulls(n)),
            Column::Text(_) => Column::Text(Texts::default()),
        })
        .collect();
    // Disjoint per-range slices of every output vector.
    let mut fid_parts = split_by(&mut fids, &counts);
    let mut col_parts: Vec<Vec<ColumnSlice<'_>>> = (0..counts.len()).map(|_| Vec::new()).collect();
    for col in columns.iter_mut() {
        match col {
            Column::Integer(v) => v
                .split_mut(&counts)
                .into_iter()
                .zip(col_parts.iter_mut())
                .for_each(|(s, p)| p.push(ColumnSlice::Integer(s))),
            Column::Real(v) => v
                .split_mut(&counts)
                .into_iter()
                .zip(col_parts.iter_mut())
                .for_each(|(s, p)| p.push(ColumnSlice::Real(s))),
            // Text is read into a column per range, joined in order afterwards.
            Column::Text(_) => counts
                .iter()
                .zip(col_parts.iter_mut())
                .for_each(|(&c, p)| p.push(ColumnSlice::Text(Texts::with_capacity(c)))),
        }
    }
    let done = std::sync::atomic::AtomicU64::new(0);
    let jobs: Vec<_> = plan
        .ranges
        .iter()
        .zip(fid_parts.drain(..))
        .zip(col_parts.drain(..))
        .map(|((r, f), c)| (*r, f, c))
        .collect();
    let read: Vec<(Vec<GeometryIssue>, Segment, Vec<Texts>)> = jobs
        .into_par_iter()
        // One SQLite connection per worker thread, reused for all of its ranges, opened when
        // first needed (never, where the B-tree is read directly).
        .map_init(
            || None,
            |conn: &mut Option<Result<Connection, Declined>>, ((a, b), fid_out, mut col_out)| {
                if job.is_cancelled() {
                    return Err(Declined("cancelled".into()));
                }
                let mut out = RangeOut::new(fid_out, &mut col_out);
                let mut sqlite = |out: &mut RangeOut<'_, '_>| read_range_into(worker_conn(conn, path)?, plan, a, b, out);
                match direct {
                    Some(t) => match t.scan(a, b, |fid, v: &[ValueRef<'_>]| out.push(plan, fid, v[1], |k| v[k + 2])) {
                        Err(e) if fallback && e.0.starts_with(NOT_DIRECT) => {
                            out.restart();
                            sqlite(&mut out)?;
                        }
                        done => done?,
                    },
                    None => sqlite(&mut out)?,
                }
                let (issues, segment) = out.finish()?;
                let texts = col_out
                    .iter_mut()
                    .filter_map(|c| match c {
                        ColumnSlice::Text(t) => Some(std::mem::take(t)),
                        _ => None,
                    })
                    .collect();
                let d = done.fetch_add((b - a + 1) as u64, std::sync::atomic::Ordering::Relaxed) + (b - a + 1) as u64;
                job.report(d, n as u64);
                Ok((issues, segment, texts))
            },
        )
        .collect::<Result<_, Declined>>()?;
    let mut issues = Vec::new();
    let mut segments = Vec::new();
    let mut text_parts: Vec<Vec<Texts>> = Vec::new();
    for (i, s, texts) in read {
        issues.push(i);
        segments.push(s);
        text_parts.resize_with(texts.len(), Vec::new);
        for (parts, t) in text_parts.iter_mut().zip(texts) {
            parts.push(t);
        }
    }
    let geometries = Geometries::from_segments(segments);
    let mut text_parts = text_parts.into_iter();
    for c in columns.iter_mut() {
        if let Column::Text(t) = c {
            *t = Texts::concat(text_parts.next().unwrap_or_default());
        }
    }
    Ok(Layer {
        name: plan.table.clone(),
        source_path: path.to_owned(),
        driver: "GPKG".into(),
        geometry_type: geometry_type_label(&plan.geom_type),
        crs: plan.crs.clone(),
        fields,
        columns,
        fids,
        geometries,
        encoding: None,
        issues: issues.into_iter().flatten().collect(),
    })
}

fn split_by<'a, T>(mut v: &'a mut [T], counts: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(counts.len());
    for &c in counts {
        let (head, tail) = v.split_at_mut(c);
        out.push(head);
        v = tail;
    }
    out
}

enum ColumnSlice<'a> {
    Integer(crate::value::NullableSlice<'a, i64>),
    Real(crate::value::NullableSlice<'a, f64>),
    Text(Texts),
}

/// Where one fid range's rows go: pre-sized slices of the layer's vectors, filled in order;
/// repeated text values share one allocation.
struct RangeOut<'o, 'c> {
    fids: &'o mut [i64],
    geoms: Segment,
    cols: &'o mut [ColumnSlice<'c>],
    issues: Vec<GeometryIssue>,
    i: usize,
}

impl<'o, 'c> RangeOut<'o, 'c> {
    fn new(fids: &'o mut [i64], cols: &'o mut [ColumnSlice<'c>]) -> Self {
        RangeOut {
            geoms: Self::segment(fids.len()),
            fids,
            cols,
            issues: Vec::new(),
            i: 0,
        }
    }

    /// Store the next row: its fid, geometry blob and field `k`'s value (in the plan's order).
    fn push<'v>(&mut self, plan: &Plan, fid: i64, geom: ValueRef<'_>, field: impl Fn(usize) -> ValueRef<'v>) -> Result<(), Declined> {
        let i = self.i;
        if i >= self.fids.len() {
            return Err(Declined(CHANGED.into()));
        }
        self.fids[i] = fid;
        match geom {
            ValueRef::Blob(bl) => match push_gpkg_blob(bl, &mut self.geoms) {
                Ok(()) => {}
                Err(crate::wkb::WkbError::UnsupportedType(t)) => return Err(Declined(format!("WKB type {t}"))),
                Err(e) => {
                    self.issues.push(GeometryIssue {
                        fid,
                        problem: Problem::EmptyPart,
                        detail: format!("unreadable geometry: {e}"),
                        action: Action::Skipped,
                    });
                    self.geoms.push_none();
                }
            },
            _ => self.geoms.push_none(),
        }
        for (k, (col, f)) in self.cols.iter_mut().zip(&plan.fields).enumerate() {
            match (col, field(k)) {
                (ColumnSlice::Integer(c), ValueRef::Integer(x)) => c.set(i, Some(x)),
                (ColumnSlice::Real(c), ValueRef::Real(x)) => c.set(i, Some(x)),
                (ColumnSlice::Real(c), ValueRef::Integer(x)) => c.set(i, Some(x as f64)),
                (ColumnSlice::Text(c), ValueRef::Text(t)) if f.kind == FieldKind::Text => {
                    c.push_bytes(t, || String::from_utf8_lossy(t).into());
                }
                (ColumnSlice::Integer(c), v) => c.set(
                    i,
                    match value_of(v, f.kind) {
                        Value::Integer(x) => Some(x),
                        Value::Boolean(x) => Some(i64::from(x)),
                        _ => None,
                    },
                ),
                (ColumnSlice::Real(c), v) => c.set(i, value_of(v, f.kind).as_f64()),
                (ColumnSlice::Text(c), v) => match value_of(v, f.kind) {
                    Value::Null => c.push_null(),
                    other => c.push(Some(&other.to_string())),
                },
            }
        }
        self.i += 1;
        Ok(())
    }

    /// Start the range again (its slots are overwritten).
    fn restart(&mut self) {
        self.i = 0;
        self.issues.clear();
        for c in self.cols.iter_mut() {
            if let ColumnSlice::Text(t) = c {
                *t = Texts::with_capacity(self.fids.len());
            }
        }
        self.geoms = Self::segment(self.fids.len());
    }

    /// The range's geometries: room for its rows, and six corners a row (rectangles and their
    /// closing points).
    fn segment(rows: usize) -> Segment {
        Segment::with_capacity(rows, rows * 6)
    }

    /// The range's geometry issues, once every slot is filled.
    fn finish(mut self) -> Result<(Vec<GeometryIssue>, Segment), Declined> {
        if self.i != self.fids.len() {
            return Err(Declined(CHANGED.into()));
        }
        self.geoms.shrink_to_fit();
        Ok((self.issues, self.geoms))
    }
}

/// Read rows `a..=b` through SQLite.
fn read_range_into(conn: &Connection, plan: &Plan, a: i64, b: i64, out: &mut RangeOut<'_, '_>) -> Result<(), Declined> {
    let mut st = conn.prepare_cached(&plan.select).map_err(sql_err)?;
    let mut rows = st.query([a, b]).map_err(sql_err)?;
    while let Some(row) = rows.next().map_err(sql_err)? {
        // The select lists the fid, the geometry, then the plan's fields: every index exists.
        out.push(plan, row.get(0).map_err(sql_err)?, row.get_ref(1).map_err(sql_err)?, |k| {
            row.get_ref_unwrap(k + 2)
        })?;
    }
    Ok(())
}

/// A reader thread's SQLite connection, opened the first time it is needed.
fn worker_conn<'c>(slot: &'c mut Option<Result<Connection, Declined>>, path: &Path) -> Result<&'c Connection, Declined> {
    slot.get_or_insert_with(|| open(path)).as_ref().map_err(|e| Declined(e.0.clone()))
}

/// The prefix of a decline by the direct B-tree reader (the read is then done through SQLite).
const NOT_DIRECT: &str = "direct read: ";

impl From<NotDirect> for Declined {
    fn from(e: NotDirect) -> Self {
        Declined(format!("{NOT_DIRECT}{}", e.0))
    }
}

/// Open the plan's table for the direct reader (fid, geometry, then the plan's fields).
fn direct_table(path: &Path, plan: &Plan) -> Result<Table, NotDirect> {
    let mut columns = vec![plan.pk.as_str(), plan.geom_col.as_str()];
    columns.extend(plan.fields.iter().map(|f| f.name.as_str()));
    Table::open(path, &plan.table, &plan.pk, &columns)
}

/// Stream a feature table's raw geometry (WKB, GeoPackage header removed) in chunks of about
/// `chunk_rows` rows, in parallel: `f` gets each chunk's WKB slices (`None` for empty or
/// missing geometry). For bulk coordinate work that needs no geometry objects.
pub fn map_wkb_chunks<R: Send>(
    path: &Path,
    table: Option<&str>,
    chunk_rows: usize,
    f: impl Fn(&[Option<&[u8]>]) -> R + Sync,
) -> Result<Vec<R>, Declined> {
    // Chunks by fid range, sized from GDAL's feature count where the file keeps one (a
    // count(*) alone scans the whole table), else from the fid span; never more than 65,536
    // ranges, however sparse the fids (each range is one query).
    let plan = plan(path, table, Some(&[]), 1)?;
    let span = plan.span();
    let rows = plan.feature_count.filter(|&n| n >= 0 && n <= span).unwrap_or(span);
    let parts = (rows as usize / chunk_rows.max(1)).clamp(1, 65_536);
    let plan = Plan {
        ranges: split_range(plan.fid_range, parts),
        ..plan
    };
    let direct = direct_table(path, &plan).ok();
    wkb_chunks(path, &plan, chunk_rows, direct.as_ref(), &f)
}

fn wkb_chunks<R: Send>(
    path: &Path,
    plan: &Plan,
    chunk_rows: usize,
    direct: Option<&Table>,
    f: &(impl Fn(&[Option<&[u8]>]) -> R + Sync),
) -> Result<Vec<R>, Declined> {
    plan.ranges
        .par_iter()
        // One SQLite connection per worker thread, as in `read_layer_progress`.
        .map_init(
            || None,
            |conn: &mut Option<Result<Connection, Declined>>, &(a, b)| -> Result<R, Declined> {
                // The chunk's WKB back to back in one buffer (no allocation per row); the
                // buffers are the thread's from its last chunk (fresh ones would be mapped and
                // faulted in again for every chunk).
                thread_local! {
                    static BUFS: std::cell::Cell<(Vec<u8>, Vec<Option<(usize, usize)>>)> = const { std::cell::Cell::new((Vec::new(), Vec::new())) };
                }
                let expect = usize::try_from(b - a + 1).unwrap_or(usize::MAX).min(chunk_rows);
                let (mut bytes, mut spans) = BUFS.take();
                bytes.clear();
                spans.clear();
                bytes.reserve(128 * expect);
                spans.reserve(expect);
                let add = |geom: ValueRef<'_>, bytes: &mut Vec<u8>, spans: &mut Vec<Option<(usize, usize)>>| -> Result<(), Declined> {
                    spans.push(match geom {
                        ValueRef::Blob(b) => crate::wkb::gpkg_wkb(b).map_err(|e| Declined(e.to_string()))?.map(|w| {
                            bytes.extend_from_slice(w);
                            (bytes.len() - w.len(), bytes.len())
                        }),
                        _ => None,
                    });
                    Ok(())
                };
                let read_directly = match direct {
                    Some(t) => match t.scan(a, b, |_, v: &[ValueRef<'_>]| add(v[1], &mut bytes, &mut spans)) {
                        // Read the chunk through SQLite instead, from its start.
                        Err(e) if e.0.starts_with(NOT_DIRECT) => false,
                        done => done.map(|_| true)?,
                    },
                    None => false,
                };
                if !read_directly {
                    spans.clear();
                    bytes.clear();
                    let mut st = worker_conn(conn, path)?.prepare_cached(&plan.select).map_err(sql_err)?;
                    let mut rows = st.query([a, b]).map_err(sql_err)?;
                    while let Some(row) = rows.next().map_err(sql_err)? {
                        add(row.get_ref(1).map_err(sql_err)?, &mut bytes, &mut spans)?;
                    }
                }
                let views: Vec<Option<&[u8]>> = spans.iter().map(|s| s.map(|(a, b)| &bytes[a..b])).collect();
                let out = f(&views);
                drop(views);
                // Kept for the thread's next chunk, unless an odd chunk made them huge.
                if bytes.capacity() <= 64 << 20 {
                    BUFS.set((bytes, spans));
                }
                Ok(out)
            },
        )
        .collect()
}

/// The CRS of a feature table, from `gpkg_spatial_ref_sys`.
pub fn layer_crs(path: &Path, table: Option<&str>) -> Result<Option<Crs>, Declined> {
    Ok(plan(path, table, Some(&[]), 1)?.crs)
}

fn resolve_table(conn: &Connection, table: Option<&str>) -> Result<String, Declined> {
    match table {
        Some(t) => Ok(t.to_owned()),
        None => conn
            .query_row(
                "SELECT table_name FROM gpkg_contents WHERE data_type='features' ORDER BY rowid LIMIT 1",
                [],
                |r| r.get(0),
            )
            .map_err(sql_err),
    }
}

struct Plan {
    count: String,
    /// The fid column (the table's INTEGER PRIMARY KEY) and the geometry column.
    pk: String,
    geom_col: String,
    count_all: String,
    table: String,
    geom_type: String,
    crs: Option<Crs>,
    fields: Vec<FieldDef>,
    select: String,
    /// The lowest and highest fid (`None` for an empty table).
    fid_range: Option<(i64, i64)>,
    ranges: Vec<(i64, i64)>,
    /// GDAL's row count in `gpkg_ogr_contents`, where the file keeps one (it may be stale).
    feature_count: Option<i64>,
}

impl Plan {
    /// How many fids the table's fid range spans (saturating).
    fn span(&self) -> i64 {
        self.fid_range.map_or(0, |(a, b)| b.saturating_sub(a).saturating_add(1))
    }
}

fn plan(path: &Path, table: Option<&str>, keep: Option<&[&str]>, parts: usize) -> Result<Plan, Declined> {
    let conn = open(path)?;
    let table = resolve_table(&conn, table)?;
    let (geom_col, geom_type, srs_id): (String, String, i64) = conn
        .query_row(
            "SELECT g.column_name, g.geometry_type_name, g.srs_id FROM gpkg_geometry_columns g \
             JOIN gpkg_contents c ON c.table_name = g.table_name \
             WHERE g.table_name = ?1 AND c.data_type = 'features'",
            [&table],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(sql_err)?;
    let upper = geom_type.to_ascii_uppercase();
    if upper.contains("CURVE") || upper.contains("SURFACE") {
        return Err(Declined(format!("curve geometry type {geom_type}")));
    }
    let is_view: bool = conn
        .query_row("SELECT type = 'view' FROM sqlite_master WHERE name = ?1", [&table], |r| r.get(0))
        .map_err(sql_err)?;
    if is_view {
        return Err(Declined("view".into()));
    }
    let (org, code, def): (String, i64, Option<String>) = conn
        .query_row(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(sql_err)?;
    let crs = if org.eq_ignore_ascii_case("EPSG") && code > 0 {
        Crs::from_epsg(code as u32).ok()
    } else {
        def.filter(|d| d != "undefined").and_then(|d| Crs::parse(&d).ok())
    };
    // Columns: the integer primary key is the fid; the geometry column is read separately.
    let mut pk = None;
    let mut fields = Vec::new();
    {
        let mut st = conn
            .prepare(&format!("PRAGMA table_info({})", quote_ident(&table)))
            .map_err(sql_err)?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(5)?)))
            .map_err(sql_err)?;
        for row in rows {
            let (name, decl, is_pk) = row.map_err(sql_err)?;
            if is_pk == 1 && decl.eq_ignore_ascii_case("INTEGER") {
                pk = Some(name);
            } else if name != geom_col && keep.is_none_or(|k| k.contains(&name.as_str())) {
                fields.push(FieldDef {
                    name,
                    alias: String::new(),
                    kind: kind_of(&decl),
                });
            }
        }
    }
    let pk = pk.ok_or_else(|| Declined("no INTEGER PRIMARY KEY".into()))?;
    let q = quote_ident;
    let (lo, hi): (Option<i64>, Option<i64>) = conn
        // Two subqueries: SQLite answers a lone min() or max() of the key from the b-tree's ends,
        // but scans the whole table for min() and max() in one select.
        .query_row(
            &format!("SELECT (SELECT min({0}) FROM {1}), (SELECT max({0}) FROM {1})", q(&pk), q(&table)),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sql_err)?;
    let select = format!(
        "SELECT {}, {}{} FROM {} WHERE {} BETWEEN ?1 AND ?2 ORDER BY {}",
        q(&pk),
        q(&geom_col),
        fields.iter().map(|f| format!(", {}", q(&f.name))).collect::<String>(),
        q(&table),
        q(&pk),
        q(&pk)
    );
    let fid_range = lo.zip(hi);
    let ranges = split_range(fid_range, parts);
    let feature_count: Option<i64> = conn
        .query_row("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?1", [&table], |r| {
            r.get(0)
        })
        .ok()
        .flatten();
    let count = format!("SELECT count(*) FROM {} WHERE {} BETWEEN ?1 AND ?2", q(&table), q(&pk));
    let count_all = format!("SELECT count(*) FROM {}", q(&table));
    Ok(Plan {
        count,
        pk,
        geom_col,
        count_all,
        table,
        geom_type,
        crs,
        fields,
        select,
        fid_range,
        ranges,
        feature_count,
    })
}

/// An SQL identifier in double quotes, inner quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `parts` consecutive sub-ranges of the fid range `lo..=hi` (none for an empty table).
fn split_range(range: Option<(i64, i64)>, parts: usize) -> Vec<(i64, i64)> {
    let Some((lo, hi)) = range else { return Vec::new() };
    // In i128: the span of fids near the ends of i64 does not fit in one.
    let (lo, hi) = (i128::from(lo), i128::from(hi));
    let parts = parts.max(1) as i128;
    let step = ((hi - lo) / parts + 1).max(1);
    (0..parts)
        .map(|i| (lo + i * step, (lo + (i + 1) * step - 1).min(hi)))
        .filter(|(a, b)| a <= b)
        .map(|(a, b)| (a as i64, b as i64))
        .collect()
}

/// GDAL's spelling of a GeoPackage geometry type name (`MULTIPOLYGON` → `Multi Polygon`).
fn geometry_type_label(t: &str) -> String {
    match t.to_ascii_uppercase().as_str() {
        "POINT" => "Point",
        "LINESTRING" => "Line String",
        "POLYGON" => "Polygon",
        "MULTIPOINT" => "Multi Point",
        "MULTILINESTRING" => "Multi Line String",
        "MULTIPOLYGON" => "Multi Polygon",
        "GEOMETRYCOLLECTION" => "Geometry Collection",
        "GEOMETRY" => "Unknown (any)",
        other => return other.to_owned(),
    }
    .to_owned()
}
