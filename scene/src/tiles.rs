//! 3D Tiles in the scene: the view's camera carried into ECEF for the workspace's tileset
//! streams, and the streamed tiles' geometry as meshes about each tile's own origin (f64), so
//! that a renderer places each tile by its origin and draws vertices that stay small wherever
//! the tile is.

use std::sync::Arc;

use jingwei_layers::Workspace;
use jingwei_layers::tiles3d::{self, Camera, decode::Texture, decode::TileGeometry, stream::Update};

use crate::extrude::MeshData;
use crate::local::LocalFrame;
use crate::scene::MeshKind;
use crate::style::Rgba;
use crate::view::View;

/// A tile to draw.
#[derive(Debug, Clone)]
pub struct DrawTile {
    /// Where it is pressed down (shared by every tile of a frame).
    pub flatten: Arc<Vec<(geo::Polygon, f64)>>,
    /// What the view cuts away (shared by every tile of a frame).
    pub clip: Arc<jingwei_layers::workspace::Clip>,
    /// Stable while the tile is resident: the tileset's and the tile's.
    pub key: u64,
    /// The tileset layer's id.
    pub layer_id: String,
    /// The tile's index in its tileset.
    pub tile: usize,
    /// Its contents' geometry.
    pub geoms: Vec<Arc<TileGeometry>>,
}

/// One mesh of a tile, about its origin.
#[derive(Debug, Clone)]
pub struct TileMesh {
    /// The origin in local metres (x east, y up, z south), f64.
    pub origin: [f64; 3],
    /// Vertices relative to `origin`, local axes.
    pub mesh: MeshData,
    /// What it draws (models lit as buildings; points as small squares).
    pub kind: MeshKind,
    /// Colour (white under a texture).
    pub color: Rgba,
    /// The texture drawn on it (with `mesh.uvs`), unlit: photographed models carry their light.
    pub texture: Option<Arc<Texture>>,
}

/// What the tilesets draw for one view.
#[derive(Debug, Clone, Default)]
pub struct TilesFrame {
    /// The tiles, every visible tileset's.
    pub tiles: Vec<DrawTile>,
    /// Each tileset's update (its id and what it decided).
    pub updates: Vec<(String, Update)>,
    /// Every stream has what the view wants (nothing in flight).
    pub settled: bool,
}

/// Untextured models' colour.
pub const MODEL_COLOR: Rgba = [0.86, 0.84, 0.80, 1.0];
/// Points' colour where a cloud has none.
pub const POINT_COLOR: Rgba = [0.35, 0.45, 0.60, 1.0];

/// The tilesets a view streams: the workspace's CRS and origin, and its visible tilesets'
/// streams (shared with the workspace; cheap to clone and to send to a render thread).
#[derive(Clone)]
pub struct Sources {
    /// The workspace CRS.
    pub crs: jingwei_layers::Crs,
    /// The workspace origin.
    pub origin_xy: [f64; 2],
    /// Each visible tileset's id and stream.
    pub streams: Vec<(String, Arc<std::sync::Mutex<jingwei_layers::tiles3d::stream::Streamer>>)>,
    /// Where the tiles are pressed down (压平): polygons (workspace CRS) and heights.
    pub flatten: Arc<Vec<(geo::Polygon, f64)>>,
    /// What the view cuts away (剖切).
    pub clip: Arc<jingwei_layers::workspace::Clip>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("origin_xy", &self.origin_xy)
            .field("streams", &self.streams.len())
            .finish()
    }
}

impl Sources {
    /// The workspace's visible tilesets (None when it has none, or no origin yet).
    pub fn of(ws: &Workspace) -> Option<Sources> {
        let streams: Vec<_> = ws
            .tilesets
            .iter()
            .filter(|t| t.visible)
            .map(|t| (t.id.clone(), t.stream.clone()))
            .collect();
        (!streams.is_empty() && !ws.origin_xy[0].is_nan()).then(|| Sources {
            crs: ws.crs.clone(),
            origin_xy: ws.origin_xy,
            streams,
            flatten: Arc::new(ws.flatten.clone()),
            clip: Arc::new(ws.clip.clone()),
        })
    }

