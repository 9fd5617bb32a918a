//! A tile's content as geometry in the workspace CRS: b3dm, i3dm, pnts, cmpt and glTF/GLB
//! decoded to triangles (with each triangle's feature) and points (with their colours) in ECEF
//! — glTF's y-up turned z-up, `RTC_CENTER`/`CESIUM_RTC` added, instances placed, the tile's
//! transform applied —, then through longitude/latitude (the closed-form geodetic inverse,
//! held to PROJ's) into the workspace CRS by its [`Transformer`] (PROJ, or the closed-form
//! Gauss-Krüger series; east/north whatever the CRS's own axis order), about a local origin
//! per content: the workspace point under its bounding volume's centre. The vertices are f32
//! metres east, north and up of that origin, so that a tile 100 km from the workspace origin
//! is as precise as one beside it.
//!
//! 3D Tiles' ECEF is WGS 84's; it is taken as CGCS2000's, which differs by centimetres at most
//! (the two frames agree to a few centimetres, the ellipsoids by 0.1 mm in b).

use super::{ContentKind, Tile, V3, bad, ecef_to_geodetic, mul, point};
use crate::crs::{Crs, Transformer};
use crate::{LayersError, Result};
use serde_json::Value as J;
use std::path::Path;

/// A content's geometry about its own origin.
#[derive(Debug, Clone, Default)]
pub struct TileGeometry {
    /// The origin: workspace x (east), y (north) and height above the ellipsoid (metres).
    pub origin: [f64; 3],
    /// Triangle vertices: metres east, north and up of `origin`.
    pub positions: Vec<[f32; 3]>,
    /// Triangles, three indices each.
    pub indices: Vec<u32>,
    /// Each triangle's feature (batch id); `u32::MAX` where there is none.
    pub triangle_features: Vec<u32>,
    /// Points (pnts, glTF POINTS), metres east, north and up of `origin`.
    pub points: Vec<[f32; 3]>,
    /// Their colours, one per point, or none.
    pub point_colors: Vec<[u8; 4]>,
    /// Features (batch length, instances, points) as the feature tables count them.
    pub features: u64,
    /// The batch tables' JSON (properties per feature, as arrays), one per inner content.
    pub batch_tables: Vec<J>,
    /// Texture coordinates, one per vertex of `positions`, or none where nothing is textured.
    pub uvs: Vec<[f32; 2]>,
    /// Each triangle's texture (an index into `textures`), `u32::MAX` for none; empty where
    /// nothing is textured.
    pub triangle_textures: Vec<u32>,
    /// The textures, decoded (off the frame path, where contents are decoded).
    pub textures: Vec<std::sync::Arc<Texture>>,
}

/// A texture decoded for drawing: RGBA8, rows from the top, at most [`MAX_TEXTURE`] a side.
#[derive(Debug, Clone, PartialEq)]
pub struct Texture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels, four bytes each.
    pub rgba: Vec<u8>,
}

/// The largest texture side drawn; larger images are scaled down when decoded.
pub const MAX_TEXTURE: u32 = 2048;

impl Texture {
    /// Decode a PNG or JPEG image, scaled down to [`MAX_TEXTURE`] a side where it is larger.
    pub fn decode(bytes: &[u8]) -> std::result::Result<Texture, String> {
        let img = image::load_from_memory(bytes).map_err(|e| e.to_string())?;
        let img = if img.width() > MAX_TEXTURE || img.height() > MAX_TEXTURE {
            img.resize(MAX_TEXTURE, MAX_TEXTURE, image::imageops::FilterType::Triangle)
        } else {
            img
        };
        let rgba = img.to_rgba8();
        Ok(Texture {
            width: rgba.width(),
            height: rgba.height(),
            rgba: rgba.into_raw(),
        })
    }
}

impl TileGeometry {
    /// Bytes held (what the memory budget counts).
    pub fn bytes(&self) -> usize {
        self.positions.len() * 12
            + self.indices.len() * 4
            + self.triangle_features.len() * 4
            + self.points.len() * 12
            + self.point_colors.len() * 4
            + self.batch_tables.iter().map(|j| j.to_string().len()).sum::<usize>()
            + self.uvs.len() * 8
            + self.triangle_textures.len() * 4
            + self.textures.iter().map(|t| t.rgba.len()).sum::<usize>()
            + std::mem::size_of::<Self>()
    }
}

