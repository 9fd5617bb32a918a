//! A city's 3D Tiles, checked before they are loaded (`jingwei tileset FILE`): the tree with its
//! external tilesets, and every content's header against its byte lengths. What a planner's IT
//! runs on a vendor's delivery: every broken content named, one line each.

use crate::Result;
use jingwei_layers::tiles3d::{self, ContentKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What a tileset holds, and what in it is broken.
#[derive(Debug, Clone, Serialize)]
pub struct TilesetReport {
    /// The root tileset file.
    pub path: String,
    /// `asset.version`.
    pub version: String,
    /// Tiles, external tilesets' included.
    pub tiles: usize,
    /// Tileset files read.
    pub files: usize,
    /// The deepest tile's depth.
    pub depth: u32,
    /// Contents by kind (`b3dm`, `pnts`, …).
    pub contents: BTreeMap<String, usize>,
    /// Features in all (batches, instances, points) as the contents' feature tables count them.
    pub features: u64,
    /// Bytes of content.
    pub bytes: u64,
    /// Tiles that declare implicit tiling.
    pub implicit_roots: usize,
    /// Subtree files of implicit tiling read (every one is, to check the whole tileset).
    pub subtrees: usize,
    /// One line per broken content: the file and the problem.
    pub broken: Vec<String>,
}

/// Read the tileset and check every content's header (a tileset that cannot be read at all is
/// the error; broken contents are listed).
pub fn check_tileset(path: &Path) -> Result<TilesetReport> {
    let mut ts = tiles3d::open(path)?;
    tiles3d::implicit::expand_all(&mut ts)?;
    let mut r = TilesetReport {
        path: path.display().to_string(),
        version: ts.version.clone(),
        tiles: ts.tiles.len(),
        files: ts.files.len(),
        depth: ts.tiles.iter().map(|t| t.depth).max().unwrap_or(0),
        contents: BTreeMap::new(),
        features: 0,
        bytes: 0,
        implicit_roots: ts.tiles.iter().filter(|t| t.implicit.is_some()).count(),
        subtrees: ts.subtrees_read,
        broken: ts.broken.clone(),
    };
    for t in &ts.tiles {
        for c in &t.contents {
            let kind = format!("{:?}", c.kind).to_lowercase();
            *r.contents.entry(kind).or_default() += 1;
            if matches!(c.kind, ContentKind::Gltf | ContentKind::Other) {
                if ts.fetch.size(&c.path).is_none() {
                    r.broken.push(format!("{}: missing", c.path.display()));
                }
                continue;
            }
            match ts.fetch.fetch(&c.path).and_then(|b| tiles3d::parse_content(&c.path, &b)) {
                Ok(h) => {
                    r.bytes += h.byte_length as u64;
                    r.features += h.features.unwrap_or(0) + h.inner.iter().filter_map(|i| i.features).sum::<u64>();
                }
                Err(e) => r.broken.push(e.to_string()),
            }
        }
    }
    Ok(r)
}

/// What [`build_city_tileset`] makes a tileset of.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// A file with building footprints (any format the core reads) and a height or floors field.
    pub source: std::path::PathBuf,
    /// Its layer (the first polygon layer when `None`).
    pub layer: Option<String>,
    /// The folder to write `tileset.json` and `content/` into (made if missing).
    pub out: std::path::PathBuf,
    /// Buildings a leaf tile holds at most.
    pub leaf_max: usize,
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// The tileset written.
    pub tileset: String,
    /// Buildings in it.
    pub buildings: usize,
    /// Tiles (with content).
    pub tiles: usize,
    /// The deepest tile's depth.
    pub depth: u32,
    /// Bytes of content written.
    pub bytes: u64,
    /// Triangles in all.
    pub triangles: u64,
}

struct Node {
    rows: Vec<usize>,
    children: Vec<Node>,
    depth: u32,
    id: String,
}

