//! glTF 2.0 models (`.gltf` with embedded or side buffers, `.glb`, and the GLB inside a 3D Tiles
//! `.b3dm`) placed on the map: the triangles of every mesh of the default scene, with node
//! transforms applied, turned into one feature with 3D surfaces at a georeferenced position,
//! heading and scale. glTF is y-up with +z towards the viewer; placed, +x is east before the
//! heading turns it, −z north, y up. Compressed geometry (Draco, meshopt) is refused by name.

use std::path::Path;
use std::sync::Arc;

use geo::{ConvexHull, Geometry, MultiPoint, Point};
use serde_json::Value as J;

use crate::cityjson::{CityLayer, Surfaces};
use crate::crs::{Crs, Transformer};
use crate::error::{LayersError, Result};
use crate::layer::Layer;
use crate::value::{Column, FieldDef, FieldKind};

/// Where a model stands: its origin at (lon, lat) in CGCS2000/WGS 84 degrees, `height_m` up,
/// turned `heading_deg` clockwise from north, scaled by `scale`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Height of the model's origin, metres.
    #[serde(default)]
    pub height_m: f64,
    /// Clockwise from north, degrees.
    #[serde(default)]
    pub heading_deg: f64,
    /// Model units to metres.
    #[serde(default = "one")]
    pub scale: f64,
}

fn one() -> f64 {
    1.0
}

/// A model's triangles in its own frame (metres, y up).
pub type Triangles = Vec<[[f64; 3]; 3]>;

fn corrupt(path: &Path, detail: impl Into<String>) -> LayersError {
    LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("glTF: {}", detail.into()),
    }
}

/// Read the triangles of a `.gltf`, `.glb` or `.b3dm`.
pub fn read(path: &Path) -> Result<Triangles> {
    let bytes = std::fs::read(path).map_err(|e| LayersError::io(path, e))?;
    parse(path, &bytes)
}

/// [`read`] on the file's bytes (`path` names it in errors; a `.gltf`'s external buffers are
/// looked up beside it).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Triangles> {
    let m = parse_model(path, bytes)?;
    if m.indices.is_empty() {
        return Err(corrupt(path, "no triangles in the default scene"));
    }
    Ok(m.indices
        .chunks_exact(3)
        .map(|t| [m.positions[t[0] as usize], m.positions[t[1] as usize], m.positions[t[2] as usize]])
        .collect())
}

/// A model's geometry in its own frame (y up), node and instance transforms applied.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// Vertices of the triangles.
    pub positions: Vec<[f64; 3]>,
    /// Triangles, three indices each, counter-clockwise from outside.
    pub indices: Vec<u32>,
    /// Each triangle's feature: `_BATCHID` (b3dm) or `_FEATURE_ID_0` (EXT_mesh_features) of its
    /// first vertex; `u32::MAX` where there is none.
    pub triangle_features: Vec<u32>,
    /// Points of POINTS primitives.
    pub points: Vec<[f64; 3]>,
    /// Their colours (`COLOR_0`), one per point, or none at all.
    pub point_colors: Vec<[u8; 4]>,
    /// The centre that positions are relative to (`CESIUM_RTC`), in the z-up tile frame.
    pub rtc_center: Option<[f64; 3]>,
    /// Texture coordinates (`TEXCOORD_0` of textured primitives), one per position, or none at
    /// all where no primitive is textured.
    pub uvs: Vec<[f32; 2]>,
    /// Each triangle's base colour texture (an index into `images`), `u32::MAX` for none; empty
    /// where no primitive is textured.
    pub triangle_textures: Vec<u32>,
    /// The images textured triangles use, as their files hold them (PNG, JPEG).
    pub images: Vec<Vec<u8>>,
}