/// ECEF to the workspace CRS, for one worker.
pub struct Placer {
    to_ws: Transformer,
}

impl Placer {
    /// A placer into `crs` (projected, metres).
    pub fn new(crs: &Crs) -> Result<Placer> {
        Ok(Placer {
            to_ws: Transformer::new(&Crs::cgcs2000()?, crs)?,
        })
    }

    /// ECEF points to workspace x, y and ellipsoidal height.
    pub fn place(&self, ecef: &[V3]) -> Result<Vec<[f64; 3]>> {
        let mut hs = Vec::with_capacity(ecef.len());
        let mut xy: Vec<(f64, f64)> = ecef
            .iter()
            .map(|p| {
                let (lon, lat, h) = ecef_to_geodetic(*p);
                hs.push(h);
                (lon.to_degrees(), lat.to_degrees())
            })
            .collect();
        self.to_ws.transform_in_place(&mut xy)?;
        Ok(xy.into_iter().zip(hs).map(|((x, y), h)| [x, y, h]).collect())
    }
}

/// What a content holds in ECEF, before it is placed.
#[derive(Default)]
struct Raw {
    positions: Vec<V3>,
    indices: Vec<u32>,
    features: Vec<u32>,
    points: Vec<V3>,
    colors: Vec<[u8; 4]>,
    count: u64,
    batch_tables: Vec<J>,
    uvs: Vec<[f32; 2]>,
    triangle_textures: Vec<u32>,
    images: Vec<Vec<u8>>,
}

/// Decode a content file of `tile` and place it in the workspace.
pub fn decode(path: &Path, bytes: &[u8], tile: &Tile, placer: &Placer) -> Result<TileGeometry> {
    decode_with(path, bytes, tile, placer, &super::Files)
}

/// [`decode`], reading what a content refers to (an i3dm's external glTF) through `fetch`.
pub fn decode_with(path: &Path, bytes: &[u8], tile: &Tile, placer: &Placer, fetch: &dyn super::Fetch) -> Result<TileGeometry> {
    let mut raw = Raw::default();
    let kind = match bytes.get(0..4) {
        Some(b"glTF") => ContentKind::Glb,
        Some(b"b3dm" | b"i3dm" | b"pnts" | b"cmpt") => ContentKind::Other,
        _ if bytes.first() == Some(&b'{') => ContentKind::Gltf,
        _ => ContentKind::Other,
    };
    if kind == ContentKind::Gltf {
        gltf_into(path, bytes, &tile.transform, None, &mut raw)?;
    } else {
        // Checks every length before anything is read.
        super::parse_content(path, bytes)?;
        content_into(path, bytes, &tile.transform, 0, fetch, &mut raw)?;
    }
    // The origin: the workspace point under the centre of the tile's volume.
    let origin = placer.place(&[tile.bounds.center()])?[0];
    let rel = |q: [f64; 3]| [(q[0] - origin[0]) as f32, (q[1] - origin[1]) as f32, (q[2] - origin[2]) as f32];
    let positions = placer.place(&raw.positions)?.into_iter().map(rel).collect();
    let points = placer.place(&raw.points)?.into_iter().map(rel).collect();
    // Textures decoded here, on the worker; one that cannot be decoded leaves its triangles
    // untextured rather than losing the tile.
    let mut uvs = raw.uvs;
    let mut triangle_textures = raw.triangle_textures;
    if !uvs.is_empty() {
        uvs.resize(raw.positions.len(), [0.0; 2]);
        triangle_textures.resize(raw.indices.len() / 3, u32::MAX);
    }
    let mut textures = Vec::with_capacity(raw.images.len());
    let mut slot = Vec::with_capacity(raw.images.len());
    for b in &raw.images {
        match Texture::decode(b) {
            Ok(t) => {
                slot.push(textures.len() as u32);
                textures.push(std::sync::Arc::new(t));
            }
            Err(_) => slot.push(u32::MAX),
        }
    }
    for t in &mut triangle_textures {
        *t = slot.get(*t as usize).copied().unwrap_or(u32::MAX);
    }
    Ok(TileGeometry {
        origin,
        positions,
        indices: raw.indices,
        triangle_features: raw.features,
        points,
        point_colors: raw.colors,
        features: raw.count,
        batch_tables: raw.batch_tables,
        uvs: if textures.is_empty() { Vec::new() } else { uvs },
        triangle_textures: if textures.is_empty() { Vec::new() } else { triangle_textures },
        textures,
    })
}

