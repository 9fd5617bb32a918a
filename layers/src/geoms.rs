//! A layer's geometries held column by column, as GeoArrow lays them out: one coordinate
//! buffer, and offsets from rows to parts, from parts to rings and from rings to coordinates.
//! A million buildings are then four allocations instead of a million, and 96 bytes a building
//! (five corners and a closing point, one ring offset) instead of 150.
//!
//! Rows are kept in segments (a GeoPackage read fills one per fid range, in parallel, and keeps
//! them as they are). Readers borrow a row as a [`GeomRef`]: its parts, rings and coordinates
//! are slices of the buffers. Code that needs `geo`'s algorithms asks for an owned
//! [`geo::Geometry`] ([`GeomRef::to_geo`]), made for the moment.
//!
//! A part is a point, a line string or a polygon; a ring is a point's one coordinate, a line
//! string's coordinates or one ring of a polygon (the exterior first). Geometries of other kinds
//! (collections, and `geo`'s `Line`, `Rect`, `Triangle`) are kept whole beside the buffers.

use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, Rect};

/// What a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// No geometry.
    None = 0,
    /// A point (one part, one ring of one coordinate).
    Point,
    /// A line string (one part, one ring).
    LineString,
    /// A polygon (one part; its rings, exterior first).
    Polygon,
    /// Points (a part each).
    MultiPoint,
    /// Line strings (a part each).
    MultiLineString,
    /// Polygons (a part each).
    MultiPolygon,
    /// Kept whole: a collection, `Line`, `Rect` or `Triangle`.
    Other,
}

/// Offsets `o[i]..o[i + 1]`; `Identity` while every item has exactly one (the usual case of a
/// layer of single polygons: rows → parts and parts → rings cost nothing then).
#[derive(Debug, Clone)]
enum Offsets {
    /// Item `i` is `i..i + 1`; holds the number of items.
    Identity(u32),
    /// `len + 1` monotonic offsets, starting at 0.
    Explicit(Vec<u32>),
}

impl Default for Offsets {
    fn default() -> Self {
        Offsets::Identity(0)
    }
}

impl Offsets {
    #[inline]
    fn range(&self, i: usize) -> std::ops::Range<usize> {
        match self {
            Offsets::Identity(_) => i..i + 1,
            Offsets::Explicit(o) => o[i] as usize..o[i + 1] as usize,
        }
    }
    /// Number of items.
    fn len(&self) -> usize {
        match self {
            Offsets::Identity(n) => *n as usize,
            Offsets::Explicit(o) => o.len() - 1,
        }
    }
    /// Number of sub-items (where the last item ends).
    fn end(&self) -> usize {
        match self {
            Offsets::Identity(n) => *n as usize,
            Offsets::Explicit(o) => *o.last().unwrap_or(&0) as usize,
        }
    }
    /// Add an item of `count` sub-items.
    fn push(&mut self, count: usize) {
        match self {
            Offsets::Identity(n) if count == 1 => *n += 1,
            Offsets::Identity(n) => {
                let mut o: Vec<u32> = (0..=*n).collect();
                o.push(*n + count as u32);
                *self = Offsets::Explicit(o);
            }
            Offsets::Explicit(o) => {
                let last = *o.last().expect("explicit offsets start with 0");
                o.push(last + count as u32);
            }
        }
    }
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        match self {
            Offsets::Identity(_) => 0,
            Offsets::Explicit(o) => o.capacity() * 4,
        }
    }
    fn shrink(&mut self) {
        if let Offsets::Explicit(o) = self {
            o.shrink_to_fit();
        }
    }
}

/// A run of rows and their buffers.
#[derive(Debug, Clone)]
pub struct Segment {
    kinds: Vec<Kind>,
    /// Row → parts.
    rows: Offsets,
    /// Part → rings.
    parts: Offsets,
    /// Ring `k`'s coordinates are `coords[rings[k]..rings[k + 1]]` (`rings` starts with 0).
    rings: Vec<u32>,
    coords: Vec<Coord>,
    /// Rows of kind `Other`, by row, in row order.
    others: Vec<(u32, Geometry)>,
}

impl Default for Segment {
    fn default() -> Self {
        Segment::with_capacity(0, 0)
    }
}

/// The coordinates of row `r` of a segment (`rows`, `parts`, `rings` its offsets): a row's
/// coordinates are contiguous and rows follow each other, so they run from its first part's
/// first ring to the next row's; a row of no parts is the empty run where the next one starts.
fn coord_span(rows: &Offsets, parts: &Offsets, rings: &[u32], r: usize) -> std::ops::Range<usize> {
    let first_ring = |p: usize| if p < parts.len() { parts.range(p).start } else { rings.len() - 1 };
    let p = rows.range(r);
    rings[first_ring(p.start)] as usize..rings[first_ring(p.end)] as usize
}