    /// A number that changes when the flattening does (tiles drawn under another must be
    /// meshed again).
    pub fn flatten_key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (p, z) in self.flatten.iter() {
            z.to_bits().hash(&mut h);
            for c in p.exterior().0.iter() {
                c.x.to_bits().hash(&mut h);
                c.y.to_bits().hash(&mut h);
            }
        }
        // Tiles cut otherwise are meshed again too.
        self.clip.key().hash(&mut h);
        h.finish()
    }
}

/// The view's camera in ECEF for a frame of `width × height`.
pub fn camera(src: &Sources, view: &View, width: u32, height: u32) -> Option<Camera> {
    let frame = LocalFrame::new(src.origin_xy);
    let pose = view.pose();
    let eye = pose.translation;
    let fwd = pose.rotation * glam::Vec3::NEG_Z;
    let look = eye + fwd * view.distance_m.max(1.0);
    // A local point's longitude and latitude (radians) and its ECEF position, through a PROJ
    // transformer kept for the thread (a frame's camera would otherwise make one each frame).
    thread_local! {
        static TO_LONLAT: std::cell::RefCell<Option<(jingwei_layers::Crs, jingwei_layers::Transformer)>> =
            const { std::cell::RefCell::new(None) };
    }
    let lonlat = |x: f64, y: f64| -> Option<(f64, f64)> {
        TO_LONLAT.with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.as_ref().is_none_or(|(c, _)| *c != src.crs) {
                let t = jingwei_layers::Transformer::new(&src.crs, &jingwei_layers::Crs::cgcs2000().ok()?).ok()?;
                *cell = Some((src.crs.clone(), t));
            }
            cell.as_ref()?.1.transform(x, y).ok()
        })
    };
    let ecef = |p: glam::Vec3| -> Option<(f64, f64, [f64; 3])> {
        let (x, y) = frame.to_world(f64::from(p.x), f64::from(p.z));
        let (lon, lat) = lonlat(x, y)?;
        let (lon, lat) = (lon.to_radians(), lat.to_radians());
        Some((lon, lat, tiles3d::geodetic_to_ecef(lon, lat, f64::from(p.y))))
    };
    let ((lon, lat, e), (_, _, t)) = (ecef(eye)?, ecef(look)?);
    let up = [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()];
    let far = f64::from(view.distance_m) * 20.0 + 10_000.0;
    Some(Camera::looking(
        e,
        t,
        up,
        f64::from(view.fov_deg).to_radians(),
        f64::from(width) / f64::from(height.max(1)),
        f64::from(height),
        far,
    ))
}

fn key(layer: &str, tile: usize, flatten: u64) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    layer.hash(&mut h);
    tile.hash(&mut h);
    flatten.hash(&mut h);
    h.finish()
}

/// Update every stream for `view` and gather what to draw.
pub fn stream(src: &Sources, view: &View, width: u32, height: u32) -> TilesFrame {
    let mut out = TilesFrame {
        settled: true,
        ..TilesFrame::default()
    };
    let Some(cam) = camera(src, view, width, height) else {
        return out;
    };
    let fk = src.flatten_key();
    for (id, stream) in &src.streams {
        let Ok(mut s) = stream.lock() else {
            continue;
        };
        let u = s.update(&cam);
        out.settled &= u.settled;
        out.tiles.extend(u.draw.iter().map(|(tile, geoms)| DrawTile {
            flatten: src.flatten.clone(),
            clip: src.clip.clone(),
            key: key(id, *tile, fk),
            layer_id: id.clone(),
            tile: *tile,
            geoms: geoms.clone(),
        }));
        out.updates.push((id.clone(), Update { draw: Vec::new(), ..u }));
    }
    out
}

