//! A small, strict reader of (ISO and extended) WKB and of GeoPackage geometry blobs.
//!
//! Z and M ordinates are read and dropped: the layer core is planar; heights travel in
//! attributes. Curve types are reported as errors so that the caller can linearise them first.

use geo::{Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};

/// Why a WKB buffer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WkbError {
    /// The buffer ended early.
    #[error("WKB truncated at byte {0}")]
    Truncated(usize),
    /// An unknown byte-order marker.
    #[error("bad WKB byte order {0}")]
    ByteOrder(u8),
    /// A geometry type this reader does not handle (curves, surfaces, TINs).
    #[error("unsupported WKB geometry type {0}")]
    UnsupportedType(u32),
    /// Not a GeoPackage blob.
    #[error("not a GeoPackage geometry blob")]
    NotGpkg,
    /// Collections nested deeper than GDAL reads.
    #[error("WKB collections nested more than {MAX_DEPTH} deep")]
    TooDeep,
    /// A part whose type its collection cannot hold (a polygon in a MultiLineString).
    #[error("WKB {0} holds a part of type {1}")]
    WrongPart(&'static str, u32),
}

/// How deep collections may nest (GDAL's limit too): deeper is an error, not a stack overflow.
const MAX_DEPTH: usize = 32;

struct Reader<'a> {
    depth: usize,
    buf: &'a [u8],
    pos: usize,
    unclosed_rings: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WkbError> {
        let end = self.pos.checked_add(n).ok_or(WkbError::Truncated(self.pos))?;
        if end > self.buf.len() {
            return Err(WkbError::Truncated(self.pos));
        }
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, WkbError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self, le: bool) -> Result<u32, WkbError> {
        let b: [u8; 4] = self.take(4)?.try_into().expect("4 bytes");
        Ok(if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    }
    /// A geometry's header: byte order, base type (ISO's thousands taken off) and ordinates
    /// per point; an extended WKB's SRID is read past.
    fn header(&mut self) -> Result<(bool, u32, usize), WkbError> {
        let le = match self.u8()? {
            0 => false,
            1 => true,
            other => return Err(WkbError::ByteOrder(other)),
        };
        let raw_type = self.u32(le)?;
        let (mut has_z, mut has_m) = (raw_type & 0x8000_0000 != 0, raw_type & 0x4000_0000 != 0);
        let base = raw_type & 0x0fff_ffff;
        match base / 1000 {
            1 => has_z = true,
            2 => has_m = true,
            3 => (has_z, has_m) = (true, true),
            _ => {}
        }
        if raw_type & 0x2000_0000 != 0 {
            self.u32(le)?;
        }
        Ok((le, base % 1000, 2 + usize::from(has_z) + usize::from(has_m)))
    }
    /// A counted sequence of points, their x and y.
    fn points(&mut self, le: bool, dims: usize) -> Result<impl ExactSizeIterator<Item = Coord> + 'a, WkbError> {
        let n = self.u32(le)? as usize;
        // Guard against absurd counts in corrupt data before allocating.
        if n.saturating_mul(dims * 8) > self.buf.len().saturating_sub(self.pos) {
            return Err(WkbError::Truncated(self.pos));
        }
        let raw = self.take(n * dims * 8)?;
        Ok(raw.chunks_exact(dims * 8).map(move |chunk| Coord {
            x: f64::from_bits(read_u64(&chunk[0..8], le)),
            y: f64::from_bits(read_u64(&chunk[8..16], le)),
        }))
    }
    fn coords(&mut self, le: bool, dims: usize) -> Result<Vec<Coord>, WkbError> {
        Ok(self.points(le, dims)?.collect())
    }
}

fn read_u64(b: &[u8], le: bool) -> u64 {
    let a: [u8; 8] = b.try_into().expect("8 bytes");
    if le { u64::from_le_bytes(a) } else { u64::from_be_bytes(a) }
}

/// Parse one WKB geometry. Empty points (NaN coordinates) come back as an empty MultiPoint.
pub fn parse_wkb(buf: &[u8]) -> Result<Geometry, WkbError> {
    parse_wkb_counting(buf).map(|(g, _)| g)
}

