//! The oblique model the tests build with OpenSceneGraph 3.6.5's own `osgconv` (Debian's
//! `openscenegraph`) from the Andorra SRTM DEM of `../shared/data/raster/`: a height field with
//! a hill-shaded texture in ContextCapture's layout — `metadata.xml`, two root tiles, each a
//! PagedLOD with a coarse level inline and a finer file of two PagedLODs. Shared by the core's
//! tests and the command line's (`#[path]`).

#![allow(dead_code)]

use jingwei_layers::{Crs, Transformer};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const DEM: &str = "../shared/data/raster/srtm3_N42E001_andorra.tif";
/// Pixels of the DEM per tile side (each tile a square of them).
pub const TILE_PX: usize = 32;
/// The UTM zone the model is in, and its origin there.
pub const SRS: &str = "EPSG:32631";
pub const ORIGIN: [f64; 3] = [380_000.0, 4_710_000.0, 0.0];

pub fn dem() -> PathBuf {
    match std::env::var_os("JINGWEI_SHARED_DATA") {
        Some(d) => PathBuf::from(d).join("raster/srtm3_N42E001_andorra.tif"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(DEM),
    }
}

/// A grid of DEM pixels as a mesh in the model's SRS (relative to its origin): vertices,
/// texture coordinates over the grid, triangles.
pub struct Grid {
    pub positions: Vec<[f64; 3]>,
    pub uvs: Vec<[f64; 2]>,
    pub indices: Vec<u32>,
}

/// The DEM's heights in a window, with the window's pixel centres' UTM coordinates.
pub fn heights(x0: usize, y0: usize, n: usize) -> Vec<Vec<[f64; 3]>> {
    let dem = jingwei_layers::dem::Dem::open(&dem()).unwrap();
    let gt = dem.geo_transform;
    let to_utm = Transformer::new(&dem.crs, &Crs::parse(SRS).unwrap()).unwrap();
    (0..n)
        .map(|j| {
            (0..n)
                .map(|i| {
                    let lon = gt[0] + (x0 + i) as f64 * gt[1] + gt[1] / 2.0;
                    let lat = gt[3] + (y0 + j) as f64 * gt[5] + gt[5] / 2.0;
                    let (x, y) = to_utm.transform(lon, lat).unwrap();
                    [x - ORIGIN[0], y - ORIGIN[1], f64::from(dem.heights[(y0 + j) * dem.size.0 + x0 + i])]
                })
                .collect()
        })
        .collect()
}

/// Every `step`-th row and column of `rows` × `cols` of the window, as a mesh.
pub fn grid(h: &[Vec<[f64; 3]>], cols: std::ops::Range<usize>, step: usize) -> Grid {
    let n = h.len();
    let xs: Vec<usize> = cols.clone().step_by(step).collect();
    let ys: Vec<usize> = (0..n).step_by(step).collect();
    let mut g = Grid {
        positions: Vec::new(),
        uvs: Vec::new(),
        indices: Vec::new(),
    };
    for &j in &ys {
        for &i in &xs {
            g.positions.push(h[j][i]);
            // OpenGL's texture origin: the bottom row is t = 0; the window's first row is north.
            g.uvs.push([i as f64 / (n - 1) as f64, 1.0 - j as f64 / (n - 1) as f64]);
        }
    }
    let w = xs.len() as u32;
    for r in 0..ys.len() as u32 - 1 {
        for c in 0..w - 1 {
            let a = r * w + c;
            // Counter-clockwise from above (y north, rows going south).
            g.indices.extend([a, a + w, a + 1, a + 1, a + w, a + w + 1]);
        }
    }
    g
}

/// A hill-shaded picture of the window, as JPEG.
pub fn texture(h: &[Vec<[f64; 3]>]) -> Vec<u8> {
    let n = h.len();
    let mut img = image::RgbImage::new(n as u32 * 4, n as u32 * 4);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let (i, j) = ((x as usize / 4).clamp(1, n - 2), (y as usize / 4).clamp(1, n - 2));
        let dx = h[j][i + 1][2] - h[j][i - 1][2];
        let dy = h[j - 1][i][2] - h[j + 1][i][2];
        let shade = (128.0 + (dx - dy) * 0.8).clamp(0.0, 255.0) as u8;
        let green = (h[j][i][2] / 3000.0 * 255.0).clamp(0.0, 255.0) as u8;
        *p = image::Rgb([shade, green.max(shade / 2), 90]);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A Geode with one textured Geometry, in OpenSceneGraph's ASCII format.
pub fn geode(g: &Grid, image: &str, id: &mut u32) -> String {
    let mut next = || {
        *id += 1;
        *id
    };
    let mut s = String::new();
    writeln!(
        s,
        "osg::Geode {{ UniqueID {} Drawables 1 {{ osg::Geometry {{ UniqueID {}",
        next(),
        next()
    )
    .unwrap();
    writeln!(
        s,
        "StateSet TRUE {{ osg::StateSet {{ UniqueID {} TextureModeList 1 {{ Data 1 {{ GL_TEXTURE_2D ON }} }} \
         TextureAttributeList 1 {{ Data 1 {{ osg::Texture2D {{ UniqueID {} WRAP_S CLAMP_TO_EDGE WRAP_T CLAMP_TO_EDGE \
         MIN_FILTER LINEAR MAG_FILTER LINEAR Image TRUE {{ ClassName osg::Image UniqueID {} FileName \"{image}\" WriteHint 0 2 }} }} Value OFF }} }} }} }}",
        next(),
        next(),
        next()
    )
    .unwrap();
    writeln!(
        s,
        "PrimitiveSetList 1 {{ osg::DrawElementsUInt {{ UniqueID {} Mode TRIANGLES vector {} {{",
        next(),
        g.indices.len()
    )
    .unwrap();
    for t in g.indices.chunks(3) {
        writeln!(s, "{} {} {}", t[0], t[1], t[2]).unwrap();
    }
    writeln!(s, "}} }} }}").unwrap();
    writeln!(
        s,
        "VertexArray TRUE {{ osg::Vec3Array {{ UniqueID {} Binding BIND_PER_VERTEX vector {} {{",
        next(),
        g.positions.len()
    )
    .unwrap();
    for p in &g.positions {
        writeln!(s, "{:.4} {:.4} {:.2}", p[0], p[1], p[2]).unwrap();
    }
    writeln!(s, "}} }} }}").unwrap();
    writeln!(
        s,
        "TexCoordArrayList 1 {{ osg::Vec2Array {{ UniqueID {} Binding BIND_PER_VERTEX vector {} {{",
        next(),
        g.uvs.len()
    )
    .unwrap();
    for t in &g.uvs {
        writeln!(s, "{:.6} {:.6}", t[0], t[1]).unwrap();
    }
    writeln!(s, "}} }} }} }} }} }}").unwrap();
    s
}

/// A PagedLOD about `g`'s vertices: its inline child and, when `file` is given, the finer file
/// shown from `px` pixels on.
pub fn paged(name: &str, g: &Grid, child: &str, file: Option<(&str, f64)>, id: &mut u32) -> String {
    let (c, r) = sphere(&g.positions);
    *id += 1;
    let mut s = format!(
        "osg::PagedLOD {{ UniqueID {id} Name \"{name}\" CenterMode USER_DEFINED_CENTER UserCenter {} {} {} {} RangeMode PIXEL_SIZE_ON_SCREEN\n",
        c[0], c[1], c[2], r
    );
    match file {
        Some((f, px)) => writeln!(
            s,
            "RangeList 2 {{ 0 {px} {px} 1e+30 }} DatabasePath FALSE RangeDataList 2 {{ \"\" \"{f}\" }} PriorityList 2 {{ 0 1 0 1 }}"
        )
        .unwrap(),
        None => s.push_str("RangeList 1 { 0 1e+30 } DatabasePath FALSE RangeDataList 1 { \"\" } PriorityList 1 { 0 1 }\n"),
    }
    writeln!(s, "Children 1 {{ {child} }} }}").unwrap();
    s
}

pub fn sphere(p: &[[f64; 3]]) -> ([f64; 3], f64) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for q in p {
        for k in 0..3 {
            lo[k] = lo[k].min(q[k]);
            hi[k] = hi[k].max(q[k]);
        }
    }
    let c = [0, 1, 2].map(|k| (lo[k] + hi[k]) / 2.0);
    (c, (0..3).map(|k| (hi[k] - lo[k]).powi(2)).sum::<f64>().sqrt() / 2.0)
}

pub fn osgconv(dir: &Path, args: &[&str]) {
    let out = Command::new("osgconv")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("osgconv (Debian's openscenegraph; scripts/setup.sh installs it)");
    assert!(out.status.success(), "osgconv {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Write the model into `dir`: `metadata.xml` and `Data/Tile_+00k_+000/` for two tiles, each
/// a root file (a PagedLOD with a coarse level, every fourth pixel, shown below 100 pixels)
/// and `_L16_0.osgb`, two PagedLODs of the west and east halves at full detail.
pub fn build(dir: &Path, options: &str) -> Vec<PathBuf> {
    build_grid(dir, options, 2, 1)
}

/// [`build`] with `nx` × `ny` root tiles (the benchmark's model; at most 19 × 22 fit the DEM).
pub fn build_grid(dir: &Path, options: &str, nx: usize, ny: usize) -> Vec<PathBuf> {
    std::fs::write(
        dir.join("metadata.xml"),
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ModelMetadata version=\"1\">\n\t<SRS>{SRS}</SRS>\n\t<SRSOrigin>{},{},{}</SRSOrigin>\n\t<Texture>\n\t\t<ColorSource>Visible</ColorSource>\n\t</Texture>\n</ModelMetadata>\n",
            ORIGIN[0], ORIGIN[1], ORIGIN[2]
        ),
    )
    .unwrap();
    let mut files = Vec::new();
    for (k, j) in (0..ny).flat_map(|j| (0..nx).map(move |k| (k, j))) {
        let name = format!("Tile_{k:+04}_{j:+04}");
        let tile = dir.join("Data").join(&name);
        std::fs::create_dir_all(&tile).unwrap();
        let h = heights(600 + k * (TILE_PX - 1), 500 + j * (TILE_PX - 1), TILE_PX);
        std::fs::write(tile.join("tex.jpg"), texture(&h)).unwrap();
        let mut id = 0;
        // The root: the coarse level, and the finer file.
        let coarse = grid(&h, 0..TILE_PX, 4);
        let g = geode(&coarse, "tex.jpg", &mut id);
        let fine_file = format!("{name}_L16_0.osgb");
        let root = paged(&name, &grid(&h, 0..TILE_PX, 1), &g, Some((&fine_file, 100.0)), &mut id);
        std::fs::write(
            tile.join(format!("{name}.osgt")),
            format!("#Ascii Scene\n#Version 161\n#Generator OpenSceneGraph 3.6.5\n\n{root}"),
        )
        .unwrap();
        // The finer level: two halves.
        let mut id = 0;
        let half = TILE_PX / 2;
        let mut halves = String::new();
        for (part, cols) in [(0, 0..half + 1), (1, half..TILE_PX)] {
            let g = grid(&h, cols, 1);
            let geo = geode(&g, "tex.jpg", &mut id);
            halves.push_str(&paged(&format!("{name}_L16_{part}"), &g, &geo, None, &mut id));
        }
        id += 1;
        std::fs::write(
            tile.join(format!("{name}_L16_0.osgt")),
            format!(
                "#Ascii Scene\n#Version 161\n#Generator OpenSceneGraph 3.6.5\n\nosg::Group {{ UniqueID {id} Children 2 {{ {halves} }} }}\n"
            ),
        )
        .unwrap();
        for f in [format!("{name}.osgt"), format!("{name}_L16_0.osgt")] {
            let osgb = f.replace(".osgt", ".osgb");
            osgconv(&tile, &["-O", options, f.as_str(), osgb.as_str()]);
            std::fs::remove_file(tile.join(&f)).unwrap();
            files.push(tile.join(osgb));
        }
        // The texture lives inside the files now.
        std::fs::remove_file(tile.join("tex.jpg")).unwrap();
    }
    files
}