/// The envelope `[xmin, ymin, xmax, ymax]` of coordinates; `None` for none.
fn envelope_of(c: &[Coord]) -> Option<[f64; 4]> {
    let f = c.first()?;
    Some(c[1..].iter().fold([f.x, f.y, f.x, f.y], |e, p| {
        [e[0].min(p.x), e[1].min(p.y), e[2].max(p.x), e[3].max(p.y)]
    }))
}

impl Segment {
    /// An empty segment with room for `rows` rows and `coords` coordinates.
    pub fn with_capacity(rows: usize, coords: usize) -> Segment {
        let mut rings = Vec::with_capacity(rows + 1);
        rings.push(0);
        Segment {
            kinds: Vec::with_capacity(rows),
            rows: Offsets::default(),
            parts: Offsets::default(),
            rings,
            coords: Vec::with_capacity(coords),
            others: Vec::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.kinds.len()
    }

    /// True when the segment holds no rows.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    fn end_ring(&mut self) {
        self.rings.push(self.coords.len() as u32);
    }

    /// Append a row without geometry.
    pub fn push_none(&mut self) {
        self.kinds.push(Kind::None);
        self.rows.push(0);
    }

    /// Start a row of `kind` that the caller fills with [`Segment::begin_part`],
    /// [`Segment::push_coord`] and [`Segment::end_ring_of_part`], then closes with
    /// [`Segment::end_row`]. `kind` must not be `None` or `Other`.
    pub fn begin_row(&mut self, kind: Kind) -> RowBuilder {
        debug_assert!(!matches!(kind, Kind::None | Kind::Other));
        self.kinds.push(kind);
        RowBuilder { parts: 0, rings: 0 }
    }

    /// Open a part in the row being built.
    pub fn begin_part(&mut self, b: &mut RowBuilder) {
        if b.parts > 0 {
            self.parts.push(b.rings);
        }
        b.parts += 1;
        b.rings = 0;
    }

    /// Append a coordinate to the ring being built.
    #[inline]
    pub fn push_coord(&mut self, c: Coord) {
        self.coords.push(c);
    }

    /// Close the ring being built (its coordinates are those pushed since the last ring).
    pub fn end_ring_of_part(&mut self, b: &mut RowBuilder) {
        self.end_ring();
        b.rings += 1;
    }

    /// Close the row being built.
    pub fn end_row(&mut self, b: RowBuilder) {
        if b.parts > 0 {
            self.parts.push(b.rings);
        }
        self.rows.push(b.parts);
    }

    /// Where the next row starts (for [`Segment::discard_open_row`]).
    pub fn mark(&self) -> RowMark {
        RowMark {
            rows: self.kinds.len(),
            coords: self.coords.len(),
            rings: self.rings.len(),
        }
    }

    /// Drop a row begun at `mark` and not ended (its parts, rings and coordinates too); nothing
    /// when no row was begun since.
    pub fn discard_open_row(&mut self, mark: RowMark) {
        self.kinds.truncate(mark.rows);
        self.coords.truncate(mark.coords);
        self.rings.truncate(mark.rings);
        let parts_kept = self.rows.end();
        match &mut self.parts {
            Offsets::Identity(n) => *n = (*n).min(parts_kept as u32),
            Offsets::Explicit(o) => o.truncate(parts_kept + 1),
        }
    }

    /// Append a row.
    pub fn push(&mut self, g: Option<&Geometry>) {
        let Some(g) = g else {
            self.push_none();
            return;
        };
        // Each part as its rings.
        fn polygon(p: &Polygon) -> impl Iterator<Item = &[Coord]> {
            std::iter::once(p.exterior()).chain(p.interiors()).map(|r| r.0.as_slice())
        }
        match g {
            Geometry::Point(p) => self.push_parts(Kind::Point, [[std::slice::from_ref(&p.0)]]),
            Geometry::LineString(l) => self.push_parts(Kind::LineString, [[l.0.as_slice()]]),
            Geometry::Polygon(p) => self.push_parts(Kind::Polygon, [polygon(p)]),
            Geometry::MultiPoint(m) => self.push_parts(Kind::MultiPoint, m.0.iter().map(|p| [std::slice::from_ref(&p.0)])),
            Geometry::MultiLineString(m) => self.push_parts(Kind::MultiLineString, m.0.iter().map(|l| [l.0.as_slice()])),
            Geometry::MultiPolygon(m) => self.push_parts(Kind::MultiPolygon, m.0.iter().map(polygon)),
            other => {
                self.others.push((self.kinds.len() as u32, other.clone()));
                self.kinds.push(Kind::Other);
                self.rows.push(0);
            }
        }
    }