/// Parse one WKB geometry and count the polygon rings that were not closed in the source
/// (they come back closed).
pub fn parse_wkb_counting(buf: &[u8]) -> Result<(Geometry, usize), WkbError> {
    let mut r = Reader {
        buf,
        pos: 0,
        unclosed_rings: 0,
        depth: 0,
    };
    let g = read_geometry(&mut r)?;
    Ok((g, r.unclosed_rings))
}

fn read_geometry(r: &mut Reader<'_>) -> Result<Geometry, WkbError> {
    let (le, base, dims) = r.header()?;
    Ok(match base {
        1 => {
            let raw = r.take(dims * 8)?;
            let x = f64::from_bits(read_u64(&raw[0..8], le));
            let y = f64::from_bits(read_u64(&raw[8..16], le));
            if x.is_nan() && y.is_nan() {
                Geometry::MultiPoint(MultiPoint(vec![]))
            } else {
                Geometry::Point(Point::new(x, y))
            }
        }
        2 => Geometry::LineString(LineString(r.coords(le, dims)?)),
        3 => Geometry::Polygon(read_polygon(r, le, dims)?),
        4..=7 => {
            let n = r.u32(le)? as usize;
            if n > r.buf.len() {
                return Err(WkbError::Truncated(r.pos));
            }
            let mut parts = Vec::with_capacity(n);
            r.depth += 1;
            if r.depth > MAX_DEPTH {
                return Err(WkbError::TooDeep);
            }
            for _ in 0..n {
                match read_geometry(r)? {
                    // POINT EMPTY (NaN, NaN) inside a MultiPoint: no part, as GDAL reads it.
                    Geometry::MultiPoint(m) if base == 4 && m.0.is_empty() => {}
                    g => parts.push(g),
                }
            }
            r.depth -= 1;
            // As GDAL: a multi-geometry holds only parts of its own kind.
            let (want, name): (fn(&Geometry) -> bool, &'static str) = match base {
                4 => (|g| matches!(g, Geometry::Point(_)), "MultiPoint"),
                5 => (|g| matches!(g, Geometry::LineString(_)), "MultiLineString"),
                6 => (|g| matches!(g, Geometry::Polygon(_)), "MultiPolygon"),
                _ => (|_| true, "GeometryCollection"),
            };
            if let Some(bad) = parts.iter().find(|g| !want(g)) {
                let t = match bad {
                    Geometry::Point(_) => 1,
                    Geometry::LineString(_) | Geometry::Line(_) => 2,
                    Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => 3,
                    Geometry::MultiPoint(_) => 4,
                    Geometry::MultiLineString(_) => 5,
                    Geometry::MultiPolygon(_) => 6,
                    Geometry::GeometryCollection(_) => 7,
                };
                return Err(WkbError::WrongPart(name, t));
            }
            match base {
                4 => Geometry::MultiPoint(MultiPoint(
                    parts
                        .into_iter()
                        .filter_map(|g| if let Geometry::Point(p) = g { Some(p) } else { None })
                        .collect(),
                )),
                5 => Geometry::MultiLineString(MultiLineString(
                    parts
                        .into_iter()
                        .filter_map(|g| if let Geometry::LineString(l) = g { Some(l) } else { None })
                        .collect(),
                )),
                6 => Geometry::MultiPolygon(MultiPolygon(
                    parts
                        .into_iter()
                        .filter_map(|g| if let Geometry::Polygon(p) = g { Some(p) } else { None })
                        .collect(),
                )),
                _ => Geometry::GeometryCollection(GeometryCollection(parts)),
            }
        }
        other => return Err(WkbError::UnsupportedType(other)),
    })
}

fn read_polygon(r: &mut Reader<'_>, le: bool, dims: usize) -> Result<Polygon, WkbError> {
    let rings = r.u32(le)? as usize;
    if rings > r.buf.len() {
        return Err(WkbError::Truncated(r.pos));
    }
    let mut exterior = LineString(vec![]);
    let mut interiors = Vec::with_capacity(rings.saturating_sub(1));
    for i in 0..rings {
        let ring = LineString(r.coords(le, dims)?);
        if i == 0 {
            exterior = ring;
        } else {
            interiors.push(ring);
        }
    }
    // geo's Polygon::new closes open rings: count them so the caller can report it.
    for ring in std::iter::once(&exterior).chain(interiors.iter()) {
        if ring.0.len() > 1 && ring.0.first() != ring.0.last() {
            r.unclosed_rings += 1;
        }
    }
    Ok(Polygon::new(exterior, interiors))
}

