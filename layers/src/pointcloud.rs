//! Point clouds from LAS, LAZ and COPC files, drawn as 3D Tiles point contents so that they
//! stream within the same memory budget, by the same screen-space error, as a city's tileset.
//!
//! A COPC file's octree becomes the tileset's tree: one tile per hierarchy node (ADD refinement:
//! each level adds points between its parent's), its geometric error the node's point spacing,
//! its content the node's chunk, decompressed when the streamer asks for it. A plain LAS or LAZ
//! file is one tile holding an even sample of at most [`CloudOptions::budget_points`] points.
//!
//! Points go from the file's CRS (its WKT or GeoTIFF keys) through longitude and latitude
//! (PROJ) into ECEF about each tile's own centre, as `pnts` contents carry them; the streamer
//! places them in the workspace CRS. Heights are the file's, in metres (a CRS in feet has its
//! heights in feet too). Colours are baked into the
//! content: the file's RGB, the ASPRS classification's palette, or a ramp over the heights.

use crate::crs::{Crs, Transformer};
use crate::error::{LayersError, Result};
use crate::tiles3d::archive::Fetch;
use crate::tiles3d::{self, Tileset};
use std::collections::HashMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What colours the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColourBy {
    /// The file's RGB, else the classification, else the height.
    #[default]
    Auto,
    /// The file's RGB.
    Rgb,
    /// The ASPRS classification.
    Classification,
    /// A ramp from the lowest to the highest point.
    Height,
}

/// How a cloud is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloudOptions {
    /// Most points of a plain LAS/LAZ file kept (an even sample); a COPC file streams its
    /// levels instead, within the streamer's memory budget.
    pub budget_points: usize,
    /// What colours the points.
    pub colour_by: ColourBy,
}

impl Default for CloudOptions {
    fn default() -> Self {
        CloudOptions {
            budget_points: 2_000_000,
            colour_by: ColourBy::Auto,
        }
    }
}

/// What a file holds, from its header.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudInfo {
    /// Points in the file.
    pub points: u64,
    /// The file's CRS.
    pub crs: Crs,
    /// Bounds in the file's CRS: min x, y, z, max x, y, z.
    pub bounds: [f64; 6],
    /// Whether it is COPC.
    pub copc: bool,
    /// COPC octree nodes with points.
    pub nodes: usize,
    /// Whether points carry RGB.
    pub rgb: bool,
}

fn bad(path: &Path, detail: impl std::fmt::Display) -> LayersError {
    LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("point cloud: {detail}"),
    }
}

/// Whether a path names a LAS or LAZ file (COPC included).
pub fn is_pointcloud(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("las") || e.eq_ignore_ascii_case("laz"))
}

/// The CRS a header names (WKT, else GeoTIFF keys).
fn header_crs(path: &Path, h: &las::Header) -> Result<Crs> {
    if let Some(wkt) = h.get_wkt_crs_bytes() {
        let text = String::from_utf8_lossy(wkt).trim_end_matches('\0').trim().to_owned();
        if !text.is_empty() {
            return Crs::parse(&text);
        }
    }
    if let Ok(Some(g)) = h.get_geotiff_crs() {
        if let Some(code) = g.get_projected_crs_geo_key_value().filter(|c| *c != 0 && *c != 32767) {
            return Crs::parse(&format!("EPSG:{code}"));
        }
        if let Some(code) = g.get_geodetic_crs_geo_key_value().filter(|c| *c != 0 && *c != 32767) {
            return Crs::parse(&format!("EPSG:{code}"));
        }
    }
    Err(LayersError::MissingCrs {
        path: path.to_owned(),
        layer: "points".into(),
    })
}

