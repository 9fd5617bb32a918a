//! OpenSceneGraph's binary format (`.osgb`), read without OpenSceneGraph: the nodes,
//! geometry and textures an oblique model is made of.
//!
//! A file is a header (two magic words, the file's type, its format version, attribute bits,
//! custom domains, the compressor: `0`, or `zlib` for a deflated rest), then one object. An
//! object is its class name, a bracket (the byte size of what follows, 32-bit before format
//! version 149 and 64-bit after), a unique id — an id seen before is a reference to that
//! object, with nothing else —, then the fields of each class in its chain (`osg::Object`,
//! `osg::Node`, `osg::Group`, …) in order, some behind a flag, some gated by format version.
//! An object of a class not read here is passed over by its bracket's size.
//!
//! Read: Group, Geode, MatrixTransform, LOD, PagedLOD, ProxyNode, Geometry with its vertex,
//! normal, colour and texture-coordinate arrays (every array class), DrawArrays,
//! DrawArrayLengths and DrawElementsUByte/UShort/UInt (triangles, strips, fans, quads,
//! polygons; points and lines are not drawn), StateSet with Texture2D and its image — inline
//! file data (JPEG, PNG), raw pixels (RGB, RGBA, luminance, BGR(A), S3TC DXT1/3/5) or an
//! external file — and the state attributes and user data in between. Format versions 112
//! (OpenSceneGraph 3.2) and newer are read; tested on what OpenSceneGraph 3.6.5 writes
//! (version 161).

use crate::error::{LayersError, Result};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// A node of the scene.
#[derive(Debug, Clone)]
pub enum Node {
    /// Children drawn together (Group, Geode, LOD, ProxyNode).
    Group(Vec<Node>),
    /// Children under a transform (column-major, OpenSceneGraph's row vectors transposed).
    Transform([f64; 16], Vec<Node>),
    /// Levels of detail paged from files.
    PagedLod(PagedLod),
    /// Triangles.
    Geometry(Arc<Geometry>),
    /// Children whose geometry without a texture of its own takes this one (a state set
    /// above them).
    Textured(Arc<Image>, Vec<Node>),
}

/// A PagedLOD node.
#[derive(Debug, Clone, Default)]
pub struct PagedLod {
    /// The centre (model coordinates).
    pub center: [f64; 3],
    /// The radius (metres); negative where the file leaves it to the children's bounds.
    pub radius: f64,
    /// Ranges are pixel sizes on screen (`PIXEL_SIZE_ON_SCREEN`), else distances from the eye.
    pub pixel_size: bool,
    /// Each child's range (min, max).
    pub ranges: Vec<[f32; 2]>,
    /// Each child's file (empty for a child held inline).
    pub files: Vec<String>,
    /// The folder the files are relative to (empty: the file's own).
    pub database_path: String,
    /// The children held inline.
    pub children: Vec<Node>,
}

/// Triangles with their texture.
#[derive(Debug, Clone, Default)]
pub struct Geometry {
    /// Vertices (model coordinates).
    pub positions: Vec<[f64; 3]>,
    /// Texture coordinates (unit 0), one per vertex, OpenGL's (the origin at the image's
    /// bottom row); empty where there are none.
    pub uvs: Vec<[f32; 2]>,
    /// Triangles, three indices each.
    pub indices: Vec<u32>,
    /// The texture (unit 0) of the geometry's own state set (see also [`Node::Textured`]).
    pub texture: Option<Arc<Image>>,
}

/// A texture's image.
#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    /// An image file's bytes (JPEG, PNG, …), as ContextCapture writes them.
    File(Vec<u8>),
    /// Pixels, decoded to RGBA.
    Pixels {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// RGBA, rows from the bottom (OpenGL's origin) unless `top_first`.
        rgba: Vec<u8>,
        /// Rows from the top.
        top_first: bool,
    },
    /// A file beside the model, by name.
    External(String),
}

impl Image {
    /// The image as a file's bytes with its MIME type: a file as held, pixels as PNG (rows
    /// from the top, as image files have them), an external file read from beside `file`.
    pub fn encoded(&self, file: &Path) -> Result<(Vec<u8>, &'static str)> {
        let mime = |b: &[u8]| if b.starts_with(&[0xFF, 0xD8]) { "image/jpeg" } else { "image/png" };
        match self {
            Image::File(b) => {
                if b.starts_with(&[0xFF, 0xD8]) || b.starts_with(b"\x89PNG") {
                    Ok((b.clone(), mime(b)))
                } else {
                    // Another format (BMP, TGA, …): decoded and written as PNG.
                    let img = image::load_from_memory(b).map_err(|e| bad(file, format!("a texture that cannot be read: {e}")))?;
                    png(file, img.width(), img.height(), img.to_rgba8().into_raw())
                }
            }
            Image::Pixels {
                width,
                height,
                rgba,
                top_first,
            } => {
                let mut rows = rgba.clone();
                if !top_first {
                    let w = *width as usize * 4;
                    rows = rgba.chunks_exact(w.max(1)).rev().flatten().copied().collect();
                }
                png(file, *width, *height, rows)
            }
            Image::External(name) => {
                let p = file.parent().unwrap_or(Path::new(".")).join(name);
                let b = std::fs::read(&p).map_err(|e| LayersError::io(&p, e))?;
                Image::File(b).encoded(&p)
            }
        }
    }
}

