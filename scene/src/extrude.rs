//! Building extrusion: footprints to prisms (walls + flat roof) in local-origin f32 metres.
//!
//! Frame: x east, y up, z south (a right-handed Y-up frame as Bevy uses), so
//! `xyz_local = (x_ws − origin_x, height, −(y_ws − origin_y))`.

use geo::{Geometry, Polygon, TriangulateEarcut};
use jingwei_layers::{Layer, Value};
use rayon::prelude::*;

/// How tall a building is: a height field, else floors × metres per floor, else a default.
#[derive(Debug, Clone)]
pub struct HeightRule {
    /// Field holding the height in metres (e.g. `height`, `height_m`).
    pub height_field: Option<String>,
    /// Field holding the number of floors.
    pub floors_field: Option<String>,
    /// Field holding the base height (e.g. OSM `min_height`).
    pub min_height_field: Option<String>,
    /// Metres per floor.
    pub floor_height_m: f64,
    /// Height when nothing is known.
    pub default_height_m: f64,
}

impl Default for HeightRule {
    fn default() -> Self {
        HeightRule {
            height_field: Some("height".into()),
            floors_field: Some("floors".into()),
            min_height_field: Some("min_height".into()),
            floor_height_m: 3.0,
            default_height_m: 10.0,
        }
    }
}

impl HeightRule {
    /// The default rule with the height and floors fields this layer has, among the usual
    /// names (English, OSM, Chinese, pinyin initials).
    pub fn for_layer(layer: &Layer) -> HeightRule {
        let find = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| layer.fields.iter().find(|f| f.name.eq_ignore_ascii_case(n)))
                .map(|f| f.name.clone())
        };
        let d = HeightRule::default();
        HeightRule {
            height_field: find(&["height", "height_m", "building_height", "bldg_height", "高度", "建筑高度", "jzgd"])
                .or(d.height_field.clone()),
            floors_field: find(&["floors", "building:levels", "levels", "层数", "建筑层数", "cs", "jzcs"]).or(d.floors_field.clone()),
            ..d
        }
    }

    /// (base, top) in metres for row `row` of `layer`.
    pub fn heights(&self, layer: &Layer, row: usize) -> (f64, f64) {
        let f = layer.feature(row);
        let num = |name: &Option<String>| -> Option<f64> {
            let v = f.value_by_name(name.as_deref()?)?;
            match v {
                Value::Text(s) => s.trim().trim_end_matches('m').trim().parse().ok(),
                other => other.as_f64(),
            }
            .filter(|x: &f64| x.is_finite() && *x > 0.0)
        };
        let base = num(&self.min_height_field).unwrap_or(0.0);
        let top = num(&self.height_field)
            .or_else(|| num(&self.floors_field).map(|n| n * self.floor_height_m))
            .unwrap_or(self.default_height_m);
        (base, top.max(base + 0.1))
    }
}

/// One merged mesh: positions (f32, local origin) and triangle indices. There are no normals:
/// faces are flat, and the renderer's material takes each face's normal from the screen-space
/// derivatives of its position, so a building's corners are shared by its walls and roof.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeshData {
    /// Vertex positions, metres from the workspace origin.
    pub positions: Vec<[f32; 3]>,
    /// Triangles, counter-clockwise seen from outside (roofs and fills from above).
    pub indices: Vec<u32>,
    /// For each triangle, the layer row it belongs to (for picking and highlighting).
    pub triangle_rows: Vec<u32>,
    /// Per vertex, for lines of a width in pixels only: the segment's other end (xyz) and the
    /// signed half width in pixels that the vertex shader pushes the vertex sideways by.
    pub extra: Vec<[f32; 4]>,
    /// Texture coordinates, one per vertex, for textured meshes only (3D Tiles, oblique
    /// photography); empty otherwise.
    pub uvs: Vec<[f32; 2]>,
}

/// A chunk as uploaded: positions, `u16` indices, and the per-vertex extra data if any.
pub type Chunk = (Vec<[f32; 3]>, Vec<u16>, Vec<[f32; 4]>);