/// Read the whole file and [`decode`] it.
pub fn decode_file(path: &Path, tile: &Tile, placer: &Placer) -> Result<TileGeometry> {
    let bytes = std::fs::read(path).map_err(|e| LayersError::io(path, e))?;
    decode(path, &bytes, tile, placer)
}

fn u32_at(b: &[u8], i: usize) -> usize {
    b.get(i..i + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// The feature table (JSON, binary) and batch table JSON of a b3dm/i3dm/pnts of header length `head`.
fn tables<'a>(path: &Path, b: &'a [u8], head: usize) -> Result<(J, &'a [u8], J, usize)> {
    let (fj, fb, bj, bb) = (u32_at(b, 12), u32_at(b, 16), u32_at(b, 20), u32_at(b, 24));
    let end = head + fj + fb + bj + bb;
    if end > b.len() {
        return Err(bad(path, "the tables run past the content"));
    }
    let ft: J = if fj == 0 {
        J::Object(Default::default())
    } else {
        serde_json::from_slice(&b[head..head + fj]).map_err(|e| bad(path, format!("feature table: {e}")))?
    };
    let bin = &b[head + fj..head + fj + fb];
    let bt: J = if bj == 0 {
        J::Null
    } else {
        serde_json::from_slice(&b[head + fj + fb..head + fj + fb + bj]).unwrap_or(J::Null)
    };
    Ok((ft, bin, bt, end))
}

/// A feature-table property: `n` elements of `comps` components from the binary body (by
/// `byteOffset` and `componentType`) or, for globals, the JSON array itself.
fn property(path: &Path, ft: &J, bin: &[u8], name: &str, n: usize, comps: usize, default_type: &str) -> Result<Option<Vec<f64>>> {
    let Some(p) = ft.get(name) else {
        return Ok(None);
    };
    if let Some(a) = p.as_array() {
        return Ok(Some(a.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect()));
    }
    let off = p
        .get("byteOffset")
        .and_then(J::as_u64)
        .ok_or_else(|| bad(path, format!("feature table {name}: no byteOffset")))? as usize;
    let ty = p.get("componentType").and_then(J::as_str).unwrap_or(default_type);
    let size = match ty {
        "BYTE" | "UNSIGNED_BYTE" => 1,
        "SHORT" | "UNSIGNED_SHORT" => 2,
        "INT" | "UNSIGNED_INT" | "FLOAT" => 4,
        "DOUBLE" => 8,
        t => return Err(bad(path, format!("feature table {name}: component type {t}"))),
    };
    let len = n.saturating_mul(comps).saturating_mul(size);
    let data = off
        .checked_add(len)
        .and_then(|e| bin.get(off..e))
        .ok_or_else(|| bad(path, format!("feature table {name}: {n} elements run past the binary body")))?;
    Ok(Some(
        data.chunks_exact(size)
            .map(|c| match ty {
                "BYTE" => f64::from(c[0] as i8),
                "UNSIGNED_BYTE" => f64::from(c[0]),
                "SHORT" => f64::from(i16::from_le_bytes([c[0], c[1]])),
                "UNSIGNED_SHORT" => f64::from(u16::from_le_bytes([c[0], c[1]])),
                "INT" => f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                "UNSIGNED_INT" => f64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                "FLOAT" => f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                _ => f64::from_le_bytes(c.try_into().unwrap_or([0; 8])),
            })
            .collect(),
    ))
}

/// The positions of a feature table (`n` × 3): POSITION, or POSITION_QUANTIZED in its volume.
fn positions(path: &Path, ft: &J, bin: &[u8], n: usize, what: &str) -> Result<Vec<f64>> {
    if let Some(p) = property(path, ft, bin, "POSITION", n, 3, "FLOAT")? {
        return Ok(p);
    }
    let q = property(path, ft, bin, "POSITION_QUANTIZED", n, 3, "UNSIGNED_SHORT")?
        .ok_or_else(|| bad(path, format!("{what}: neither POSITION nor POSITION_QUANTIZED")))?;
    let off = vec3_global(ft, "QUANTIZED_VOLUME_OFFSET").ok_or_else(|| bad(path, format!("{what}: no QUANTIZED_VOLUME_OFFSET")))?;
    let scale = vec3_global(ft, "QUANTIZED_VOLUME_SCALE").ok_or_else(|| bad(path, format!("{what}: no QUANTIZED_VOLUME_SCALE")))?;
    Ok(q.chunks_exact(3)
        .flat_map(|c| (0..3).map(move |k| off[k] + c[k] / 65535.0 * scale[k]))
        .collect())
}

fn v3(v: &[f64], k: usize) -> V3 {
    [v[3 * k], v[3 * k + 1], v[3 * k + 2]]
}

fn vec3_global(ft: &J, name: &str) -> Option<V3> {
    let a = ft.get(name)?.as_array()?;
    (a.len() == 3).then(|| std::array::from_fn(|k| a[k].as_f64().unwrap_or(0.0)))
}

/// glTF's y-up to 3D Tiles' z-up.
const Y_UP_TO_Z_UP: [f64; 16] = [1., 0., 0., 0., 0., 0., 1., 0., 0., -1., 0., 0., 0., 0., 0., 1.];

fn translation(t: V3) -> [f64; 16] {
    [1., 0., 0., 0., 0., 1., 0., 0., 0., 0., 1., 0., t[0], t[1], t[2], 1.]
}

/// A glTF (JSON or GLB) under `m` (tile frame → ECEF), with `rtc` added in the tile frame.
fn gltf_into(path: &Path, bytes: &[u8], m: &[f64; 16], rtc: Option<V3>, raw: &mut Raw) -> Result<()> {
    let model = crate::gltf::parse_model(path, bytes)?;
    let rtc = rtc.or(model.rtc_center).unwrap_or([0.0; 3]);
    let full = mul(&mul(m, &translation(rtc)), &Y_UP_TO_Z_UP);
    let base = raw.positions.len() as u32;
    // Texture coordinates and textures kept one per vertex and triangle once any has them.
    if !model.uvs.is_empty() || !raw.uvs.is_empty() {
        raw.uvs.resize(base as usize, [0.0; 2]);
        raw.triangle_textures.resize(raw.indices.len() / 3, u32::MAX);
        if model.uvs.is_empty() {
            raw.uvs.resize(base as usize + model.positions.len(), [0.0; 2]);
            raw.triangle_textures
                .resize(raw.indices.len() / 3 + model.indices.len() / 3, u32::MAX);
        } else {
            let first = raw.images.len() as u32;
            raw.uvs.extend_from_slice(&model.uvs);
            raw.triangle_textures.extend(
                model
                    .triangle_textures
                    .iter()
                    .map(|t| if *t == u32::MAX { u32::MAX } else { t + first }),
            );
            raw.images.extend(model.images);
        }
    }
    raw.positions.extend(model.positions.iter().map(|p| point(&full, *p)));
    raw.indices.extend(model.indices.iter().map(|i| i + base));
    raw.features.extend(model.triangle_features);
    raw.points.extend(model.points.iter().map(|p| point(&full, *p)));
    pad_colors(raw, &model.point_colors, model.points.len());
    Ok(())
}

/// Keep colours one per point once any content has them.
fn pad_colors(raw: &mut Raw, colors: &[[u8; 4]], added: usize) {
    let before = raw.points.len() - added;
    if colors.len() == added && added > 0 {
        if raw.colors.len() < before {
            raw.colors.resize(before, [255, 255, 255, 255]);
        }
        raw.colors.extend_from_slice(colors);
    } else if !raw.colors.is_empty() {
        raw.colors.resize(raw.points.len(), [255, 255, 255, 255]);
    }
}

fn content_into(path: &Path, b: &[u8], m: &[f64; 16], nesting: usize, fetch: &dyn super::Fetch, raw: &mut Raw) -> Result<()> {
    match b.get(0..4) {
        Some(b"glTF") => gltf_into(path, b, m, None, raw),
        Some(b"b3dm") => {
            let (ft, _, bt, end) = tables(path, b, 28)?;
            raw.count += ft.get("BATCH_LENGTH").and_then(J::as_u64).unwrap_or(0);
            raw.batch_tables.push(bt);
            gltf_into(path, &b[end..], m, vec3_global(&ft, "RTC_CENTER"), raw)
        }
        Some(b"i3dm") => i3dm(path, b, m, fetch, raw),
        Some(b"pnts") => pnts(path, b, m, raw),
        Some(b"cmpt") => {
            if nesting > 8 {
                return Err(bad(path, "composite tiles nested more than 8 deep"));
            }
            let n = u32_at(b, 12);
            let mut at = 16;
            for _ in 0..n {
                let len = u32_at(b, at + 8);
                let inner = b
                    .get(at..at.saturating_add(len))
                    .ok_or_else(|| bad(path, "cmpt: an inner tile runs past the end"))?;
                content_into(path, inner, m, nesting + 1, fetch, raw)?;
                at += len.max(12);
            }
            Ok(())
        }
        _ => Err(bad(path, "not a b3dm, i3dm, pnts, cmpt or GLB")),
    }
}

fn i3dm(path: &Path, b: &[u8], m: &[f64; 16], fetch: &dyn super::Fetch, raw: &mut Raw) -> Result<()> {
    let (ft, bin, bt, end) = tables(path, b, 32)?;
    let n = ft
        .get("INSTANCES_LENGTH")
        .and_then(J::as_u64)
        .ok_or_else(|| bad(path, "i3dm: no INSTANCES_LENGTH"))? as usize;
    if n > 10_000_000 {
        return Err(bad(path, format!("i3dm: {n} instances")));
    }
    raw.count += n as u64;
    raw.batch_tables.push(bt);
    let glb = &b[end..];
    let glb_owned;
    let glb: &[u8] = if u32_at(b, 28) == 0 {
        // gltfFormat 0: a URI to the model.
        let uri = String::from_utf8_lossy(glb).trim_end_matches(['\0', ' ']).to_owned();
        let file = super::archive::normalize(&path.parent().unwrap_or(Path::new(".")).join(&uri));
        glb_owned = fetch.fetch(&file)?;
        &glb_owned
    } else {
        glb
    };
    let model = crate::gltf::parse_model(path, glb)?;
    let positions = positions(path, &ft, bin, n, "i3dm")?;
    let rtc = vec3_global(&ft, "RTC_CENTER").unwrap_or([0.0; 3]);
    let ups = property(path, &ft, bin, "NORMAL_UP", n, 3, "FLOAT")?;
    let rights = property(path, &ft, bin, "NORMAL_RIGHT", n, 3, "FLOAT")?;
    let enu = ft.get("EAST_NORTH_UP").and_then(J::as_bool).unwrap_or(false);
    let scale = property(path, &ft, bin, "SCALE", n, 1, "FLOAT")?;
    let scale3 = property(path, &ft, bin, "SCALE_NON_UNIFORM", n, 3, "FLOAT")?;
    for k in 0..n {
        let p = v3(&positions, k);
        let at = [p[0] + rtc[0], p[1] + rtc[1], p[2] + rtc[2]];
        // The instance's right, up and forward axes in the tile frame; the model's x, y, z
        // turn onto them (so glTF's y-up lands on the instance's up).
        // With EAST_NORTH_UP the axes are those of the place in ECEF, and the instance is
        // built in ECEF (its position taken through the tile's transform first).
        let (right, up, outer, at) = match (&ups, &rights) {
            (Some(u), Some(r)) => (v3(r, k), v3(u, k), *m, at),
            _ if enu => {
                let g = point(m, at);
                let (lon, lat, _) = ecef_to_geodetic(g);
                let east = [-lon.sin(), lon.cos(), 0.0];
                let upv = [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()];
                (east, upv, super::IDENTITY, g)
            }
            _ => ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0], *m, at),
        };
        let fwd = super::cross(right, up);
        let s = match (&scale3, &scale) {
            (Some(s3), _) => v3(s3, k),
            (None, Some(s)) => [s[k]; 3],
            _ => [1.0; 3],
        };
        let inst = [
            right[0] * s[0],
            right[1] * s[0],
            right[2] * s[0],
            0.,
            up[0] * s[1],
            up[1] * s[1],
            up[2] * s[1],
            0.,
            fwd[0] * s[2],
            fwd[1] * s[2],
            fwd[2] * s[2],
            0.,
            at[0],
            at[1],
            at[2],
            1.,
        ];
        let full = mul(&outer, &inst);
        let base = raw.positions.len() as u32;
        raw.positions.extend(model.positions.iter().map(|q| point(&full, *q)));
        raw.indices.extend(model.indices.iter().map(|i| i + base));
        raw.features.extend(std::iter::repeat_n(k as u32, model.indices.len() / 3));
        raw.points.extend(model.points.iter().map(|q| point(&full, *q)));
        pad_colors(raw, &model.point_colors, model.points.len());
    }
    Ok(())
}

