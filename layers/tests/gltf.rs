//! glTF models placed on the map: the 3D Tiles sample building (a GLB inside a b3dm) and a
//! glTF with an embedded buffer from `../shared/data/3d/tiles3d/`.

use jingwei_layers::gltf::{self, Placement};
use jingwei_layers::{Crs, Transformer, Workspace};
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    std::env::var_os("JINGWEI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

/// Index counts of every triangle primitive, read independently from the GLB's JSON.
fn glb_index_count(glb: &[u8]) -> usize {
    let jlen = u32::from_le_bytes(glb[12..16].try_into().unwrap()) as usize;
    let j: serde_json::Value = serde_json::from_slice(&glb[20..20 + jlen]).unwrap();
    j["meshes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["primitives"].as_array().unwrap())
        .map(|p| j["accessors"][p["indices"].as_u64().unwrap() as usize]["count"].as_u64().unwrap() as usize)
        .sum()
}

#[test]
fn the_sample_building_is_read_and_placed_where_asked() {
    let path = shared().join("3d/tiles3d/1.0/TilesetWithRequestVolume/building.b3dm");
    let bytes = std::fs::read(&path).unwrap();
    let skip: usize = (3..7)
        .map(|k| u32::from_le_bytes(bytes[4 * k..4 * k + 4].try_into().unwrap()) as usize)
        .sum();
    let tris = gltf::read(&path).unwrap();
    assert_eq!(tris.len() * 3, glb_index_count(&bytes[28 + skip..]));
    // Placed in Lujiazui, turned 30° clockwise from north.
    let at = Placement {
        lon: 121.5045,
        lat: 31.2390,
        height_m: 4.0,
        heading_deg: 30.0,
        scale: 1.0,
    };
    let mut ws: Option<Workspace> = None;
    Workspace::add_model(&mut ws, &path, &at).unwrap();
    let ws = ws.unwrap();
    assert_eq!(ws.crs.epsg, Some(4550), "the CGCS2000 3° zone of Shanghai");
    let wl = &ws.layers[0];
    assert_eq!(wl.layer.len(), 1);
    assert_eq!(
        wl.layer.feature(0).value_by_name("triangles").unwrap().as_f64(),
        Some(tris.len() as f64)
    );
    let s = wl.surfaces.as_ref().unwrap();
    assert_eq!(s.rows[0].len(), tris.len());
    // The model's origin maps onto the place: each placed vertex is the model vertex turned and
    // moved, so distances from the origin are kept and heights are raised by 4 m.
    let to = Transformer::new(&Crs::from_epsg(4490).unwrap(), &ws.crs).unwrap();
    let (ox, oy) = to.transform(at.lon, at.lat).unwrap();
    for (t, placed) in tris.iter().zip(&s.rows[0]).step_by(997) {
        for (m, p) in t.iter().zip(&placed[0]) {
            let d_model = (m[0] * m[0] + m[2] * m[2]).sqrt();
            let d_map = ((p[0] - ox).powi(2) + (p[1] - oy).powi(2)).sqrt();
            assert!((d_model - d_map).abs() < 1e-6, "{d_model} vs {d_map}");
            assert!((p[2] - (m[1] + 4.0)).abs() < 1e-9);
        }
    }
    // Heading: the model's −z (its north) points 30° east of north on the map.
    let north = gltf::place(
        &path,
        &vec![[[0.0, 0.0, -10.0], [0.0, 0.0, -10.0], [0.0, 0.0, -10.0]]],
        &at,
        &ws.crs,
    )
    .unwrap();
    let p = north.surfaces.rows[0][0][0][0];
    let bearing = (p[0] - ox).atan2(p[1] - oy).to_degrees();
    // Grid north and true north differ by the meridian convergence (< 1° here).
    assert!((bearing - 30.0).abs() < 1.0, "bearing {bearing}");
}

#[test]
fn a_gltf_with_an_embedded_buffer_reads_and_bad_ones_say_why() {
    let path = shared().join("3d/tiles3d/glTF/EXT_mesh_features/FeatureIdAttribute/FeatureIdAttribute.gltf");
    let tris = gltf::read(&path).unwrap();
    assert_eq!(tris.len(), 8);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("draco.gltf");
    std::fs::write(
        &p,
        r#"{"asset": {"version": "2.0"}, "extensionsRequired": ["KHR_draco_mesh_compression"]}"#,
    )
    .unwrap();
    let e = gltf::read(&p).unwrap_err().to_string();
    assert!(e.contains("draco.gltf") && e.contains("KHR_draco_mesh_compression"), "{e}");
    // Alone, with no place given: shown in a frame of its own at 0° E 0° N.
    let mut ws: Option<Workspace> = None;
    Workspace::load_file(&mut ws, &path, None).unwrap();
    assert_eq!(ws.unwrap().crs.epsg, Some(32631));
}

#[test]
fn a_catalog_places_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = shared().join("3d/tiles3d/1.0/TilesetWithRequestVolume/building.b3dm");
    let catalog = serde_json::json!({
        "title_zh": "模型", "title_en": "Model",
        "layers": [{ "id": "tower", "title_zh": "示例建筑模型", "title_en": "Sample building", "group": "status_quo",
                     "file": model, "place": { "lon": 121.5045, "lat": 31.239, "heading_deg": 15 } }]
    });
    let path = dir.path().join("catalog.json");
    std::fs::write(&path, catalog.to_string()).unwrap();
    let ws = Workspace::open_catalog(&path, None, jingwei_layers::RepairMode::Repair).unwrap();
    let wl = ws.layer("tower").unwrap();
    assert_eq!(wl.title, "示例建筑模型");
    assert!(wl.surfaces.as_ref().is_some_and(|s| s.rows[0].len() > 60_000));
}

#[test]
fn corrupt_models_are_errors_not_crashes_and_children_draw_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.gltf");
    // Three vertices and one triangle in a data: buffer (36 bytes of f32 positions).
    let mut bytes = Vec::new();
    for v in [0.0f32, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0] {
        bytes.extend(v.to_le_bytes());
    }
    let b64 = {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        bytes
            .chunks(3)
            .flat_map(|c| {
                let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
                (0..4).map(move |k| A[((n >> (18 - 6 * k)) & 63) as usize] as char)
            })
            .collect::<String>()
    };
    let model = |count: u64, buffers: &str| {
        format!(
            r#"{{"asset": {{"version": "2.0"}}, "buffers": {buffers},
                "bufferViews": [{{"buffer": 0, "byteLength": 36}}],
                "accessors": [{{"bufferView": 0, "componentType": 5126, "count": {count}, "type": "VEC3"}}],
                "meshes": [{{"primitives": [{{"attributes": {{"POSITION": 0}}}}]}}],
                "nodes": [{{"children": [1], "translation": [5, 0, 0]}}, {{"mesh": 0}}]}}"#
        )
    };
    let ok_buffers = format!(r#"[{{"byteLength": 36, "uri": "data:application/octet-stream;base64,{b64}"}}]"#);
    std::fs::write(&p, model(3, &ok_buffers)).unwrap();
    let tris = gltf::read(&p).unwrap();
    assert_eq!(tris.len(), 1, "the child is drawn once, under its parent");
    assert_eq!(tris[0][1], [6.0, 0.0, 0.0], "with the parent's translation");
    // An accessor longer than its buffer, and a buffer that is not there: errors naming the file.
    std::fs::write(&p, model(1_000_000_000_000, &ok_buffers)).unwrap();
    let e = gltf::read(&p).unwrap_err().to_string();
    assert!(e.contains("m.gltf") && e.contains("past its buffer"), "{e}");
    std::fs::write(&p, model(3, "[]")).unwrap();
    let e = gltf::read(&p).unwrap_err().to_string();
    assert!(e.contains("m.gltf") && e.contains("not there"), "{e}");
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            out.push(if k <= c.len() {
                A[(n >> (18 - 6 * k)) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    out
}

/// EXT_mesh_gpu_instancing (trees, street lamps): one triangle drawn at every instance, each
/// with its own translation, rotation and scale under the node's transform; the extension may
/// be required by the file, others that are required are still refused.
#[test]
fn instanced_meshes_are_drawn_once_per_instance() {
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let h = std::f32::consts::FRAC_1_SQRT_2;
    let mut buf = f32s(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]); // the triangle
    buf.extend(f32s(&[10.0, 0.0, 0.0, 0.0, 0.0, 20.0, -5.0, 0.0, 0.0])); // translations
    buf.extend(f32s(&[0.0, 0.0, 0.0, 1.0, 0.0, h, 0.0, h, 0.0, 0.0, 0.0, 1.0])); // rotations
    buf.extend(f32s(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0])); // scales
    let view = |offset: usize, len: usize| serde_json::json!({"buffer": 0, "byteOffset": offset, "byteLength": len});
    let acc = |view: usize, ty: &str| serde_json::json!({"bufferView": view, "componentType": 5126, "count": 3, "type": ty});
    let doc = serde_json::json!({
        "asset": {"version": "2.0"},
        "extensionsUsed": ["EXT_mesh_gpu_instancing"],
        "extensionsRequired": ["EXT_mesh_gpu_instancing"],
        "buffers": [{"byteLength": buf.len(), "uri": format!("data:application/octet-stream;base64,{}", base64(&buf))}],
        "bufferViews": [view(0, 36), view(36, 36), view(72, 48), view(120, 36)],
        "accessors": [acc(0, "VEC3"), acc(1, "VEC3"), acc(2, "VEC4"), acc(3, "VEC3")],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "nodes": [{"mesh": 0, "translation": [0.0, 100.0, 0.0],
                   "extensions": {"EXT_mesh_gpu_instancing": {"attributes": {"TRANSLATION": 1, "ROTATION": 2, "SCALE": 3}}}}],
        "scenes": [{"nodes": [0]}], "scene": 0
    });
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("trees.gltf");
    std::fs::write(&p, doc.to_string()).unwrap();
    let tris = gltf::read(&p).unwrap();
    assert_eq!(tris.len(), 3, "one triangle per instance");
    let near = |a: [f64; 3], b: [f64; 3]| (0..3).all(|i| (a[i] - b[i]).abs() < 1e-6);
    // Instance 0: moved 10 east; 1: turned 90° about the vertical, moved 20 south; 2: doubled,
    // moved 5 west — all lifted 100 by the node.
    assert!(near(tris[0][1], [11.0, 100.0, 0.0]), "{:?}", tris[0]);
    assert!(near(tris[1][1], [0.0, 100.0, 19.0]), "{:?}", tris[1]);
    assert!(
        near(tris[2][1], [-3.0, 100.0, 0.0]) && near(tris[2][2], [-5.0, 100.0, 2.0]),
        "{:?}",
        tris[2]
    );
    // Counts that disagree are an error naming the file, not a guess.
    let mut bad = doc.clone();
    bad["accessors"][3]["count"] = serde_json::json!(2);
    std::fs::write(&p, bad.to_string()).unwrap();
    let e = gltf::read(&p).unwrap_err().to_string();
    assert!(e.contains("trees.gltf") && e.contains("instancing"), "{e}");
    // Another required extension beside it is still refused by name.
    let mut other = doc;
    other["extensionsRequired"] = serde_json::json!(["EXT_mesh_gpu_instancing", "KHR_draco_mesh_compression"]);
    std::fs::write(&p, other.to_string()).unwrap();
    let e = gltf::read(&p).unwrap_err().to_string();
    assert!(e.contains("KHR_draco_mesh_compression"), "{e}");
}

fn unbase64(s: &str) -> Vec<u8> {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let vals: Vec<u32> = s.bytes().filter_map(|c| A.iter().position(|&a| a == c).map(|p| p as u32)).collect();
    let mut out = Vec::new();
    for q in vals.chunks(4) {
        let n = q.iter().enumerate().fold(0u32, |n, (i, v)| n | (v << (18 - 6 * i)));
        out.extend(n.to_be_bytes()[1..q.len()].iter());
    }
    out
}

/// The real CC0 sample of ../shared/data/3d/tiles3d/glTF: a unit cube drawn at ten instances
/// (translation, rotation, scale). Each instance's cube has the cube's corner (0, 0, 0) at its
/// translation, and its volume is the product of its scales whatever its rotation.
#[test]
fn the_gpu_instances_sample_draws_ten_cubes() {
    let path = shared().join("3d/tiles3d/glTF/GpuInstancesMetadata/GpuInstancesMetadata.gltf");
    let tris = gltf::read(&path).unwrap();
    assert_eq!(tris.len(), 10 * 12);
    // The instances' translations and scales, read here from the file's own buffer.
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let floats = |accessor: usize| -> Vec<f64> {
        let a = &j["accessors"][accessor];
        let v = &j["bufferViews"][a["bufferView"].as_u64().unwrap() as usize];
        let uri = j["buffers"][v["buffer"].as_u64().unwrap() as usize]["uri"].as_str().unwrap();
        let buf = unbase64(uri.split_once("base64,").unwrap().1);
        let start = v["byteOffset"].as_u64().unwrap_or(0) as usize + a["byteOffset"].as_u64().unwrap_or(0) as usize;
        buf[start..start + 12 * a["count"].as_u64().unwrap() as usize]
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes(b.try_into().unwrap())))
            .collect()
    };
    let attrs = &j["nodes"][0]["extensions"]["EXT_mesh_gpu_instancing"]["attributes"];
    let t = floats(attrs["TRANSLATION"].as_u64().unwrap() as usize);
    let s = floats(attrs["SCALE"].as_u64().unwrap() as usize);
    for k in 0..10 {
        let cube = &tris[12 * k..12 * k + 12];
        let corner = [t[3 * k], t[3 * k + 1], t[3 * k + 2]];
        assert!(
            cube.iter().flatten().any(|p| (0..3).all(|i| (p[i] - corner[i]).abs() < 1e-5)),
            "instance {k} has no corner at its translation {corner:?}"
        );
        let volume: f64 = cube
            .iter()
            .map(|[a, b, c]| {
                (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6.0
            })
            .sum();
        let want = s[3 * k] * s[3 * k + 1] * s[3 * k + 2];
        assert!((volume.abs() - want).abs() < 1e-3 * want, "instance {k}: volume {volume} vs {want}");
    }
}

#[test]
fn a_textured_model_keeps_its_base_colour_texture_and_coordinates() {
    // The 3D Tiles samples' FeatureIdTexture: one quad, a 256×256 PNG base colour texture.
    let path = shared().join("3d/tiles3d/glTF/EXT_mesh_features/FeatureIdTexture/FeatureIdTexture.gltf");
    let bytes = std::fs::read(&path).unwrap();
    let m = gltf::parse_model(&path, &bytes).unwrap();
    assert_eq!(m.images.len(), 1, "the base colour's image only, not the feature-id texture");
    assert_eq!(m.uvs.len(), m.positions.len());
    assert_eq!(m.triangle_textures, vec![0; m.indices.len() / 3]);
    let t = jingwei_layers::tiles3d::decode::Texture::decode(&m.images[0]).unwrap();
    assert_eq!((t.width, t.height, t.rgba.len()), (256, 256, 256 * 256 * 4));
    // The texture coordinates as the file has them (the quad's corners: 0 and 1).
    assert!(m.uvs.iter().all(|uv| uv.iter().all(|v| (0.0..=1.0).contains(v))));
    assert!(m.uvs.iter().any(|uv| uv[0] == 0.0) && m.uvs.iter().any(|uv| uv[0] == 1.0));
}