/// Vertices per uploaded chunk: chunks index their vertices with `u16`.
pub const CHUNK_VERTICES: usize = 65_536;

impl MeshData {
    /// Bytes of vertex and index data as uploaded to a GPU: 12-byte positions and 2-byte
    /// indices, in chunks of at most [`CHUNK_VERTICES`] vertices (see [`MeshData::chunks`]).
    pub fn gpu_bytes(&self) -> usize {
        self.chunks()
            .iter()
            .map(|(p, i, e)| p.len() * 12 + i.len() * 2 + e.len() * 16)
            .sum()
    }

    /// The mesh split into pieces of at most [`CHUNK_VERTICES`] vertices with `u16` indices,
    /// triangles kept whole and in order.
    pub fn chunks(&self) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut map = vec![u32::MAX; self.positions.len()];
        let mut used: Vec<u32> = Vec::new();
        let has_extra = !self.extra.is_empty();
        let (mut pos, mut idx, mut ext): Chunk = Default::default();
        for t in self.indices.chunks_exact(3) {
            let new = t.iter().filter(|&&v| map[v as usize] == u32::MAX).count();
            if pos.len() + new > CHUNK_VERTICES {
                out.push((std::mem::take(&mut pos), std::mem::take(&mut idx), std::mem::take(&mut ext)));
                for v in used.drain(..) {
                    map[v as usize] = u32::MAX;
                }
            }
            for &v in t {
                if map[v as usize] == u32::MAX {
                    map[v as usize] = pos.len() as u32;
                    pos.push(self.positions[v as usize]);
                    if has_extra {
                        ext.push(self.extra[v as usize]);
                    }
                    used.push(v);
                }
                idx.push(map[v as usize] as u16);
            }
        }
        if !idx.is_empty() {
            out.push((pos, idx, ext));
        }
        out
    }

    fn append(&mut self, other: MeshData) {
        let base = self.positions.len() as u32;
        self.positions.extend(other.positions);
        self.extra.extend(other.extra);
        self.indices.extend(other.indices.into_iter().map(|i| i + base));
        self.triangle_rows.extend(other.triangle_rows);
    }
}

fn local(x: f64, y: f64, h: f64, origin: [f64; 2]) -> [f32; 3] {
    let [lx, lz] = crate::local::LocalFrame::new(origin).to_local_f32(x, y);
    [lx, h as f32, lz]
}

/// A flat, upward-facing triangulation of a polygon (holes included) at height `h_m`: roofs,
/// and the fills of flat map layers.
pub fn flat_polygon(p: &Polygon, h_m: f64, origin: [f64; 2], row: u32, out: &mut MeshData) {
    let tris = p.earcut_triangles_raw();
    let start = out.positions.len() as u32;
    for c in &tris.vertices {
        out.positions.push(local(c[0], c[1], h_m, origin));
    }
    for t in tris.triangle_indices.chunks_exact(3) {
        // earcut keeps the footprint's winding; emit so that the face looks up (+y).
        let (a, b, c) = (t[0] as u32 + start, t[1] as u32 + start, t[2] as u32 + start);
        let (pa, pb, pc) = (out.positions[a as usize], out.positions[b as usize], out.positions[c as usize]);
        let ny = (pb[2] - pa[2]) * (pc[0] - pa[0]) - (pb[0] - pa[0]) * (pc[2] - pa[2]);
        out.indices.extend(if ny >= 0.0 { [a, b, c] } else { [a, c, b] });
        out.triangle_rows.push(row);
    }
}

