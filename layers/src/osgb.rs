//! Oblique photography: ContextCapture-style OSGB folders (`metadata.xml` and
//! `Data/Tile_*/Tile_*.osgb`), streamed as 3D Tiles, read natively (no OpenSceneGraph).
//!
//! `metadata.xml` names the model's SRS — `EPSG:n`, `ENU:lat,lon` or WKT — and `SRSOrigin`, the
//! point of that SRS that the vertices are relative to. Each `Data/Tile_*` folder holds a tree
//! of files: the root `Tile_X.osgb` and the finer levels its PagedLOD nodes name
//! (`Tile_X_L17_0.osgb`, …). [`read`] parses one file.
//!
//! The folder becomes a tileset made on demand (see [`crate::tiles3d::open_lazy`]): one tile
//! per PagedLOD node, its content the node's own geometry with its textures, its children the
//! nodes of the file it names — an external tileset read only when the streamer first reaches
//! it, so a model of many thousand files opens at once and only what is looked at is read. The
//! root files are read when the model is opened (in parallel), their tiles written into the
//! root tileset itself.
//! A PagedLOD's range becomes a geometric error: a node shown from `r` pixels of projected
//! size on (OSG's `PIXEL_SIZE_ON_SCREEN`, what ContextCapture writes) is refined where its
//! bounding sphere's diameter `2R` covers `r` pixels, which at the default maximum
//! screen-space error of 16 is a geometric error of `16 · 2R / r`; a distance range `d`
//! (`DISTANCE_FROM_EYE_POINT`) is refined nearer than `d`, taken for a 1080-pixel, 60° view.
//!
//! Vertices go from the SRS (plus its origin) through longitude and latitude — through the
//! workspace CRS when one is given, as for point clouds — to ECEF about each content's centre,
//! as glTF with `CESIUM_RTC`; heights are the SRS's, taken as metres above the ellipsoid. The
//! contents are binary glTF with their JPEG/PNG textures embedded, so that
//! [`convert`] writes the same tileset out as 3D Tiles 1.1.

pub mod read;

use crate::crs::Crs;
use crate::error::{LayersError, Result};
use crate::pointcloud::ToLonLat;
use crate::tiles3d::archive::Fetch;
use crate::tiles3d::{self, IDENTITY, Tileset, mul, point};
use read::{Image, Node};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The SRS of an oblique model.
#[derive(Debug, Clone, PartialEq)]
pub enum Srs {
    /// A CRS (EPSG code or WKT).
    Crs(Crs),
    /// East, north, up about a point (degrees): `ENU:lat,lon`.
    Enu {
        /// Latitude, degrees.
        lat: f64,
        /// Longitude, degrees.
        lon: f64,
    },
}

/// What `metadata.xml` says.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// The vertices' SRS.
    pub srs: Srs,
    /// The point of the SRS the vertices are relative to.
    pub origin: [f64; 3],
}

fn bad(path: &Path, detail: impl std::fmt::Display) -> LayersError {
    LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("OSGB: {detail}"),
    }
}

/// The folder of an oblique model named by `path`: the folder itself (with `metadata.xml` and
/// `Data/`), or its `metadata.xml`.
fn folder(path: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        return (path.join("metadata.xml").is_file() && path.join("Data").is_dir()).then(|| path.to_owned());
    }
    let is_meta = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.eq_ignore_ascii_case("metadata.xml"));
    let dir = path.parent()?;
    (is_meta && dir.join("Data").is_dir()).then(|| dir.to_owned())
}

/// Whether `path` names an oblique model: a folder with `metadata.xml` and `Data/`, or that
/// `metadata.xml`.
pub fn is_oblique(path: &Path) -> bool {
    folder(path).is_some()
}

