//! Rendering a [`SceneData`] with Bevy, offscreen: no window, no display, software Vulkan
//! (Mesa's lavapipe) where there is no GPU. The app and the headless tools share this path.

use std::time::Instant;

use bevy::app::{AppLabel, SubApps};
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::mesh::Indices;
use bevy::prelude::*;
use bevy::render::render_asset::RenderAssets;
use bevy::render::render_resource::{
    Buffer, BufferDescriptor, BufferUsages, CommandEncoderDescriptor, Extent3d, MapMode, PollType, PrimitiveTopology, TexelCopyBufferInfo,
    TexelCopyBufferLayout, TextureDimension, TextureFormat, TextureUsages,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::texture::GpuImage;
use bevy::render::{RenderApp, RenderPlugin};
use bevy::window::ExitCondition;

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, SubCameraView, Viewport};
use bevy::render::sync_world::RenderEntity;
use bevy::render::view::ViewTarget;
use jingwei_scene::compare::Pane;
use jingwei_scene::extrude::MeshData;
use jingwei_scene::overlay::{Annotation, Placed};
use jingwei_scene::scene::{MeshKind, SceneData};
pub use jingwei_scene::view::{Frame, View};

use crate::material::{MapMaterial, ScreenLineMaterial};

/// Why a frame could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The size is zero or too large.
    #[error("image size {0}×{1} is not between 1×1 and 8192×8192")]
    Size(u32, u32),
    /// The frame never came back from the GPU.
    #[error("the renderer returned no frame (is a Vulkan driver such as mesa-vulkan-drivers installed?)")]
    NoFrame,
    /// The frame could not be mapped back from the GPU.
    #[error("cannot read the frame back: {0}")]
    Convert(String),
    /// The frame could not be encoded.
    #[error(transparent)]
    Encode(#[from] jingwei_scene::view::FrameError),
}

/// The Bevy transform of a view's camera.
pub fn camera_transform(view: &View) -> Transform {
    let pose = view.pose();
    Transform::from_translation(pose.translation).with_rotation(pose.rotation)
}

/// Everything a Jingwei scene needs in a Bevy app: its two materials and their shaders. The
/// offscreen [`Renderer`] adds it to its own app; an app with a window of its own would add it
/// the same way.
pub struct MapRenderPlugin;

impl Plugin for MapRenderPlugin {
    fn build(&self, app: &mut App) {
        crate::material::add_to(app);
    }
}

/// Marks entities that belong to scene `slot` (0 the main scene; 1, 2, 3 the other scenes of
/// a comparison), replaced on [`Renderer::set_scene`] or [`Renderer::set_scene_slot`]. Slot
/// `k` is drawn on render layer `k`, which only the cameras of its panes see.
#[derive(Component)]
struct SceneEntity(usize);

/// A 3D tile's entity: its origin (local metres, f64).
#[derive(Component)]
struct TileEntity {
    origin: [f64; 3],
}

/// Where an entity with its vertices about `origin` stands in a world drawn about `shift`:
/// the difference is taken in f64 and is small near the camera.
fn placed(origin: [f64; 3], shift: Vec3) -> Transform {
    Transform::from_translation(Vec3::new(
        (origin[0] - f64::from(shift.x)) as f32,
        (origin[1] - f64::from(shift.y)) as f32,
        (origin[2] - f64::from(shift.z)) as f32,
    ))
}

/// The grid the world's drawing origin snaps to (metres): it moves with the camera in steps,
/// so that what is drawn near the camera has small coordinates in f32 wherever it is.
const SHIFT_GRID_M: f32 = 1024.0;

/// A persistent offscreen renderer: one Bevy world, one camera, one target image.
pub struct Renderer {
    apps: SubApps,
    target: Handle<Image>,
    camera: Entity,
    width: u32,
    height: u32,
    /// New meshes or pipelines need a frame or two before they show.
    needs_warmup: bool,
    last_warmed_up: bool,
    /// Bevy updates run by the last `render` call.
    last_updates: u32,
    /// Where frames are copied for the CPU: made once, reused for every frame.
    readback: Option<Buffer>,
    last_timing: FrameTiming,
    /// Symbols and labels of each scene slot, drawn over each frame.
    annotations: Vec<Vec<Annotation>>,
    view: Option<View>,
    last_placed: Vec<Placed>,
    /// Cameras of the panes after the first (`camera`).
    pane_cameras: Vec<Entity>,
    /// A comparison's panes; `None`: one scene, one camera, the whole frame.
    panes: Option<Vec<Pane>>,
    /// The local point the world is drawn about (camera-relative rendering: every entity and
    /// camera is moved by −shift, in f64 where it has an f64 origin).
    shift: Vec3,
    /// The 3D tiles drawn, by key.
    tiles: std::collections::HashMap<u64, Vec<Entity>>,
    /// The tiles' materials, one per colour and lighting (a tile's meshes share them).
    tile_materials: std::collections::HashMap<([u32; 4], bool), Handle<MapMaterial>>,
}

const BACKGROUND: Color = Color::srgb_u8(238, 241, 244);

/// Point a camera as `view` says, in a world drawn about `shift` (see [`Renderer::set_view`]).
fn aim(world: &mut World, camera: Entity, view: &View, shift: Vec3) {
    if let Some(mut t) = world.get_mut::<Transform>(camera) {
        *t = camera_about(view, shift);
    }
    if let Some(mut p) = world.get_mut::<Projection>(camera)
        && let Projection::Perspective(pp) = p.as_mut()
    {
        pp.fov = view.fov_deg.to_radians();
        pp.near = (view.distance_m / 1000.0).clamp(0.5, 50.0);
        pp.far = view.distance_m * 20.0 + 10_000.0;
    }
}