fn png(file: &Path, width: u32, height: u32, rgba: Vec<u8>) -> Result<(Vec<u8>, &'static str)> {
    let img = image::RgbaImage::from_raw(width, height, rgba).ok_or_else(|| bad(file, "texture pixels do not fill the image"))?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| bad(file, format!("texture: {e}")))?;
    Ok((out.into_inner(), "image/png"))
}

fn bad(path: &Path, detail: impl std::fmt::Display) -> LayersError {
    LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("OSGB: {detail}"),
    }
}

const MAGIC: [u32; 2] = [0x6C91_0EA1, 0x1AFB_4545];
/// The oldest format version read (OpenSceneGraph 3.2's arrays and primitive sets as objects).
pub const MIN_VERSION: u32 = 112;
/// How deep objects may nest.
const MAX_DEPTH: usize = 128;

/// An object as far as the scene needs it.
#[derive(Debug, Clone)]
enum Obj {
    Node(Node),
    StateSet(Option<Arc<Image>>),
    Texture(Option<Arc<Image>>),
    Array(Arc<Array>),
    Prim(Arc<Prim>),
    Image(Arc<Image>),
    Other,
}

/// An array's elements as f64, `comps` to an element.
#[derive(Debug, Clone, Default)]
struct Array {
    values: Vec<f64>,
    comps: usize,
}

#[derive(Debug, Clone, Default)]
struct Prim {
    mode: i32,
    first: i32,
    count: i32,
    lengths: Vec<i32>,
    indices: Option<Vec<u32>>,
}

struct Reader<'a> {
    path: &'a Path,
    data: std::borrow::Cow<'a, [u8]>,
    at: usize,
    version: u32,
    brackets: bool,
    big_endian: bool,
    /// Open brackets: where each ends.
    ends: Vec<usize>,
    ids: HashMap<u32, Obj>,
    depth: usize,
}