/// Read a file's header.
pub fn info(path: &Path) -> Result<CloudInfo> {
    let reader = las::Reader::from_path(path).map_err(|e| open_error(path, e))?;
    let h = reader.header();
    let crs = header_crs(path, h)?;
    let b = h.bounds();
    let copc = h.copc_info_vlr().is_some();
    let nodes = if copc {
        las::CopcReader::from_path(path)
            .map_err(|e| bad(path, e))?
            .hierarchy_entries()
            .filter(|e| e.point_count > 0)
            .count()
    } else {
        0
    };
    Ok(CloudInfo {
        points: h.number_of_points(),
        crs,
        bounds: [b.min.x, b.min.y, b.min.z, b.max.x, b.max.y, b.max.z],
        copc,
        nodes,
        rgb: h.point_format().has_color,
    })
}

fn open_error(path: &Path, e: las::Error) -> LayersError {
    match e {
        las::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => LayersError::NotFound { path: path.to_owned() },
        e => bad(path, e),
    }
}

/// Open a cloud as a tileset (its root `tileset.json` addressed under the file's own path).
pub fn open(path: &Path, opts: CloudOptions) -> Result<Tileset> {
    open_in(path, opts, None)
}

/// The file's coordinates to longitude and latitude (CGCS2000), through `target` when given:
/// the streamer places ECEF points in the workspace through CGCS2000, so going through the
/// workspace CRS first makes the whole trip the one PROJ takes from the file to the workspace.
pub(crate) struct ToLonLat(Transformer, Option<Transformer>);

impl ToLonLat {
    pub(crate) fn new(from: &Crs, target: Option<&Crs>) -> Result<ToLonLat> {
        let geo = Crs::cgcs2000()?;
        Ok(match target {
            Some(t) => ToLonLat(Transformer::new(from, t)?, Some(Transformer::new(t, &geo)?)),
            None => ToLonLat(Transformer::new(from, &geo)?, None),
        })
    }

    /// Many points at once (x, y in, longitude and latitude out).
    pub(crate) fn transform_in_place(&self, xy: &mut [(f64, f64)]) -> Result<()> {
        self.0.transform_in_place(xy)?;
        match &self.1 {
            Some(t) => t.transform_in_place(xy),
            None => Ok(()),
        }
    }

    fn transform(&self, x: f64, y: f64) -> Result<(f64, f64)> {
        let (x, y) = self.0.transform(x, y)?;
        match &self.1 {
            Some(t) => t.transform(x, y),
            None => Ok((x, y)),
        }
    }
}