/// The camera of `view` in a world drawn about `shift`: the target is taken about the shift
/// first (exact in f32: the shift is a nearby multiple of the grid), so that the eye is worked
/// out in small numbers — 100 km from the workspace's origin as precisely as beside it.
fn camera_about(view: &View, shift: Vec3) -> Transform {
    let local = View {
        target: [view.target[0] - shift.x, view.target[1] - shift.y, view.target[2] - shift.z],
        ..*view
    };
    camera_transform(&local)
}

/// The point the world is drawn about for `view`: its target on the [`SHIFT_GRID_M`] grid.
fn shift_for(view: &View) -> Vec3 {
    let t = Vec3::from(view.target);
    Vec3::new(
        (t.x / SHIFT_GRID_M).round() * SHIFT_GRID_M,
        0.0,
        (t.z / SHIFT_GRID_M).round() * SHIFT_GRID_M,
    )
}

/// Where the time of the last [`Renderer::render`] went, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct FrameTiming {
    /// Bevy updates that prepared new meshes or pipelines (0 for a camera move).
    pub warmup_ms: f64,
    /// The update that draws the frame: Bevy's systems, extraction and the GPU's work.
    pub render_ms: f64,
    /// Copying the frame into the mapped buffer and out of it.
    pub readback_ms: f64,
    /// Placing and drawing symbols and labels over it.
    pub overlay_ms: f64,
}

/// A textured mesh and its material (unlit; `opacity` the layer's): draped imagery, or a
/// photographed model's tile.
fn image_mesh(
    world: &mut World,
    size: [u32; 2],
    rgba: Vec<u8>,
    opacity: f32,
    m: &MeshData,
    uvs: Vec<[f32; 2]>,
) -> (Mesh, Handle<crate::material::ImageMaterial>) {
    let image = Image::new(
        Extent3d {
            width: size[0],
            height: size[1],
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        rgba,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    let image = world.resource_mut::<Assets<Image>>().add(image);
    let material = world
        .resource_mut::<Assets<crate::material::ImageMaterial>>()
        .add(crate::material::ImageMaterial {
            tint: LinearRgba::new(1.0, 1.0, 1.0, opacity),
            image,
        });
    let mesh = Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::RENDER_WORLD)
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, m.positions.clone())
        .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
        .with_inserted_indices(Indices::U32(m.indices.clone()));
    (mesh, material)
}

/// The GPU meshes of a mesh: positions only (the material derives face normals) and `u16`
/// indices, in chunks of at most 65,536 vertices.
fn to_meshes(m: &MeshData) -> Vec<Mesh> {
    m.chunks()
        .into_iter()
        .map(|(positions, indices, extra)| {
            let mesh = Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::RENDER_WORLD)
                .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
                .with_inserted_indices(Indices::U16(indices));
            if extra.is_empty() {
                mesh
            } else {
                mesh.with_inserted_attribute(crate::material::ATTRIBUTE_LINE_OTHER, extra)
            }
        })
        .collect()
}

