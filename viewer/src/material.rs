//! The one material every scene mesh uses. Bevy's `StandardMaterial` runs a physically based
//! shader per pixel (bindless material lookups, clustered lights, fog); on a software rasteriser
//! that is most of a frame. Map layers need their exact colour and buildings a simple sun term.

use bevy::asset::uuid_handle;
use bevy::mesh::{MeshVertexAttribute, MeshVertexBufferLayoutRef};
use bevy::pbr::{Material, MaterialPipeline, MaterialPipelineKey};
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, RenderPipelineDescriptor, SpecializedMeshPipelineError, VertexFormat};
use bevy::shader::{Shader, ShaderRef};

/// The material's shader, compiled into the binary (no asset folder needed at run time).
pub(crate) const MAP_SHADER: Handle<Shader> = uuid_handle!("3f7d2a1e-8c4b-4e6a-9b1d-5a2c7e9f0b13");

/// The imagery shader.
pub(crate) const IMAGE_SHADER: Handle<Shader> = uuid_handle!("c2b9e4d7-1f6a-4c3e-8d25-7a0b9e61f4c8");

/// The screen-space line shader (vertex and fragment).
pub(crate) const LINE_SHADER: Handle<Shader> = uuid_handle!("8a4c1f52-3b7e-4d09-a6c2-91e5d7f3b204");

/// The per-vertex data of pixel-wide lines: the segment's other end and a signed half width.
pub const ATTRIBUTE_LINE_OTHER: MeshVertexAttribute = MeshVertexAttribute::new("JingweiLineOther", 733_190_411, VertexFormat::Float32x4);

/// Register the shaders and the materials with a Bevy app.
pub(crate) fn add_to(app: &mut App) {
    app.add_plugins(MaterialPlugin::<MapMaterial>::default());
    app.add_plugins(MaterialPlugin::<ScreenLineMaterial>::default());
    app.add_plugins(MaterialPlugin::<ImageMaterial>::default());
    let image = Shader::from_wgsl(include_str!("image.wgsl"), "jingwei_viewer/image.wgsl");
    let map = Shader::from_wgsl(include_str!("map.wgsl"), "jingwei_viewer/map.wgsl");
    let line = Shader::from_wgsl(include_str!("screen_line.wgsl"), "jingwei_viewer/screen_line.wgsl");
    let mut shaders = app.world_mut().resource_mut::<Assets<Shader>>();
    let _ = shaders.insert(MAP_SHADER.id(), map);
    let _ = shaders.insert(LINE_SHADER.id(), line);
    let _ = shaders.insert(IMAGE_SHADER.id(), image);
}

/// Lines a fixed number of pixels wide whatever the distance (see `screen_line.wgsl`).
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct ScreenLineMaterial {
    /// Linear RGBA.
    #[uniform(0)]
    pub color: LinearRgba,
}

impl Material for ScreenLineMaterial {
    fn vertex_shader() -> ShaderRef {
        ShaderRef::Handle(LINE_SHADER)
    }

    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(LINE_SHADER)
    }

    fn alpha_mode(&self) -> AlphaMode {
        alpha_mode_of(self.color)
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }

    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        layout: &MeshVertexBufferLayoutRef,
        _key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        let vertex_layout = layout.0.get_layout(&[
            Mesh::ATTRIBUTE_POSITION.at_shader_location(0),
            ATTRIBUTE_LINE_OTHER.at_shader_location(8),
        ])?;
        descriptor.vertex.buffers = vec![vertex_layout];
        descriptor.primitive.cull_mode = None;
        Ok(())
    }
}

/// Translucent colours blend, opaque ones do not.
fn alpha_mode_of(color: LinearRgba) -> AlphaMode {
    if color.alpha < 1.0 { AlphaMode::Blend } else { AlphaMode::Opaque }
}

/// A flat or sun-shaded colour.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
#[bind_group_data(MapMaterialKey)]
pub struct MapMaterial {
    /// Linear RGBA; alpha below 1 blends.
    #[uniform(0)]
    pub color: LinearRgba,
    /// Shaded by the sun (buildings, culled back faces) or flat and double-sided (map layers).
    pub lit: bool,
    /// Lit softly, as hill shading (terrain): slopes away from the sun stay readable.
    pub terrain: bool,
}

/// What the pipeline is specialised on.
#[repr(C)]
#[derive(Eq, PartialEq, Hash, Copy, Clone)]
pub struct MapMaterialKey {
    lit: bool,
    terrain: bool,
}

impl From<&MapMaterial> for MapMaterialKey {
    fn from(m: &MapMaterial) -> Self {
        MapMaterialKey {
            lit: m.lit,
            terrain: m.terrain,
        }
    }
}

impl Material for MapMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(MAP_SHADER)
    }

    fn alpha_mode(&self) -> AlphaMode {
        alpha_mode_of(self.color)
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }

    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        _layout: &MeshVertexBufferLayoutRef,
        key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        if key.bind_group_data.lit {
            if let Some(f) = descriptor.fragment.as_mut() {
                f.shader_defs.push("LIT".into());
                if key.bind_group_data.terrain {
                    f.shader_defs.push("TERRAIN".into());
                }
            }
        } else {
            descriptor.primitive.cull_mode = None;
        }
        Ok(())
    }
}

/// Imagery draped on the ground: a texture, unlit; cut out where it has no data when opaque
/// (drawn with the opaque layers, so the vector layers above it keep their depth order),
/// blended when the layer is translucent.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct ImageMaterial {
    /// Only the alpha is used: the layer's opacity.
    #[uniform(0)]
    pub tint: LinearRgba,
    /// The texture.
    #[texture(1)]
    #[sampler(2)]
    pub image: Handle<Image>,
}

impl Material for ImageMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(IMAGE_SHADER)
    }

    fn alpha_mode(&self) -> AlphaMode {
        if self.tint.alpha >= 0.999 {
            AlphaMode::Mask(0.5)
        } else {
            AlphaMode::Blend
        }
    }

    fn enable_prepass() -> bool {
        false
    }

    fn enable_shadows() -> bool {
        false
    }

    fn specialize(
        _pipeline: &MaterialPipeline,
        descriptor: &mut RenderPipelineDescriptor,
        _layout: &MeshVertexBufferLayoutRef,
        _key: MaterialPipelineKey<Self>,
    ) -> Result<(), SpecializedMeshPipelineError> {
        descriptor.primitive.cull_mode = None;
        Ok(())
    }
}