/// A city's buildings as a 3D Tiles 1.1 tileset: a quadtree over the footprints whose every
/// tile holds the tallest of its buildings (the landmarks that show from afar) and whose
/// children add the rest (ADD refinement), down to leaves of at most `leaf_max` buildings.
/// Each tile is a GLB of the extruded prisms (their heights as the scene extrudes them), with
/// each triangle's feature id (`_FEATURE_ID_0`: the building's row in its tile) and positions
/// about the tile's centre in ECEF (`CESIUM_RTC`), its volume a region. Used for the city twin's
/// benchmark and for tests with a georeferenced tileset in a Gauss-Krüger zone.
pub fn build_city_tileset(req: &BuildRequest) -> Result<BuildReport> {
    use jingwei_layers::{Crs, Transformer, Workspace};
    use jingwei_scene::extrude::{HeightRule, extrude_layer};
    let mut ws: Option<Workspace> = None;
    Workspace::load_file(&mut ws, &req.source, None)?;
    let ws = ws.ok_or_else(|| crate::Error::Invalid(format!("{}: no layer with geometry", req.source.display())))?;
    let wl = match &req.layer {
        Some(name) => ws
            .layers
            .iter()
            .find(|l| &l.id == name || &l.layer.name == name)
            .ok_or_else(|| crate::Error::NoLayer(name.clone()))?,
        None => ws
            .layers
            .iter()
            .find(|l| l.layer.geometry_type.contains("Polygon"))
            .ok_or_else(|| crate::Error::Invalid(format!("{}: no polygon layer", req.source.display())))?,
    };
    let layer = &wl.layer;
    let rule = HeightRule::for_layer(layer);
    let leaf_max = req.leaf_max.max(16);
    // Each building by its centre and height.
    let mut items: Vec<(usize, [f64; 2], f64)> = Vec::new();
    for row in 0..layer.len() {
        if let Some(g) = &layer.geometries.geometry(row)
            && let Some(r) = geo::BoundingRect::bounding_rect(g)
        {
            let c = r.center();
            items.push((row, [c.x, c.y], rule.heights(layer, row).1));
        }
    }
    if items.is_empty() {
        return Err(crate::Error::Invalid(format!("{}: no buildings", req.source.display())));
    }
    fn split(mut items: Vec<(usize, [f64; 2], f64)>, b: [f64; 4], depth: u32, id: String, leaf_max: usize) -> Node {
        if items.len() <= leaf_max || depth >= 16 {
            return Node {
                rows: items.iter().map(|i| i.0).collect(),
                children: Vec::new(),
                depth,
                id,
            };
        }
        // The tallest quarter of a leaf's worth stay here; the rest go to the quadrants.
        items.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        let rest = items.split_off(leaf_max / 4);
        let (cx, cy) = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
        let mut quads: [Vec<_>; 4] = Default::default();
        for it in rest {
            quads[usize::from(it.1[0] >= cx) + 2 * usize::from(it.1[1] >= cy)].push(it);
        }
        let boxes = [
            [b[0], b[1], cx, cy],
            [cx, b[1], b[2], cy],
            [b[0], cy, cx, b[3]],
            [cx, cy, b[2], b[3]],
        ];
        let children = quads
            .into_iter()
            .zip(boxes)
            .enumerate()
            .filter(|(_, (q, _))| !q.is_empty())
            .map(|(k, (q, bb))| split(q, bb, depth + 1, format!("{id}{k}"), leaf_max))
            .collect();
        Node {
            rows: items.iter().map(|i| i.0).collect(),
            children,
            depth,
            id,
        }
    }
    let mut bb = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    for (_, c, _) in &items {
        bb = [bb[0].min(c[0]), bb[1].min(c[1]), bb[2].max(c[0]), bb[3].max(c[1])];
    }
    let buildings = items.len();
    let root = split(items, bb, 0, "r".into(), leaf_max);
    let mut nodes: Vec<&Node> = Vec::new();
    let mut stack = vec![&root];
    while let Some(n) = stack.pop() {
        nodes.push(n);
        stack.extend(n.children.iter());
    }
    let content = req.out.join("content");
    std::fs::create_dir_all(&content).map_err(|e| crate::Error::Invalid(format!("{}: {e}", content.display())))?;
    // Each tile's GLB, written by a few threads (each with its own transformer).
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
    let chunks: Vec<Vec<&Node>> = (0..threads)
        .map(|k| nodes.iter().skip(k).step_by(threads).copied().collect())
        .collect();
    let results: Vec<Result<Vec<(String, [f64; 6], u64, u64)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let (layer, rule, crs, content) = (layer, &rule, &ws.crs, &content);
                s.spawn(move || -> Result<Vec<(String, [f64; 6], u64, u64)>> {
                    let to_ll = Transformer::new(crs, &Crs::cgcs2000()?)?;
                    let mut out = Vec::new();
                    for n in chunk {
                        let sub = jingwei_scene::scene::subset(layer, &n.rows, &n.id);
                        let e = sub.extent().unwrap_or([0.0; 4]);
                        let origin = [(e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0];
                        let mesh = extrude_layer(&sub, rule, origin);
                        let (glb, region, tris) = tile_glb(&mesh, origin, &to_ll)?;
                        let path = content.join(format!("{}.glb", n.id));
                        std::fs::write(&path, &glb).map_err(|e| crate::Error::Invalid(format!("{}: {e}", path.display())))?;
                        out.push((n.id.clone(), region, glb.len() as u64, tris));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(crate::Error::Invalid("a tile writer stopped".into())))
            })
            .collect()
    });
    let mut written: std::collections::HashMap<String, ([f64; 6], u64, u64)> = std::collections::HashMap::new();
    for r in results {
        for (id, region, bytes, tris) in r? {
            written.insert(id, (region, bytes, tris));
        }
    }
    // The tree, each tile's region the union of its own and its children's.
    fn tile_json(n: &Node, written: &std::collections::HashMap<String, ([f64; 6], u64, u64)>) -> (serde_json::Value, [f64; 6]) {
        let mut region = written.get(&n.id).map_or(EMPTY_REGION, |w| w.0);
        let children: Vec<serde_json::Value> = n
            .children
            .iter()
            .map(|c| {
                let (j, r) = tile_json(c, written);
                region = [
                    region[0].min(r[0]),
                    region[1].min(r[1]),
                    region[2].max(r[2]),
                    region[3].max(r[3]),
                    region[4].min(r[4]),
                    region[5].max(r[5]),
                ];
                j
            })
            .collect();
        // The error of stopping here: the buildings below are missing; a tile's size sets how
        // far away that stops mattering (a leaf misses nothing).
        let (w, s, e, no) = (region[0], region[1], region[2], region[3]);
        let diag = ((e - w) * 6_378_137.0 * ((s + no) / 2.0).cos()).hypot((no - s) * 6_378_137.0);
        let ge = if n.children.is_empty() { 0.0 } else { (diag / 40.0).max(1.0) };
        let mut j = serde_json::json!({
            "boundingVolume": {"region": region},
            "geometricError": ge,
            "content": {"uri": format!("content/{}.glb", n.id)},
        });
        if !children.is_empty() {
            j["children"] = serde_json::Value::Array(children);
        }
        (j, region)
    }
    let (mut root_json, _) = tile_json(&root, &written);
    root_json["refine"] = "ADD".into();
    let root_ge = root_json["geometricError"].as_f64().unwrap_or(1.0);
    let doc = serde_json::json!({
        "asset": {"version": "1.1", "generator": "jingwei tileset-build"},
        "geometricError": root_ge * 2.0,
        "root": root_json,
    });
    let path = req.out.join("tileset.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap_or_default())
        .map_err(|e| crate::Error::Invalid(format!("{}: {e}", path.display())))?;
    Ok(BuildReport {
        tileset: path.display().to_string(),
        buildings,
        tiles: written.len(),
        depth: nodes.iter().map(|n| n.depth).max().unwrap_or(0),
        bytes: written.values().map(|w| w.1).sum(),
        triangles: written.values().map(|w| w.2).sum(),
    })
}