/// The geometry of a `.gltf`, `.glb` or `.b3dm`: triangles with their features, and points.
pub fn parse_model(path: &Path, bytes: &[u8]) -> Result<Model> {
    let u32_at = |b: &[u8], i: usize| -> Option<u32> { Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?)) };
    // A b3dm: a 28-byte header, feature and batch tables, then a GLB.
    let glb: &[u8] = if bytes.starts_with(b"b3dm") {
        let skip: usize = (3..7).map(|k| u32_at(bytes, 4 * k).unwrap_or(0) as usize).sum();
        bytes
            .get(28 + skip..)
            .ok_or_else(|| corrupt(path, "b3dm shorter than its header says"))?
    } else {
        bytes
    };
    let (json, bin): (J, Option<&[u8]>) = if glb.starts_with(b"glTF") {
        let jlen = u32_at(glb, 12).ok_or_else(|| corrupt(path, "GLB header"))? as usize;
        let json = glb.get(20..20 + jlen).ok_or_else(|| corrupt(path, "GLB JSON chunk"))?;
        let json = serde_json::from_slice(json).map_err(|e| corrupt(path, e.to_string()))?;
        let at = 20 + jlen;
        let bin = u32_at(glb, at).and_then(|l| glb.get(at + 8..at + 8 + l as usize));
        (json, bin)
    } else {
        (serde_json::from_slice(glb).map_err(|e| corrupt(path, e.to_string()))?, None)
    };
    // Extensions read here; any other that the file requires is refused by name.
    // Materials' and metadata extensions change no geometry.
    const READ: &[&str] = &[
        "EXT_mesh_gpu_instancing",
        "KHR_mesh_quantization",
        "CESIUM_RTC",
        "KHR_materials_unlit",
        "KHR_texture_transform",
        "KHR_texture_basisu",
        "EXT_mesh_features",
        "EXT_structural_metadata",
        "EXT_instance_features",
    ];
    if let Some(ext) = json["extensionsRequired"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| !e.as_str().is_some_and(|e| READ.contains(&e)))
    {
        return Err(corrupt(path, format!("needs the extension {ext}, which Jingwei does not read")));
    }
    // Buffers: the GLB's binary chunk, a data: URI or a file beside the model.
    let buffers: Vec<Vec<u8>> = json["buffers"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, b)| match b["uri"].as_str() {
            None => bin
                .map(<[u8]>::to_vec)
                .ok_or_else(|| corrupt(path, format!("buffer {i} has no data"))),
            Some(uri) if uri.starts_with("data:") => {
                let data = uri
                    .split_once(";base64,")
                    .map(|(_, d)| d)
                    .ok_or_else(|| corrupt(path, "a data: URI that is not base64"))?;
                base64_decode(data).ok_or_else(|| corrupt(path, format!("buffer {i}: bad base64")))
            }
            Some(uri) => {
                let file = path.parent().unwrap_or(Path::new(".")).join(uri);
                std::fs::read(&file).map_err(|e| LayersError::io(&file, e))
            }
        })
        .collect::<Result<_>>()?;
    // An accessor's elements as up to four f64 components (`want`: 1, 3 or 4 of them).
    let accessor = |i: u64, want: usize| -> std::result::Result<Vec<[f64; 4]>, String> {
        let a = &json["accessors"][i as usize];
        let count = a["count"].as_u64().ok_or("accessor without count")? as usize;
        let ty = a["type"].as_str().unwrap_or("");
        let comps = match ty {
            "SCALAR" => 1,
            "VEC2" => 2,
            "VEC3" => 3,
            "VEC4" => 4,
            other => return Err(format!("accessor type {other}")),
        };
        if want != comps {
            return Err(format!("accessor {i} is {ty}"));
        }
        let ct = a["componentType"].as_u64().unwrap_or(0);
        let normalized = a["normalized"].as_bool().unwrap_or(false);
        let size = match ct {
            5120 | 5121 => 1,
            5122 | 5123 => 2,
            5125 | 5126 => 4,
            other => return Err(format!("component type {other}")),
        };
        let bv = &json["bufferViews"][a["bufferView"].as_u64().ok_or("sparse or empty accessors are not read")? as usize];
        let buf = buffers
            .get(bv["buffer"].as_u64().unwrap_or(0) as usize)
            .ok_or("a buffer view names a buffer that is not there")?;
        let start = bv["byteOffset"].as_u64().unwrap_or(0) as usize + a["byteOffset"].as_u64().unwrap_or(0) as usize;
        let stride = bv["byteStride"].as_u64().map_or(size * comps, |s| s as usize);
        // Check the extent before allocating anything for it.
        if count > 0
            && start
                .saturating_add((count - 1).saturating_mul(stride))
                .saturating_add(size * comps)
                > buf.len()
        {
            return Err(format!("accessor {i} reads past its buffer"));
        }
        let mut out = Vec::with_capacity(count);
        for k in 0..count {
            let mut v = [0.0; 4];
            for c in 0..comps {
                let at = start + k * stride + c * size;
                let b = buf.get(at..at + size).ok_or("an accessor reads past its buffer")?;
                // Normalized integers map onto [0, 1] or [-1, 1], as the specification says.
                v[c] = match (ct, normalized) {
                    (5120, false) => f64::from(b[0] as i8),
                    (5120, true) => (f64::from(b[0] as i8) / 127.0).max(-1.0),
                    (5121, false) => f64::from(b[0]),
                    (5121, true) => f64::from(b[0]) / 255.0,
                    (5122, false) => f64::from(i16::from_le_bytes([b[0], b[1]])),
                    (5122, true) => (f64::from(i16::from_le_bytes([b[0], b[1]])) / 32767.0).max(-1.0),
                    (5123, false) => f64::from(u16::from_le_bytes([b[0], b[1]])),
                    (5123, true) => f64::from(u16::from_le_bytes([b[0], b[1]])) / 65535.0,
                    (5125, _) => f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                    _ => f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                };
            }
            out.push(v);
        }
        Ok(out)
    };
    // A primitive's base colour image (its index in `json.images`), if its material has one.
    let base_image = |p: &J| -> Option<u64> {
        let m = &json["materials"][p["material"].as_u64()? as usize];
        let t = m["pbrMetallicRoughness"]["baseColorTexture"]["index"].as_u64()?;
        json["textures"][t as usize]["source"].as_u64()
    };
    // An image's bytes: a buffer view, a data: URI or a file beside the model.
    let image_bytes = |i: u64| -> std::result::Result<Vec<u8>, String> {
        let im = &json["images"][i as usize];
        if let Some(v) = im["bufferView"].as_u64() {
            let bv = &json["bufferViews"][v as usize];
            let buf = buffers
                .get(bv["buffer"].as_u64().unwrap_or(0) as usize)
                .ok_or(format!("image {i}: no buffer"))?;
            let start = bv["byteOffset"].as_u64().unwrap_or(0) as usize;
            let len = bv["byteLength"].as_u64().unwrap_or(0) as usize;
            return buf
                .get(start..start.saturating_add(len))
                .map(<[u8]>::to_vec)
                .ok_or(format!("image {i} reads past its buffer"));
        }
        match im["uri"].as_str() {
            Some(uri) if uri.starts_with("data:") => uri
                .split_once(";base64,")
                .and_then(|(_, d)| base64_decode(d))
                .ok_or(format!("image {i}: a data: URI that is not base64")),
            Some(uri) => {
                let file = path.parent().unwrap_or(Path::new(".")).join(uri);
                std::fs::read(&file).map_err(|e| format!("image {i}: {}: {e}", file.display()))
            }
            None => Err(format!("image {i} has no data")),
        }
    };
    let mut image_slot: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    // Walk the default scene's nodes with their transforms.
    let mut model = Model {
        rtc_center: json["extensions"]["CESIUM_RTC"]["center"]
            .as_array()
            .filter(|c| c.len() == 3)
            .map(|c| std::array::from_fn(|k| c[k].as_f64().unwrap_or(0.0))),
        ..Model::default()
    };
    let scene = json["scene"].as_u64().unwrap_or(0) as usize;
    let roots: Vec<u64> = match json["scenes"][scene]["nodes"].as_array() {
        Some(n) => n.iter().filter_map(J::as_u64).collect(),
        // No scene: every node that is nobody's child.
        None => {
            let nodes = json["nodes"].as_array().map_or(&[][..], Vec::as_slice);
            let children: std::collections::HashSet<u64> = nodes
                .iter()
                .flat_map(|n| n["children"].as_array().into_iter().flatten().filter_map(J::as_u64))
                .collect();
            (0..nodes.len() as u64).filter(|n| !children.contains(n)).collect()
        }
    };
    let mut stack: Vec<(u64, [f64; 16])> = roots.into_iter().map(|n| (n, IDENTITY)).collect();
    let mut visited = 0;
    while let Some((n, parent)) = stack.pop() {
        visited += 1;
        if visited > 100_000 {
            return Err(corrupt(path, "the node hierarchy loops"));
        }
        let node = &json["nodes"][n as usize];
        let m = mul(&parent, &node_matrix(node));
        if let Some(mesh) = node["mesh"].as_u64() {
            // EXT_mesh_gpu_instancing: the mesh once per instance, each instance's
            // translation, rotation and scale applied before the node's own transform.
            let instances: Vec<[f64; 16]> = match node["extensions"]["EXT_mesh_gpu_instancing"]["attributes"].as_object() {
                None => vec![m],
                Some(attrs) => instance_matrices(attrs, &accessor)
                    .map_err(|e| corrupt(path, format!("node {n}: instancing: {e}")))?
                    .iter()
                    .map(|i| mul(&m, i))
                    .collect(),
            };
            for p in json["meshes"][mesh as usize]["primitives"].as_array().into_iter().flatten() {
                let mode = p["mode"].as_u64().unwrap_or(4);
                if mode != 4 && mode != 0 {
                    continue;
                }
                let pos = p["attributes"]["POSITION"]
                    .as_u64()
                    .ok_or_else(|| corrupt(path, "a primitive without POSITION"))?;
                let pos = accessor(pos, 3).map_err(|e| corrupt(path, e))?;
                if mode == 0 {
                    if model.points.len().saturating_add(pos.len().saturating_mul(instances.len())) > MAX_TRIANGLES {
                        return Err(corrupt(path, "more than 50 million points"));
                    }
                    let colors = match p["attributes"]["COLOR_0"].as_u64() {
                        None => None,
                        Some(c) => Some(
                            accessor(c, 4)
                                .or_else(|_| accessor(c, 3).map(|v| v.into_iter().map(|[r, g, b, _]| [r, g, b, 1.0]).collect()))
                                .map_err(|e| corrupt(path, e))?,
                        ),
                    };
                    for m in &instances {
                        for (k, q) in pos.iter().enumerate() {
                            model.points.push(apply(m, [q[0], q[1], q[2]]));
                            if let Some(c) = colors.as_ref().and_then(|c| c.get(k)) {
                                model.point_colors.push(c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8));
                            }
                        }
                    }
                    continue;
                }
                let idx: Vec<usize> = match p["indices"].as_u64() {
                    Some(i) => accessor(i, 1)
                        .map_err(|e| corrupt(path, e))?
                        .iter()
                        .map(|v| v[0] as usize)
                        .collect(),
                    None => (0..pos.len()).collect(),
                };
                if idx.iter().any(|&i| i >= pos.len()) {
                    return Err(corrupt(path, "an index past the vertices"));
                }
                let feature = ["_FEATURE_ID_0", "_BATCHID", "BATCHID"]
                    .iter()
                    .find_map(|a| p["attributes"][*a].as_u64())
                    .map(|a| accessor(a, 1).map_err(|e| corrupt(path, e)))
                    .transpose()?;
                let tris = model.indices.len() / 3;
                if tris.saturating_add((idx.len() / 3).saturating_mul(instances.len())) > MAX_TRIANGLES {
                    return Err(corrupt(path, "more than 50 million triangles"));
                }
                // A base colour texture with its coordinates (an image that cannot be read
                // leaves the primitive untextured: its geometry still counts).
                let textured = match (base_image(p), p["attributes"]["TEXCOORD_0"].as_u64()) {
                    (Some(im), Some(uv)) => {
                        let uv = accessor(uv, 2).map_err(|e| corrupt(path, e))?;
                        if uv.len() != pos.len() {
                            return Err(corrupt(path, "TEXCOORD_0 and POSITION differ in count"));
                        }
                        let slot = match image_slot.get(&im) {
                            Some(s) => Some(*s),
                            None => match image_bytes(im) {
                                Ok(b) => {
                                    model.images.push(b);
                                    let s = model.images.len() as u32 - 1;
                                    image_slot.insert(im, s);
                                    Some(s)
                                }
                                Err(_) => None,
                            },
                        };
                        slot.map(|s| (s, uv))
                    }
                    _ => None,
                };
                for m in &instances {
                    // A mirroring transform turns faces inside out: the spec reverses their winding.
                    let mirrored = det3(m) < 0.0;
                    let base = model.positions.len() as u32;
                    if textured.is_some() || !model.uvs.is_empty() {
                        model.uvs.resize(base as usize, [0.0; 2]);
                        model.triangle_textures.resize(model.indices.len() / 3, u32::MAX);
                        match &textured {
                            Some((_, uv)) => model.uvs.extend(uv.iter().map(|v| [v[0] as f32, v[1] as f32])),
                            None => model.uvs.resize(base as usize + pos.len(), [0.0; 2]),
                        }
                        let t = textured.as_ref().map_or(u32::MAX, |(s, _)| *s);
                        model.triangle_textures.resize(model.indices.len() / 3 + idx.len() / 3, t);
                    }
                    model.positions.extend(pos.iter().map(|q| apply(m, [q[0], q[1], q[2]])));
                    for t in idx.chunks_exact(3) {
                        let [a, b, c] = [t[0] as u32 + base, t[1] as u32 + base, t[2] as u32 + base];
                        model.indices.extend(if mirrored { [a, c, b] } else { [a, b, c] });
                        model
                            .triangle_features
                            .push(feature.as_ref().and_then(|f| f.get(t[0])).map_or(u32::MAX, |v| v[0] as u32));
                    }
                }
            }
        }
        for c in node["children"].as_array().into_iter().flatten().filter_map(J::as_u64) {
            stack.push((c, m));
        }
    }
    if model.indices.is_empty() && model.points.is_empty() {
        return Err(corrupt(path, "no triangles or points in the default scene"));
    }
    Ok(model)
}

