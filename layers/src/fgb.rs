//! A check of FlatGeobuf files before GDAL reads them: the header's size prefix and its
//! FlatBuffers table, and the packed Hilbert R-tree that follows it.
//!
//! GDAL reads features in file order and uses the index only for spatial filters, so a file
//! whose index is broken (children outside their level, boxes that do not hold their children,
//! features past the end of the file) opens with no error and then answers area queries wrongly
//! elsewhere. Such a file is refused here with the file named and the first fault. Layout as in
//! the FlatGeobuf specification: 8 magic bytes, a little-endian u32 header length, the header
//! (a FlatBuffers `Header` table), the index (`node_size`-ary packed R-tree of 40-byte nodes,
//! root first, leaves last), then the features.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{LayersError, Result};

/// The header fields the check needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Length of the header table in bytes (after the 12-byte prefix).
    pub header_len: u32,
    /// Number of features the header announces (0 when unknown).
    pub features_count: u64,
    /// Branching factor of the index; 0 when the file has none.
    pub index_node_size: u16,
}

const MAGIC: &[u8; 3] = b"fgb";
/// GDAL refuses headers above this size too.
const MAX_HEADER: u32 = 10 * 1024 * 1024;
const NODE: u64 = 40;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}
fn f64_at(b: &[u8], at: usize) -> Option<f64> {
    u64_at(b, at).map(f64::from_bits)
}

/// Read the two header fields from the FlatBuffers table `buf` (the header without prefix).
pub fn parse_header(buf: &[u8]) -> std::result::Result<Header, String> {
    let bad = |what: &str| format!("the header is not a valid FlatBuffers table ({what})");
    let table = u32_at(buf, 0).ok_or_else(|| bad("no root offset"))? as usize;
    let soff = i32::from_le_bytes(
        buf.get(table..table + 4)
            .ok_or_else(|| bad("root outside"))?
            .try_into()
            .expect("4 bytes"),
    );
    let vtable = i64::try_from(table).expect("small") - i64::from(soff);
    let vtable = usize::try_from(vtable).map_err(|_| bad("vtable outside"))?;
    let vt_len = usize::from(u16_at(buf, vtable).ok_or_else(|| bad("vtable outside"))?);
    let table_len = usize::from(u16_at(buf, vtable + 2).ok_or_else(|| bad("vtable outside"))?);
    if vt_len < 4 || vt_len % 2 != 0 || vtable + vt_len > buf.len() || table + table_len > buf.len() {
        return Err(bad("vtable or table runs past the header"));
    }
    let field = |i: usize, size: usize| -> std::result::Result<Option<usize>, String> {
        let slot = 4 + 2 * i;
        if slot + 2 > vt_len {
            return Ok(None);
        }
        let off = usize::from(u16_at(buf, vtable + slot).expect("inside the vtable"));
        if off == 0 {
            return Ok(None);
        }
        if off + size > table_len {
            return Err(bad("a field runs past its table"));
        }
        Ok(Some(table + off))
    };
    // Header fields: name, envelope, geometry_type, has_z, has_m, has_t, has_tm, columns,
    // features_count (8, u64), index_node_size (9, u16, default 16), crs, ...
    let features_count = field(8, 8)?.map_or(0, |at| u64_at(buf, at).expect("checked"));
    let index_node_size = field(9, 2)?.map_or(16, |at| u16_at(buf, at).expect("checked"));
    Ok(Header {
        header_len: u32::try_from(buf.len()).unwrap_or(u32::MAX),
        features_count,
        index_node_size,
    })
}

/// The node ranges `[start, end)` of each level of a packed R-tree, leaves first.
pub fn level_bounds(items: u64, node_size: u16) -> Vec<(u64, u64)> {
    let node_size = u64::from(node_size.max(2));
    let mut counts = vec![items];
    let mut n = items;
    let mut total = n;
    while n > 1 {
        n = n.div_ceil(node_size);
        counts.push(n);
        total += n;
    }
    if counts.len() == 1 {
        // One item still has a root above it.
        counts.push(1);
        total += 1;
    }
    let mut end = total;
    counts
        .iter()
        .map(|&c| {
            let start = end - c;
            let r = (start, end);
            end = start;
            r
        })
        .collect()
}