impl Renderer {
    /// A renderer for `width × height` frames.
    pub fn new(width: u32, height: u32) -> Result<Renderer, RenderError> {
        if width == 0 || height == 0 || width > 8192 || height > 8192 {
            return Err(RenderError::Size(width, height));
        }
        let mut app = App::new();
        app.add_plugins(
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: None,
                    exit_condition: ExitCondition::DontExit,
                    ..default()
                })
                .set(RenderPlugin {
                    synchronous_pipeline_compilation: true,
                    // Small memory blocks (4–16 MiB rather than 128–256; larger resources get
                    // blocks of their own, freed with them): on the software renderer device
                    // memory is the process's own, and the block the allocator keeps for each
                    // kind of memory after a tileset is removed stays resident.
                    render_creation: bevy::render::settings::RenderCreation::Automatic(Box::new(bevy::render::settings::WgpuSettings {
                        memory_hints: bevy::render::settings::MemoryHints::Manual {
                            suballocated_device_memory_block_size: (4 << 20)..(8 << 20),
                        },
                        ..default()
                    })),
                    ..default()
                })
                // Renderers are made more than once per process (tests, the app): leave the
                // global logger to the host program.
                .disable::<bevy::log::LogPlugin>()
                .disable::<bevy::render::pipelined_rendering::PipelinedRenderingPlugin>(),
        );
        app.add_plugins(MapRenderPlugin);
        app.sub_app_mut(RenderApp).add_systems(
            bevy::render::Render,
            render_skipped_cameras
                .in_set(bevy::render::RenderSystems::PrepareViews)
                .after(bevy::render::view::prepare_view_attachments)
                .before(bevy::render::view::prepare_view_targets),
        );
        app.finish();
        app.cleanup();
        let mut apps = std::mem::take(app.sub_apps_mut());
        let world = apps.main.world_mut();
        let mut image = Image::new_uninit(
            Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            TextureDimension::D2,
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::RENDER_WORLD,
        );
        image.texture_descriptor.usage |= TextureUsages::RENDER_ATTACHMENT;
        let target = world.resource_mut::<Assets<Image>>().add(image);
        let camera = world
            .spawn((
                Camera3d::default(),
                Camera {
                    clear_color: ClearColorConfig::Custom(BACKGROUND),
                    // Alone, the camera's frame is read back from its main texture (`read_back`):
                    // the copy into the target, a full-frame pass of its own, is skipped.
                    output_mode: CameraOutputMode::Skip,
                    ..default()
                },
                RenderTarget::from(target.clone()),
                Tonemapping::None,
                // MSAA ×4 quadruples the fragment work of a software rasteriser; edges of a city
                // seen from afar gain little from it.
                bevy::render::view::Msaa::Off,
                Projection::Perspective(PerspectiveProjection {
                    fov: 40f32.to_radians(),
                    near: 1.0,
                    far: 200_000.0,
                    ..default()
                }),
                Transform::from_xyz(0.0, 1000.0, 1000.0).looking_at(Vec3::ZERO, Vec3::Y),
            ))
            .id();
        Ok(Renderer {
            apps,
            target,
            camera,
            width,
            height,
            needs_warmup: true,
            last_warmed_up: false,
            last_updates: 0,
            readback: None,
            last_timing: FrameTiming::default(),
            annotations: Vec::new(),
            view: None,
            last_placed: Vec::new(),
            pane_cameras: Vec::new(),
            panes: None,
            shift: Vec3::ZERO,
            tiles: std::collections::HashMap::new(),
            tile_materials: std::collections::HashMap::new(),
        })
    }

    /// Bevy updates the last `render` took (1 for a camera move).
    pub fn last_updates(&self) -> u32 {
        self.last_updates
    }

    /// Where the time of the last `render` went.
    pub fn last_timing(&self) -> FrameTiming {
        self.last_timing
    }

    /// Whether the last `render` had to warm up (after a scene change) before its frame.
    pub fn last_warmed_up(&self) -> bool {
        self.last_warmed_up
    }

    /// Frame size.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Draw frames of `width × height` from now on, keeping the scene, the tiles and the
    /// compiled pipelines: the page asks for half-size frames while the view moves and full ones
    /// when it rests, and a new renderer for each switch re-uploaded the whole scene (a third of
    /// a second for the demo city, more the bigger the scene). The levels of detail switch
    /// at distances for the new height, as a renderer made at this size would.
    pub fn resize(&mut self, width: u32, height: u32) -> Result<(), RenderError> {
        if width == 0 || height == 0 || width > 8192 || height > 8192 {
            return Err(RenderError::Size(width, height));
        }
        if (width, height) == (self.width, self.height) {
            return Ok(());
        }
        let world = self.apps.main.world_mut();
        if let Some(mut image) = world.resource_mut::<Assets<Image>>().get_mut(&self.target) {
            image.resize(Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            });
        }
        let mut q = world.query::<(Entity, &Lod)>();
        let lods: Vec<(Entity, jingwei_scene::lod::LodRange)> = q.iter(world).map(|(e, l)| (e, l.0)).collect();
        for (e, r) in lods {
            world.entity_mut(e).insert(lod_components(&r, height));
        }
        // The cameras' target sizes and aspects are recomputed in the next update (as after a
        // move), also when no view is set before it; the panes are set again by their caller.
        let cameras: Vec<Entity> = std::iter::once(self.camera).chain(self.pane_cameras.iter().copied()).collect();
        for cam in cameras {
            if let Some(mut p) = world.get_mut::<Projection>(cam) {
                p.set_changed();
            }
        }
        (self.width, self.height) = (width, height);
        // The read-back buffer is kept while it holds the frame (half-size frames fit in it).
        if self.readback.as_ref().is_some_and(|b| b.size() < readback_bytes(width, height).1) {
            self.readback = None;
        }
        Ok(())
    }

    /// Where the symbols and labels of the last frame went.
    pub fn last_placed(&self) -> &[Placed] {
        &self.last_placed
    }

    /// Replace the scene's meshes and annotations.
    pub fn set_scene(&mut self, scene: &SceneData) {
        self.set_scene_slot(0, scene);
    }

    /// Remove the scenes of slots `from` on (a comparison ended).
    pub fn clear_slots_from(&mut self, from: usize) {
        let world = self.apps.main.world_mut();
        let mut q = world.query::<(Entity, &SceneEntity)>();
        let old: Vec<Entity> = q.iter(world).filter(|(_, s)| s.0 >= from).map(|(e, _)| e).collect();
        for e in old {
            world.despawn(e);
        }
        self.annotations.truncate(from.max(1));
    }

    /// Replace the meshes and annotations of scene `slot` (0 the main scene; a comparison's
    /// other scenes in 1–3).
    pub fn set_scene_slot(&mut self, slot: usize, scene: &SceneData) {
        self.needs_warmup = true;
        if self.annotations.len() <= slot {
            self.annotations.resize(slot + 1, Vec::new());
        }
        self.annotations[slot] = scene.annotations.clone();
        let (shift, height) = (self.shift, self.height);
        let world = self.apps.main.world_mut();
        let mut q = world.query_filtered::<(Entity, &SceneEntity), Without<TileEntity>>();
        let old: Vec<Entity> = q.iter(world).filter(|(_, s)| s.0 == slot).map(|(e, _)| e).collect();
        for e in old {
            world.despawn(e);
        }
        for d in &scene.images {
            if d.mesh.indices.is_empty() || d.rgba.len() != (d.width * d.height * 4) as usize {
                continue;
            }
            let (mesh, material) = image_mesh(
                world,
                [d.width, d.height],
                d.rgba.as_ref().clone(),
                d.opacity,
                &d.mesh,
                d.uvs.clone(),
            );
            spawn_mesh(world, mesh, material, slot, shift);
        }
        for d in &scene.stand_ins {
            if d.mesh.indices.is_empty() || d.rgba.len() != (d.width * d.height * 4) as usize {
                continue;
            }
            let e = spawn_stand_in(world, d, slot, shift);
            if let Some(r) = d.range {
                world.entity_mut(e).insert(lod_components(&r, height));
            }
        }
        for lm in &scene.meshes {
            if lm.mesh.indices.is_empty() {
                continue;
            }
            let [r, g, b, a] = lm.color;
            let color = Color::srgba(r, g, b, a).to_linear();
            if lm.kind == MeshKind::ScreenLine {
                let material = world.resource_mut::<Assets<ScreenLineMaterial>>().add(ScreenLineMaterial { color });
                for m in to_meshes(&lm.mesh) {
                    spawn_mesh(world, m, material.clone(), slot, shift);
                }
                continue;
            }
            let material = MapMaterial {
                color,
                lit: matches!(lm.kind, MeshKind::Building | MeshKind::Terrain),
                terrain: lm.kind == MeshKind::Terrain,
            };
            let material = world.resource_mut::<Assets<MapMaterial>>().add(material);
            for m in to_meshes(&lm.mesh) {
                let e = spawn_mesh(world, m, material.clone(), slot, shift);
                if let Some(r) = lm.range {
                    world.entity_mut(e).insert(lod_components(&r, height));
                }
            }
        }
    }

    /// Move the camera. The world is drawn about a point near what it looks at (on a
    /// 1,024 m grid): entities are moved by the difference, so that vertices near the camera
    /// are small numbers in f32 even 100 km from the workspace's origin.
    pub fn set_view(&mut self, view: &View) {
        self.view = Some(*view);
        let shift = shift_for(view);
        if shift != self.shift {
            self.shift = shift;
            let world = self.apps.main.world_mut();
            let mut q = world.query_filtered::<(&mut Transform, Option<&TileEntity>), With<SceneEntity>>();
            for (mut tr, tile) in q.iter_mut(world) {
                *tr = placed(tile.map_or([0.0; 3], |t| t.origin), shift);
            }
        }
        let camera = self.camera;
        aim(self.apps.main.world_mut(), camera, view, shift);
    }

    /// The 3D tiles drawn in the main scene: tiles no longer listed are removed, new ones are
    /// meshed (about their own origins; see `jingwei_scene::tiles::meshes`) and added; the rest
    /// stay as they are. `origin_xy` is the workspace's origin.
    pub fn set_tiles(&mut self, origin_xy: [f64; 2], tiles: &[jingwei_scene::tiles::DrawTile]) {
        let keep: std::collections::HashSet<u64> = tiles.iter().map(|t| t.key).collect();
        let gone: Vec<u64> = self.tiles.keys().copied().filter(|k| !keep.contains(k)).collect();
        let shift = self.shift;
        let world = self.apps.main.world_mut();
        if tiles.is_empty() && !gone.is_empty() {
            // The last tiles go (a tileset removed): the next frame runs the extra updates that
            // free their GPU meshes and textures, so that their memory is back after it.
            self.needs_warmup = true;
        }
        for k in gone {
            for e in self.tiles.remove(&k).unwrap_or_default() {
                world.despawn(e);
            }
        }
        for t in tiles {
            if self.tiles.contains_key(&t.key) {
                continue;
            }
            let mut entities = Vec::new();
            for tm in jingwei_scene::tiles::meshes(origin_xy, t) {
                if let Some(tex) = &tm.texture {
                    // A photographed texture: unlit, its own material, freed with the tile.
                    if tm.mesh.uvs.len() != tm.mesh.positions.len() || tex.rgba.len() != (tex.width * tex.height * 4) as usize {
                        continue;
                    }
                    let (mesh, material) = image_mesh(world, [tex.width, tex.height], tex.rgba.clone(), 1.0, &tm.mesh, tm.mesh.uvs.clone());
                    let e = spawn_mesh(world, mesh, material, 0, shift);
                    world
                        .entity_mut(e)
                        .insert((TileEntity { origin: tm.origin }, placed(tm.origin, shift)));
                    entities.push(e);
                    continue;
                }
                let [r, g, b, a] = tm.color;
                let lit = tm.kind == MeshKind::Building;
                let material = self
                    .tile_materials
                    .entry((tm.color.map(f32::to_bits), lit))
                    .or_insert_with(|| {
                        world.resource_mut::<Assets<MapMaterial>>().add(MapMaterial {
                            color: Color::srgba(r, g, b, a).to_linear(),
                            lit,
                            terrain: false,
                        })
                    })
                    .clone();
                for m in to_meshes(&tm.mesh) {
                    let e = spawn_mesh(world, m, material.clone(), 0, shift);
                    world
                        .entity_mut(e)
                        .insert((TileEntity { origin: tm.origin }, placed(tm.origin, shift)));
                    entities.push(e);
                }
            }
            self.needs_warmup = true;
            self.tiles.insert(t.key, entities);
        }
    }

    /// Compile the pipelines that tiles and imagery are drawn with — lit and unlit colours, a
    /// textured mesh — by drawing one small triangle of each once, out of sight, then removing
    /// them. The software renderer compiles a pipeline the first time it is used (tens of
    /// megabytes of compiled code and tens of milliseconds each, kept for the life of the
    /// renderer); done at start-up, neither lands on the first frame of a tileset, and the
    /// memory a tileset takes is its own and is given back when it is removed.
    pub fn prepare_pipelines(&mut self) -> Result<(), RenderError> {
        let shift = self.shift;
        let tri = MeshData {
            positions: vec![[0.0, -1.0e4, 0.0], [1.0, -1.0e4, 0.0], [0.0, -1.0e4, 1.0]],
            indices: vec![0, 1, 2],
            triangle_rows: vec![0],
            extra: Vec::new(),
            uvs: vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]],
        };
        let world = self.apps.main.world_mut();
        let mut spawned = Vec::new();
        for lit in [true, false] {
            let material = world.resource_mut::<Assets<MapMaterial>>().add(MapMaterial {
                color: LinearRgba::WHITE,
                lit,
                terrain: false,
            });
            for m in to_meshes(&tri) {
                spawned.push(spawn_mesh(world, m, material.clone(), 0, shift));
            }
        }
        let (mesh, material) = image_mesh(world, [2, 2], vec![255; 16], 1.0, &tri, tri.uvs.clone());
        spawned.push(spawn_mesh(world, mesh, material, 0, shift));
        for e in &spawned {
            // Drawn wherever the camera looks: pipelines are prepared for what is visible.
            world.entity_mut(*e).insert(bevy::camera::visibility::NoFrustumCulling);
        }
        self.needs_warmup = true;
        self.render()?;
        let world = self.apps.main.world_mut();
        for e in spawned {
            world.despawn(e);
        }
        self.needs_warmup = true;
        self.render()?;
        Ok(())
    }

    /// The graphics memory the renderer holds, bytes: in live allocations, and reserved in the
    /// allocator's blocks (`None` where the backend does not report it).
    pub fn gpu_memory(&self) -> Option<(u64, u64)> {
        let device = self.apps.main.world().resource::<RenderDevice>();
        let r = device.wgpu_device().generate_allocator_report()?;
        Some((r.total_allocated_bytes, r.total_reserved_bytes))
    }

    /// Keys of the 3D tiles drawn.
    pub fn tile_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.tiles.keys().copied()
    }

    /// Share the frame among scenes (see `jingwei_scene::compare::panes`), or — `None` — go
    /// back to one scene seen whole through [`Renderer::set_view`]'s camera.
    pub fn set_panes(&mut self, panes: Option<Vec<Pane>>) {
        let (w, h) = (self.width, self.height);
        let panes = panes.map(|ps| {
            ps.into_iter()
                .filter(|p| p.rect[2] > 0 && p.rect[3] > 0 && p.rect[0] + p.rect[2] <= w && p.rect[1] + p.rect[3] <= h)
                .collect::<Vec<_>>()
        });
        let n = panes.as_ref().map_or(1, Vec::len).max(1);
        while self.pane_cameras.len() + 1 < n {
            let order = self.pane_cameras.len() as isize + 1;
            let target = self.target.clone();
            let e = self
                .apps
                .main
                .world_mut()
                .spawn((
                    Camera3d::default(),
                    Camera {
                        clear_color: ClearColorConfig::None,
                        order,
                        ..default()
                    },
                    RenderTarget::from(target),
                    Tonemapping::None,
                    bevy::render::view::Msaa::Off,
                    Projection::Perspective(PerspectiveProjection::default()),
                    Transform::default(),
                ))
                .id();
            self.pane_cameras.push(e);
        }
        let cameras: Vec<Entity> = std::iter::once(self.camera).chain(self.pane_cameras.iter().copied()).collect();
        let world = self.apps.main.world_mut();
        for (i, cam) in cameras.iter().enumerate() {
            let pane = panes.as_ref().and_then(|ps| ps.get(i));
            if let Some(mut c) = world.get_mut::<Camera>(*cam) {
                c.is_active = i == 0 || pane.is_some();
                if i == 0 {
                    // The panes share the target, each camera writing its viewport of it.
                    c.output_mode = if panes.is_some() {
                        CameraOutputMode::default()
                    } else {
                        CameraOutputMode::Skip
                    };
                }
                match pane {
                    Some(p) => {
                        c.viewport = Some(Viewport {
                            physical_position: UVec2::new(p.rect[0], p.rect[1]),
                            physical_size: UVec2::new(p.rect[2], p.rect[3]),
                            ..default()
                        });
                        c.sub_camera_view = p.full.map(|(fw, fh)| SubCameraView {
                            full_size: UVec2::new(fw, fh),
                            offset: Vec2::new(p.rect[0] as f32, p.rect[1] as f32),
                            size: UVec2::new(p.rect[2], p.rect[3]),
                        });
                    }
                    None => {
                        c.viewport = None;
                        c.sub_camera_view = None;
                    }
                }
            }
            let slot = pane.map_or(0, |p| p.slot);
            world.entity_mut(*cam).insert(RenderLayers::layer(slot));
            if let Some(p) = pane {
                aim(world, *cam, &p.view, self.shift);
            }
        }
        if panes.is_none()
            && let Some(v) = self.view
        {
            aim(world, self.camera, &v, self.shift);
        }
        self.panes = panes;
    }

    fn update(&mut self) {
        self.apps.update();
        let device = self.apps.main.world().resource::<RenderDevice>();
        let _ = device.wgpu_device().poll(PollType::Wait {
            submission_index: None,
            timeout: None,
        });
    }

    /// Render one frame and read it back.
    pub fn render(&mut self) -> Result<Frame, RenderError> {
        // After a scene change, meshes and pipelines are prepared over the next frames; a camera
        // move alone shows in the very next frame.
        let mut updates = 0;
        self.last_warmed_up = self.needs_warmup;
        let t0 = Instant::now();
        if self.needs_warmup {
            for _ in 0..2 {
                self.update();
                updates += 1;
            }
            self.needs_warmup = false;
        }
        let t1 = Instant::now();
        self.update();
        updates += 1;
        let t2 = Instant::now();
        let mut frame = self.read_back()?;
        let t3 = Instant::now();
        self.last_placed = match (&self.panes, &self.view) {
            (Some(panes), _) => {
                overlay_panes(&mut frame, panes, &self.annotations);
                Vec::new()
            }
            (None, Some(v)) if self.annotations.first().is_some_and(|a| !a.is_empty()) => {
                jingwei_scene::overlay::draw(&mut frame, &self.annotations[0], v)
            }
            _ => Vec::new(),
        };
        let t4 = Instant::now();
        self.last_updates = updates;
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
        self.last_timing = FrameTiming {
            warmup_ms: ms(t0, t1),
            render_ms: ms(t1, t2),
            readback_ms: ms(t2, t3),
            overlay_ms: ms(t3, t4),
        };
        Ok(frame)
    }

    /// Copy the frame (the main camera's main texture, or the target image while panes share it)
    /// into the persistent buffer, wait for it and unpad its rows. Done
    /// outside Bevy's schedule, right after the frame's update: no second update, no buffer
    /// allocated per frame.
    fn read_back(&mut self) -> Result<Frame, RenderError> {
        let (width, height) = (self.width, self.height);
        // The main camera's own texture when it skips the copy into the target, else the target.
        let skipped = self
            .apps
            .main
            .world()
            .get::<Camera>(self.camera)
            .is_some_and(|c| matches!(c.output_mode, CameraOutputMode::Skip));
        let render_entity = self.apps.main.world().get::<RenderEntity>(self.camera).map(|e| e.id());
        let world = self.apps.sub_apps.get(&RenderApp.intern()).ok_or(RenderError::NoFrame)?.world();
        let texture = if skipped {
            let view = render_entity.and_then(|e| world.get::<ViewTarget>(e)).ok_or(RenderError::NoFrame)?;
            let t = view.main_texture();
            // 8-bit sRGB RGBA of the frame's size, as the target (no HDR, no other colour space).
            if t.format() != TextureFormat::Rgba8UnormSrgb || (t.width(), t.height()) != (width, height) {
                return Err(RenderError::Convert(format!(
                    "the camera's texture is {:?} {}×{}, not an sRGB frame of {width}×{height}",
                    t.format(),
                    t.width(),
                    t.height()
                )));
            }
            t
        } else {
            &world
                .resource::<RenderAssets<GpuImage>>()
                .get(self.target.id())
                .ok_or(RenderError::NoFrame)?
                .texture
        };
        let device = world.resource::<RenderDevice>();
        let queue = world.resource::<RenderQueue>();
        let row = width * 4;
        let (padded, bytes) = readback_bytes(width, height);
        let buffer = self.readback.get_or_insert_with(|| {
            device.create_buffer(&BufferDescriptor {
                label: Some("jingwei frame readback"),
                size: bytes,
                usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let mut encoder = device.create_command_encoder(&CommandEncoderDescriptor {
            label: Some("jingwei frame readback"),
        });
        encoder.copy_texture_to_buffer(
            texture.as_image_copy(),
            TexelCopyBufferInfo {
                buffer,
                layout: TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(padded),
                    rows_per_image: None,
                },
            },
            Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
        queue.submit([encoder.finish()]);
        let slice = buffer.slice(..bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        let _ = device.wgpu_device().poll(PollType::Wait {
            submission_index: None,
            timeout: None,
        });
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(RenderError::Convert(e.to_string())),
            Err(_) => return Err(RenderError::NoFrame),
        }
        let mut rgba = Vec::with_capacity((row * height) as usize);
        {
            let data = slice.get_mapped_range();
            for y in 0..height as usize {
                let at = y * padded as usize;
                rgba.extend_from_slice(&data[at..at + row as usize]);
            }
        }
        buffer.unmap();
        Ok(Frame { width, height, rgba })
    }
}

/// A read-back of a `width × height` RGBA frame: its rows' stride (aligned to 256 bytes, as
/// buffer copies want) and its size in bytes.
fn readback_bytes(width: u32, height: u32) -> (u32, u64) {
    let padded = (width * 4).div_ceil(256) * 256;
    (padded, u64::from(padded) * u64::from(height))
}

/// A camera that skips the copy of its frame into its target (`CameraOutputMode::Skip`) still
/// renders here: Bevy draws only cameras with an output, so the target is given as that output
/// without being written to. `Renderer::read_back` reads such a camera's main texture instead
/// of the target: at 1280×720 on a software rasteriser the copy, a full-frame pass of its own,
/// took ≈ 4 ms of a 15 ms frame.
fn render_skipped_cameras(
    cameras: Query<&bevy::render::camera::ExtractedCamera>,
    windows: Res<bevy::render::view::window::ExtractedWindows>,
    images: Res<RenderAssets<GpuImage>>,
    manual: Res<bevy::render::texture::ManualTextureViews>,
    mut attachments: ResMut<bevy::render::view::ViewTargetAttachments>,
) {
    use bevy::render::camera::NormalizedRenderTargetExt;
    for camera in &cameras {
        let Some(target) = camera
            .target
            .as_ref()
            .filter(|_| matches!(camera.output_mode, CameraOutputMode::Skip))
        else {
            continue;
        };
        if attachments.contains_key(target) {
            continue;
        }
        let view = target.get_texture_view(&windows, &images, &manual);
        let format = target.get_texture_view_format(&windows, &images, &manual);
        if let (Some(view), Some(format)) = (view, format) {
            attachments.insert(
                target.clone(),
                bevy::render::texture::OutputColorAttachment::new(view.clone(), format),
            );
        }
    }
}

/// One mesh of scene `slot` with its material, drawn on the slot's render layer.
/// A big layer's stand-in (see `jingwei_scene::lod`): its texture with every mip level (a box
/// filter, so that from afar a texel's alpha is the share of the area its footprints cover),
/// blended over what lies beneath.
fn spawn_stand_in(world: &mut World, d: &jingwei_scene::imagery::ImageDrape, slot: usize, shift: Vec3) -> Entity {
    let (mut w, mut h) = (d.width as usize, d.height as usize);
    let mut data = d.rgba.as_ref().clone();
    let mut level = 0..data.len();
    let mut levels = 1;
    while w > 1 && h > 1 {
        let (nw, nh) = (w / 2, h / 2);
        let src = data[level.clone()].to_vec();
        let start = data.len();
        for y in 0..nh {
            for x in 0..nw {
                for c in 0..4 {
                    let at = |xx: usize, yy: usize| u32::from(src[(yy * w + xx) * 4 + c]);
                    let sum = at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1);
                    data.push(((sum + 2) / 4) as u8);
                }
            }
        }
        level = start..data.len();
        (w, h) = (nw, nh);
        levels += 1;
    }
    let mut image = Image::new(
        Extent3d {
            width: d.width,
            height: d.height,
            depth_or_array_layers: 1,
        },
        TextureDimension::D2,
        d.rgba.as_ref().clone(),
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    // Every level, largest first (made with the first only: `Image::new` checks its size).
    image.data = Some(data);
    image.texture_descriptor.mip_level_count = levels;
    image.sampler = bevy::image::ImageSampler::linear();
    let image = world.resource_mut::<Assets<Image>>().add(image);
    // Below full opacity, so that the material blends (coverage as alpha) instead of cutting out.
    let material = world
        .resource_mut::<Assets<crate::material::ImageMaterial>>()
        .add(crate::material::ImageMaterial {
            tint: LinearRgba::new(1.0, 1.0, 1.0, d.opacity.min(0.995)),
            image,
        });
    let mesh = Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::RENDER_WORLD)
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, d.mesh.positions.clone())
        .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, d.uvs.clone())
        .with_inserted_indices(Indices::U32(d.mesh.indices.clone()));
    spawn_mesh(world, mesh, material, slot, shift)
}