/// The most triangles one model may hold (a guard against instancing bombs).
const MAX_TRIANGLES: usize = 50_000_000;

/// The transforms of EXT_mesh_gpu_instancing's instances: translation, rotation (a unit
/// quaternion) and scale per instance, each attribute optional, all of one count.
fn instance_matrices(
    attrs: &serde_json::Map<String, J>,
    accessor: &dyn Fn(u64, usize) -> std::result::Result<Vec<[f64; 4]>, String>,
) -> std::result::Result<Vec<[f64; 16]>, String> {
    let read = |name: &str, comps: usize| -> std::result::Result<Option<Vec<[f64; 4]>>, String> {
        attrs
            .get(name)
            .map(|i| {
                i.as_u64()
                    .ok_or_else(|| format!("{name} is not an accessor"))
                    .and_then(|i| accessor(i, comps))
            })
            .transpose()
    };
    let (t, r, s) = (read("TRANSLATION", 3)?, read("ROTATION", 4)?, read("SCALE", 3)?);
    let counts: Vec<usize> = [&t, &r, &s].iter().filter_map(|a| a.as_ref().map(Vec::len)).collect();
    let Some(&n) = counts.first() else {
        return Err("no TRANSLATION, ROTATION or SCALE".into());
    };
    if counts.iter().any(|&c| c != n) {
        return Err(format!("attribute counts differ: {counts:?}"));
    }
    Ok((0..n)
        .map(|k| {
            trs_matrix(
                t.as_ref().map_or([0.0; 3], |v| [v[k][0], v[k][1], v[k][2]]),
                r.as_ref().map_or([0.0, 0.0, 0.0, 1.0], |v| v[k]),
                s.as_ref().map_or([1.0; 3], |v| [v[k][0], v[k][1], v[k][2]]),
            )
        })
        .collect())
}