/// Check the index nodes `nodes` (the whole index) of a file whose feature section is
/// `features_len` bytes long. The first fault found, as a sentence.
pub fn check_index(nodes: &[u8], items: u64, node_size: u16, features_len: u64) -> std::result::Result<(), String> {
    let levels = level_bounds(items, node_size);
    let node = |i: u64| -> Option<([f64; 4], u64)> {
        let at = usize::try_from(i.checked_mul(NODE)?).ok()?;
        Some((
            [
                f64_at(nodes, at)?,
                f64_at(nodes, at + 8)?,
                f64_at(nodes, at + 16)?,
                f64_at(nodes, at + 24)?,
            ],
            u64_at(nodes, at + 32)?,
        ))
    };
    let (leaf_start, leaf_end) = levels[0];
    let mut last = None;
    for i in leaf_start..leaf_end {
        let (b, off) = node(i).ok_or("the index is cut short")?;
        // A feature with no geometry is indexed with an empty box: NaN, or +inf/-inf as the
        // reference writer starts a box.
        let empty = b.iter().all(|v| v.is_nan()) || (b[0] == f64::INFINITY && b[2] == f64::NEG_INFINITY);
        if !(empty || (b[0] <= b[2] && b[1] <= b[3])) {
            return Err(format!("index leaf {} has an inverted box", i - leaf_start));
        }
        if off >= features_len {
            return Err(format!(
                "index leaf {} points past the last feature (offset {off} of {features_len} bytes)",
                i - leaf_start
            ));
        }
        if last.is_some_and(|l| off <= l) {
            return Err(format!("index leaf {} is out of order (offset {off})", i - leaf_start));
        }
        last = Some(off);
    }
    for w in 1..levels.len() {
        let (start, end) = levels[w];
        let (child_start, child_end) = levels[w - 1];
        for i in start..end {
            let (b, first) = node(i).ok_or("the index is cut short")?;
            let expect = child_start + (i - start) * u64::from(node_size);
            if first != expect {
                return Err(format!("index node {i} names child {first}, not {expect}"));
            }
            for c in first..(first + u64::from(node_size)).min(child_end) {
                let (cb, _) = node(c).ok_or("the index is cut short")?;
                let inside = cb[0] >= b[0] && cb[1] >= b[1] && cb[2] <= b[2] && cb[3] <= b[3];
                let empty = cb.iter().all(|v| v.is_nan()) || (cb[0] == f64::INFINITY && cb[2] == f64::NEG_INFINITY);
                if !inside && !empty {
                    return Err(format!("index node {i}'s box does not hold its child {c}"));
                }
            }
        }
    }
    Ok(())
}

/// Check a FlatGeobuf file's prefix, header and index; the file's error names it.
pub fn check(path: &Path) -> Result<Header> {
    let corrupt = |detail: String| LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("FlatGeobuf: {detail}"),
    };
    let io = |e: std::io::Error| LayersError::Io {
        path: path.to_owned(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let file_len = f.metadata().map_err(io)?.len();
    let mut prefix = [0u8; 12];
    f.read_exact(&mut prefix)
        .map_err(|_| corrupt("file is shorter than its 12-byte prefix".into()))?;
    // As GDAL: "fgb" and major version 3; the rest of the magic is not checked.
    if &prefix[..3] != MAGIC || prefix[3] != 3 {
        return Err(corrupt("magic bytes are wrong (not FlatGeobuf version 3)".into()));
    }
    let header_len = u32::from_le_bytes(prefix[8..12].try_into().expect("4 bytes"));
    if !(8..=MAX_HEADER).contains(&header_len) || 12 + u64::from(header_len) > file_len {
        return Err(corrupt(format!(
            "header length {header_len} does not fit the file ({file_len} bytes)"
        )));
    }
    let mut buf = vec![0u8; header_len as usize];
    f.read_exact(&mut buf).map_err(io)?;
    let header = parse_header(&buf).map_err(corrupt)?;
    if header.index_node_size == 0 || header.features_count == 0 {
        return Ok(header);
    }
    if header.index_node_size == 1 {
        return Err(corrupt("index node size is 1 (at least 2)".into()));
    }
    let levels = level_bounds(header.features_count, header.index_node_size);
    let nodes = levels[0].1;
    let index_len = nodes
        .checked_mul(NODE)
        .filter(|l| 12 + u64::from(header_len) + l <= file_len)
        .ok_or_else(|| {
            corrupt(format!(
                "index of {} features does not fit the file ({file_len} bytes)",
                header.features_count
            ))
        })?;
    let index_start = 12 + u64::from(header_len);
    f.seek(SeekFrom::Start(index_start)).map_err(io)?;
    let mut index = vec![0u8; usize::try_from(index_len).map_err(|_| corrupt("index is too large".into()))?];
    f.read_exact(&mut index).map_err(io)?;
    check_index(
        &index,
        header.features_count,
        header.index_node_size,
        file_len - index_start - index_len,
    )
    .map_err(corrupt)?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_as_the_specification_lays_them() {
        // 10 items, node size 16: a root and 10 leaves after it.
        assert_eq!(level_bounds(10, 16), vec![(1, 11), (0, 1)]);
        // 300 items, node size 16: 300 leaves, 19 nodes, 2 nodes, a root.
        assert_eq!(level_bounds(300, 16), vec![(22, 322), (3, 22), (1, 3), (0, 1)]);
        assert_eq!(level_bounds(1, 16), vec![(1, 2), (0, 1)]);
    }
}