    /// Append a borrowed row (of another segment).
    pub fn push_ref(&mut self, g: GeomRef<'_>) {
        match g.kind {
            Kind::Other => self.push(g.other()),
            kind => self.push_parts(kind, g.parts().map(|p| p.rings())),
        }
    }

    /// Append a row of `kind` from its parts, each given as its rings.
    fn push_parts<'c, R: IntoIterator<Item = &'c [Coord]>>(&mut self, kind: Kind, parts: impl IntoIterator<Item = R>) {
        let mut b = self.begin_row(kind);
        for rings in parts {
            self.begin_part(&mut b);
            for r in rings {
                self.coords.extend_from_slice(r);
                self.end_ring_of_part(&mut b);
            }
        }
        self.end_row(b);
    }

    /// Give back unused capacity.
    pub fn shrink_to_fit(&mut self) {
        self.kinds.shrink_to_fit();
        self.rows.shrink();
        self.parts.shrink();
        self.rings.shrink_to_fit();
        self.coords.shrink_to_fit();
        self.others.shrink_to_fit();
    }

    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        self.kinds.capacity()
            + self.rows.heap_bytes()
            + self.parts.heap_bytes()
            + self.rings.capacity() * 4
            + self.coords.capacity() * std::mem::size_of::<Coord>()
            + self.others.capacity() * std::mem::size_of::<(u32, Geometry)>()
    }

    #[inline]
    fn get(&self, row: usize) -> Option<GeomRef<'_>> {
        match self.kinds[row] {
            Kind::None => None,
            kind => Some(GeomRef {
                seg: self,
                row: row as u32,
                kind,
            }),
        }
    }
}

/// Where a row starts in a [`Segment`].
#[derive(Debug, Clone, Copy)]
pub struct RowMark {
    rows: usize,
    coords: usize,
    rings: usize,
}

/// The state of a row being built in a [`Segment`].
#[derive(Debug)]
pub struct RowBuilder {
    parts: usize,
    rings: usize,
}

/// All geometries of a layer, one optional geometry per row.
#[derive(Debug, Clone)]
pub struct Geometries {
    segs: Vec<Segment>,
    /// First row of each segment, and the number of rows at the end.
    starts: Vec<usize>,
}

impl Default for Geometries {
    fn default() -> Self {
        Geometries::new()
    }
}

impl Geometries {
    /// No rows.
    pub fn new() -> Geometries {
        Geometries {
            segs: Vec::new(),
            starts: vec![0],
        }
    }

    /// The rows of `segments`, in order.
    pub fn from_segments(segments: Vec<Segment>) -> Geometries {
        let mut g = Geometries::new();
        for s in segments {
            g.append_segment(s);
        }
        g
    }

    /// Append the rows of `s`.
    pub fn append_segment(&mut self, s: Segment) {
        if s.is_empty() {
            return;
        }
        let end = self.len() + s.len();
        self.segs.push(s);
        self.starts.push(end);
    }

    /// Number of rows.
    #[inline]
    pub fn len(&self) -> usize {
        *self.starts.last().expect("starts begin with 0")
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    fn locate(&self, row: usize) -> (usize, usize) {
        if self.segs.len() == 1 {
            return (0, row);
        }
        // The segment whose start is the last one <= row.
        let s = self.starts.partition_point(|&st| st <= row) - 1;
        (s, row - self.starts[s])
    }

    /// Row `row`'s geometry, borrowed; `None` for a row without one (or past the end).
    #[inline]
    pub fn get(&self, row: usize) -> Option<GeomRef<'_>> {
        if row >= self.len() {
            return None;
        }
        let (s, r) = self.locate(row);
        self.segs[s].get(r)
    }

    /// The rows of `range` (clamped to the rows there are), borrowed, in order: the segment of
    /// the first found once, not for every row as [`Geometries::get`] does.
    pub fn rows(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = Option<GeomRef<'_>>> + '_ {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        let (s, r) = if start < end { self.locate(start) } else { (self.segs.len(), 0) };
        self.segs[s..]
            .iter()
            .enumerate()
            .flat_map(move |(k, seg)| (if k == 0 { r } else { 0 }..seg.len()).map(move |i| seg.get(i)))
            .take(end - start)
    }

    /// Row `row`'s geometry as an owned `geo` geometry (made now).
    pub fn geometry(&self, row: usize) -> Option<Geometry> {
        self.get(row).map(|g| g.to_geo())
    }

    /// True when row `row` has a geometry.
    pub fn is_some(&self, row: usize) -> bool {
        self.kind(row) != Kind::None
    }

    /// What row `row` holds (`None` past the end).
    pub fn kind(&self, row: usize) -> Kind {
        if row >= self.len() {
            return Kind::None;
        }
        let (s, r) = self.locate(row);
        self.segs[s].kinds[r]
    }

    /// Every row, borrowed, in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<GeomRef<'_>>> + Clone + '_ {
        self.segs.iter().flat_map(|s| (0..s.len()).map(move |r| s.get(r)))
    }