const IDENTITY: [f64; 16] = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];

/// Column-major 4×4, as glTF stores it.
fn node_matrix(node: &J) -> [f64; 16] {
    if let Some(m) = node["matrix"].as_array().filter(|m| m.len() == 16) {
        let mut out = [0.0; 16];
        for (o, v) in out.iter_mut().zip(m) {
            *o = v.as_f64().unwrap_or(0.0);
        }
        return out;
    }
    // Exactly as many numbers as the property has (a short or long array is not a panic).
    fn v<const N: usize>(node: &J, k: &str, d: [f64; N]) -> [f64; N] {
        match node[k].as_array() {
            Some(a) if a.len() == N => std::array::from_fn(|i| a[i].as_f64().unwrap_or(0.0)),
            _ => d,
        }
    }
    trs_matrix(
        v(node, "translation", [0.0; 3]),
        v(node, "rotation", [0.0, 0.0, 0.0, 1.0]),
        v(node, "scale", [1.0; 3]),
    )
}

/// Column-major 4×4 of a translation, a rotation (quaternion x, y, z, w) and a scale.
fn trs_matrix(t: [f64; 3], r: [f64; 4], s: [f64; 3]) -> [f64; 16] {
    // Normalized: files round their quaternions (three decimals are common), and an unnormalized
    // one would scale the model as well as turn it.
    let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
    let [x, y, z, w] = if norm > 1e-12 { r.map(|v| v / norm) } else { [0.0, 0.0, 0.0, 1.0] };
    // Rotation matrix of the unit quaternion, columns scaled.
    let rot = [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + z * w), 2.0 * (x * z - y * w)],
        [2.0 * (x * y - z * w), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + x * w)],
        [2.0 * (x * z + y * w), 2.0 * (y * z - x * w), 1.0 - 2.0 * (x * x + y * y)],
    ];
    [
        rot[0][0] * s[0],
        rot[0][1] * s[0],
        rot[0][2] * s[0],
        0.0,
        rot[1][0] * s[1],
        rot[1][1] * s[1],
        rot[1][2] * s[1],
        0.0,
        rot[2][0] * s[2],
        rot[2][1] * s[2],
        rot[2][2] * s[2],
        0.0,
        t[0],
        t[1],
        t[2],
        1.0,
    ]
}