/// [`open`] for a workspace in `target`: points go through the workspace CRS on their way to
/// ECEF, so that the trip is the one PROJ takes from the file to the workspace.
pub fn open_in(path: &Path, opts: CloudOptions, target: Option<&Crs>) -> Result<Tileset> {
    let info = info(path)?;
    let to_lonlat = ToLonLat::new(&info.crs, target)?;
    let colour = match opts.colour_by {
        ColourBy::Auto if info.rgb => ColourBy::Rgb,
        ColourBy::Auto => ColourBy::Classification,
        ColourBy::Rgb if !info.rgb => ColourBy::Height,
        c => c,
    };
    // Heights in the CRS's linear unit (feet in many US files) become metres.
    let zunit = info.crs.linear_unit_m();
    let ecef = |x: f64, y: f64, z: f64| -> Result<[f64; 3]> {
        let (lon, lat) = to_lonlat.transform(x, y)?;
        Ok(tiles3d::geodetic_to_ecef(lon.to_radians(), lat.to_radians(), z * zunit))
    };
    // A sphere about a box of the file's CRS: its corners in ECEF.
    let sphere = |b: [f64; 6]| -> Result<[f64; 4]> {
        let mut pts = Vec::with_capacity(8);
        for &x in &[b[0], b[3]] {
            for &y in &[b[1], b[4]] {
                for &z in &[b[2], b[5]] {
                    pts.push(ecef(x, y, z)?);
                }
            }
        }
        let c = ecef((b[0] + b[3]) / 2.0, (b[1] + b[4]) / 2.0, (b[2] + b[5]) / 2.0)?;
        let r = pts
            .iter()
            .map(|p| ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2)).sqrt())
            .fold(0.0, f64::max);
        Ok([c[0], c[1], c[2], r.max(0.01)])
    };
    let root_dir = crate::tiles3d::archive::normalize(path);
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    let source = if info.copc {
        let reader = las::CopcReader::from_path(path).map_err(|e| bad(path, e))?;
        let copc = reader.header().copc_info_vlr().ok_or_else(|| bad(path, "no COPC info"))?;
        let entries: HashMap<(i32, i32, i32, i32), las::copc::Entry> = reader
            .hierarchy_entries()
            .map(|e| ((e.key.l, e.key.x, e.key.y, e.key.z), e))
            .collect();
        // The tree from the root key down the keys present (with points or with children).
        fn node(
            key: (i32, i32, i32, i32),
            entries: &HashMap<(i32, i32, i32, i32), las::copc::Entry>,
            copc: &las::copc::CopcInfoVlr,
            sphere: &dyn Fn([f64; 6]) -> Result<[f64; 4]>,
        ) -> Result<serde_json::Value> {
            let (l, x, y, z) = key;
            let size = copc.halfsize * 2.0 / f64::from(1u32 << l.clamp(0, 30));
            let min = [
                copc.center_x - copc.halfsize + size * f64::from(x),
                copc.center_y - copc.halfsize + size * f64::from(y),
                copc.center_z - copc.halfsize + size * f64::from(z),
            ];
            let b = [min[0], min[1], min[2], min[0] + size, min[1] + size, min[2] + size];
            let mut children = Vec::new();
            for d in 0..8 {
                let k = (l + 1, 2 * x + (d & 1), 2 * y + ((d >> 1) & 1), 2 * z + ((d >> 2) & 1));
                if entries.contains_key(&k) {
                    children.push(node(k, entries, copc, sphere)?);
                }
            }
            let spacing = copc.spacing / f64::from(1u32 << l.clamp(0, 30));
            let mut t = serde_json::json!({
                "boundingVolume": {"sphere": sphere(b)?},
                "geometricError": if children.is_empty() { 0.0 } else { spacing },
                "refine": "ADD",
            });
            if entries.get(&key).is_some_and(|e| e.point_count > 0) {
                t["content"] = serde_json::json!({"uri": format!("{l}-{x}-{y}-{z}.pnts")});
            }
            if !children.is_empty() {
                t["children"] = serde_json::Value::Array(children);
            }
            Ok(t)
        }
        let root = node((0, 0, 0, 0), &entries, &copc, &sphere)?;
        let ts = serde_json::json!({"asset": {"version": "1.0", "generator": "Jingwei (COPC)"}, "geometricError": copc.spacing * 4.0, "root": root});
        files.insert("tileset.json".into(), serde_json::to_vec(&ts).expect("JSON"));
        Source::Copc {
            reader: Box::new(Mutex::new(reader)),
            entries,
        }
    } else {
        let ts = serde_json::json!({
            "asset": {"version": "1.0", "generator": "Jingwei (LAS)"},
            "geometricError": 0.0,
            "root": {"boundingVolume": {"sphere": sphere(info.bounds)?}, "geometricError": 0.0, "refine": "ADD", "content": {"uri": "points.pnts"}}
        });
        files.insert("tileset.json".into(), serde_json::to_vec(&ts).expect("JSON"));
        Source::Las {
            budget: opts.budget_points.max(1),
        }
    };
    let cloud = Cloud {
        path: path.to_owned(),
        root: root_dir.clone(),
        files,
        source,
        zunit,
        crs: info.crs.clone(),
        target: target.cloned(),
        colour,
        heights: [info.bounds[2], info.bounds[5]],
    };
    let mut ts = tiles3d::open_with(&root_dir.join("tileset.json"), std::sync::Arc::new(cloud))?;
    ts.path = path.to_owned();
    Ok(ts)
}