    /// Every row's geometry as owned `geo` geometries (made now).
    pub fn to_vec(&self) -> Vec<Option<Geometry>> {
        self.iter().map(|g| g.map(|g| g.to_geo())).collect()
    }

    /// Rows in parallel: `f(row, geometry)` for each, results in row order.
    pub fn par_map<T: Send>(&self, f: impl Fn(usize, Option<GeomRef<'_>>) -> T + Sync + Send) -> Vec<T> {
        use rayon::prelude::*;
        let f = &f;
        let mut out = Vec::with_capacity(self.len());
        out.par_extend(
            self.segs
                .par_iter()
                .zip(self.starts.par_iter())
                .flat_map_iter(|(s, &start)| (0..s.len()).map(move |r| f(start + r, s.get(r)))),
        );
        out
    }

    /// Append a row.
    pub fn push(&mut self, g: Option<&Geometry>) {
        if self.segs.is_empty() {
            self.segs.push(Segment::default());
            self.starts.push(0);
        }
        self.segs.last_mut().expect("a segment").push(g);
        *self.starts.last_mut().expect("starts") += 1;
    }

    /// Replace the geometries of some rows (each row once). Rebuilds the segments that hold them.
    pub fn replace(&mut self, mut changes: Vec<(usize, Option<Geometry>)>) {
        if changes.is_empty() {
            return;
        }
        changes.sort_by_key(|c| c.0);
        // Each row once (the last change given for it), rows past the end ignored.
        changes.reverse();
        changes.dedup_by_key(|c| c.0);
        changes.reverse();
        changes.retain(|c| c.0 < self.len());
        let mut it = changes.into_iter().peekable();
        for (si, seg) in self.segs.iter_mut().enumerate() {
            let (start, end) = (self.starts[si], self.starts[si + 1]);
            if it.peek().is_none_or(|c| c.0 >= end) {
                continue;
            }
            let mut next = Segment::with_capacity(seg.len(), seg.coords.len());
            for r in 0..seg.len() {
                match it.peek() {
                    Some((row, _)) if *row == start + r => {
                        let (_, g) = it.next().expect("peeked");
                        next.push(g.as_ref());
                    }
                    _ => match seg.get(r) {
                        Some(g) => next.push_ref(g),
                        None => next.push_none(),
                    },
                }
            }
            next.shrink_to_fit();
            *seg = next;
        }
    }

    /// Set one row's geometry (rebuilds its segment: for many rows, one [`Geometries::replace`]).
    pub fn set(&mut self, row: usize, g: Option<Geometry>) {
        self.replace(vec![(row, g)]);
    }

    /// Rewrite every row in parallel, in runs of rows that share a state made by `init`:
    /// `f(state, row, coordinates of the row)` may change the row's coordinates in place; rows
    /// kept whole are passed as owned geometries to `whole`. Rows for which either fails lose
    /// their geometry; they are returned with their errors, in row order.
    pub fn map_rows<S, E: Send>(
        &mut self,
        init: impl Fn() -> S + Sync + Send,
        f: impl Fn(&mut S, usize, &mut [Coord]) -> Result<(), E> + Sync + Send,
        whole: impl Fn(&mut S, usize, &mut Geometry) -> Result<(), E> + Sync + Send,
    ) -> Vec<(usize, E)> {
        use rayon::prelude::*;
        const RUN: usize = 4096;
        struct Shape<'s> {
            kinds: &'s [Kind],
            rows: &'s Offsets,
            parts: &'s Offsets,
            rings: &'s [u32],
        }
        struct Run<'s> {
            shape: Shape<'s>,
            start: usize,
            rows: std::ops::Range<usize>,
            coords: &'s mut [Coord],
            coord0: usize,
            others: &'s mut [(u32, Geometry)],
        }
        let mut runs: Vec<Run<'_>> = Vec::new();
        for (si, seg) in self.segs.iter_mut().enumerate() {
            let start = self.starts[si];
            let Segment {
                kinds,
                rows,
                parts,
                rings,
                coords,
                others,
            } = seg;
            let (kinds, rows, parts, rings) = (&*kinds, &*rows, &*parts, &*rings);
            let n = kinds.len();
            let mut rest_c: &mut [Coord] = coords.as_mut_slice();
            let mut rest_o: &mut [(u32, Geometry)] = others.as_mut_slice();
            let mut taken = 0;
            let mut r = 0;
            while r < n {
                let e = (r + RUN).min(n);
                let c1 = if e == n {
                    taken + rest_c.len()
                } else {
                    coord_span(rows, parts, rings, e).start
                };
                let (head, tail) = std::mem::take(&mut rest_c).split_at_mut(c1 - taken);
                rest_c = tail;
                let k = rest_o.partition_point(|(row, _)| (*row as usize) < e);
                let (oh, ot) = std::mem::take(&mut rest_o).split_at_mut(k);
                rest_o = ot;
                runs.push(Run {
                    shape: Shape { kinds, rows, parts, rings },
                    start,
                    rows: r..e,
                    coords: head,
                    coord0: taken,
                    others: oh,
                });
                taken = c1;
                r = e;
            }
        }
        let (f, whole) = (&f, &whole);
        let mut failed: Vec<(usize, E)> = runs
            .par_iter_mut()
            .map_init(&init, |state, run| {
                let mut bad = Vec::new();
                let s = &run.shape;
                let mut others = run.others.iter_mut();
                for r in run.rows.clone() {
                    match s.kinds[r] {
                        Kind::None => {}
                        Kind::Other => {
                            let (_, g) = others.next().expect("a kept geometry per Other row");
                            if let Err(e) = whole(state, run.start + r, g) {
                                bad.push((run.start + r, e));
                            }
                        }
                        _ => {
                            let span = coord_span(s.rows, s.parts, s.rings, r);
                            let span = span.start - run.coord0..span.end - run.coord0;
                            if let Err(e) = f(state, run.start + r, &mut run.coords[span]) {
                                bad.push((run.start + r, e));
                            }
                        }
                    }
                }
                bad
            })
            .flatten()
            .collect();
        drop(runs);
        failed.sort_unstable_by_key(|f| f.0);
        if !failed.is_empty() {
            self.replace(failed.iter().map(|f| (f.0, None)).collect());
        }
        failed
    }
}