/// The level-of-detail range an entity was spawned with (its distances set again on a resize).
#[derive(Component)]
struct Lod(jingwei_scene::lod::LodRange);

/// A level of detail of a tile: drawn only while the camera is within its range of distances
/// (for this frame's height) from the centre of the tile's box, switching at once (no
/// cross-fade: the map's materials do not dither). Every level and every chunk of the tile
/// gets the tile's box as its own (kept, not computed from the mesh), so that all measure from
/// one centre and the levels hand over at exactly the same distance.
fn lod_components(r: &jingwei_scene::lod::LodRange, height: u32) -> impl Bundle {
    let [near, far] = r.for_height(height);
    // Bevy's ranges are finite; "beyond the far plane" stands for no end.
    let far = far.min(1.0e9);
    let [lo, hi] = r.bounds;
    (
        Lod(*r),
        bevy::camera::visibility::VisibilityRange {
            start_margin: near..near,
            end_margin: far..far,
            use_aabb: true,
        },
        bevy::camera::primitives::Aabb::from_min_max(Vec3::from(lo), Vec3::from(hi)),
        bevy::camera::visibility::NoAutoAabb,
    )
}

fn spawn_mesh<M: bevy::pbr::Material>(world: &mut World, mesh: Mesh, material: Handle<M>, slot: usize, shift: Vec3) -> Entity {
    let mesh = world.resource_mut::<Assets<Mesh>>().add(mesh);
    world
        .spawn((
            Mesh3d(mesh),
            MeshMaterial3d(material),
            Transform::from_translation(-shift),
            SceneEntity(slot),
            RenderLayers::layer(slot),
        ))
        .id()
}