/// Read `metadata.xml`.
pub fn metadata(path: &Path) -> Result<Metadata> {
    let dir = folder(path).ok_or_else(|| bad(path, "not an oblique model (a folder with metadata.xml and Data/)"))?;
    let file = dir.join("metadata.xml");
    let text = std::fs::read_to_string(&file).map_err(|e| LayersError::io(&file, e))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| bad(&file, format!("not XML: {e}")))?;
    let field = |name: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == name)
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
    };
    let srs_text = field("SRS").filter(|s| !s.is_empty()).ok_or_else(|| bad(&file, "no SRS"))?;
    let srs = if let Some(rest) = srs_text.strip_prefix("ENU:") {
        let v: Vec<f64> = rest.split(',').filter_map(|v| v.trim().parse().ok()).collect();
        match v[..] {
            [lat, lon] if lat.abs() <= 90.0 && lon.abs() <= 180.0 => Srs::Enu { lat, lon },
            _ => return Err(bad(&file, format!("SRS {srs_text}: ENU:latitude,longitude"))),
        }
    } else {
        Srs::Crs(Crs::parse(&srs_text).map_err(|e| bad(&file, format!("SRS {srs_text}: {e}")))?)
    };
    let origin = match field("SRSOrigin").filter(|s| !s.is_empty()) {
        None => [0.0; 3],
        Some(o) => {
            let v: Vec<f64> = o.split(',').filter_map(|v| v.trim().parse().ok()).collect();
            match v[..] {
                [x, y] => [x, y, 0.0],
                [x, y, z] => [x, y, z],
                _ => return Err(bad(&file, format!("SRSOrigin {o}: x,y[,z]"))),
            }
        }
    };
    if origin.iter().any(|v| !v.is_finite()) {
        return Err(bad(&file, "SRSOrigin is not finite"));
    }
    Ok(Metadata { srs, origin })
}

/// Model coordinates to ECEF.
enum ToEcef {
    /// Through longitude and latitude (PROJ): the SRS to the workspace CRS (when given) and on
    /// to CGCS2000, as for point clouds; the origin and metres per height unit.
    Proj(Box<ToLonLat>, [f64; 3], f64),
    /// East, north, up about a point: a rotation and a shift.
    Enu {
        origin: [f64; 3],
        e: [f64; 3],
        n: [f64; 3],
        u: [f64; 3],
        offset: [f64; 3],
    },
}

impl ToEcef {
    fn new(meta: &Metadata, target: Option<&Crs>) -> Result<ToEcef> {
        match &meta.srs {
            Srs::Crs(c) => Ok(ToEcef::Proj(Box::new(ToLonLat::new(c, target)?), meta.origin, c.linear_unit_m())),
            Srs::Enu { lat, lon } => {
                let (la, lo) = (lat.to_radians(), lon.to_radians());
                Ok(ToEcef::Enu {
                    origin: tiles3d::geodetic_to_ecef(lo, la, 0.0),
                    e: [-lo.sin(), lo.cos(), 0.0],
                    n: [-la.sin() * lo.cos(), -la.sin() * lo.sin(), la.cos()],
                    u: [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()],
                    offset: meta.origin,
                })
            }
        }
    }

    fn points(&self, pts: &[[f64; 3]]) -> Result<Vec<[f64; 3]>> {
        match self {
            ToEcef::Proj(to_lonlat, o, zunit) => {
                let mut xy: Vec<(f64, f64)> = pts.iter().map(|p| (p[0] + o[0], p[1] + o[1])).collect();
                to_lonlat.transform_in_place(&mut xy)?;
                Ok(xy
                    .iter()
                    .zip(pts)
                    .map(|((lon, lat), p)| tiles3d::geodetic_to_ecef(lon.to_radians(), lat.to_radians(), (p[2] + o[2]) * zunit))
                    .collect())
            }
            ToEcef::Enu { origin, e, n, u, offset } => Ok(pts
                .iter()
                .map(|p| {
                    let q = [p[0] + offset[0], p[1] + offset[1], p[2] + offset[2]];
                    [0, 1, 2].map(|k| origin[k] + e[k] * q[0] + n[k] * q[1] + u[k] * q[2])
                })
                .collect()),
        }
    }
}