/// Append every x/y of a WKB geometry to `out` without building geometry objects (the fast
/// path for bulk coordinate work). Returns the number of coordinates appended.
pub fn push_wkb_coords(buf: &[u8], out: &mut Vec<(f64, f64)>) -> Result<usize, WkbError> {
    let mut r = Reader {
        buf,
        pos: 0,
        unclosed_rings: 0,
        depth: 0,
    };
    let before = out.len();
    walk_coords(&mut r, out)?;
    Ok(out.len() - before)
}

fn walk_coords(r: &mut Reader<'_>, out: &mut Vec<(f64, f64)>) -> Result<(), WkbError> {
    let le = match r.u8()? {
        0 => false,
        1 => true,
        o => return Err(WkbError::ByteOrder(o)),
    };
    let raw_type = r.u32(le)?;
    let mut dims = 2 + usize::from(raw_type & 0x8000_0000 != 0) + usize::from(raw_type & 0x4000_0000 != 0);
    if raw_type & 0x2000_0000 != 0 {
        r.u32(le)?;
    }
    let mut base = raw_type & 0x0fff_ffff;
    dims += match base / 1000 {
        1 | 2 => 1,
        3 => 2,
        _ => 0,
    };
    base %= 1000;
    let mut seq = |r: &mut Reader<'_>, n: usize| -> Result<(), WkbError> {
        let raw = r.take(n.checked_mul(dims * 8).ok_or(WkbError::Truncated(r.pos))?)?;
        out.extend(
            raw.chunks_exact(dims * 8)
                .map(|c| (f64::from_bits(read_u64(&c[0..8], le)), f64::from_bits(read_u64(&c[8..16], le)))),
        );
        Ok(())
    };
    match base {
        1 => seq(r, 1),
        2 => {
            let n = r.u32(le)? as usize;
            seq(r, n)
        }
        3 => {
            let rings = r.u32(le)?;
            for _ in 0..rings {
                let n = r.u32(le)? as usize;
                seq(r, n)?;
            }
            Ok(())
        }
        4..=7 => {
            let n = r.u32(le)?;
            r.depth += 1;
            if r.depth > MAX_DEPTH {
                return Err(WkbError::TooDeep);
            }
            for _ in 0..n {
                walk_coords(r, out)?;
            }
            r.depth -= 1;
            Ok(())
        }
        other => Err(WkbError::UnsupportedType(other)),
    }
}

/// The WKB part of a GeoPackage geometry blob (`None` for a blob flagged empty).
pub fn gpkg_wkb(blob: &[u8]) -> Result<Option<&[u8]>, WkbError> {
    if blob.len() < 8 || &blob[0..2] != b"GP" {
        return Err(WkbError::NotGpkg);
    }
    let flags = blob[3];
    let envelope_len = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        _ => return Err(WkbError::NotGpkg),
    };
    let start = 8 + envelope_len;
    if blob.len() < start {
        return Err(WkbError::Truncated(blob.len()));
    }
    Ok(if flags & 0b1_0000 != 0 { None } else { Some(&blob[start..]) })
}

/// Strip the GeoPackage binary header (`GP`, version, flags, srs id, envelope) and parse the WKB.
/// Returns `Ok(None)` for a blob flagged empty.
pub fn parse_gpkg_blob(blob: &[u8]) -> Result<Option<Geometry>, WkbError> {
    gpkg_wkb(blob)?.map(parse_wkb).transpose()
}

/// Append the geometry of a GeoPackage blob to a segment of a layer's geometries (a row without
/// geometry for a blob flagged empty). Polygons and multipolygons, what nearly every layer of
/// buildings and parcels holds, go straight into the segment's buffers; anything else is read
/// by [`parse_wkb`] and appended. The row is the same either way (rings closed as
/// `Polygon::new` closes them); on an error nothing is appended.
pub fn push_gpkg_blob(blob: &[u8], seg: &mut crate::geoms::Segment) -> Result<(), WkbError> {
    let Some(wkb) = gpkg_wkb(blob)? else {
        seg.push_none();
        return Ok(());
    };
    let mark = seg.mark();
    if let Ok(true) = push_polygonal(wkb, seg) {
        return Ok(());
    }
    // Not a plain polygon or multipolygon (or a problem the general reader names): undo and
    // read it the general way.
    seg.discard_open_row(mark);
    let g = parse_wkb(wkb)?;
    seg.push(Some(&g));
    Ok(())
}