fn pnts(path: &Path, b: &[u8], m: &[f64; 16], raw: &mut Raw) -> Result<()> {
    let (ft, bin, bt, _) = tables(path, b, 28)?;
    if ft.pointer("/extensions/3DTILES_draco_point_compression").is_some() {
        return Err(bad(path, "pnts: Draco point compression is not read"));
    }
    let n = ft
        .get("POINTS_LENGTH")
        .and_then(J::as_u64)
        .ok_or_else(|| bad(path, "pnts: no POINTS_LENGTH"))? as usize;
    if n > 100_000_000 {
        return Err(bad(path, format!("pnts: {n} points")));
    }
    raw.count += n as u64;
    raw.batch_tables.push(bt);
    let positions = positions(path, &ft, bin, n, "pnts")?;
    let rtc = vec3_global(&ft, "RTC_CENTER").unwrap_or([0.0; 3]);
    let before = raw.points.len();
    raw.points.extend((0..n).map(|k| {
        let p = v3(&positions, k);
        point(m, [p[0] + rtc[0], p[1] + rtc[1], p[2] + rtc[2]])
    }));
    let colors: Option<Vec<[u8; 4]>> = if let Some(c) = property(path, &ft, bin, "RGBA", n, 4, "UNSIGNED_BYTE")? {
        Some(
            c.chunks_exact(4)
                .map(|c| [c[0] as u8, c[1] as u8, c[2] as u8, c[3] as u8])
                .collect(),
        )
    } else if let Some(c) = property(path, &ft, bin, "RGB", n, 3, "UNSIGNED_BYTE")? {
        Some(c.chunks_exact(3).map(|c| [c[0] as u8, c[1] as u8, c[2] as u8, 255]).collect())
    } else if let Some(c) = property(path, &ft, bin, "RGB565", n, 1, "UNSIGNED_SHORT")? {
        Some(
            c.iter()
                .map(|&v| {
                    let v = v as u16;
                    let (r, g, bl) = ((v >> 11) & 31, (v >> 5) & 63, v & 31);
                    [(r * 255 / 31) as u8, (g * 255 / 63) as u8, (bl * 255 / 31) as u8, 255]
                })
                .collect(),
        )
    } else {
        ft.get("CONSTANT_RGBA").and_then(J::as_array).filter(|a| a.len() == 4).map(|a| {
            let c: [u8; 4] = std::array::from_fn(|k| a[k].as_u64().unwrap_or(255).min(255) as u8);
            vec![c; n]
        })
    };
    pad_colors(raw, colors.as_deref().unwrap_or(&[]), raw.points.len() - before);
    Ok(())
}