/// A tile's worth of a file: a PagedLOD node's own geometry (or the geometry outside any), its
/// sphere, its refinement threshold and the files of its finer levels.
#[derive(Debug, Clone, Default)]
struct Unit {
    /// Geometry with the transform above it (model coordinates).
    geoms: Vec<(Arc<read::Geometry>, [f64; 16])>,
    center: [f64; 3],
    radius: f64,
    /// Geometric error (metres); 0 for a leaf.
    error: f64,
    /// Finer levels' files, relative to the file's folder.
    files: Vec<String>,
}

/// The geometric error of tiles that hold nothing themselves (the root, each file's): large
/// enough that they are always refined into what they hold.
const WRAPPER_ERROR: f64 = 1.0e7;

/// The screen-space error a range refines at (see the module's notes).
const MAX_SSE: f64 = 16.0;
/// Pixels per radian of a 1080-pixel, 60° view, for distance ranges.
const PIXELS_PER_RADIAN: f64 = 1080.0 / (2.0 * 0.577_350_269_189_625_8);

/// A file's scene cut into tiles: one per PagedLOD, and one for geometry outside any.
fn units(scene: &Node) -> Vec<Unit> {
    type Tex<'a> = Option<&'a Arc<Image>>;
    fn walk(n: &Node, m: &[f64; 16], tex: Tex, current: Option<usize>, out: &mut Vec<Unit>, loose: &mut Option<usize>) {
        match n {
            Node::Group(children) => {
                for c in children {
                    walk(c, m, tex, current, out, loose);
                }
            }
            Node::Textured(t, children) => {
                for c in children {
                    walk(c, m, Some(t), current, out, loose);
                }
            }
            Node::Transform(t, children) => {
                let m = mul(m, t);
                for c in children {
                    walk(c, &m, tex, current, out, loose);
                }
            }
            Node::Geometry(g) => {
                let g = match (&g.texture, tex) {
                    (None, Some(t)) => Arc::new(read::Geometry {
                        texture: Some(t.clone()),
                        ..(**g).clone()
                    }),
                    _ => g.clone(),
                };
                let k = match current {
                    Some(k) => k,
                    None => *loose.get_or_insert_with(|| {
                        out.push(Unit::default());
                        out.len() - 1
                    }),
                };
                out[k].geoms.push((g, *m));
            }
            Node::PagedLod(p) => {
                let center = point(m, p.center);
                let scale = (m[0] * m[0] + m[1] * m[1] + m[2] * m[2]).sqrt();
                let radius = p.radius * if scale > 0.0 { scale } else { 1.0 };
                // The first range that names a file: where the finer level takes over.
                let mut files = Vec::new();
                let mut takes_over = None;
                for (k, f) in p.files.iter().enumerate() {
                    if f.is_empty() {
                        continue;
                    }
                    let path = if p.database_path.is_empty() {
                        f.clone()
                    } else {
                        format!("{}/{f}", p.database_path.trim_end_matches('/'))
                    };
                    files.push(path);
                    takes_over = takes_over.or(p.ranges.get(k).copied());
                }
                out.push(Unit {
                    geoms: Vec::new(),
                    center,
                    radius,
                    error: 0.0,
                    files,
                });
                let k = out.len() - 1;
                for c in &p.children {
                    walk(c, m, tex, Some(k), out, loose);
                }
                let u = &mut out[k];
                // A node that leaves its bounds to its children: theirs.
                if u.radius < 0.0 {
                    (u.center, u.radius) = sphere_of(&u.geoms);
                }
                if !u.files.is_empty() {
                    u.error = match takes_over {
                        Some(r) if p.pixel_size => MAX_SSE * 2.0 * u.radius / f64::from(r[0]).max(1.0),
                        Some(r) => MAX_SSE * f64::from(r[1]).max(0.0) / PIXELS_PER_RADIAN,
                        None => 0.0,
                    };
                    if u.error <= 0.0 || !u.error.is_finite() {
                        u.error = u.radius.max(1.0);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut loose = None;
    walk(scene, &IDENTITY, None, None, &mut out, &mut loose);
    // Loose geometry's sphere: about its vertices.
    if let Some(k) = loose {
        let (c, r) = sphere_of(&out[k].geoms);
        out[k].center = c;
        out[k].radius = r;
    }
    out
}

/// A sphere about geometry's vertices (its box's centre, the farthest vertex).
fn sphere_of(geoms: &[(Arc<read::Geometry>, [f64; 16])]) -> ([f64; 3], f64) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for (g, m) in geoms {
        for p in &g.positions {
            let q = point(m, *p);
            for k in 0..3 {
                lo[k] = lo[k].min(q[k]);
                hi[k] = hi[k].max(q[k]);
            }
        }
    }
    if !lo[0].is_finite() {
        return ([0.0; 3], 0.0);
    }
    let c = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
    let r = ((hi[0] - lo[0]).powi(2) + (hi[1] - lo[1]).powi(2) + (hi[2] - lo[2]).powi(2)).sqrt() / 2.0;
    (c, r)
}

/// An oblique model's files as a tileset's: `tileset.json` (with the root files' tiles),
/// `<file>.osgb.json` per finer file (its tiles) and `<file>.osgb.<k>.glb` per tile content,
/// made when asked for.
struct Oblique {
    dir: PathBuf,
    meta: Metadata,
    target: Option<Crs>,
    root: Vec<u8>,
    /// Files parsed lately (a content is asked for right after its file's tiles).
    recent: Mutex<Vec<(PathBuf, Arc<Vec<Unit>>)>>,
    /// A transformer for each thread that used one, out of the pool while in use.
    ecef: Mutex<Vec<(std::thread::ThreadId, ThreadsOwn<ToEcef>)>>,
}

use crate::ffi::ThreadsOwn;

impl std::fmt::Debug for Oblique {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oblique").field("dir", &self.dir).finish()
    }
}

/// Files kept parsed.
const RECENT: usize = 16;

impl Oblique {
    /// The units of an `.osgb` file, parsed now or lately.
    fn units(&self, file: &Path) -> Result<Arc<Vec<Unit>>> {
        if let Some((_, u)) = self.recent.lock().expect("recent files").iter().find(|(p, _)| p == file) {
            return Ok(u.clone());
        }
        let bytes = std::fs::read(file).map_err(|e| LayersError::io(file, e))?;
        let scene = read::parse(file, &bytes)?;
        let units = Arc::new(units(&scene));
        let mut recent = self.recent.lock().expect("recent files");
        if recent.len() >= RECENT {
            recent.remove(0);
        }
        recent.push((file.to_owned(), units.clone()));
        Ok(units)
    }

    /// A tile of a unit as tileset JSON (the unit's content and its finer files), its URIs
    /// relative to a tileset file in the folder `prefix` names from the unit's file.
    fn tile_json(to: &ToEcef, prefix: &str, file_name: &str, k: usize, u: &Unit) -> Result<(serde_json::Value, [f64; 4])> {
        let c = to.points(&[u.center])?[0];
        let sphere = [c[0], c[1], c[2], u.radius * 1.01 + 0.01];
        let mut contents = Vec::new();
        if u.geoms.iter().any(|(g, _)| !g.indices.is_empty()) {
            contents.push(serde_json::json!({"uri": format!("{prefix}{file_name}.{k}.glb")}));
        }
        for f in &u.files {
            contents.push(serde_json::json!({"uri": format!("{prefix}{f}.json")}));
        }
        let tile = serde_json::json!({
            "boundingVolume": {"sphere": sphere},
            "geometricError": u.error,
            "refine": "REPLACE",
            "contents": contents,
        });
        Ok((tile, sphere))
    }

    /// A file's tiles under one that holds nothing (always refined into them), with its
    /// sphere; `None` for a file with nothing in it.
    fn file_tile(to: &ToEcef, prefix: &str, file: &Path, units: &[Unit]) -> Result<Option<(serde_json::Value, [f64; 4])>> {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("tile.osgb");
        let mut children = Vec::new();
        let mut spheres = Vec::new();
        for (k, u) in units.iter().enumerate() {
            if u.geoms.is_empty() && u.files.is_empty() {
                continue;
            }
            let (t, sphere) = Oblique::tile_json(to, prefix, name, k, u)?;
            spheres.push(sphere);
            children.push(t);
        }
        if children.is_empty() {
            return Ok(None);
        }
        let sphere = enclosing(&spheres);
        let tile = serde_json::json!({"boundingVolume": {"sphere": sphere}, "geometricError": WRAPPER_ERROR, "refine": "REPLACE", "children": children});
        Ok(Some((tile, sphere)))
    }

    /// Model coordinates to ECEF with this thread's transformer (PROJ's are not shared between
    /// threads), made on its first use here and kept in the model: it goes with the model, on
    /// whichever thread the model was last used (the thread that reads lazily reached files
    /// lives on after the model is removed; a transformer cached in it held ~5 MB of PROJ's
    /// database cache).
    fn with_ecef<T>(&self, f: impl FnOnce(&ToEcef) -> Result<T>) -> Result<T> {
        let me = std::thread::current().id();
        let mine = {
            let mut pool = self.ecef.lock().expect("transformers");
            pool.iter().position(|(t, _)| *t == me).map(|i| pool.swap_remove(i).1)
        };
        let to = match mine {
            Some(t) => t,
            None => ThreadsOwn(ToEcef::new(&self.meta, self.target.as_ref())?),
        };
        let out = f(&to.0);
        let mut pool = self.ecef.lock().expect("transformers");
        // Threads come and go with streams; keep the latest few.
        if pool.len() >= 16 {
            pool.remove(0);
        }
        pool.push((me, to));
        out
    }

    /// `<file>.osgb.json`: the file's tiles under one that holds nothing.
    fn file_tileset(&self, file: &Path) -> Result<Vec<u8>> {
        let units = self.units(file)?;
        let (root, _) = self
            .with_ecef(|to| Oblique::file_tile(to, "", file, &units))?
            .ok_or_else(|| bad(file, "no geometry and no finer levels"))?;
        let ts = serde_json::json!({
            "asset": {"version": "1.1", "generator": "Jingwei (OSGB)"},
            "geometricError": WRAPPER_ERROR,
            "root": root,
        });
        Ok(serde_json::to_vec(&ts).expect("JSON"))
    }

    /// `<file>.osgb.<k>.glb`: unit `k`'s geometry in ECEF about its centre, textures embedded.
    fn content(&self, file: &Path, k: usize) -> Result<Vec<u8>> {
        let units = self.units(file)?;
        let u = units.get(k).ok_or_else(|| bad(file, format!("no tile {k}")))?;
        self.with_ecef(|to| glb(file, u, to))
    }
}

/// A sphere about spheres (their boxes' centre).
fn enclosing(spheres: &[[f64; 4]]) -> [f64; 4] {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for s in spheres {
        for k in 0..3 {
            lo[k] = lo[k].min(s[k] - s[3]);
            hi[k] = hi[k].max(s[k] + s[3]);
        }
    }
    let c = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
    let r = spheres
        .iter()
        .map(|s| ((s[0] - c[0]).powi(2) + (s[1] - c[1]).powi(2) + (s[2] - c[2]).powi(2)).sqrt() + s[3])
        .fold(0.0, f64::max);
    [c[0], c[1], c[2], r]
}

/// A unit's geometry as binary glTF: positions in ECEF about their centre (`CESIUM_RTC`), y up
/// as glTF has it; one primitive per geometry, its texture (JPEG/PNG as the file holds it, raw
/// pixels as PNG) unlit.
fn glb(file: &Path, u: &Unit, to: &ToEcef) -> Result<Vec<u8>> {
    let mut bin: Vec<u8> = Vec::new();
    let mut views = Vec::new();
    let mut accessors = Vec::new();
    let mut images = Vec::new();
    let mut materials = Vec::new();
    let mut primitives = Vec::new();
    let mut image_of: HashMap<*const Image, usize> = HashMap::new();
    let centre = to.points(&[u.center])?[0];
    let mut push_view = |bin: &mut Vec<u8>, bytes: &[u8], target: Option<u32>| -> usize {
        while !bin.len().is_multiple_of(4) {
            bin.push(0);
        }
        let mut v = serde_json::json!({"buffer": 0, "byteOffset": bin.len(), "byteLength": bytes.len()});
        if let Some(t) = target {
            v["target"] = t.into();
        }
        bin.extend_from_slice(bytes);
        views.push(v);
        views.len() - 1
    };
    for (g, m) in &u.geoms {
        if g.indices.is_empty() || g.positions.is_empty() {
            continue;
        }
        let model: Vec<[f64; 3]> = g.positions.iter().map(|p| point(m, *p)).collect();
        let ecef = to.points(&model)?;
        // ECEF about the centre, z up → glTF's y up: (x, z, −y).
        let mut pos = Vec::with_capacity(ecef.len() * 12);
        let mut lo = [f32::INFINITY; 3];
        let mut hi = [f32::NEG_INFINITY; 3];
        for p in &ecef {
            let d = [(p[0] - centre[0]) as f32, (p[2] - centre[2]) as f32, -(p[1] - centre[1]) as f32];
            for k in 0..3 {
                lo[k] = lo[k].min(d[k]);
                hi[k] = hi[k].max(d[k]);
                pos.extend_from_slice(&d[k].to_le_bytes());
            }
        }
        let pv = push_view(&mut bin, &pos, Some(34962));
        accessors
            .push(serde_json::json!({"bufferView": pv, "componentType": 5126, "count": ecef.len(), "type": "VEC3", "min": lo, "max": hi}));
        let mut attributes = serde_json::json!({"POSITION": accessors.len() - 1});
        // A mirroring transform turns the winding.
        let mirrored = crate::gltf::det3(m) < 0.0;
        let mut idx = Vec::with_capacity(g.indices.len() * 4);
        for t in g.indices.chunks_exact(3) {
            let t = if mirrored { [t[0], t[2], t[1]] } else { [t[0], t[1], t[2]] };
            for i in t {
                idx.extend_from_slice(&i.to_le_bytes());
            }
        }
        let iv = push_view(&mut bin, &idx, Some(34963));
        accessors.push(serde_json::json!({"bufferView": iv, "componentType": 5125, "count": g.indices.len() / 3 * 3, "type": "SCALAR"}));
        let indices = accessors.len() - 1;
        let mut primitive = serde_json::json!({"attributes": {}, "indices": indices, "mode": 4});
        if let (Some(img), true) = (&g.texture, g.uvs.len() == g.positions.len()) {
            // OpenGL's texture origin is the bottom row, glTF's the top.
            let mut uv = Vec::with_capacity(g.uvs.len() * 8);
            for t in &g.uvs {
                uv.extend_from_slice(&t[0].to_le_bytes());
                uv.extend_from_slice(&(1.0 - t[1]).to_le_bytes());
            }
            let uvv = push_view(&mut bin, &uv, Some(34962));
            accessors.push(serde_json::json!({"bufferView": uvv, "componentType": 5126, "count": g.uvs.len(), "type": "VEC2"}));
            attributes["TEXCOORD_0"] = (accessors.len() - 1).into();
            let key = Arc::as_ptr(img);
            let im = match image_of.get(&key) {
                Some(i) => *i,
                None => {
                    let (bytes, mime) = img.encoded(file)?;
                    let v = push_view(&mut bin, &bytes, None);
                    images.push(serde_json::json!({"bufferView": v, "mimeType": mime}));
                    materials.push(serde_json::json!({
                        "pbrMetallicRoughness": {"baseColorTexture": {"index": images.len() - 1}, "metallicFactor": 0.0, "roughnessFactor": 1.0},
                        "extensions": {"KHR_materials_unlit": {}},
                    }));
                    image_of.insert(key, images.len() - 1);
                    images.len() - 1
                }
            };
            primitive["material"] = im.into();
        }
        primitive["attributes"] = attributes;
        primitives.push(primitive);
    }
    if primitives.is_empty() {
        return Err(bad(file, "a tile without triangles"));
    }
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let textures: Vec<serde_json::Value> = (0..images.len()).map(|i| serde_json::json!({"source": i, "sampler": 0})).collect();
    let mut json = serde_json::json!({
        "asset": {"version": "2.0", "generator": "Jingwei (OSGB)"},
        "extensionsUsed": ["CESIUM_RTC", "KHR_materials_unlit"],
        "extensions": {"CESIUM_RTC": {"center": centre}},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": primitives}],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": bin.len()}],
    });
    if !images.is_empty() {
        json["images"] = images.into();
        json["textures"] = textures.into();
        json["materials"] = materials.into();
        json["samplers"] = serde_json::json!([{"magFilter": 9729, "minFilter": 9987, "wrapS": 33071, "wrapT": 33071}]);
    }
    let mut text = serde_json::to_vec(&json).expect("JSON");
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    let total = 12 + 8 + text.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    Ok(out)
}

impl Fetch for Oblique {
    fn fetch(&self, path: &Path) -> Result<Vec<u8>> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path == self.dir.join("tileset.json") {
            return Ok(self.root.clone());
        }
        if let Some(file) = name.strip_suffix(".json") {
            return self.file_tileset(&path.with_file_name(file));
        }
        if let Some(stem) = name.strip_suffix(".glb")
            && let Some((file, k)) = stem.rsplit_once('.')
            && let Ok(k) = k.parse::<usize>()
        {
            return self.content(&path.with_file_name(file), k);
        }
        Err(bad(path, "not a file of this model"))
    }
}