impl PartialEq for Geometries {
    /// Row by row, as `geo` geometries.
    fn eq(&self, other: &Geometries) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.map(|g| g.to_geo()) == b.map(|g| g.to_geo()))
    }
}

impl From<Vec<Option<Geometry>>> for Geometries {
    fn from(v: Vec<Option<Geometry>>) -> Geometries {
        v.iter().map(|g| g.as_ref()).collect()
    }
}

impl<'a> FromIterator<Option<&'a Geometry>> for Geometries {
    fn from_iter<I: IntoIterator<Item = Option<&'a Geometry>>>(it: I) -> Geometries {
        let mut s = Segment::default();
        it.into_iter().for_each(|g| s.push(g));
        s.shrink_to_fit();
        Geometries::from_segments(vec![s])
    }
}

impl FromIterator<Option<Geometry>> for Geometries {
    fn from_iter<I: IntoIterator<Item = Option<Geometry>>>(it: I) -> Geometries {
        let mut s = Segment::default();
        it.into_iter().for_each(|g| s.push(g.as_ref()));
        s.shrink_to_fit();
        Geometries::from_segments(vec![s])
    }
}

/// One row's geometry, borrowed from the buffers.
#[derive(Debug, Clone, Copy)]
pub struct GeomRef<'a> {
    seg: &'a Segment,
    row: u32,
    kind: Kind,
}

/// One part (a point, line string or polygon) of a row.
#[derive(Debug, Clone)]
pub struct PartRef<'a> {
    seg: &'a Segment,
    rings: std::ops::Range<usize>,
}

impl<'a> PartRef<'a> {
    /// The part's rings (a polygon's exterior first; a line string's or point's one).
    pub fn rings(&self) -> impl ExactSizeIterator<Item = &'a [Coord]> + Clone + use<'a> {
        let seg = self.seg;
        self.rings
            .clone()
            .map(move |k| &seg.coords[seg.rings[k] as usize..seg.rings[k + 1] as usize])
    }
    /// The first ring (a polygon's exterior).
    pub fn exterior(&self) -> &'a [Coord] {
        let k = self.rings.start;
        &self.seg.coords[self.seg.rings[k] as usize..self.seg.rings[k + 1] as usize]
    }
    /// Every coordinate of the part.
    pub fn coords(&self) -> &'a [Coord] {
        let seg = self.seg;
        &seg.coords[seg.rings[self.rings.start] as usize..seg.rings[self.rings.end] as usize]
    }
    /// A polygon's planar area (exterior less holes), as `geo`'s `unsigned_area` computes it.
    pub fn area(&self) -> f64 {
        let mut rings = self.rings();
        let ext = rings.next().map_or(0.0, ring_area);
        rings.fold(ext.abs(), |total, r| total - ring_area(r).abs()).abs()
    }

    /// The envelope of the part's first ring (a polygon's, as `geo` takes it: its exterior's).
    pub fn envelope(&self) -> Option<[f64; 4]> {
        envelope_of(self.exterior())
    }

    /// The part as a `geo` polygon (made now).
    pub fn to_polygon(&self) -> Polygon {
        // geo's Polygon::new closes each ring whose first and last points differ by `==`, so a
        // ring closed on a NaN coordinate (NaN ≠ NaN) would gain a point each time: it is given
        // the ring as it was before it was closed, and closes it the same way again.
        let ring = |r: &[Coord]| {
            let mut v = r.to_vec();
            if let (Some(a), Some(b)) = (v.first(), v.last())
                && v.len() > 1
                && a != b
                && a.x.to_bits() == b.x.to_bits()
                && a.y.to_bits() == b.y.to_bits()
            {
                v.pop();
            }
            LineString(v)
        };
        let mut rings = self.rings().map(ring);
        let exterior = rings.next().unwrap_or_else(|| LineString(vec![]));
        Polygon::new(exterior, rings.collect())
    }
}

