//! Levels of detail for big building layers: a city of a million buildings cannot draw every
//! wall in every frame on a software rasteriser, and from afar a building is a pixel or less.
//!
//! A layer of at least [`TILED_FROM`] buildings is cut into square tiles (about 2,000
//! buildings each, by the centre of each footprint's envelope). Each tile is drawn one of three
//! ways, chosen by the camera's distance to the tile (the renderer switches; see
//! `LayerMesh::range`):
//! 1. near: the full prisms (walls and roof), as smaller layers always are;
//! 2. while a typical building still spans about a pixel: its roofs only, flat at roof height
//!    (2 triangles for a rectangle instead of 10);
//! 3. beyond: one textured square, the tile's footprints rasterised at about one texel per
//!    typical building, in the colour a lit roof has.
//!
//! The switch distances are set for a frame [`REFERENCE_HEIGHT_PX`] pixels high, so that a
//! smaller frame gets at least the detail it can show; distances are to a tile's centre plus
//! its half diagonal, so a tile switches to less detail only when all of it is far enough.

use geo::Polygon;
use jingwei_layers::Layer;
use jingwei_layers::geoms::Kind;
use rayon::prelude::*;

use crate::extrude::{HeightRule, MeshData, extrude_polygon, flat_polygon, polygons};
use crate::style::Rgba;

/// Building layers with at least this many features are drawn by tiles with levels of detail.
pub const TILED_FROM: usize = 20_000;

/// The frame height (pixels) the switch distances are set for.
pub const REFERENCE_HEIGHT_PX: f32 = 1080.0;

/// The vertical field of view of the views (`View::frame`), degrees.
const FOV_Y_DEG: f32 = 40.0;

/// Buildings per tile, about.
const PER_TILE: f64 = 2_000.0;

/// A typical building spans at least this many pixels where its tile is drawn in full.
const FULL_FROM_PX: f32 = 4.0;

/// ... and at least this many where its tile is drawn as roofs (below: the texture).
const ROOFS_FROM_PX: f32 = 2.0;

/// The camera distances (metres, from the centre of `bounds`) one level of detail of a tile is
/// drawn at, `[near_m, far_m)`, set for a frame [`REFERENCE_HEIGHT_PX`] high; both include
/// `pad_m`, half the tile's diagonal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LodRange {
    /// The tile's box in local metres (`[min, max]`, x east, y up, z south), the same for its
    /// three levels: the renderer measures each level's distance from its centre (each level's
    /// own box would switch them at different distances) and culls by it.
    pub bounds: [[f32; 3]; 2],
    /// Nearest distance drawn at (0: from the camera on).
    pub near_m: f32,
    /// Distance from which on the next level draws instead (infinite: none does).
    pub far_m: f32,
    /// Half the tile's diagonal, part of both distances.
    pub pad_m: f32,
}

impl LodRange {
    /// `[near, far)` for a frame `height_px` high: a building spans fewer pixels of a smaller
    /// frame at the same distance, so the distances that depend on its size in pixels shrink
    /// in proportion (the tile's half diagonal does not).
    pub fn for_height(&self, height_px: u32) -> [f32; 2] {
        let s = height_px as f32 / REFERENCE_HEIGHT_PX;
        let scale = |d: f32| {
            if d <= 0.0 || d.is_infinite() {
                d.max(0.0)
            } else {
                (d - self.pad_m).max(0.0) * s + self.pad_m
            }
        };
        [scale(self.near_m), scale(self.far_m)]
    }
}

/// A tile's far level: a square (4 corners, 2 triangles, local metres) with its texture.
#[derive(Debug, Clone)]
pub struct StandIn {
    /// The square.
    pub mesh: MeshData,
    /// Per corner, the texture coordinate (0–1 from the texture's north-west corner).
    pub uvs: Vec<[f32; 2]>,
    /// Width and height of the texture in texels.
    pub texels: u32,
    /// Straight RGBA, row-major from the north: the footprints' colour, alpha 255 where a
    /// footprint is, 0 elsewhere.
    pub rgba: Vec<u8>,
}