/// The polygons of a geometry that has any (a polygon, or each part of a multipolygon).
pub(crate) fn polygons(g: &Geometry) -> Vec<&Polygon> {
    match g {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(m) => m.0.iter().collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn extrude_polygon(p: &Polygon, base: f64, top: f64, origin: [f64; 2], row: u32, out: &mut MeshData) {
    // The roof's vertices are the rings' points in order (closing points left out): exterior,
    // then each hole. The walls reuse them as their top corners and add one base vertex each.
    let roof_start = out.positions.len() as u32;
    flat_polygon(p, top, origin, row, out);
    let n_roof = out.positions.len() as u32 - roof_start;
    let base_start = out.positions.len() as u32;
    for k in 0..n_roof {
        let t = out.positions[(roof_start + k) as usize];
        out.positions.push([t[0], base as f32, t[2]]);
    }
    let rings = std::iter::once((p.exterior(), true)).chain(p.interiors().iter().map(|r| (r, false)));
    let mut offset = 0u32;
    for (ring, is_exterior) in rings {
        let pts = &ring.0;
        let n = pts.len().saturating_sub(1) as u32;
        if pts.len() >= 4 {
            // Signed area (shoelace): > 0 counter-clockwise. Walls face away from the interior.
            let area2: f64 = pts.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum();
            let flip = (area2 > 0.0) != is_exterior;
            for j in 0..n {
                let (a, b) = (pts[j as usize], pts[j as usize + 1]);
                if (b.x - a.x).hypot(b.y - a.y) < 1e-9 {
                    continue;
                }
                let (ja, jb) = (offset + j, offset + (j + 1) % n);
                let (ba, bb, tb, ta) = (base_start + ja, base_start + jb, roof_start + jb, roof_start + ja);
                // Counter-clockwise seen from outside.
                let q = if flip { [ba, tb, bb, ba, ta, tb] } else { [ba, bb, tb, ba, tb, ta] };
                out.indices.extend(q);
                out.triangle_rows.extend([row, row]);
            }
        }
        offset += n;
    }
}

/// Extrude every polygonal feature of `layer` into one merged mesh, in parallel.
pub fn extrude_layer(layer: &Layer, rule: &HeightRule, origin_xy: [f64; 2]) -> MeshData {
    let parts: Vec<MeshData> = (0..layer.len())
        .into_par_iter()
        .fold(MeshData::default, |mut acc, row| {
            let (base, top) = rule.heights(layer, row);
            for p in layer.geometries.geometry(row).as_ref().map(polygons).unwrap_or_default() {
                extrude_polygon(p, base, top, origin_xy, row as u32, &mut acc);
            }
            acc
        })
        .collect();
    let mut out = MeshData::default();
    for p in parts {
        out.append(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::LineString;

    fn square_layer(x0: f64, y0: f64) -> Layer {
        let ring = LineString::from(vec![(x0, y0), (x0 + 10.0, y0), (x0 + 10.0, y0 + 20.0), (x0, y0 + 20.0), (x0, y0)]);
        Layer {
            name: "b".into(),
            source_path: "mem".into(),
            driver: "test".into(),
            geometry_type: "Polygon".into(),
            crs: None,
            fields: vec![jingwei_layers::FieldDef {
                name: "height".into(),
                alias: String::new(),
                kind: jingwei_layers::FieldKind::Real,
            }],
            columns: vec![jingwei_layers::Column::Real(vec![Some(30.0)].into())],
            fids: vec![1],
            geometries: vec![Some(Geometry::Polygon(Polygon::new(ring, vec![])))].into(),
            encoding: None,
            issues: vec![],
        }
    }

    #[test]
    fn prism_is_closed_and_faces_out() {
        let origin = [500_000.0, 3_400_000.0];
        let m = extrude_layer(&square_layer(500_100.0, 3_400_200.0), &HeightRule::default(), origin);
        // Roof 2 triangles + 4 walls × 2.
        assert_eq!(m.indices.len() / 3, 10);
        assert_eq!(m.triangle_rows.len(), 10);
        // Corners are shared: 4 on the roof, 4 at the base.
        assert_eq!(m.positions.len(), 8);
        // Every face winds counter-clockwise seen from outside: its normal points away from the
        // prism's centre.
        let c = m
            .positions
            .iter()
            .fold([0.0f32; 3], |a, p| [a[0] + p[0] / 8.0, a[1] + p[1] / 8.0, a[2] + p[2] / 8.0]);
        for t in m.indices.chunks_exact(3) {
            let p: Vec<[f32; 3]> = t.iter().map(|&i| m.positions[i as usize]).collect();
            let u = [p[1][0] - p[0][0], p[1][1] - p[0][1], p[1][2] - p[0][2]];
            let v = [p[2][0] - p[0][0], p[2][1] - p[0][1], p[2][2] - p[0][2]];
            let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
            let out = [p[0][0] - c[0], p[0][1] - c[1], p[0][2] - c[2]];
            let dot = n[0] * out[0] + n[1] * out[1] + n[2] * out[2];
            assert!(dot > 0.0, "triangle {p:?} faces inwards");
        }
        // 8 positions × 12 B + 30 indices × 2 B.
        assert_eq!(m.gpu_bytes(), 8 * 12 + 30 * 2);
        // Local coordinates are small, heights right.
        assert!(m.positions.iter().all(|p| p[0].abs() < 1_000.0 && p[2].abs() < 1_000.0));
        assert!(m.positions.iter().any(|p| p[1] == 30.0));
    }

    #[test]
    fn chunks_keep_triangles_whole_under_the_u16_limit() {
        // 10,000 buildings × 8 vertices: more than one chunk.
        let origin = [500_000.0, 3_400_000.0];
        let mut l = square_layer(500_000.0, 3_400_000.0);
        let g = l.geometries.geometry(0);
        l.geometries = (0..10_000)
            .map(|i| {
                use geo::Translate;
                g.as_ref()
                    .map(|g| g.translate(f64::from(i % 100) * 30.0, f64::from(i / 100) * 30.0))
            })
            .collect();
        l.fids = (1..=10_000).collect();
        l.columns = vec![jingwei_layers::Column::Real(vec![Some(30.0); 10_000].into())];
        let m = extrude_layer(&l, &HeightRule::default(), origin);
        let chunks = m.chunks();
        assert!(chunks.len() >= 2);
        assert!(
            chunks
                .iter()
                .all(|(p, i, e)| p.len() <= CHUNK_VERTICES && i.len() % 3 == 0 && e.is_empty())
        );
        assert_eq!(chunks.iter().map(|(_, i, _)| i.len()).sum::<usize>(), m.indices.len());
        // The same triangles, in order.
        let mut k = 0;
        for (p, i, _) in &chunks {
            for &v in i {
                assert_eq!(p[v as usize], m.positions[m.indices[k] as usize]);
                k += 1;
            }
        }
    }

    #[test]
    fn heights_come_from_the_fields_the_layer_has() {
        let mut l = square_layer(0.0, 0.0);
        l.fields[0].name = "建筑高度".into();
        assert_eq!(HeightRule::default().heights(&l, 0).1, 10.0, "the default knows only `height`");
        let rule = HeightRule::for_layer(&l);
        assert_eq!(rule.height_field.as_deref(), Some("建筑高度"));
        assert_eq!(rule.heights(&l, 0), (0.0, 30.0));
    }

    #[test]
    fn one_metre_apart_stays_one_metre_apart_in_f32() {
        // Raw Gauss-Krüger metres in f32 would quantise to 0.25–0.5 m at y ≈ 3.4e6; relative
        // to the origin the offset survives to the millimetre.
        let origin = [500_000.0, 3_400_000.0];
        let a = extrude_layer(&square_layer(500_100.0, 3_400_200.0), &HeightRule::default(), origin);
        let b = extrude_layer(&square_layer(500_101.0, 3_400_200.001), &HeightRule::default(), origin);
        for (p, q) in a.positions.iter().zip(&b.positions) {
            assert!(((q[0] - p[0]) - 1.0).abs() < 1e-3);
            assert!(((p[2] - q[2]) - 0.001).abs() < 2e-4);
        }
        assert!(
            (3_400_200.001f32 - 3_400_200.0f32).abs() < 1e-9,
            "f32 cannot hold the millimetre at GK northings"
        );
    }
}