enum Source {
    Copc {
        reader: Box<Mutex<las::CopcReader<'static, BufReader<std::fs::File>>>>,
        entries: HashMap<(i32, i32, i32, i32), las::copc::Entry>,
    },
    Las {
        budget: usize,
    },
}

/// A cloud's files as a tileset's: its `tileset.json` and its contents, made when asked for.
struct Cloud {
    path: PathBuf,
    root: PathBuf,
    files: HashMap<String, Vec<u8>>,
    source: Source,
    /// The file's CRS (a PROJ transformer is made per content: they are not shared between
    /// threads).
    crs: Crs,
    /// Metres per unit of the file's heights.
    zunit: f64,
    target: Option<Crs>,
    colour: ColourBy,
    heights: [f64; 2],
}

impl std::fmt::Debug for Cloud {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cloud").field("path", &self.path).finish()
    }
}

impl Cloud {
    fn name<'p>(&self, path: &'p Path) -> Option<&'p str> {
        path.strip_prefix(&self.root).ok()?.to_str()
    }

    /// A content's points as pnts bytes.
    fn content(&self, name: &str) -> Result<Vec<u8>> {
        let points: Vec<las::Point> = match &self.source {
            Source::Copc { reader, entries } => {
                let key: Vec<i32> = name.trim_end_matches(".pnts").split('-').filter_map(|v| v.parse().ok()).collect();
                let e = (key.len() == 4)
                    .then(|| entries.get(&(key[0], key[1], key[2], key[3])))
                    .flatten()
                    .ok_or_else(|| bad(&self.path, format!("no octree node {name}")))?;
                let mut r = reader.lock().map_err(|_| bad(&self.path, "reader poisoned"))?;
                let data = r.read_entry(e).map_err(|err| bad(&self.path, err))?;
                data.points()
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|err| bad(&self.path, err))?
            }
            Source::Las { budget } => {
                let mut r = las::Reader::from_path(&self.path).map_err(|e| open_error(&self.path, e))?;
                let total = r.header().number_of_points();
                let stride = total.div_ceil(*budget as u64).max(1);
                let mut out = Vec::with_capacity((total / stride + 1) as usize);
                let mut i = 0u64;
                loop {
                    let chunk = r.read_points(1 << 16).map_err(|e| bad(&self.path, e))?;
                    if chunk.is_empty() {
                        break;
                    }
                    for p in chunk.points() {
                        let p = p.map_err(|e| bad(&self.path, e))?;
                        if i.is_multiple_of(stride) {
                            out.push(p);
                        }
                        i += 1;
                    }
                }
                out
            }
        };
        self.pnts(&points)
    }

    fn pnts(&self, points: &[las::Point]) -> Result<Vec<u8>> {
        let n = points.len();
        let to_lonlat = ToLonLat::new(&self.crs, self.target.as_ref())?;
        let mut ecef = Vec::with_capacity(n);
        for p in points {
            let (lon, lat) = to_lonlat.transform(p.x, p.y)?;
            ecef.push(tiles3d::geodetic_to_ecef(lon.to_radians(), lat.to_radians(), p.z * self.zunit));
        }
        let c = if n == 0 {
            [0.0; 3]
        } else {
            let s = ecef.iter().fold([0.0; 3], |a, p| [a[0] + p[0], a[1] + p[1], a[2] + p[2]]);
            [s[0] / n as f64, s[1] / n as f64, s[2] / n as f64]
        };
        let mut bin = Vec::with_capacity(n * 15);
        for p in &ecef {
            for k in 0..3 {
                bin.extend_from_slice(&((p[k] - c[k]) as f32).to_le_bytes());
            }
        }
        for p in points {
            bin.extend_from_slice(&self.rgb(p));
        }
        while !bin.len().is_multiple_of(8) {
            bin.push(0);
        }
        let mut json = serde_json::to_vec(&serde_json::json!({
            "POINTS_LENGTH": n,
            "RTC_CENTER": c,
            "POSITION": {"byteOffset": 0},
            "RGB": {"byteOffset": n * 12},
        }))
        .expect("JSON");
        while !(28 + json.len()).is_multiple_of(8) {
            json.push(b' ');
        }
        let total = 28 + json.len() + bin.len();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(b"pnts");
        for v in [1u32, total as u32, json.len() as u32, bin.len() as u32, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&json);
        out.extend_from_slice(&bin);
        Ok(out)
    }

    fn rgb(&self, p: &las::Point) -> [u8; 3] {
        match self.colour {
            ColourBy::Rgb => match p.color {
                // LAS colours are 16-bit; some writers put 8-bit values in them.
                Some(c) => {
                    let wide = c.red > 255 || c.green > 255 || c.blue > 255;
                    let s = |v: u16| if wide { (v >> 8) as u8 } else { v as u8 };
                    [s(c.red), s(c.green), s(c.blue)]
                }
                None => [200, 200, 200],
            },
            ColourBy::Classification | ColourBy::Auto => classification_colour(u8::from(p.classification)),
            ColourBy::Height => {
                let t = ((p.z - self.heights[0]) / (self.heights[1] - self.heights[0]).max(1e-9)).clamp(0.0, 1.0);
                ramp(t)
            }
        }
    }
}