fn mul(a: &[f64; 16], b: &[f64; 16]) -> [f64; 16] {
    let mut out = [0.0; 16];
    for c in 0..4 {
        for r in 0..4 {
            out[c * 4 + r] = (0..4).map(|k| a[k * 4 + r] * b[c * 4 + k]).sum();
        }
    }
    out
}

/// Determinant of the upper 3×3 (column-major).
pub(crate) fn det3(m: &[f64; 16]) -> f64 {
    m[0] * (m[5] * m[10] - m[9] * m[6]) - m[4] * (m[1] * m[10] - m[9] * m[2]) + m[8] * (m[1] * m[6] - m[5] * m[2])
}

fn apply(m: &[f64; 16], p: [f64; 3]) -> [f64; 3] {
    [
        m[0] * p[0] + m[4] * p[1] + m[8] * p[2] + m[12],
        m[1] * p[0] + m[5] * p[1] + m[9] * p[2] + m[13],
        m[2] * p[0] + m[6] * p[1] + m[10] * p[2] + m[14],
    ]
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        })
    };
    let clean: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        out.extend(&n.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

/// Place a model: one feature (its name, file and triangle count) whose footprint is the hull
/// of its triangles, with its triangles as surfaces, in the CRS `crs` (projected, metres).
pub fn place(path: &Path, tris: &Triangles, at: &Placement, crs: &Crs) -> Result<CityLayer> {
    let to = Transformer::new(&Crs::cgcs2000()?, crs)?;
    let (ox, oy) = to.transform(at.lon, at.lat)?;
    let (s, c) = at.heading_deg.to_radians().sin_cos();
    let world = |p: [f64; 3]| -> [f64; 3] {
        // Model frame: x right, y up, z towards the viewer (south); turn clockwise from north.
        let (e, n) = (p[0] * at.scale, -p[2] * at.scale);
        [ox + e * c + n * s, oy - e * s + n * c, at.height_m + p[1] * at.scale]
    };
    let surfaces: Vec<Vec<Vec<[f64; 3]>>> = tris.iter().map(|t| vec![t.iter().map(|p| world(*p)).collect()]).collect();
    let hull: MultiPoint = surfaces.iter().flatten().flatten().map(|p| Point::new(p[0], p[1])).collect();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let layer = Layer {
        name: path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        source_path: path.to_owned(),
        driver: "glTF".into(),
        geometry_type: "Polygon".into(),
        crs: Some(crs.clone()),
        fields: vec![
            FieldDef {
                name: "model".into(),
                alias: String::new(),
                kind: FieldKind::Text,
            },
            FieldDef {
                name: "triangles".into(),
                alias: String::new(),
                kind: FieldKind::Integer,
            },
        ],
        columns: vec![
            Column::Text([Some(name.as_str())].into_iter().collect()),
            Column::Integer(vec![Some(tris.len() as i64)].into()),
        ],
        fids: vec![1],
        geometries: vec![Some(Geometry::Polygon(hull.convex_hull()))].into(),
        encoding: None,
        issues: Vec::new(),
    };
    Ok(CityLayer {
        layer,
        surfaces: Arc::new(Surfaces {
            rows: vec![surfaces],
            base_z: None,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trs_matrices_compose() {
        // Turn 90° about y, then move 10 along x: (1, 0, 0) → (0, 0, −1) → (10, 0, −1).
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let node = serde_json::json!({"translation": [10.0, 0.0, 0.0], "rotation": [0.0, h, 0.0, h]});
        let p = apply(&mul(&IDENTITY, &node_matrix(&node)), [1.0, 0.0, 0.0]);
        assert!(
            (p[0] - 10.0).abs() < 1e-9 && p[1].abs() < 1e-9 && (p[2] + 1.0).abs() < 1e-9,
            "{p:?}"
        );
        assert!(det3(&node_matrix(&serde_json::json!({"scale": [-1.0, 1.0, 1.0]}))) < 0.0);
        assert!(det3(&node_matrix(&node)) > 0.0);
        assert_eq!(base64_decode("AAAB").unwrap(), vec![0, 0, 1]);
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
    }
}