/// [`stream`] until every stream has settled or `timeout` has passed: what a still picture
/// waits for.
pub fn settle(src: &Sources, view: &View, width: u32, height: u32, timeout: std::time::Duration) -> TilesFrame {
    let start = std::time::Instant::now();
    loop {
        let f = stream(src, view, width, height);
        if f.settled || start.elapsed() > timeout {
            return f;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Side of the square a point of a cloud is drawn as (metres).
const POINT_SIZE_M: f32 = 0.25;

/// The meshes of a tile in the local frame of a workspace whose origin is `origin_xy`, each
/// about its own origin (see [`TileMesh`]).
pub fn meshes(origin_xy: [f64; 2], tile: &DrawTile) -> Vec<TileMesh> {
    let frame = LocalFrame::new(origin_xy);
    let mut out = Vec::new();
    for g in &tile.geoms {
        let [lx, lz] = frame.to_local(g.origin[0], g.origin[1]);
        let origin = [lx, g.origin[2], lz];
        // The flattening areas that reach this content, with their boxes.
        let areas: Vec<(&geo::Polygon, f64, geo::Rect)> = tile
            .flatten
            .iter()
            .filter_map(|(p, z)| Some((p, *z, geo::BoundingRect::bounding_rect(p)?)))
            .collect();
        // East, north, up → x east, y up, z south: a rotation, so windings keep their sense.
        // Inside a flattening area a vertex above its height comes down to it.
        let local = |p: &[f32; 3]| {
            let mut up = p[2];
            if !areas.is_empty() {
                let (x, y) = (g.origin[0] + f64::from(p[0]), g.origin[1] + f64::from(p[1]));
                for (poly, z, r) in &areas {
                    let floor = (z - g.origin[2]) as f32;
                    if up > floor
                        && x >= r.min().x
                        && x <= r.max().x
                        && y >= r.min().y
                        && y <= r.max().y
                        && geo::Contains::contains(*poly, &geo::Point::new(x, y))
                    {
                        up = floor;
                    }
                }
            }
            [p[0], up, -p[1]]
        };
        if !g.indices.is_empty() && g.textures.is_empty() {
            let mesh = MeshData {
                positions: g.positions.iter().map(local).collect(),
                indices: g.indices.clone(),
                triangle_rows: g.triangle_features.clone(),
                extra: Vec::new(),
                uvs: Vec::new(),
            };
            out.push(TileMesh {
                origin,
                mesh,
                kind: MeshKind::Building,
                color: MODEL_COLOR,
                texture: None,
            });
        } else if !g.indices.is_empty() {
            // One mesh per texture (and one for untextured triangles), each with only the
            // vertices its triangles use.
            let tris = g.indices.len() / 3;
            let mut order: Vec<usize> = (0..tris).collect();
            let tex = |t: usize| g.triangle_textures.get(t).copied().unwrap_or(u32::MAX);
            order.sort_by_key(|t| tex(*t));
            let mut map = vec![u32::MAX; g.positions.len()];
            let mut at = 0;
            while at < order.len() {
                let t = tex(order[at]);
                let mut mesh = MeshData::default();
                let mut used = Vec::new();
                while at < order.len() && tex(order[at]) == t {
                    let k = order[at];
                    for &v in &g.indices[3 * k..3 * k + 3] {
                        if map[v as usize] == u32::MAX {
                            map[v as usize] = mesh.positions.len() as u32;
                            mesh.positions.push(local(&g.positions[v as usize]));
                            mesh.uvs.push(g.uvs.get(v as usize).copied().unwrap_or([0.0; 2]));
                            used.push(v);
                        }
                        mesh.indices.push(map[v as usize]);
                    }
                    mesh.triangle_rows.push(g.triangle_features.get(k).copied().unwrap_or(u32::MAX));
                    at += 1;
                }
                for v in used {
                    map[v as usize] = u32::MAX;
                }
                let texture = g.textures.get(t as usize).cloned();
                if texture.is_none() {
                    mesh.uvs.clear();
                }
                out.push(TileMesh {
                    origin,
                    mesh,
                    kind: MeshKind::Building,
                    color: if texture.is_some() { [1.0; 4] } else { MODEL_COLOR },
                    texture,
                });
            }
        }
        if !g.points.is_empty() {
            let h = POINT_SIZE_M / 2.0;
            // Points grouped by colour, four levels a channel (64 groups at most), each group
            // one mesh in its members' mean colour: a cloud coloured by class, height or RGB
            // shows as such without a colour per vertex.
            let bin = |c: &[u8; 4]| usize::from(c[0] >> 6) * 16 + usize::from(c[1] >> 6) * 4 + usize::from(c[2] >> 6);
            let mut groups: Vec<(MeshData, [f32; 3], f32)> = Vec::new();
            let mut slot = [usize::MAX; 64];
            for (k, p) in g.points.iter().enumerate() {
                let (b, c) = match g.point_colors.get(k) {
                    Some(c) => (bin(c), [f32::from(c[0]), f32::from(c[1]), f32::from(c[2])]),
                    None => (0, [POINT_COLOR[0] * 255.0, POINT_COLOR[1] * 255.0, POINT_COLOR[2] * 255.0]),
                };
                if slot[b] == usize::MAX {
                    slot[b] = groups.len();
                    groups.push((MeshData::default(), [0.0; 3], 0.0));
                }
                let (mesh, sum, n) = &mut groups[slot[b]];
                let [x, y, z] = local(p);
                let s = mesh.positions.len() as u32;
                mesh.positions
                    .extend([[x - h, y, z - h], [x - h, y, z + h], [x + h, y, z + h], [x + h, y, z - h]]);
                mesh.indices.extend([s, s + 1, s + 2, s, s + 2, s + 3]);
                mesh.triangle_rows.extend([k as u32, k as u32]);
                *sum = [sum[0] + c[0], sum[1] + c[1], sum[2] + c[2]];
                *n += 1.0;
            }
            for (mesh, sum, n) in groups {
                out.push(TileMesh {
                    origin,
                    mesh,
                    kind: MeshKind::Fill,
                    color: [sum[0] / n / 255.0, sum[1] / n / 255.0, sum[2] / n / 255.0, 1.0],
                    texture: None,
                });
            }
        }
    }
    if tile.clip.is_active() {
        for m in &mut out {
            crate::clip::clip_mesh(&mut m.mesh, m.origin, origin_xy, &tile.clip);
        }
        out.retain(|m| !m.mesh.indices.is_empty());
    }
    out
}

/// The local extent (`[min_x, min_z, max_x, max_z]`) and top of the visible tilesets' root
/// volumes, for framing a view on them.
pub fn extent_local(ws: &Workspace) -> Option<([f32; 4], f32)> {
    let frame = LocalFrame::new(ws.origin_xy);
    ws.tilesets.iter().filter(|t| t.visible).fold(None, |acc, t| {
        let e = frame.extent_to_local(t.extent);
        let top = t.heights[1] as f32;
        Some(match acc {
            None => (e, top),
            Some((a, h)) => ([a[0].min(e[0]), a[1].min(e[1]), a[2].max(e[2]), a[3].max(e[3])], h.max(top)),
        })
    })
}

/// A tile feature under a pixel.
#[derive(Debug, Clone)]
pub struct TileHit {
    /// The tileset layer's id.
    pub layer_id: String,
    /// The tile.
    pub tile: usize,
    /// The content's URI.
    pub uri: String,
    /// The feature (batch id), when the content has features.
    pub feature: Option<u32>,
    /// Its properties from the batch table (JSON arrays indexed by feature).
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// Where the ray meets it: workspace x, y and height.
    pub at: [f64; 3],
    /// How far from the eye (metres).
    pub distance: f64,
}

/// The nearest triangle of a drawn tile under pixel (`px`, `py`) of a `width × height` frame of
/// `view`: the pixel's ray tested against every triangle of the tiles the streams last drew, in
/// each tile's own frame (f64). What the view's clip (剖切) cuts away is not hit: the ray goes
/// on to what lies behind it.
pub fn pick(src: &Sources, view: &View, px: f32, py: f32, width: u32, height: u32) -> Option<TileHit> {
    let (o, d) = view.ray(px, py, width, height);
    let mut best: Option<TileHit> = None;
    for (id, stream) in &src.streams {
        let Ok(s) = stream.lock() else { continue };
        let ts = s.tileset();
        for (tile, geoms) in s.drawn() {
            for (k, g) in geoms.iter().enumerate() {
                // The ray in the tile's frame: east, north, up of its origin.
                let ro = [
                    src.origin_xy[0] + f64::from(o.x) - g.origin[0],
                    src.origin_xy[1] - f64::from(o.z) - g.origin[1],
                    f64::from(o.y) - g.origin[2],
                ];
                let rd = [f64::from(d.x), -f64::from(d.z), f64::from(d.y)];
                let at = |t: f64| {
                    [
                        g.origin[0] + ro[0] + rd[0] * t,
                        g.origin[1] + ro[1] + rd[1] * t,
                        g.origin[2] + ro[2] + rd[2] * t,
                    ]
                };
                let keep = |t: f64| crate::clip::keeps(&src.clip, src.origin_xy, at(t));
                let Some((t, tri)) = nearest_triangle(g, ro, rd, &keep) else {
                    continue;
                };
                if best.as_ref().is_some_and(|b| b.distance <= t) {
                    continue;
                }
                let feature = g.triangle_features.get(tri).copied().filter(|f| *f != u32::MAX);
                let mut properties = serde_json::Map::new();
                if let Some(f) = feature {
                    for bt in g.batch_tables.iter().filter_map(|b| b.as_object()) {
                        for (name, v) in bt {
                            if let Some(x) = v.as_array().and_then(|a| a.get(f as usize)) {
                                properties.insert(name.clone(), x.clone());
                            }
                        }
                    }
                }
                best = Some(TileHit {
                    layer_id: id.clone(),
                    tile,
                    uri: ts
                        .tiles
                        .get(tile)
                        .and_then(|t| t.contents.get(k))
                        .map(|c| c.uri.clone())
                        .unwrap_or_default(),
                    feature,
                    properties,
                    at: at(t),
                    distance: t,
                });
            }
        }
    }
    best
}

/// The nearest triangle a ray meets (Möller–Trumbore, both faces): distance and index.
/// Hits where `keep` (given the distance) says no are passed over.
fn nearest_triangle(g: &TileGeometry, o: [f64; 3], d: [f64; 3], keep: &dyn Fn(f64) -> bool) -> Option<(f64, usize)> {
    let sub = |a: [f64; 3], b: [f64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let cross = |a: [f64; 3], b: [f64; 3]| [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let p = |i: u32| {
        g.positions
            .get(i as usize)
            .map(|v| [f64::from(v[0]), f64::from(v[1]), f64::from(v[2])])
    };
    let mut best: Option<(f64, usize)> = None;
    for (k, t) in g.indices.chunks_exact(3).enumerate() {
        let (Some(a), Some(b), Some(c)) = (p(t[0]), p(t[1]), p(t[2])) else {
            continue;
        };
        let (e1, e2) = (sub(b, a), sub(c, a));
        let h = cross(d, e2);
        let det = dot(e1, h);
        if det.abs() < 1e-12 {
            continue;
        }
        let s = sub(o, a);
        let u = dot(s, h) / det;
        if !(0.0..=1.0).contains(&u) {
            continue;
        }
        let q = cross(s, e1);
        let v = dot(d, q) / det;
        if v < 0.0 || u + v > 1.0 {
            continue;
        }
        let dist = dot(e2, q) / det;
        if dist > 1e-6 && best.is_none_or(|(b, _)| dist < b) && keep(dist) {
            best = Some((dist, k));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use jingwei_layers::tiles3d::decode::TileGeometry;

    #[test]
    fn points_are_drawn_in_their_colours() {
        // Ground (brown) and building (red) points, classification colours: two meshes.
        let ground = jingwei_layers::pointcloud::classification_colour(2);
        let building = jingwei_layers::pointcloud::classification_colour(6);
        let g = TileGeometry {
            origin: [1000.0, 2000.0, 5.0],
            points: vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 10.0]],
            point_colors: vec![
                [ground[0], ground[1], ground[2], 255],
                [ground[0], ground[1], ground[2], 255],
                [building[0], building[1], building[2], 255],
            ],
            ..Default::default()
        };
        let tile = DrawTile {
            flatten: Arc::new(Vec::new()),
            clip: Arc::new(Default::default()),
            key: 1,
            layer_id: "c".into(),
            tile: 0,
            geoms: vec![Arc::new(g)],
        };
        let meshes = meshes([1000.0, 2000.0], &tile);
        assert_eq!(meshes.len(), 2);
        let colour = |c: [u8; 3]| [f32::from(c[0]) / 255.0, f32::from(c[1]) / 255.0, f32::from(c[2]) / 255.0, 1.0];
        assert_eq!(meshes[0].color, colour(ground));
        assert_eq!(meshes[1].color, colour(building));
        assert_eq!(meshes[0].mesh.positions.len(), 8);
        // The building point stands 10 m above the ground points.
        assert!((meshes[1].mesh.positions[0][1] - 10.0).abs() < 1e-6);
    }
}