/// One tile of a big building layer at its three levels.
#[derive(Debug, Clone)]
pub struct LodTile {
    /// The full prisms.
    pub full: MeshData,
    /// The roofs alone.
    pub roofs: MeshData,
    /// The footprints as one textured square.
    pub far: StandIn,
    /// Camera distances (metres, to the tile's centre, for a frame [`REFERENCE_HEIGHT_PX`]
    /// high) where the roofs, then the texture, take over.
    pub switch_m: [f32; 2],
    /// Half the tile's diagonal (metres), included in `switch_m`.
    pub pad_m: f32,
    /// The tile's box in local metres (see [`LodRange::bounds`]).
    pub bounds: [[f32; 3]; 2],
}

/// The tiles of `layer` (rows in `skip` left out), meshed about `origin`.
pub fn building_tiles(layer: &Layer, rule: &HeightRule, origin: [f64; 2], skip: &[usize], color: Rgba) -> Vec<LodTile> {
    // Each drawn row's envelope.
    let boxes: Vec<(u32, [f64; 4])> = layer
        .geometries
        .iter()
        .enumerate()
        .filter(|(row, _)| skip.binary_search(row).is_err())
        .filter_map(|(row, g)| {
            let g = g.filter(|g| matches!(g.kind(), Kind::Polygon | Kind::MultiPolygon))?;
            let b = g.envelope()?;
            b.iter().all(|v| v.is_finite()).then_some((row as u32, b))
        })
        .collect();
    if boxes.is_empty() {
        return Vec::new();
    }
    let ext = boxes.iter().fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |a, (_, b)| {
        [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
    });
    // A typical building: the median of the square roots of the envelopes' areas.
    let mut sizes: Vec<f32> = boxes.iter().map(|(_, b)| ((b[2] - b[0]) * (b[3] - b[1])).sqrt() as f32).collect();
    let mid = sizes.len() / 2;
    let typical = sizes.select_nth_unstable_by(mid, f32::total_cmp).1.max(1.0);
    let (w, h) = ((ext[2] - ext[0]).max(1.0), (ext[3] - ext[1]).max(1.0));
    // (At most 1,024 tiles a side, however far a stray coordinate stretches the extent.)
    let side = (w * h * PER_TILE / boxes.len() as f64)
        .sqrt()
        .clamp(250.0, 4_000.0)
        .max(w / 1_024.0)
        .max(h / 1_024.0);
    let (nx, ny) = ((w / side).ceil() as usize, (h / side).ceil() as usize);
    // Rows by tile (counting sort by tile number, rows kept in order within a tile).
    let tile_of = |b: &[f64; 4]| {
        let cx = (((b[0] + b[2]) / 2.0 - ext[0]) / side) as usize;
        let cy = (((b[1] + b[3]) / 2.0 - ext[1]) / side) as usize;
        cy.min(ny - 1) * nx + cx.min(nx - 1)
    };
    let mut start = vec![0usize; nx * ny + 1];
    for (_, b) in &boxes {
        start[tile_of(b) + 1] += 1;
    }
    for i in 0..nx * ny {
        start[i + 1] += start[i];
    }
    let mut at = start.clone();
    let mut rows = vec![0u32; boxes.len()];
    for (row, b) in &boxes {
        let t = tile_of(b);
        rows[at[t]] = *row;
        at[t] += 1;
    }
    // Where a typical building spans `px` pixels of a frame REFERENCE_HEIGHT_PX high.
    let focal = REFERENCE_HEIGHT_PX / 2.0 / (FOV_Y_DEG.to_radians() / 2.0).tan();
    let at_px = |px: f32| typical * focal / px;
    let half_diagonal = (side * std::f64::consts::FRAC_1_SQRT_2) as f32;
    let switch_m = [at_px(FULL_FROM_PX) + half_diagonal, at_px(ROOFS_FROM_PX) + half_diagonal];
    // About a texel per typical building, a power of two from 16 to 256.
    let texels = ((side / f64::from(typical)).ceil() as u32).next_power_of_two().clamp(16, 256);
    let roof_rgba = lit_srgb(color);
    (0..nx * ny)
        .into_par_iter()
        .filter(|&t| start[t + 1] > start[t])
        .map(|t| {
            let (tx, ty) = ((t % nx) as f64, (t / nx) as f64);
            let square = [
                ext[0] + tx * side,
                ext[1] + ty * side,
                ext[0] + (tx + 1.0) * side,
                ext[1] + (ty + 1.0) * side,
            ];
            let mut full = MeshData::default();
            let mut roofs = MeshData::default();
            let mut image = Raster::new(texels, square, roof_rgba);
            let mut tops: Vec<f32> = Vec::with_capacity(start[t + 1] - start[t]);
            for &row in &rows[start[t]..start[t + 1]] {
                let (base, top) = rule.heights(layer, row as usize);
                tops.push(top as f32);
                for p in layer.geometries.geometry(row as usize).as_ref().map(polygons).unwrap_or_default() {
                    extrude_polygon(p, base, top, origin, row, &mut full);
                    flat_polygon(p, top, origin, row, &mut roofs);
                    image.fill(p, roof_rgba);
                }
            }
            // The texture lies at the tile's median roof height: above every flat layer of the
            // map (stacked 0.3 m apart), and from afar where the roofs are.
            let mid = tops.len() / 2;
            let lift = tops.select_nth_unstable_by(mid, f32::total_cmp).1.max(2.0);
            let far = image.stand_in(origin, lift);
            // The tile's box: its square, from the ground to its highest point (buildings whose
            // centre lies in the tile may reach out of it a little).
            let mut bounds = {
                let (a, b) = (&far.mesh.positions[0], &far.mesh.positions[2]);
                [[a[0].min(b[0]), 0.0, a[2].min(b[2])], [a[0].max(b[0]), lift, a[2].max(b[2])]]
            };
            for p in &full.positions {
                for k in 0..3 {
                    bounds[0][k] = bounds[0][k].min(p[k]);
                    bounds[1][k] = bounds[1][k].max(p[k]);
                }
            }
            LodTile {
                full,
                roofs,
                far,
                switch_m,
                pad_m: half_diagonal,
                bounds,
            }
        })
        .collect()
}