impl<'a> GeomRef<'a> {
    /// What the row holds.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The geometry kept whole, for a row of kind `Other`.
    pub fn other(&self) -> Option<&'a Geometry> {
        if self.kind != Kind::Other {
            return None;
        }
        let i = self.seg.others.partition_point(|(r, _)| *r < self.row);
        self.seg.others.get(i).filter(|(r, _)| *r == self.row).map(|(_, g)| g)
    }

    fn part_range(&self) -> std::ops::Range<usize> {
        if self.kind == Kind::Other {
            return 0..0;
        }
        self.seg.rows.range(self.row as usize)
    }

    /// The parts (points, line strings, polygons); none for a row kept whole.
    pub fn parts(&self) -> impl ExactSizeIterator<Item = PartRef<'a>> + Clone + use<'a> {
        let seg = self.seg;
        self.part_range().map(move |p| PartRef {
            seg,
            rings: seg.parts.range(p),
        })
    }

    /// Every ring of every part.
    pub fn rings(&self) -> impl Iterator<Item = &'a [Coord]> + Clone + use<'a> {
        self.parts().flat_map(|p| p.rings())
    }

    /// Every coordinate in the buffers (none for a row kept whole: see [`GeomRef::other`]).
    pub fn coords(&self) -> &'a [Coord] {
        if self.kind == Kind::Other {
            return &[];
        }
        let seg = self.seg;
        &seg.coords[coord_span(&seg.rows, &seg.parts, &seg.rings, self.row as usize)]
    }

    /// A point's coordinate.
    pub fn point(&self) -> Option<Coord> {
        (self.kind == Kind::Point).then(|| self.coords()[0])
    }

    /// The polygons of a polygon or multipolygon row.
    pub fn polygons(&self) -> impl Iterator<Item = PartRef<'a>> + Clone + use<'a> {
        let is_poly = matches!(self.kind, Kind::Polygon | Kind::MultiPolygon);
        self.parts().filter(move |_| is_poly)
    }

    /// True for a polygon or multipolygon (or a `Rect`/`Triangle` kept whole).
    pub fn is_areal(&self) -> bool {
        match self.kind {
            Kind::Polygon | Kind::MultiPolygon => true,
            Kind::Other => matches!(self.other(), Some(Geometry::Rect(_) | Geometry::Triangle(_))),
            _ => false,
        }
    }

    /// Envelope `[xmin, ymin, xmax, ymax]`; `None` when empty.
    pub fn envelope(&self) -> Option<[f64; 4]> {
        if self.kind == Kind::Other {
            use geo::BoundingRect;
            return self.other()?.bounding_rect().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
        }
        envelope_of(self.coords())
    }

    /// Envelope as a `geo` rectangle.
    pub fn bounding_rect(&self) -> Option<Rect> {
        self.envelope()
            .map(|e| Rect::new(Coord { x: e[0], y: e[1] }, Coord { x: e[2], y: e[3] }))
    }

    /// The row as an owned `geo` geometry.
    pub fn to_geo(&self) -> Geometry {
        match self.kind {
            Kind::None => unreachable!("a GeomRef is never of kind None"),
            Kind::Other => self.other().cloned().unwrap_or(Geometry::GeometryCollection(Default::default())),
            Kind::Point => Geometry::Point(Point(self.coords()[0])),
            Kind::LineString => Geometry::LineString(LineString(self.coords().to_vec())),
            Kind::Polygon => Geometry::Polygon(
                self.parts()
                    .next()
                    .map(|p| p.to_polygon())
                    .unwrap_or_else(|| Polygon::new(LineString(vec![]), vec![])),
            ),
            Kind::MultiPoint => Geometry::MultiPoint(MultiPoint(self.parts().map(|p| Point(p.coords()[0])).collect())),
            Kind::MultiLineString => {
                Geometry::MultiLineString(MultiLineString(self.parts().map(|p| LineString(p.coords().to_vec())).collect()))
            }
            Kind::MultiPolygon => Geometry::MultiPolygon(MultiPolygon(self.parts().map(|p| p.to_polygon()).collect())),
        }
    }

    /// Planar area of a polygon or multipolygon (exteriors less holes, by the shoelace formula);
    /// 0 for other kinds kept in the buffers.
    pub fn area(&self) -> f64 {
        if self.kind == Kind::Other {
            use geo::Area;
            return self.other().map_or(0.0, |g| g.unsigned_area());
        }
        self.polygons().map(|p| p.area()).sum()
    }
}