type R<T> = std::result::Result<T, String>;

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> R<&[u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.data.len())
            .ok_or_else(|| format!("{n} bytes at offset {} run past the end ({} bytes)", self.at, self.data.len()))?;
        let s = &self.data[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn n<const N: usize>(&mut self) -> R<[u8; N]> {
        let big = self.big_endian;
        let mut b: [u8; N] = self.take(N)?.try_into().expect("N bytes");
        if big {
            b.reverse();
        }
        Ok(b)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn bool(&mut self) -> R<bool> {
        Ok(self.u8()? != 0)
    }
    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(self.n()?))
    }
    fn i32(&mut self) -> R<i32> {
        Ok(i32::from_le_bytes(self.n()?))
    }
    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_le_bytes(self.n()?))
    }
    fn f32(&mut self) -> R<f32> {
        Ok(f32::from_le_bytes(self.n()?))
    }
    fn f64(&mut self) -> R<f64> {
        Ok(f64::from_le_bytes(self.n()?))
    }
    fn skip(&mut self, n: usize) -> R<()> {
        self.take(n).map(|_| ())
    }
    fn string(&mut self) -> R<String> {
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| format!("a negative string length at offset {}", self.at - 4))?;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    /// A count of elements `size` bytes each, checked against what is left.
    fn count(&mut self, size: usize) -> R<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(size.max(1)) > self.data.len() - self.at {
            return Err(format!("{n} elements at offset {} run past the end", self.at));
        }
        Ok(n)
    }
    fn begin(&mut self) -> R<()> {
        if self.brackets {
            let start = self.at;
            let size = if self.version > 148 {
                usize::try_from(self.u64()?).unwrap_or(usize::MAX)
            } else {
                self.u32()? as usize
            };
            let end = start.checked_add(size).filter(|e| *e <= self.data.len() && *e >= self.at);
            self.ends
                .push(end.ok_or_else(|| format!("a bracket at offset {start} of {size} bytes runs past the end"))?);
        }
        Ok(())
    }
    fn end(&mut self) {
        if self.brackets {
            self.ends.pop();
        }
    }
    /// Go to the end of the innermost bracket (past whatever was not read).
    fn skip_to_end(&mut self) {
        if self.brackets
            && let Some(e) = self.ends.pop()
        {
            self.at = e.max(self.at);
        }
    }
    fn vec3d(&mut self) -> R<[f64; 3]> {
        Ok([self.f64()?, self.f64()?, self.f64()?])
    }

    /// A field behind its flag: an object.
    fn object_field(&mut self) -> R<Option<Obj>> {
        if self.bool()? { self.object() } else { Ok(None) }
    }

    fn object(&mut self) -> R<Option<Obj>> {
        let class = self.string()?;
        if class == "NULL" {
            return Ok(None);
        }
        self.begin()?;
        let id = self.u32()?;
        if let Some(o) = self.ids.get(&id) {
            let o = o.clone();
            self.skip_to_end();
            return Ok(Some(o));
        }
        if self.brackets && self.ends.last() == Some(&self.at) {
            // A reference to an object inside one passed over: nothing to read.
            self.skip_to_end();
            return Ok(None);
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("objects nested more than {MAX_DEPTH} deep"));
        }
        let o = self.body(&class)?;
        self.depth -= 1;
        self.skip_to_end();
        // Kept for later references; nodes other than geometry are not shared in practice
        // and are not kept (a deep copy each).
        let keep = match &o {
            Obj::Node(Node::Geometry(_)) | Obj::Node(Node::Textured(..)) => o.clone(),
            Obj::Node(_) => Obj::Other,
            o => o.clone(),
        };
        self.ids.insert(id, keep);
        Ok(Some(o))
    }

    /// osg::Object's fields.
    fn object_fields(&mut self) -> R<()> {
        self.string()?; // Name
        self.i32()?; // DataVariance
        self.object_field()?; // UserDataContainer
        Ok(())
    }

    /// osg::Node's fields: the state set's texture, if any.
    fn node_fields(&mut self) -> R<Option<Arc<Image>>> {
        if self.bool()? {
            // InitialBound
            self.begin()?;
            self.vec3d()?;
            self.f64()?;
            self.end();
        }
        for _ in 0..4 {
            // ComputeBoundingSphere, Update, Event and Cull callbacks.
            self.object_field()?;
        }
        self.bool()?; // CullingActive
        self.u32()?; // NodeMask
        Ok(match self.object_field()? {
            Some(Obj::StateSet(t)) => t,
            _ => None,
        })
    }

    /// A list of child objects behind a flag: count, bracket, objects.
    fn objects(&mut self, only_if_some: bool) -> R<Vec<Obj>> {
        let mut out = Vec::new();
        if self.bool()? {
            let n = self.count(4)?;
            if n > 0 || !only_if_some {
                self.begin()?;
                for _ in 0..n {
                    if let Some(o) = self.object()? {
                        out.push(o);
                    }
                }
                self.end();
            }
        }
        Ok(out)
    }

    fn body(&mut self, class: &str) -> R<Obj> {
        let array = array_kind(class);
        match class {
            "osg::Group" | "osg::Geode" | "osg::MatrixTransform" | "osg::LOD" | "osg::Transform" => {
                self.object_fields()?;
                let texture = self.node_fields()?;
                let mut children = Vec::new();
                if class != "osg::Geode" {
                    children = self.objects(false)?; // Group's Children
                }
                let mut matrix = None;
                match class {
                    "osg::Transform" => {
                        self.i32()?;
                    }
                    "osg::MatrixTransform" => {
                        self.i32()?; // ReferenceFrame
                        self.begin()?;
                        let mut m = [0.0; 16];
                        for v in &mut m {
                            *v = self.f64()?;
                        }
                        self.end();
                        matrix = Some(m);
                    }
                    "osg::LOD" => {
                        self.lod_fields()?;
                    }
                    "osg::Geode" => {
                        children = self.objects(false)?; // Drawables
                    }
                    _ => {}
                }
                let nodes = nodes_of(children, texture);
                Ok(Obj::Node(match matrix {
                    // OpenSceneGraph's matrices act on row vectors: its rows are our columns.
                    Some(m) => Node::Transform(m, nodes),
                    None => Node::Group(nodes),
                }))
            }
            "osg::PagedLOD" => {
                self.object_fields()?;
                let texture = self.node_fields()?;
                let (center, radius, pixel_size, ranges) = self.lod_fields()?;
                let mut database_path = String::new();
                if self.bool()? && self.bool()? {
                    database_path = self.string()?;
                }
                self.u32()?; // NumChildrenThatCannotBeExpired
                self.bool()?; // DisableExternalChildrenPaging
                let mut files = Vec::new();
                if self.bool()? {
                    let n = self.count(4)?;
                    self.begin()?;
                    for _ in 0..n {
                        files.push(self.string()?);
                    }
                    self.end();
                    let n = self.count(8)?;
                    self.begin()?;
                    self.skip(n * 8)?; // PriorityList
                    self.end();
                }
                let children = self.objects(true)?;
                Ok(Obj::Node(Node::PagedLod(PagedLod {
                    center,
                    radius,
                    pixel_size,
                    ranges,
                    files,
                    database_path,
                    children: nodes_of(children, texture),
                })))
            }
            "osg::ProxyNode" => {
                self.object_fields()?;
                let texture = self.node_fields()?;
                if self.bool()? {
                    let n = self.count(4)?;
                    self.begin()?;
                    for _ in 0..n {
                        self.string()?;
                    }
                    self.end();
                }
                let children = self.objects(true)?;
                Ok(Obj::Node(Node::Group(nodes_of(children, texture))))
            }
            "osg::Geometry" => {
                self.object_fields()?;
                let mut texture = None;
                if self.version >= 154 {
                    texture = self.node_fields()?;
                }
                // osg::Drawable
                if self.version < 156
                    && let Some(Obj::StateSet(t)) = self.object_field()?
                {
                    texture = t;
                }
                if self.bool()? {
                    // InitialBound (a box)
                    self.begin()?;
                    self.skip(48)?;
                    self.end();
                }
                self.object_field()?; // ComputeBoundingBoxCallback
                self.object_field()?; // Shape
                self.skip(3)?; // SupportsDisplayList, UseDisplayList, UseVertexBufferObjects
                if self.version < 156 {
                    for _ in 0..4 {
                        self.object_field()?;
                    }
                }
                if self.version >= 142 {
                    self.u32()?; // NodeMask
                }
                if self.version >= 145 {
                    self.bool()?; // CullingActive
                }
                // osg::Geometry
                let n = self.count(4)?;
                let mut prims = Vec::with_capacity(n);
                for _ in 0..n {
                    if let Some(Obj::Prim(p)) = self.object()? {
                        prims.push(p);
                    }
                }
                let mut arrays = Vec::with_capacity(5);
                for _ in 0..5 {
                    // Vertex, normal, colour, secondary colour, fog coordinate.
                    arrays.push(match self.object_field()? {
                        Some(Obj::Array(a)) => Some(a),
                        _ => None,
                    });
                }
                let mut texcoords = Vec::new();
                for _ in 0..2 {
                    // TexCoordArrayList, VertexAttribArrayList.
                    let n = self.count(4)?;
                    let mut list = Vec::with_capacity(n);
                    for _ in 0..n {
                        list.push(match self.object()? {
                            Some(Obj::Array(a)) => Some(a),
                            _ => None,
                        });
                    }
                    if texcoords.is_empty() {
                        texcoords = list;
                    }
                }
                let geometry = geometry(
                    arrays[0].as_deref(),
                    texcoords.first().cloned().flatten().as_deref(),
                    &prims,
                    texture,
                )?;
                Ok(Obj::Node(Node::Geometry(Arc::new(geometry))))
            }
            "osg::StateSet" => {
                self.object_fields()?;
                let mut texture = None;
                // ModeList, AttributeList.
                if self.bool()? {
                    self.modes()?;
                }
                if self.bool()? {
                    self.attributes()?;
                }
                if self.bool()? {
                    // TextureModeList: a mode list per unit.
                    let n = self.count(4)?;
                    self.begin()?;
                    for _ in 0..n {
                        self.modes()?;
                    }
                    self.end();
                }
                if self.bool()? {
                    // TextureAttributeList: an attribute list per unit; unit 0's texture.
                    let n = self.count(4)?;
                    self.begin()?;
                    for unit in 0..n {
                        for o in self.attributes()? {
                            if let (0, Obj::Texture(t)) = (unit, o) {
                                texture = texture.or(t);
                            }
                        }
                    }
                    self.end();
                }
                if self.bool()? {
                    // UniformList
                    let n = self.count(8)?;
                    self.begin()?;
                    for _ in 0..n {
                        self.object()?;
                        self.i32()?;
                    }
                    self.end();
                }
                self.skip(12)?; // RenderingHint, RenderBinMode, BinNumber
                self.string()?; // BinName
                self.bool()?; // NestRenderBins
                self.object_field()?; // UpdateCallback
                self.object_field()?; // EventCallback
                if self.version >= 151 && self.bool()? {
                    // DefineList
                    let n = self.count(12)?;
                    self.begin()?;
                    for _ in 0..n {
                        self.string()?;
                        self.string()?;
                        self.i32()?;
                    }
                    self.end();
                }
                Ok(Obj::StateSet(texture))
            }
            "osg::Texture2D" => {
                self.object_fields()?;
                // osg::StateAttribute: update and event callbacks.
                self.object_field()?;
                self.object_field()?;
                // osg::Texture
                for _ in 0..5 {
                    // Wrap S, T, R; min and mag filters.
                    if self.bool()? {
                        self.u32()?;
                    }
                }
                self.f32()?; // MaxAnisotropy
                self.skip(4)?; // four hints
                self.skip(32)?; // BorderColor
                self.i32()?; // BorderWidth
                self.i32()?; // InternalFormatMode
                for _ in 0..3 {
                    // InternalFormat, SourceFormat, SourceType.
                    if self.bool()? {
                        self.u32()?;
                    }
                }
                self.bool()?; // ShadowComparison
                self.i32()?; // ShadowCompareFunc
                self.i32()?; // ShadowTextureMode
                self.f32()?; // ShadowAmbient
                if (95..154).contains(&self.version) && self.bool()? {
                    // ImageAttachment
                    self.u32()?;
                    self.i32()?;
                    self.u8()?;
                    self.i32()?;
                    self.u32()?;
                    self.u32()?;
                }
                if self.version >= 98 && self.bool()? {
                    self.string()?; // Swizzle
                }
                if self.version >= 155 {
                    self.skip(12)?; // MinLOD, MaxLOD, LODBias
                }
                // osg::Texture2D
                let image = if self.bool()? { Some(self.image()?) } else { None };
                self.skip(8)?; // TextureWidth, TextureHeight
                Ok(Obj::Texture(image))
            }
            c if c.starts_with("osg::DrawElementsU") || c == "osg::DrawArrays" || c == "osg::DrawArrayLengths" => {
                self.object_fields()?;
                if self.version >= 147 {
                    self.object_field()?; // BufferData's BufferObject
                }
                let mut p = Prim {
                    mode: 0,
                    ..Prim::default()
                };
                self.i32()?; // NumInstances
                p.mode = self.i32()?;
                match c {
                    "osg::DrawArrays" => {
                        p.first = self.i32()?;
                        p.count = self.i32()?;
                    }
                    "osg::DrawArrayLengths" => {
                        p.first = self.i32()?;
                        let n = self.count(4)?;
                        p.lengths = (0..n).map(|_| self.i32()).collect::<R<_>>()?;
                    }
                    _ => {
                        let size = match c {
                            "osg::DrawElementsUByte" => 1,
                            "osg::DrawElementsUShort" => 2,
                            _ => 4,
                        };
                        let n = self.count(size)?;
                        let mut idx = Vec::with_capacity(n);
                        for _ in 0..n {
                            idx.push(match size {
                                1 => u32::from(self.u8()?),
                                2 => u32::from(u16::from_le_bytes(self.n()?)),
                                _ => self.u32()?,
                            });
                        }
                        p.indices = Some(idx);
                    }
                }
                Ok(Obj::Prim(Arc::new(p)))
            }
            _ if array.is_some() => {
                let (size, comps, float) = array.expect("checked");
                self.object_fields()?;
                if self.version >= 147 {
                    self.object_field()?; // BufferData's BufferObject
                }
                self.i32()?; // Binding
                self.skip(2)?; // Normalize, PreserveDataType
                let n = self.count(size * comps)?;
                let mut values = Vec::with_capacity(n * comps);
                for _ in 0..n * comps {
                    values.push(match (size, float) {
                        (4, true) => f64::from(self.f32()?),
                        (8, true) => self.f64()?,
                        (1, _) if class.contains("ub") || class.contains("UByte") => f64::from(self.u8()?),
                        (1, _) => f64::from(self.u8()? as i8),
                        (2, _) if class.contains("us") || class.contains("UShort") => f64::from(u16::from_le_bytes(self.n()?)),
                        (2, _) => f64::from(i16::from_le_bytes(self.n()?)),
                        (4, _) if class.contains("ui") || class.contains("UInt") => f64::from(self.u32()?),
                        _ => f64::from(self.i32()?),
                    });
                }
                Ok(Obj::Array(Arc::new(Array { values, comps })))
            }
            "osg::VertexBufferObject" | "osg::ElementBufferObject" => {
                self.object_fields()?;
                self.skip(9)?; // Target, Usage, CopyDataAndReleaseGLBufferObject
                if self.version >= 201 {
                    self.u32()?; // MappingBitfield
                }
                Ok(Obj::Other)
            }
            "osg::Material" => {
                self.object_fields()?;
                self.object_field()?;
                self.object_field()?;
                self.i32()?; // ColorMode
                for _ in 0..4 {
                    // Ambient, diffuse, specular, emission: front and back.
                    if self.bool()? {
                        self.skip(33)?;
                    }
                }
                if self.bool()? {
                    self.skip(9)?; // Shininess
                }
                Ok(Obj::Other)
            }
            // Anything else (callbacks, user data, blend functions, other nodes) is passed
            // over by its bracket.
            _ => {
                if !self.brackets {
                    return Err(format!(
                        "{class}: a class this reader does not know, in a file without brackets to pass over it"
                    ));
                }
                Ok(Obj::Other)
            }
        }
    }

    /// LOD's fields: centre, radius, range mode and ranges.
    fn lod_fields(&mut self) -> R<([f64; 3], f64, bool, Vec<[f32; 2]>)> {
        let center_mode = self.i32()?;
        let (mut center, mut radius) = ([0.0; 3], -1.0);
        if self.bool()? {
            center = self.vec3d()?;
            radius = self.f64()?;
        }
        if center_mode == 0 {
            // USE_BOUNDING_SPHERE_CENTER: the children's bounds, not the stored ones.
            radius = -1.0;
        }
        let pixel_size = self.i32()? == 1;
        let mut ranges = Vec::new();
        if self.bool()? {
            let n = self.count(8)?;
            self.begin()?;
            for _ in 0..n {
                ranges.push([self.f32()?, self.f32()?]);
            }
            self.end();
        }
        Ok((center, radius, pixel_size, ranges))
    }

    fn modes(&mut self) -> R<()> {
        let n = self.count(8)?;
        if n > 0 {
            self.begin()?;
            self.skip(n * 8)?;
            self.end();
        }
        Ok(())
    }

    fn attributes(&mut self) -> R<Vec<Obj>> {
        let n = self.count(8)?;
        let mut out = Vec::new();
        if n > 0 {
            self.begin()?;
            for _ in 0..n {
                if let Some(o) = self.object()? {
                    out.push(o);
                }
                self.i32()?; // its value (ON, OFF, OVERRIDE…)
            }
            self.end();
        }
        Ok(out)
    }

    /// An image as `readImage` writes it.
    fn image(&mut self) -> R<Arc<Image>> {
        if self.version > 94 {
            self.string()?; // class name
        }
        let id = self.u32()?;
        if let Some(Obj::Image(i)) = self.ids.get(&id) {
            return Ok(i.clone());
        }
        let name = self.string()?;
        self.i32()?; // WriteHint
        let decision = self.i32()?;
        let image = match decision {
            0 => {
                // Raw pixels.
                let mut v = [0i32; 9];
                for x in &mut v {
                    *x = self.i32()?;
                }
                let [origin, s, t, _r, internal, pixel_format, data_type, _packing, _alloc] = v;
                let n = self.count(1)?;
                let data = self.take(n)?.to_vec();
                let levels = self.count(4)?;
                self.skip(levels * 4)?;
                match pixels(s, t, internal, pixel_format, data_type, &data) {
                    Some(rgba) => Image::Pixels {
                        width: s as u32,
                        height: t as u32,
                        rgba,
                        top_first: origin == 1,
                    },
                    None => Image::External(name.clone()),
                }
            }
            1 => {
                let n = self.count(1)?;
                Image::File(self.take(n)?.to_vec())
            }
            _ => Image::External(name),
        };
        self.object_fields()?;
        let image = Arc::new(image);
        self.ids.insert(id, Obj::Image(image.clone()));
        Ok(image)
    }
}