/// The sRGB bytes of `color` as a building looks from afar under the map shader's light: the
/// mean of its lit roof (k = 0.95) and its walls, half of them in the sun and half in shade
/// (k ≈ 0.3–0.6).
fn lit_srgb(color: Rgba) -> [u8; 4] {
    let sun_y = 1.0 / (0.5f32 * 0.5 + 1.0 + 0.6 * 0.6).sqrt();
    let roof = 0.3 + 0.7 * sun_y + 0.1;
    let k = (roof + 0.45) / 2.0;
    let to_linear = |c: f32| if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) };
    let to_srgb = |c: f32| {
        if c <= 0.003_130_8 {
            c * 12.92
        } else {
            1.055 * c.powf(1.0 / 2.4) - 0.055
        }
    };
    let byte = |c: f32| (to_srgb((to_linear(c.clamp(0.0, 1.0)) * k).min(1.0)) * 255.0).round() as u8;
    [byte(color[0]), byte(color[1]), byte(color[2]), 255]
}

/// A tile's texture: texels whose centre a footprint covers take its colour; a footprint that
/// covers no texel centre still marks the texel under the middle of its box, so that small
/// buildings do not vanish from afar. (Courtyards are filled: from afar a texel is a building.)
struct Raster {
    n: u32,
    square: [f64; 4],
    rgba: Vec<u8>,
}