/// The root files: `Data/<folder>/<folder>.osgb`, else every `.osgb` directly in `Data/`.
fn roots(dir: &Path) -> Result<Vec<PathBuf>> {
    let data = dir.join("Data");
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&data).map_err(|e| LayersError::io(&data, e))?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            let name = p.file_name().map(|n| n.to_owned()).unwrap_or_default();
            let mut f = p.join(&name);
            f.as_mut_os_string().push(".osgb");
            if f.is_file() {
                out.push(f);
            }
        } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("osgb")) {
            out.push(p);
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(bad(&data, "no Tile_*/Tile_*.osgb files"));
    }
    Ok(out)
}

/// The model's centre in longitude and latitude (degrees), from its origin.
pub fn lonlat(meta: &Metadata) -> Result<(f64, f64)> {
    let to = ToEcef::new(meta, None)?;
    let p = to.points(&[[0.0; 3]])?[0];
    let (lon, lat, _) = tiles3d::ecef_to_geodetic(p);
    Ok((lon.to_degrees(), lat.to_degrees()))
}

/// Open an oblique model (its folder or `metadata.xml`) as a tileset streamed from its files:
/// the root files are read now (for their spheres), the finer levels when reached. Vertices go
/// through `target` (the workspace CRS) on their way to ECEF when it is given.
pub fn open_in(path: &Path, target: Option<&Crs>) -> Result<Tileset> {
    let dir = folder(path).ok_or_else(|| bad(path, "not an oblique model (a folder with metadata.xml and Data/)"))?;
    let meta = metadata(&dir)?;
    let mut fetch = Oblique {
        dir: dir.clone(),
        meta,
        target: target.cloned(),
        root: Vec::new(),
        recent: Mutex::new(Vec::new()),
        ecef: Mutex::new(Vec::new()),
    };
    // Each root file's tiles, under a root that holds nothing: the root files are read now (in
    // parallel), the finer levels when reached. Each run of the pool's work has a transformer of
    // its own, dropped after it: none is left behind on the pool's threads once the model is gone.
    let files = roots(&dir)?;
    use rayon::prelude::*;
    let tiles: Vec<Option<(serde_json::Value, [f64; 4])>> = files
        .par_iter()
        .map_init(
            || ToEcef::new(&fetch.meta, fetch.target.as_ref()).map_err(|e| e.to_string()),
            |to, f| {
                let to = to.as_ref().map_err(|e| bad(&dir, e))?;
                let bytes = std::fs::read(f).map_err(|e| LayersError::io(f, e))?;
                let units = units(&read::parse(f, &bytes)?);
                let rel = f.strip_prefix(&dir).unwrap_or(f).to_string_lossy().replace('\\', "/");
                let prefix = rel.rsplit_once('/').map_or(String::new(), |(d, _)| format!("{d}/"));
                Oblique::file_tile(to, &prefix, f, &units)
            },
        )
        .collect::<Result<_>>()?;
    let (children, spheres): (Vec<serde_json::Value>, Vec<[f64; 4]>) = tiles.into_iter().flatten().unzip();
    if children.is_empty() {
        return Err(bad(&dir, "no geometry in the root files"));
    }
    let s = enclosing(&spheres);
    let ts = serde_json::json!({
        "asset": {"version": "1.1", "generator": "Jingwei (OSGB)"},
        "geometricError": WRAPPER_ERROR,
        "root": {"boundingVolume": {"sphere": s}, "geometricError": WRAPPER_ERROR, "refine": "REPLACE", "children": children},
    });
    fetch.root = serde_json::to_vec(&ts).expect("JSON");
    let mut ts = tiles3d::open_lazy(&dir.join("tileset.json"), Arc::new(fetch))?;
    ts.path = path.to_owned();
    Ok(ts)
}