/// The size of an array class's component, its components and whether they are floating.
fn array_kind(class: &str) -> Option<(usize, usize, bool)> {
    let name = class.strip_prefix("osg::")?.strip_suffix("Array")?;
    Some(match name {
        "Byte" | "UByte" => (1, 1, false),
        "Short" | "UShort" => (2, 1, false),
        "Int" | "UInt" => (4, 1, false),
        "Float" => (4, 1, true),
        "Double" => (8, 1, true),
        _ => {
            let rest = name.strip_prefix("Vec")?;
            let comps = rest.get(..1)?.parse::<usize>().ok().filter(|c| (2..=4).contains(c))?;
            match &rest[1..] {
                "" => (4, comps, true),
                "d" => (8, comps, true),
                "b" | "ub" => (1, comps, false),
                "s" | "us" => (2, comps, false),
                "i" | "ui" => (4, comps, false),
                _ => return None,
            }
        }
    })
}

/// Child objects as nodes, under the texture of the state set above them if any.
fn nodes_of(children: Vec<Obj>, texture: Option<Arc<Image>>) -> Vec<Node> {
    let out: Vec<Node> = children
        .into_iter()
        .filter_map(|o| match o {
            Obj::Node(n) => Some(n),
            _ => None,
        })
        .collect();
    match texture {
        Some(t) if !out.is_empty() => vec![Node::Textured(t, out)],
        _ => out,
    }
}