impl Raster {
    /// An empty tile: every texel `rgb` with alpha 0 (one colour throughout, so that a
    /// coarser mip level's average keeps it and only the alpha, the share covered, falls).
    fn new(n: u32, square: [f64; 4], rgb: [u8; 4]) -> Raster {
        let clear = [rgb[0], rgb[1], rgb[2], 0];
        Raster {
            n,
            square,
            rgba: clear.repeat((n * n) as usize),
        }
    }

    /// The texel column and row (from the north-west corner) of a point, unclamped.
    fn texel(&self, x: f64, y: f64) -> (f64, f64) {
        let s = (self.square[2] - self.square[0]) / f64::from(self.n);
        ((x - self.square[0]) / s, (self.square[3] - y) / s)
    }

    fn set(&mut self, c: i64, r: i64, rgba: [u8; 4]) {
        let n = i64::from(self.n);
        if (0..n).contains(&c) && (0..n).contains(&r) {
            let i = ((r * n + c) * 4) as usize;
            self.rgba[i..i + 4].copy_from_slice(&rgba);
        }
    }

    fn fill(&mut self, p: &Polygon, rgba: [u8; 4]) {
        let ring: Vec<(f64, f64)> = p.exterior().0.iter().map(|c| self.texel(c.x, c.y)).collect();
        if ring.is_empty() {
            return;
        }
        let (c0, r0, c1, r1) = ring.iter().fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |a, &(c, r)| {
            (a.0.min(c), a.1.min(r), a.2.max(c), a.3.max(r))
        });
        let mut any = false;
        // Texel centres (c + 0.5, r + 0.5) inside the bounds and the tile, by the even-odd rule.
        let last = f64::from(self.n) - 1.0;
        let span = |lo: f64, hi: f64| (lo - 0.5).ceil().max(0.0) as i64..=(hi - 0.5).floor().min(last) as i64;
        for r in span(r0, r1) {
            for c in span(c0, c1) {
                let (x, y) = (c as f64 + 0.5, r as f64 + 0.5);
                let mut inside = false;
                for w in ring.windows(2) {
                    let ((xa, ya), (xb, yb)) = (w[0], w[1]);
                    if (ya > y) != (yb > y) && x < xa + (y - ya) / (yb - ya) * (xb - xa) {
                        inside = !inside;
                    }
                }
                if inside {
                    self.set(c, r, rgba);
                    any = true;
                }
            }
        }
        if !any {
            // The texel under the footprint's middle (its box's centre), kept inside the tile.
            let clamp = |v: f64| v.floor().clamp(0.0, last) as i64;
            self.set(clamp((c0 + c1) / 2.0), clamp((r0 + r1) / 2.0), rgba);
        }
    }

    /// The texture on a square at the tile's place, `lift` metres above the ground.
    fn stand_in(self, origin: [f64; 2], lift: f32) -> StandIn {
        let frame = crate::local::LocalFrame::new(origin);
        let [x0, y0, x1, y1] = self.square;
        let corner = |x: f64, y: f64| {
            let [lx, lz] = frame.to_local_f32(x, y);
            [lx, lift, lz]
        };
        let mesh = MeshData {
            // North-west, north-east, south-east, south-west.
            positions: vec![corner(x0, y1), corner(x1, y1), corner(x1, y0), corner(x0, y0)],
            indices: vec![0, 2, 1, 0, 3, 2],
            triangle_rows: vec![0, 0],
            ..Default::default()
        };
        StandIn {
            mesh,
            uvs: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
            texels: self.n,
            rgba: self.rgba,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extrude::extrude_layer;
    use geo::Geometry;
    use geo::LineString;
    use jingwei_layers::{Column, FieldDef, FieldKind};

    /// `n` squares of 10–25 m on a 40 m grid in Gauss-Krüger metres, heights 10–60 m.
    fn city(n: usize) -> Layer {
        let side = (n as f64).sqrt().ceil() as usize;
        let mut geometries = Vec::new();
        let mut heights = Vec::new();
        for i in 0..n {
            let (x, y) = (500_000.0 + (i % side) as f64 * 40.0, 3_400_000.0 + (i / side) as f64 * 40.0);
            let s = 10.0 + (i % 7) as f64 * 2.5;
            let ring = LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]);
            geometries.push(Some(Geometry::Polygon(Polygon::new(ring, vec![]))));
            heights.push(Some(10.0 + (i % 11) as f64 * 5.0));
        }
        Layer {
            name: "buildings".into(),
            source_path: "mem".into(),
            driver: "test".into(),
            geometry_type: "Polygon".into(),
            crs: None,
            fields: vec![FieldDef {
                name: "height".into(),
                alias: String::new(),
                kind: FieldKind::Real,
            }],
            columns: vec![Column::Real(heights.into())],
            fids: (1..=n as i64).collect(),
            geometries: geometries.into(),
            encoding: None,
            issues: vec![],
        }
    }

    #[test]
    fn tiles_hold_every_building_once_at_each_level() {
        let layer = city(30_000);
        let origin = [503_000.0, 3_403_000.0];
        let rule = HeightRule::for_layer(&layer);
        let skip = [5usize, 17, 29_999];
        let mut full_tiles = 0;
        let tiles = building_tiles(&layer, &rule, origin, &skip, [0.8, 0.7, 0.6, 1.0]);
        // About 2,000 buildings a tile.
        assert!((10..=30).contains(&tiles.len()), "{} tiles", tiles.len());
        // The full level is the layer's own extrusion, building for building.
        let mut rows: Vec<u32> = tiles.iter().flat_map(|t| t.full.triangle_rows.iter().copied()).collect();
        let mut l = layer.clone();
        for &r in &skip {
            l.geometries.set(r, None);
        }
        let whole = extrude_layer(&l, &rule, origin);
        assert_eq!(rows.len(), whole.triangle_rows.len());
        rows.sort_unstable();
        let mut want = whole.triangle_rows.clone();
        want.sort_unstable();
        assert_eq!(rows, want);
        // Roofs: two triangles a square, at the building's height; every drawn row once.
        let mut roof_rows: Vec<u32> = tiles.iter().flat_map(|t| t.roofs.triangle_rows.iter().copied()).collect();
        assert_eq!(roof_rows.len(), 2 * (30_000 - skip.len()));
        roof_rows.sort_unstable();
        roof_rows.dedup();
        assert_eq!(roof_rows.len(), 30_000 - skip.len());
        assert!(skip.iter().all(|r| roof_rows.binary_search(&(*r as u32)).is_err()));
        for t in &tiles {
            for (tri, &row) in t.roofs.indices.chunks_exact(3).zip(&t.roofs.triangle_rows) {
                let (_, top) = rule.heights(&layer, row as usize);
                assert!(tri.iter().all(|&v| (t.roofs.positions[v as usize][1] - top as f32).abs() < 1e-3));
            }
            // Less detail farther: the switch distances rise, and the tile's three levels
            // cover what a typical building needs (3 px, then 1 px, on a 1080-pixel frame).
            assert!(t.switch_m[0] > 0.0 && t.switch_m[1] > t.switch_m[0], "{:?}", t.switch_m);
            // The stand-in: one square whose texels show the footprints; each building's
            // share of texels close to its share of the tile's area.
            let d = &t.far;
            assert_eq!(d.mesh.indices.len(), 6);
            assert_eq!(d.rgba.len(), (d.texels * d.texels * 4) as usize);
            let covered = d.rgba.chunks_exact(4).filter(|p| p[3] == 255).count() as f64 / f64::from(d.texels * d.texels);
            let ext = t.full.positions.iter().fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |a, p| {
                [a[0].min(p[0]), a[1].min(p[2]), a[2].max(p[0]), a[3].max(p[2])]
            });
            let built: f64 = t
                .roofs
                .triangle_rows
                .iter()
                .step_by(2)
                .map(|&r| {
                    let s = 10.0 + (r as usize % 7) as f64 * 2.5;
                    s * s
                })
                .sum();
            let tile_area = f64::from(d.mesh.positions[1][0] - d.mesh.positions[0][0]).powi(2);
            let full_tile = f64::from(ext[2] - ext[0]) > 0.9 * tile_area.sqrt() && f64::from(ext[3] - ext[1]) > 0.9 * tile_area.sqrt();
            if full_tile {
                full_tiles += 1;
                let share = built / tile_area;
                assert!((covered - share).abs() < 0.12, "texels covered {covered:.3}, footprints {share:.3}");
            }
        }
        assert!(full_tiles >= 4, "{full_tiles} tiles inside the city");
    }

    /// One footprint a million kilometres off (a stray coordinate, finite) neither hangs the
    /// texture's fill nor makes a billion tiles; every building is still drawn once.
    #[test]
    fn a_stray_coordinate_neither_hangs_nor_explodes() {
        let mut layer = city(20_000);
        let ring = LineString::from(vec![(9e11, 3e6), (9e11 + 20.0, 3e6), (9e11 + 20.0, 3e6 + 20.0), (9e11, 3e6)]);
        layer.geometries.set(7, Some(Geometry::Polygon(Polygon::new(ring, vec![]))));
        let rule = HeightRule::for_layer(&layer);
        let tiles = building_tiles(&layer, &rule, [503_000.0, 3_403_000.0], &[], [0.8, 0.7, 0.6, 1.0]);
        assert!(!tiles.is_empty() && tiles.len() <= 1_024 * 1_024);
        // Two triangles a square roof, one for the stray triangle.
        let roofs: usize = tiles.iter().map(|t| t.roofs.triangle_rows.len()).sum();
        assert_eq!(roofs, 2 * 19_999 + 1);
    }

    /// A tile's box holds its three levels (the renderer measures each level's distance
    /// from its centre), and the texture lies above the map's flat layers.
    #[test]
    fn a_tiles_box_holds_its_three_levels() {
        let layer = city(25_000);
        let rule = HeightRule::for_layer(&layer);
        let tiles = building_tiles(&layer, &rule, [503_000.0, 3_403_000.0], &[], [0.8, 0.7, 0.6, 1.0]);
        assert!(tiles.len() > 4);
        for t in &tiles {
            let b = t.bounds;
            let inside = |p: &[f32; 3]| (0..3).all(|k| p[k] >= b[0][k] && p[k] <= b[1][k]);
            assert!(
                t.full
                    .positions
                    .iter()
                    .chain(&t.roofs.positions)
                    .chain(&t.far.mesh.positions)
                    .all(inside)
            );
            // Above a dozen flat layers (0.3 m apart).
            assert!(t.far.mesh.positions.iter().all(|p| p[1] >= 2.0));
        }
    }

    #[test]
    fn ranges_shrink_with_the_frame_but_not_their_pad() {
        let r = LodRange {
            near_m: 1_200.0,
            far_m: 3_200.0,
            pad_m: 200.0,
            bounds: [[0.0; 3]; 2],
        };
        assert_eq!(r.for_height(1080), [1_200.0, 3_200.0]);
        assert_eq!(r.for_height(540), [700.0, 1_700.0]);
        let open = LodRange {
            near_m: 0.0,
            far_m: f32::INFINITY,
            pad_m: 200.0,
            bounds: [[0.0; 3]; 2],
        };
        assert_eq!(open.for_height(720), [0.0, f32::INFINITY]);
    }

    #[test]
    fn lit_colour_is_darker_than_the_fill() {
        let c = lit_srgb([0.8, 0.6, 0.4, 1.0]);
        assert!(c[0] < 204 && c[1] < 153 && c[2] < 102 && c[0] > c[1] && c[1] > c[2], "{c:?}");
    }
}