/// Symbols and labels of each pane's scene, drawn as that pane's camera sees them and kept
/// inside the pane; then the dividers.
fn overlay_panes(frame: &mut Frame, panes: &[Pane], annotations: &[Vec<Annotation>]) {
    for p in panes {
        let Some(anns) = annotations.get(p.slot).filter(|a| !a.is_empty()) else {
            continue;
        };
        let [x, y, w, h] = p.rect;
        // The pane's own picture: the whole frame for a swipe (its camera sees the whole frame),
        // else just its rectangle.
        let (mut tmp, ox, oy) = match p.full {
            Some(_) => (frame.clone(), 0, 0),
            None => (crop(frame, p.rect), x, y),
        };
        jingwei_scene::overlay::draw(&mut tmp, anns, &p.view);
        for yy in y..y + h {
            let src = (((yy - oy) * tmp.width + (x - ox)) * 4) as usize;
            let dst = ((yy * frame.width + x) * 4) as usize;
            frame.rgba[dst..dst + (w * 4) as usize].copy_from_slice(&tmp.rgba[src..src + (w * 4) as usize]);
        }
    }
    jingwei_scene::compare::draw_dividers(frame, panes);
}

fn crop(frame: &Frame, r: [u32; 4]) -> Frame {
    let [x, y, w, h] = r;
    let mut rgba = Vec::with_capacity((w * h * 4) as usize);
    for yy in y..y + h {
        let at = ((yy * frame.width + x) * 4) as usize;
        rgba.extend_from_slice(&frame.rgba[at..at + (w * 4) as usize]);
    }
    Frame { width: w, height: h, rgba }
}