/// Triangles of a geometry's primitive sets.
fn geometry(vertices: Option<&Array>, uv: Option<&Array>, prims: &[Arc<Prim>], texture: Option<Arc<Image>>) -> R<Geometry> {
    let Some(v) = vertices.filter(|v| v.comps >= 2) else {
        return Ok(Geometry::default());
    };
    let n = v.values.len() / v.comps;
    let positions: Vec<[f64; 3]> = v
        .values
        .chunks_exact(v.comps)
        .map(|c| [c[0], c[1], if v.comps > 2 { c[2] } else { 0.0 }])
        .collect();
    let uvs: Vec<[f32; 2]> = match uv.filter(|u| u.comps >= 2 && u.values.len() / u.comps == n) {
        Some(u) => u.values.chunks_exact(u.comps).map(|c| [c[0] as f32, c[1] as f32]).collect(),
        None => Vec::new(),
    };
    let mut indices = Vec::new();
    for p in prims {
        let seq: Vec<u32> = match &p.indices {
            Some(i) => i.clone(),
            None if p.lengths.is_empty() => {
                let (first, count) = (p.first.max(0) as usize, p.count.max(0) as usize);
                if first.saturating_add(count) > n {
                    return Err(format!("DrawArrays of {count} from {first} past the {n} vertices"));
                }
                (first as u32..(first + count) as u32).collect()
            }
            None => {
                // DrawArrayLengths: one run per length.
                let mut at = p.first.max(0) as usize;
                for len in &p.lengths {
                    let len = (*len).max(0) as usize;
                    if at.saturating_add(len) > n {
                        return Err(format!("DrawArrayLengths past the {n} vertices"));
                    }
                    let run: Vec<u32> = (at as u32..(at + len) as u32).collect();
                    triangles(p.mode, &run, &mut indices);
                    at += len;
                }
                continue;
            }
        };
        triangles(p.mode, &seq, &mut indices);
    }
    if indices.iter().any(|i| *i as usize >= n) {
        return Err(format!("an index past the {n} vertices"));
    }
    Ok(Geometry {
        positions,
        uvs,
        indices,
        texture,
    })
}