/// A region that any point widens (west, south, east, north, lowest, highest).
const EMPTY_REGION: [f64; 6] = [
    f64::INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NEG_INFINITY,
    f64::INFINITY,
    f64::NEG_INFINITY,
];

/// One tile's GLB: the mesh (local metres about `origin`, x east, y up, z south) through
/// longitude/latitude into ECEF about the tile's centre (`CESIUM_RTC`), glTF's y up. Returns the
/// bytes, the region (radians, heights) and the triangle count.
fn tile_glb(
    mesh: &jingwei_scene::extrude::MeshData,
    origin: [f64; 2],
    to_ll: &jingwei_layers::Transformer,
) -> Result<(Vec<u8>, [f64; 6], u64)> {
    let mut xy: Vec<(f64, f64)> = mesh
        .positions
        .iter()
        .map(|p| (origin[0] + f64::from(p[0]), origin[1] - f64::from(p[2])))
        .collect();
    to_ll.transform_in_place(&mut xy)?;
    let mut region = EMPTY_REGION;
    let ecef: Vec<[f64; 3]> = xy
        .iter()
        .zip(&mesh.positions)
        .map(|((lon, lat), p)| {
            let (lo, la, h) = (lon.to_radians(), lat.to_radians(), f64::from(p[1]));
            region = [
                region[0].min(lo),
                region[1].min(la),
                region[2].max(lo),
                region[3].max(la),
                region[4].min(h),
                region[5].max(h),
            ];
            tiles3d::geodetic_to_ecef(lo, la, h)
        })
        .collect();
    let n = ecef.len().max(1) as f64;
    let center = [0, 1, 2].map(|k| ecef.iter().map(|p| p[k]).sum::<f64>() / n);
    // glTF y-up: (x, y, z) of the tile frame is (x, z, −y) in glTF.
    let pos: Vec<[f32; 3]> = ecef
        .iter()
        .map(|p| {
            let d = [p[0] - center[0], p[1] - center[1], p[2] - center[2]];
            [d[0] as f32, d[2] as f32, -d[1] as f32]
        })
        .collect();
    // Each vertex's feature: the building (row in the tile) of the triangles it belongs to.
    let mut feature = vec![0f32; pos.len()];
    for (t, row) in mesh.indices.chunks_exact(3).zip(&mesh.triangle_rows) {
        for &i in t {
            feature[i as usize] = *row as f32;
        }
    }
    let (mut lo, mut hi) = ([f32::INFINITY; 3], [f32::NEG_INFINITY; 3]);
    for p in &pos {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let mut bin: Vec<u8> = Vec::with_capacity(pos.len() * 16 + mesh.indices.len() * 4);
    for p in &pos {
        for v in p {
            bin.extend(v.to_le_bytes());
        }
    }
    let pos_len = bin.len();
    for f in &feature {
        bin.extend(f.to_le_bytes());
    }
    let feat_len = bin.len() - pos_len;
    for i in &mesh.indices {
        bin.extend(i.to_le_bytes());
    }
    let idx_len = bin.len() - pos_len - feat_len;
    let json = serde_json::json!({
        "asset": {"version": "2.0", "generator": "jingwei tileset-build"},
        "extensionsUsed": ["CESIUM_RTC", "EXT_mesh_features"],
        "extensionsRequired": ["CESIUM_RTC"],
        "extensions": {"CESIUM_RTC": {"center": center}},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{
            "attributes": {"POSITION": 0, "_FEATURE_ID_0": 1},
            "indices": 2,
            "mode": 4,
            "extensions": {"EXT_mesh_features": {"featureIds": [{"featureCount": mesh.triangle_rows.iter().max().map_or(0, |m| m + 1), "attribute": 0}]}}
        }]}],
        "buffers": [{"byteLength": bin.len()}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": pos_len, "target": 34962},
            {"buffer": 0, "byteOffset": pos_len, "byteLength": feat_len, "target": 34962},
            {"buffer": 0, "byteOffset": pos_len + feat_len, "byteLength": idx_len, "target": 34963}
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": pos.len(), "type": "VEC3", "min": lo, "max": hi},
            {"bufferView": 1, "componentType": 5126, "count": pos.len(), "type": "SCALAR"},
            {"bufferView": 2, "componentType": 5125, "count": mesh.indices.len(), "type": "SCALAR"}
        ]
    });
    let mut j = serde_json::to_vec(&json).unwrap_or_default();
    while !j.len().is_multiple_of(4) {
        j.push(b' ');
    }
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let total = 12 + 8 + j.len() + 8 + bin.len();
    let mut glb = Vec::with_capacity(total);
    glb.extend(b"glTF");
    glb.extend(2u32.to_le_bytes());
    glb.extend((total as u32).to_le_bytes());
    glb.extend((j.len() as u32).to_le_bytes());
    glb.extend(b"JSON");
    glb.extend(&j);
    glb.extend((bin.len() as u32).to_le_bytes());
    glb.extend(b"BIN\0");
    glb.extend(&bin);
    Ok((glb, region, (mesh.indices.len() / 3) as u64))
}

/// An oblique model (OSGB) converted to 3D Tiles.
pub use jingwei_layers::osgb::Converted;

/// Convert an oblique-photography model (a ContextCapture-style folder with `metadata.xml` and
/// `Data/Tile_*/…osgb`) into a 3D Tiles 1.1 tileset in `out` (`jingwei tiles convert`): every
/// `.osgb` file becomes an external tileset, every PagedLOD node a tile with a GLB content
/// (textures embedded), placed in ECEF — for a Cesium-based platform, or for the archive.
pub fn convert_oblique(source: &Path, out: &Path) -> Result<Converted> {
    Ok(jingwei_layers::osgb::convert(source, out)?)
}