/// What [`convert`] wrote.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Converted {
    /// `.osgb` files read.
    pub files: usize,
    /// Tile contents (GLB) written.
    pub contents: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// Write an oblique model out as a 3D Tiles 1.1 tileset in `out` (made; it must be empty or
/// absent): `tileset.json`, one external tileset per `.osgb` file and one GLB per tile, named
/// after their files. Every file of the tree is read. The tileset is placed in ECEF (through
/// CGCS2000), for any viewer.
pub fn convert(path: &Path, out: &Path) -> Result<Converted> {
    let dir = folder(path).ok_or_else(|| bad(path, "not an oblique model (a folder with metadata.xml and Data/)"))?;
    if out.exists() && std::fs::read_dir(out).map_err(|e| LayersError::io(out, e))?.next().is_some() {
        return Err(LayersError::Invalid(format!("{}: the output folder is not empty", out.display())));
    }
    let ts = open_in(&dir, None)?;
    let fetch = ts.fetch.clone();
    let mut done = Converted {
        files: roots(&dir)?.len(),
        ..Converted::default()
    };
    let write = |rel: &Path, bytes: &[u8], done: &mut Converted| -> Result<()> {
        let to = out.join(rel);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(|e| LayersError::io(p, e))?;
        }
        // Written beside, then renamed: a stopped conversion leaves no half file.
        let tmp = to.with_extension("part");
        std::fs::write(&tmp, bytes).map_err(|e| LayersError::io(&tmp, e))?;
        std::fs::rename(&tmp, &to).map_err(|e| LayersError::io(&to, e))?;
        done.bytes += bytes.len() as u64;
        Ok(())
    };
    let mut queue = vec![dir.join("tileset.json")];
    let mut seen = std::collections::HashSet::new();
    while let Some(p) = queue.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        let bytes = fetch.fetch(&p)?;
        let rel = p.strip_prefix(&dir).unwrap_or(&p).to_owned();
        if p.extension().is_some_and(|e| e == "json") {
            if p.file_name().is_some_and(|n| n != "tileset.json") {
                done.files += 1;
            }
            let j: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(&p, e))?;
            let mut stack = vec![&j["root"]];
            while let Some(t) = stack.pop() {
                for c in t["contents"].as_array().into_iter().flatten().chain(t.get("content")) {
                    if let Some(uri) = c["uri"].as_str() {
                        queue.push(crate::tiles3d::archive::normalize(&p.parent().unwrap_or(&dir).join(uri)));
                    }
                }
                stack.extend(t["children"].as_array().into_iter().flatten());
            }
        } else {
            done.contents += 1;
        }
        write(&rel, &bytes, &mut done)?;
    }
    Ok(done)
}