/// A primitive set's vertices as triangles (GL modes: 4 triangles, 5 strip, 6 fan, 7 quads,
/// 8 quad strip, 9 polygon; points and lines add none).
fn triangles(mode: i32, seq: &[u32], out: &mut Vec<u32>) {
    match mode {
        4 => out.extend_from_slice(&seq[..seq.len() / 3 * 3]),
        5 => {
            for k in 2..seq.len() {
                let (a, b, c) = (seq[k - 2], seq[k - 1], seq[k]);
                if a == b || b == c || a == c {
                    continue;
                }
                out.extend(if k % 2 == 0 { [a, b, c] } else { [b, a, c] });
            }
        }
        6 | 9 => {
            for k in 2..seq.len() {
                out.extend([seq[0], seq[k - 1], seq[k]]);
            }
        }
        7 => {
            for q in seq.chunks_exact(4) {
                out.extend([q[0], q[1], q[2], q[0], q[2], q[3]]);
            }
        }
        8 => {
            for k in (3..seq.len()).step_by(2) {
                let (a, b, c, d) = (seq[k - 3], seq[k - 2], seq[k - 1], seq[k]);
                out.extend([a, b, d, a, d, c]);
            }
        }
        _ => {}
    }
}

/// Raw pixels as RGBA: 8-bit RGB, RGBA, BGR(A), luminance (with alpha), or S3TC DXT1/3/5.
fn pixels(w: i32, h: i32, internal: i32, format: i32, data_type: i32, data: &[u8]) -> Option<Vec<u8>> {
    let (w, h) = (usize::try_from(w).ok()?, usize::try_from(h).ok()?);
    if w == 0 || h == 0 || w > 16384 || h > 16384 {
        return None;
    }
    let n = w * h;
    let compressed = [format, internal].into_iter().find(|f| (0x83F0..=0x83F3).contains(f));
    if let Some(f) = compressed {
        return dxt(w, h, f, data);
    }
    if data_type != 0x1401 {
        // Only unsigned bytes.
        return None;
    }
    let (comps, order): (usize, &[usize]) = match format {
        0x1907 => (3, &[0, 1, 2]),    // GL_RGB
        0x1908 => (4, &[0, 1, 2, 3]), // GL_RGBA
        0x80E0 => (3, &[2, 1, 0]),    // GL_BGR
        0x80E1 => (4, &[2, 1, 0, 3]), // GL_BGRA
        0x1909 => (1, &[0, 0, 0]),    // GL_LUMINANCE
        0x190A => (2, &[0, 0, 0, 1]), // GL_LUMINANCE_ALPHA
        _ => return None,
    };
    let src = data.get(..n * comps)?;
    let mut out = Vec::with_capacity(n * 4);
    for p in src.chunks_exact(comps) {
        for c in 0..4 {
            out.push(order.get(c).map_or(255, |k| p[*k]));
        }
    }
    Some(out)
}