/// A plain or extended WKB polygon or multipolygon (any ordinates) straight into `seg`:
/// `Ok(false)` (with a row possibly begun) for anything else.
fn push_polygonal(wkb: &[u8], seg: &mut crate::geoms::Segment) -> Result<bool, WkbError> {
    use crate::geoms::Kind;
    let mut r = Reader {
        buf: wkb,
        pos: 0,
        unclosed_rings: 0,
        depth: 0,
    };
    let (le, base, dims) = r.header()?;
    let kind = match base {
        3 => Kind::Polygon,
        6 => Kind::MultiPolygon,
        _ => return Ok(false),
    };
    let mut b = seg.begin_row(kind);
    let parts = if base == 3 { 1 } else { r.u32(le)? as usize };
    for _ in 0..parts {
        let (le, dims) = if base == 3 {
            (le, dims)
        } else {
            match r.header()? {
                (le, 3, dims) => (le, dims),
                _ => return Ok(false),
            }
        };
        seg.begin_part(&mut b);
        let rings = r.u32(le)? as usize;
        if rings > r.buf.len() {
            return Err(WkbError::Truncated(r.pos));
        }
        for _ in 0..rings {
            let mut first = None;
            let mut last = Coord { x: 0.0, y: 0.0 };
            for c in r.points(le, dims)? {
                first.get_or_insert(c);
                last = c;
                seg.push_coord(c);
            }
            // As geo's Polygon::new: an open ring is closed.
            if let Some(f) = first
                && f != last
            {
                seg.push_coord(f);
            }
            seg.end_ring_of_part(&mut b);
        }
    }
    seg.end_row(b);
    Ok(true)
}

/// Little-endian ISO WKB of a 2D geometry (the inverse of [`parse_wkb`]). Lines, rectangles and
/// triangles are written as the polygons and line strings they are.
pub fn write_wkb(g: &Geometry, out: &mut Vec<u8>) {
    fn head(out: &mut Vec<u8>, ty: u32) {
        out.push(1);
        out.extend(ty.to_le_bytes());
    }
    fn coords(out: &mut Vec<u8>, cs: &[Coord]) {
        out.extend((cs.len() as u32).to_le_bytes());
        for c in cs {
            out.extend(c.x.to_le_bytes());
            out.extend(c.y.to_le_bytes());
        }
    }
    fn polygon(out: &mut Vec<u8>, p: &geo::Polygon) {
        head(out, 3);
        out.extend((1 + p.interiors().len() as u32).to_le_bytes());
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            coords(out, &r.0);
        }
    }
    match g {
        Geometry::Point(p) => {
            head(out, 1);
            out.extend(p.x().to_le_bytes());
            out.extend(p.y().to_le_bytes());
        }
        Geometry::LineString(l) => {
            head(out, 2);
            coords(out, &l.0);
        }
        Geometry::Line(l) => write_wkb(&Geometry::LineString(geo::LineString::from(vec![l.start, l.end])), out),
        Geometry::Polygon(p) => polygon(out, p),
        Geometry::Rect(r) => polygon(out, &r.to_polygon()),
        Geometry::Triangle(t) => polygon(out, &t.to_polygon()),
        Geometry::MultiPoint(m) => {
            head(out, 4);
            out.extend((m.0.len() as u32).to_le_bytes());
            for p in &m.0 {
                write_wkb(&Geometry::Point(*p), out);
            }
        }
        Geometry::MultiLineString(m) => {
            head(out, 5);
            out.extend((m.0.len() as u32).to_le_bytes());
            for l in &m.0 {
                head(out, 2);
                coords(out, &l.0);
            }
        }
        Geometry::MultiPolygon(m) => {
            head(out, 6);
            out.extend((m.0.len() as u32).to_le_bytes());
            for p in &m.0 {
                polygon(out, p);
            }
        }
        Geometry::GeometryCollection(c) => {
            head(out, 7);
            out.extend((c.0.len() as u32).to_le_bytes());
            for g in &c.0 {
                write_wkb(g, out);
            }
        }
    }
}