/// The ASPRS LAS 1.4 classes' usual colours.
pub fn classification_colour(class: u8) -> [u8; 3] {
    match class {
        2 => [166, 118, 56],   // ground
        3 => [160, 214, 118],  // low vegetation
        4 => [76, 175, 80],    // medium vegetation
        5 => [27, 94, 32],     // high vegetation
        6 => [229, 57, 53],    // building
        7 => [255, 0, 255],    // low point (noise)
        9 => [30, 136, 229],   // water
        10 => [121, 85, 72],   // rail
        11 => [96, 96, 96],    // road surface
        13 => [255, 193, 7],   // wire guard
        14 => [255, 152, 0],   // wire conductor
        15 => [158, 158, 158], // transmission tower
        17 => [0, 188, 212],   // bridge deck
        18 => [255, 0, 255],   // high noise
        _ => [189, 189, 189],  // never classified, unclassified, others
    }
}

/// Blue to green to yellow to red.
fn ramp(t: f64) -> [u8; 3] {
    let stops = [[49.0, 54.0, 149.0], [69.0, 174.0, 96.0], [254.0, 224.0, 90.0], [215.0, 48.0, 39.0]];
    let x = t * 3.0;
    let i = (x.floor() as usize).min(2);
    let f = x - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    [0, 1, 2].map(|k| (a[k] + (b[k] - a[k]) * f).round() as u8)
}

impl Fetch for Cloud {
    fn fetch(&self, path: &Path) -> Result<Vec<u8>> {
        let name = self.name(path).ok_or_else(|| bad(path, "not a file of this cloud"))?;
        if let Some(b) = self.files.get(name) {
            return Ok(b.clone());
        }
        self.content(name)
    }

    fn size(&self, path: &Path) -> Option<u64> {
        let name = self.name(path)?;
        if let Some(b) = self.files.get(name) {
            return Some(b.len() as u64);
        }
        match &self.source {
            Source::Copc { entries, .. } => {
                let key: Vec<i32> = name.trim_end_matches(".pnts").split('-').filter_map(|v| v.parse().ok()).collect();
                // What the content will take: 15 bytes a point, against its compressed chunk.
                let e = entries.get(&(*key.first()?, *key.get(1)?, *key.get(2)?, *key.get(3)?))?;
                Some(u64::try_from(e.byte_size).ok()?)
            }
            Source::Las { .. } => std::fs::metadata(&self.path).ok().map(|m| m.len()),
        }
    }
}