/// S3TC blocks decoded (DXT1 with or without alpha, DXT3, DXT5).
fn dxt(w: usize, h: usize, format: i32, data: &[u8]) -> Option<Vec<u8>> {
    let block = if format <= 0x83F1 { 8 } else { 16 };
    let (bw, bh) = (w.div_ceil(4), h.div_ceil(4));
    let data = data.get(..bw * bh * block)?;
    let mut out = vec![0u8; w * h * 4];
    let rgb565 = |c: u16| {
        let r = u32::from((c >> 11) & 31);
        let g = u32::from((c >> 5) & 63);
        let b = u32::from(c & 31);
        [(r * 255 / 31) as u8, (g * 255 / 63) as u8, (b * 255 / 31) as u8]
    };
    for by in 0..bh {
        for bx in 0..bw {
            let b = &data[(by * bw + bx) * block..][..block];
            let (alpha, colour) = if block == 16 { (&b[..8], &b[8..]) } else { (&b[..0], b) };
            let c0 = u16::from_le_bytes([colour[0], colour[1]]);
            let c1 = u16::from_le_bytes([colour[2], colour[3]]);
            let (p0, p1) = (rgb565(c0), rgb565(c1));
            let mix = |a: [u8; 3], b: [u8; 3], wa: u32, wb: u32| -> [u8; 3] {
                [0, 1, 2].map(|k| ((u32::from(a[k]) * wa + u32::from(b[k]) * wb) / (wa + wb)) as u8)
            };
            let four = block == 16 || c0 > c1;
            let palette: [[u8; 4]; 4] = {
                let a = |c: [u8; 3]| [c[0], c[1], c[2], 255];
                if four {
                    [a(p0), a(p1), a(mix(p0, p1, 2, 1)), a(mix(p0, p1, 1, 2))]
                } else {
                    let t = [0, 0, 0, if format == 0x83F1 { 0 } else { 255 }];
                    [a(p0), a(p1), a(mix(p0, p1, 1, 1)), t]
                }
            };
            let bits = u32::from_le_bytes([colour[4], colour[5], colour[6], colour[7]]);
            // DXT5's interpolated alpha.
            let alphas: Option<[u8; 8]> = (format == 0x83F3).then(|| {
                let (a0, a1) = (u32::from(alpha[0]), u32::from(alpha[1]));
                let mut t = [alpha[0], alpha[1], 0, 0, 0, 0, 0, 255];
                if a0 > a1 {
                    for (k, v) in t.iter_mut().enumerate().skip(2) {
                        *v = (((8 - k as u32) * a0 + (k as u32 - 1) * a1) / 7) as u8;
                    }
                } else {
                    for (k, v) in t.iter_mut().enumerate().take(6).skip(2) {
                        *v = (((6 - k as u32) * a0 + (k as u32 - 1) * a1) / 5) as u8;
                    }
                    t[6] = 0;
                }
                t
            });
            let abits = u64::from_le_bytes({
                let mut x = [0u8; 8];
                x[..6].copy_from_slice(alpha.get(2..8).unwrap_or(&[0; 6]));
                x
            });
            for py in 0..4 {
                for px in 0..4 {
                    let (x, y) = (bx * 4 + px, by * 4 + py);
                    if x >= w || y >= h {
                        continue;
                    }
                    let k = py * 4 + px;
                    let mut c = palette[((bits >> (2 * k)) & 3) as usize];
                    match (format, &alphas) {
                        (0x83F2, _) => {
                            let nib = (alpha[k / 2] >> (4 * (k % 2))) & 15;
                            c[3] = nib * 17;
                        }
                        (0x83F3, Some(t)) => c[3] = t[((abits >> (3 * k)) & 7) as usize],
                        _ => {}
                    }
                    out[(y * w + x) * 4..][..4].copy_from_slice(&c);
                }
            }
        }
    }
    Some(out)
}

/// Parse an `.osgb` file's bytes: its scene.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Node> {
    parse_inner(path, bytes).map_err(|e| bad(path, e))
}