/// A GeoPackage geometry blob: the standard header (version 0, little endian, XY envelope) and
/// the WKB of `g`.
pub fn gpkg_blob(g: &Geometry, srs_id: i32) -> Vec<u8> {
    use geo::BoundingRect;
    let mut out = Vec::with_capacity(64);
    out.extend(b"GP");
    out.push(0);
    match g.bounding_rect() {
        Some(r) => {
            out.push(0b0000_0011);
            out.extend(srs_id.to_le_bytes());
            for v in [r.min().x, r.max().x, r.min().y, r.max().y] {
                out.extend(v.to_le_bytes());
            }
        }
        None => {
            out.push(0b0001_0001);
            out.extend(srs_id.to_le_bytes());
        }
    }
    write_wkb(g, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collection_holds_only_its_own_kind() {
        // A MultiLineString whose one part is a polygon: GDAL refuses it, so do we.
        let mut b = vec![1u8];
        b.extend(5u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(le_poly());
        assert_eq!(parse_wkb(&b), Err(WkbError::WrongPart("MultiLineString", 3)));
        // A part with a byte order that is neither 0 nor 1.
        let mut b = vec![1u8];
        b.extend(6u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        let mut p = le_poly();
        p[0] = 0x40;
        b.extend(p);
        assert_eq!(parse_wkb(&b), Err(WkbError::ByteOrder(0x40)));
    }

    fn le_poly() -> Vec<u8> {
        let mut b = vec![1u8];
        b.extend(3u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend(4u32.to_le_bytes());
        for (x, y) in [(0.0f64, 0.0f64), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)] {
            b.extend(x.to_le_bytes());
            b.extend(y.to_le_bytes());
        }
        b
    }

    #[test]
    fn written_wkb_and_gpkg_blobs_read_back() {
        let poly = parse_wkb(&le_poly()).unwrap();
        let mut w = Vec::new();
        write_wkb(&poly, &mut w);
        assert_eq!(w, le_poly());
        let multi = Geometry::MultiPolygon(geo::MultiPolygon(vec![
            match poly.clone() {
                Geometry::Polygon(p) => p,
                _ => unreachable!(),
            };
            2
        ]));
        for g in [poly, multi, Geometry::Point(geo::Point::new(3.5, -2.0))] {
            let blob = gpkg_blob(&g, 4550);
            assert_eq!(parse_gpkg_blob(&blob).unwrap(), Some(g));
        }
    }

    #[test]
    fn polygon_roundtrip() {
        let g = parse_wkb(&le_poly()).unwrap();
        let Geometry::Polygon(p) = g else { panic!("not a polygon") };
        assert_eq!(p.exterior().0.len(), 4);
        assert_eq!(p.exterior().0[2], Coord { x: 1.0, y: 1.0 });
    }

    #[test]
    fn truncated_is_error_not_panic() {
        let b = le_poly();
        for cut in 0..b.len() {
            assert!(parse_wkb(&b[..cut]).is_err(), "cut at {cut} parsed");
        }
    }

    #[test]
    fn iso_z_point_drops_z() {
        let mut b = vec![0u8];
        b.extend(1001u32.to_be_bytes());
        for v in [3.0f64, 4.0, 5.0] {
            b.extend(v.to_be_bytes());
        }
        assert_eq!(parse_wkb(&b).unwrap(), Geometry::Point(Point::new(3.0, 4.0)));
    }

    #[test]
    fn coordinate_walk_matches_the_parser() {
        let mut out = Vec::new();
        assert_eq!(push_wkb_coords(&le_poly(), &mut out).unwrap(), 4);
        let Geometry::Polygon(p) = parse_wkb(&le_poly()).unwrap() else {
            panic!()
        };
        assert_eq!(out, p.exterior().0.iter().map(|c| (c.x, c.y)).collect::<Vec<_>>());
        for cut in 0..le_poly().len() {
            assert!(push_wkb_coords(&le_poly()[..cut], &mut Vec::new()).is_err());
        }
    }

    #[test]
    fn gpkg_header_with_envelope() {
        let mut blob = vec![b'G', b'P', 0, 0b0000_0011];
        blob.extend(4547i32.to_le_bytes());
        for v in [0.0f64, 1.0, 0.0, 1.0] {
            blob.extend(v.to_le_bytes());
        }
        blob.extend(le_poly());
        assert!(matches!(parse_gpkg_blob(&blob).unwrap(), Some(Geometry::Polygon(_))));
        assert_eq!(parse_gpkg_blob(b"XX0000000"), Err(WkbError::NotGpkg));
    }
}