impl Renderer {
    /// Draw `scene` from `view` and encode the frame as PNG (case reports' site maps).
    pub fn render_png(&mut self, scene: &SceneData, view: &View) -> Result<Vec<u8>, RenderError> {
        self.set_scene(scene);
        self.set_view(view);
        Ok(self.render()?.to_png()?)
    }
}

/// Render a scene once: a convenience for tools and tests.
pub fn render_once(scene: &SceneData, view: &View, width: u32, height: u32) -> Result<Frame, RenderError> {
    let mut r = Renderer::new(width, height)?;
    r.set_scene(scene);
    r.set_view(view);
    r.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A point of a tile as the GPU sees it, in the camera's frame: the entity's translation
    /// plus the vertex (f32), through the camera's inverse (f32).
    fn seen(origin: [f64; 3], vertex: Vec3, view: &View) -> Vec3 {
        let shift = shift_for(view);
        let world = placed(origin, shift).translation + vertex;
        camera_about(view, shift).compute_affine().inverse().transform_point3(world)
    }

    /// The same in f64, from the same view: the eye about the target, the rotation of the pose.
    fn exact(origin: [f64; 3], vertex: Vec3, view: &View) -> [f64; 3] {
        let pose = View { target: [0.0; 3], ..*view }.pose();
        let eye = [0, 1, 2].map(|k| f64::from(view.target[k]) + f64::from(pose.translation[k]));
        let d = [0, 1, 2].map(|k| origin[k] + f64::from(vertex[k]) - eye[k]);
        // Camera axes (the rotation's columns), in f64.
        let m = Mat3::from_quat(pose.rotation);
        let axis = |c: Vec3| [f64::from(c.x), f64::from(c.y), f64::from(c.z)];
        let (x, y, z) = (axis(m.x_axis), axis(m.y_axis), axis(m.z_axis));
        let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
        [dot(d, x), dot(d, y), dot(d, z)]
    }

    fn pipelines(r: &Renderer) -> usize {
        let world = r.apps.sub_apps.get(&RenderApp.intern()).unwrap().world();
        world.resource::<bevy::render::render_resource::PipelineCache>().pipelines().count()
    }

    #[test]
    fn prepared_pipelines_cover_tiles_and_leave_nothing_in_the_frame() {
        let mut r = Renderer::new(64, 48).unwrap();
        let view = View::top_down([-50.0, -50.0, 50.0, 50.0], 64.0 / 48.0);
        r.set_view(&view);
        let empty = r.render().unwrap();
        let before = pipelines(&r);
        r.prepare_pipelines().unwrap();
        let prepared = pipelines(&r);
        assert!(prepared >= before + 3, "{before} pipelines, then {prepared}");
        // Nothing of the preparation is left to draw.
        assert_eq!(r.render().unwrap().rgba, empty.rgba);
        // What a tileset's tiles are drawn with — a lit building, an unlit mesh, a photographed
        // texture — needs no pipeline more, and shows.
        let quad = MeshData {
            positions: vec![[-20.0, 0.0, -20.0], [20.0, 0.0, -20.0], [20.0, 0.0, 20.0], [-20.0, 0.0, 20.0]],
            indices: vec![0, 2, 1, 0, 3, 2],
            triangle_rows: vec![0, 0],
            extra: Vec::new(),
            uvs: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
        };
        let world = r.apps.main.world_mut();
        for lit in [true, false] {
            let material = world.resource_mut::<Assets<MapMaterial>>().add(MapMaterial {
                color: LinearRgba::new(0.2, 0.4, 0.8, 1.0),
                lit,
                terrain: false,
            });
            for m in to_meshes(&quad) {
                spawn_mesh(world, m, material.clone(), 0, Vec3::ZERO);
            }
        }
        let (mesh, material) = image_mesh(world, [2, 2], vec![200; 16], 1.0, &quad, quad.uvs.clone());
        spawn_mesh(world, mesh, material, 0, Vec3::ZERO);
        r.needs_warmup = true;
        let drawn = r.render().unwrap();
        assert_ne!(drawn.rgba, empty.rgba);
        assert_eq!(pipelines(&r), prepared);
    }

    #[test]
    fn street_level_100_km_out_is_drawn_to_a_tenth_of_a_millimetre() {
        // A tile 100 km east and 100 km north of the workspace's origin (its own origin in
        // f64), looked at from 20 m at street level while the camera orbits in small steps.
        let origin = [100_000.37, 12.5, -100_000.81];
        let vertex = Vec3::new(3.25, 1.5, -2.75);
        let mut worst: f64 = 0.0;
        for step in 0..200 {
            let yaw = 30.0 + step as f32 * 0.05;
            let view = View {
                target: [100_003.1, 14.0, -100_003.9],
                distance_m: 20.0,
                pitch_deg: 12.0,
                yaw_deg: yaw,
                fov_deg: 60.0,
            };
            let got = seen(origin, vertex, &view);
            let want = exact(origin, vertex, &view);
            let err =
                ((f64::from(got.x) - want[0]).powi(2) + (f64::from(got.y) - want[1]).powi(2) + (f64::from(got.z) - want[2]).powi(2)).sqrt();
            worst = worst.max(err);
        }
        // A pixel at 20 m in a 60° view 720 pixels high is 3 cm: 0.1 mm is a few thousandths.
        assert!(worst < 1e-4, "worst {worst} m");
    }
}