fn parse_inner(path: &Path, bytes: &[u8]) -> R<Node> {
    let mut r = Reader {
        path,
        data: std::borrow::Cow::Borrowed(bytes),
        at: 0,
        version: 0,
        brackets: false,
        big_endian: false,
        ends: Vec::new(),
        ids: HashMap::new(),
        depth: 0,
    };
    let lo = r.u32().map_err(|_| "not an OSGB file (shorter than its header)".to_owned())?;
    let hi = r.u32().map_err(|_| "not an OSGB file (shorter than its header)".to_owned())?;
    if [lo, hi] == [MAGIC[0].swap_bytes(), MAGIC[1].swap_bytes()] {
        r.big_endian = true;
    } else if [lo, hi] != MAGIC {
        return Err("not an OSGB file (no OpenSceneGraph binary header)".into());
    }
    let kind = r.u32()?;
    r.version = r.u32()?;
    let attributes = r.u32()?;
    if r.version < MIN_VERSION {
        return Err(format!(
            "format version {}: this reads versions {MIN_VERSION} (OpenSceneGraph 3.2) and newer",
            r.version
        ));
    }
    r.brackets = attributes & 4 != 0;
    if attributes & 1 != 0 {
        let n = r.count(8)?;
        for _ in 0..n {
            r.string()?;
            r.i32()?;
        }
    }
    let compressor = r.string()?;
    match compressor.as_str() {
        "0" => {}
        "zlib" => {
            use std::io::Read;
            let mut out = Vec::new();
            // The rest is one deflated stream (zlib or gzip framing).
            let rest = &bytes[r.at..];
            let mut z = flate2::read::ZlibDecoder::new(rest);
            if z.read_to_end(&mut out).is_err() {
                out.clear();
                flate2::read::GzDecoder::new(rest)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("the zlib-compressed scene cannot be inflated: {e}"))?;
            }
            r.data = std::borrow::Cow::Owned(out);
            r.at = 0;
        }
        other => return Err(format!("compressor {other}: this reads uncompressed and zlib files")),
    }
    if attributes & 2 != 0 {
        r.string()?; // the schema
    }
    if kind != 1 && kind != 3 {
        return Err(format!("file type {kind}: not a scene"));
    }
    let _ = r.path;
    match r.object()? {
        Some(Obj::Node(n)) => Ok(n),
        _ => Err("the file holds no scene node".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(name: &str) -> Node {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/osgb").join(name);
        parse(&p, &std::fs::read(&p).unwrap()).unwrap()
    }

    fn all(n: &Node, m: Option<[f64; 16]>, tex: Option<Arc<Image>>, out: &mut Vec<(Arc<Geometry>, Option<[f64; 16]>, Option<Arc<Image>>)>) {
        match n {
            Node::Group(c) => c.iter().for_each(|c| all(c, m, tex.clone(), out)),
            Node::Transform(t, c) => c.iter().for_each(|c| all(c, Some(*t), tex.clone(), out)),
            Node::Textured(t, c) => c.iter().for_each(|c| all(c, m, Some(t.clone()), out)),
            Node::PagedLod(p) => p.children.iter().for_each(|c| all(c, m, tex.clone(), out)),
            Node::Geometry(g) => out.push((g.clone(), m, g.texture.clone().or(tex.clone()))),
        }
    }

    #[test]
    fn every_primitive_kind_a_transform_raw_pixels_and_a_shared_state_set() {
        // Written by osgconv 3.6.5 from a hand-made scene (see the fuzz corpus): a
        // MatrixTransform (translation 100, 200, 300), user data, a state set shared by two
        // geometries with a 4×2 raw RGB texture, blend, cull face and material.
        for name in ["seed-complex.osgb", "seed-complex_zlib.osgb", "seed-complex_v148.osgb"] {
            let mut g = Vec::new();
            all(&seed(name), None, None, &mut g);
            assert_eq!(g.len(), 2, "{name}");
            let (first, m, tex) = &g[0];
            assert_eq!(m.unwrap()[12..15], [100.0, 200.0, 300.0], "{name}");
            // Triangles (6 indices), DrawArrays of 3, a fan of 4 (2 triangles); points none.
            assert_eq!(first.indices.len(), 6 + 3 + 6, "{name}");
            assert_eq!(first.uvs.len(), first.positions.len());
            match tex.as_deref() {
                Some(Image::Pixels {
                    width: 4,
                    height: 2,
                    rgba,
                    top_first: false,
                }) => assert_eq!(rgba.len(), 32),
                other => panic!("{name}: {other:?}"),
            }
            // The second geometry: a strip of 4 (2 triangles), the same texture (shared).
            assert_eq!(g[1].0.indices.len(), 6, "{name}");
            assert!(Arc::ptr_eq(g[1].2.as_ref().unwrap(), tex.as_ref().unwrap()), "{name}");
        }
    }

    #[test]
    fn a_class_not_read_in_a_file_without_brackets_is_named() {
        // RobustBinaryFormat=false: nothing tells where user data ends.
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/osgb/seed-complex_norobust.osgb");
        let e = parse(&p, &std::fs::read(&p).unwrap()).unwrap_err().to_string();
        assert!(
            e.contains("seed-complex_norobust.osgb") && e.contains("osg::DefaultUserDataContainer"),
            "{e}"
        );
    }

    #[test]
    fn unknown_classes_are_passed_over_and_paths_kept() {
        // A LightModel, a Switch and a Uniform: passed over by their brackets.
        let (Node::Textured(_, c) | Node::Group(c)) = seed("seed-unknown.osgb") else {
            panic!("a group");
        };
        assert!(!c.is_empty());
        // A PagedLOD with a database path, its centre left to its children (radius −1).
        let Node::PagedLod(p) = seed("seed-extra.osgb") else {
            panic!("a PagedLOD");
        };
        assert_eq!(p.database_path, "C:/data/tiles/");
        assert!(p.radius < 0.0 && !p.pixel_size);
        assert_eq!(p.ranges, vec![[0.0, 1e30]]);
        // Its PagedLOD's child: a ranged child with a file (two ranges, the second a file).
        let Node::PagedLod(p) = seed("seed-pagedlod.osgb") else {
            panic!("a PagedLOD");
        };
        assert_eq!(p.files, vec![String::new(), "Tile_+000_+000_L16_0.osgb".to_owned()]);
        assert_eq!(p.center, [10.5, -20.25, 30.125]);
        assert_eq!(p.radius, 55.5);
        assert!(p.pixel_size);
        assert_eq!(p.ranges, vec![[0.0, 276.5], [276.5, 1e30]]);
    }
}