/// Signed area of a closed ring by the shoelace formula about its first point, in the same
/// order of operations as `geo`'s (so that areas agree to the last bit); 0 for a ring that is
/// not closed or has fewer than three points.
pub fn ring_area(r: &[Coord]) -> f64 {
    if r.len() < 3 || r.first() != r.last() {
        return 0.0;
    }
    let shift = r[0];
    let mut prev = r[1] - shift;
    let mut sum = 0.0;
    for p in &r[2..] {
        let q = *p - shift;
        sum += prev.x * q.y - prev.y * q.x;
        prev = q;
    }
    sum / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, polygon};

    fn samples() -> Vec<Option<Geometry>> {
        let sq = polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0), (x: 0.0, y: 0.0)];
        let holed = Polygon::new(
            sq.exterior().clone(),
            vec![LineString::from(vec![(2.0, 2.0), (4.0, 2.0), (4.0, 4.0), (2.0, 2.0)])],
        );
        vec![
            Some(Geometry::Polygon(sq.clone())),
            None,
            Some(Geometry::Point(Point::new(3.0, 4.0))),
            Some(Geometry::Polygon(holed.clone())),
            Some(Geometry::MultiPolygon(MultiPolygon(vec![sq.clone(), holed]))),
            Some(Geometry::LineString(LineString::from(vec![(0.0, 0.0), (1.0, 1.0), (2.0, 0.0)]))),
            Some(Geometry::MultiPoint(MultiPoint(vec![Point::new(1.0, 2.0), Point::new(3.0, 4.0)]))),
            Some(Geometry::MultiLineString(MultiLineString(vec![
                LineString::from(vec![(0.0, 0.0), (1.0, 1.0)]),
                LineString::from(vec![(5.0, 5.0), (6.0, 6.0), (7.0, 5.0)]),
            ]))),
            Some(Geometry::Rect(Rect::new(Coord { x: 1.0, y: 1.0 }, Coord { x: 2.0, y: 3.0 }))),
            Some(Geometry::MultiPolygon(MultiPolygon(vec![]))),
            Some(Geometry::Polygon(sq)),
        ]
    }

    #[test]
    fn every_kind_comes_back_as_it_went_in() {
        let v = samples();
        let g = Geometries::from(v.clone());
        assert_eq!(g.len(), v.len());
        assert_eq!(g.to_vec(), v);
        assert!(g.get(v.len()).is_none() && g.kind(v.len()) == Kind::None);
        for (i, want) in v.iter().enumerate() {
            assert_eq!(g.geometry(i).as_ref(), want.as_ref(), "row {i}");
            assert_eq!(g.is_some(i), want.is_some());
            if let (Some(r), Some(w)) = (g.get(i), want) {
                use geo::BoundingRect;
                let e = r.envelope();
                let we = w.bounding_rect().map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
                assert_eq!(e, we, "envelope of row {i}");
                if r.is_areal() {
                    assert_eq!(r.area(), w.unsigned_area(), "area of row {i}");
                }
            }
        }
        // A layer of single polygons keeps no row or part offsets.
        let polys = Geometries::from(vec![v[0].clone(), v[3].clone(), v[10].clone()]);
        assert!(matches!(polys.segs[0].rows, Offsets::Identity(3)));
        assert!(
            matches!(polys.segs[0].parts, Offsets::Explicit(_)),
            "the holed polygon has two rings"
        );
        let plain = Geometries::from(vec![v[0].clone(), v[10].clone()]);
        assert!(matches!(plain.segs[0].parts, Offsets::Identity(2)));
        assert_eq!(plain.segs[0].heap_bytes(), 2 + 3 * 4 + 10 * 16);
    }

    #[test]
    fn segments_replacements_and_row_maps() {
        let v = samples();
        let mut segs = Vec::new();
        for chunk in v.chunks(3) {
            let mut s = Segment::default();
            chunk.iter().for_each(|g| s.push(g.as_ref()));
            segs.push(s);
        }
        let mut g = Geometries::from_segments(segs);
        assert_eq!(g.to_vec(), v);
        // Any range of rows, across segments and past the end, as row by row.
        for start in 0..=v.len() + 1 {
            for end in start..=v.len() + 2 {
                let got: Vec<Option<Geometry>> = g.rows(start..end).map(|r| r.map(|r| r.to_geo())).collect();
                let want: Vec<Option<Geometry>> = (start..end.min(v.len())).map(|i| g.geometry(i)).collect();
                assert_eq!(got, want, "rows {start}..{end}");
            }
        }
        let mut want = v.clone();
        let tri = Geometry::Polygon(polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 0.0, y: 1.0), (x: 0.0, y: 0.0)]);
        g.replace(vec![(4, Some(tri.clone())), (1, Some(tri.clone())), (9, None)]);
        want[4] = Some(tri.clone());
        want[1] = Some(tri);
        want[9] = None;
        assert_eq!(g.to_vec(), want);
        // Shift every coordinate; fail rows 2 and 8 (a point, a kept rectangle).
        let failed = g.map_rows(
            || (),
            |_, row, c| {
                c.iter_mut().for_each(|c| c.x += 100.0);
                if row == 2 { Err(row) } else { Ok(()) }
            },
            |_, row, _| if row == 8 { Err(row) } else { Ok(()) },
        );
        assert_eq!(failed, vec![(2, 2), (8, 8)]);
        assert!(g.get(2).is_none() && g.get(8).is_none());
        use geo::MapCoords;
        for (i, w) in want.iter().enumerate() {
            if [2, 8].contains(&i) {
                continue;
            }
            let shifted = w.as_ref().map(|w| w.map_coords(|c| Coord { x: c.x + 100.0, y: c.y }));
            assert_eq!(g.geometry(i), shifted, "row {i}");
        }
        // A row changed twice takes the last change; rows past the end are ignored.
        let before = g.to_vec();
        g.replace(vec![(0, None), (g.len() + 3, None), (0, before[0].clone())]);
        assert_eq!(g.to_vec(), before);
        let par = g.par_map(|row, r| (row, r.map(|r| r.coords().len())));
        assert_eq!(par.len(), g.len());
        assert!(par.iter().enumerate().all(|(i, (row, _))| *row == i));
        assert_eq!(par[0].1, Some(5));
    }

    #[test]
    fn rows_mapped_in_runs_that_end_on_rows_without_parts() {
        // A run of 4,096 holed polygons (more rings than parts) ending where rows without
        // geometry begin: the run's cut lies past the last part.
        let holed = samples()[3].clone();
        let mut v = vec![holed; 4096];
        v.extend(std::iter::repeat_n(None, 10));
        let mut g = Geometries::from(v.clone());
        let failed = g.map_rows(
            || (),
            |_, _, c| {
                c.iter_mut().for_each(|c| c.y -= 1.0);
                Ok::<(), ()>(())
            },
            |_, _, _| Ok(()),
        );
        assert!(failed.is_empty());
        use geo::MapCoords;
        let want: Vec<_> = v
            .iter()
            .map(|g| g.as_ref().map(|g| g.map_coords(|c| Coord { x: c.x, y: c.y - 1.0 })))
            .collect();
        assert_eq!(g.to_vec(), want);
    }

    #[test]
    fn a_ring_closed_on_a_nan_comes_back_as_it_went_in() {
        // geo closes [a, b] with a NaN in a into [a, b, a]; the store must not close it again.
        let a = Coord { x: 1.0, y: f64::NAN };
        let p = Polygon::new(LineString(vec![a, Coord { x: 4.0, y: 0.0 }]), vec![]);
        assert_eq!(p.exterior().0.len(), 3);
        let g = Geometries::from(vec![Some(Geometry::Polygon(p.clone()))]);
        let back = g.geometry(0).unwrap();
        assert_eq!(format!("{back:?}"), format!("{:?}", Geometry::Polygon(p)));
        let again = Geometries::from(vec![Some(back.clone())]);
        assert_eq!(format!("{:?}", again.geometry(0).unwrap()), format!("{back:?}"));
    }

    #[test]
    fn a_row_begun_and_abandoned_leaves_nothing() {
        let mut s = Segment::default();
        s.push(samples()[0].as_ref());
        let mark = s.mark();
        let mut b = s.begin_row(Kind::MultiPolygon);
        s.begin_part(&mut b);
        s.push_coord(Coord { x: 1.0, y: 1.0 });
        s.end_ring_of_part(&mut b);
        s.begin_part(&mut b);
        s.push_coord(Coord { x: 2.0, y: 1.0 });
        s.end_ring_of_part(&mut b);
        s.begin_part(&mut b);
        s.discard_open_row(mark);
        s.discard_open_row(s.mark());
        s.push(samples()[3].as_ref());
        s.push_none();
        let g = Geometries::from_segments(vec![s]);
        assert_eq!(g.to_vec(), vec![samples()[0].clone(), samples()[3].clone(), None]);
    }
}
