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

use crate::extrude::MeshData;
use crate::material::{MapMaterial, ScreenLineMaterial};
use crate::overlay::{Annotation, Placed};
use crate::scene::{MeshKind, SceneData};

/// Why a frame could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The size is zero or too large.
    #[error("image size {0}×{1} is not between 1×1 and 8192×8192")]
    Size(u32, u32),
    /// The frame never came back from the GPU.
    #[error("the renderer returned no frame (is a Vulkan driver such as mesa-vulkan-drivers installed?)")]
    NoFrame,
    /// The frame could not be converted.
    #[error("cannot convert the frame: {0}")]
    Convert(String),
}

/// Where the camera is: orbiting `target` (local metres, y up) at `distance_m`, `pitch_deg`
/// above the horizon, looking from `yaw_deg` (0 = from the south, 90 = from the east).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct View {
    /// Point looked at.
    pub target: [f32; 3],
    /// Distance from the target.
    pub distance_m: f32,
    /// Elevation angle; 90 looks straight down.
    pub pitch_deg: f32,
    /// Azimuth of the camera around the target.
    pub yaw_deg: f32,
    /// Vertical field of view.
    pub fov_deg: f32,
}

impl View {
    /// An oblique view that frames `extent` (`[min_x, min_z, max_x, max_z]`, local metres)
    /// with buildings up to `max_height_m`, for an image of `aspect` = width / height.
    pub fn frame(extent: [f32; 4], max_height_m: f32, aspect: f32, pitch_deg: f32, yaw_deg: f32) -> View {
        let target = [(extent[0] + extent[2]) / 2.0, 0.0, (extent[1] + extent[3]) / 2.0];
        let mut v = View {
            target,
            distance_m: 1.0,
            pitch_deg,
            yaw_deg,
            fov_deg: 40.0,
        };
        // Fit exactly: every corner of the data's box must project inside the frame. In camera
        // axes (right, up, forward) a corner at (xr, yu, zf) from the target projects inside
        // when d + zf ≥ |xr| / tan(h/2) and d + zf ≥ |yu| / tan(v/2).
        let rot = v.transform().rotation;
        let (right, up, fwd) = (rot * Vec3::X, rot * Vec3::Y, rot * Vec3::NEG_Z);
        let tan_v = (v.fov_deg.to_radians() / 2.0).tan();
        let tan_h = tan_v * aspect;
        let t = Vec3::from(target);
        let mut d = 10.0f32;
        for x in [extent[0], extent[2]] {
            for z in [extent[1], extent[3]] {
                for y in [0.0, max_height_m] {
                    let c = Vec3::new(x, y, z) - t;
                    let need = (c.dot(right).abs() / tan_h).max(c.dot(up).abs() / tan_v) - c.dot(fwd);
                    d = d.max(need);
                }
            }
        }
        v.distance_m = d * 1.04;
        v
    }

    /// Straight down, north up.
    pub fn top_down(extent: [f32; 4], aspect: f32) -> View {
        let mut v = View::frame(extent, 0.0, aspect, 90.0, 0.0);
        let (w, d) = (extent[2] - extent[0], extent[3] - extent[1]);
        let half_v = (v.fov_deg.to_radians() / 2.0).tan();
        v.distance_m = ((d / 2.0) / half_v).max((w / 2.0) / (half_v * aspect)) * 1.02;
        v
    }

    /// The ray through pixel (`px`, `py`) of a `width × height` frame: origin and unit
    /// direction in local metres.
    pub fn ray(&self, px: f32, py: f32, width: u32, height: u32) -> (Vec3, Vec3) {
        let t = self.transform();
        let tan_v = (self.fov_deg.to_radians() / 2.0).tan();
        let aspect = width as f32 / height as f32;
        let ndc_x = (px + 0.5) / width as f32 * 2.0 - 1.0;
        let ndc_y = 1.0 - (py + 0.5) / height as f32 * 2.0;
        let dir = t.rotation * Vec3::new(ndc_x * tan_v * aspect, ndc_y * tan_v, -1.0);
        (t.translation, dir.normalize())
    }

    /// Where the ray through a pixel meets the ground (y = 0), as local (x east, z south).
    pub fn ground_point(&self, px: f32, py: f32, width: u32, height: u32) -> Option<[f32; 2]> {
        let (o, d) = self.ray(px, py, width, height);
        if d.y >= -1e-6 {
            return None;
        }
        let s = -o.y / d.y;
        let p = o + d * s;
        Some([p.x, p.z])
    }

    /// Where the ray through a pixel meets the drawn ground — the terrain when there is one
    /// (the first crossing along the ray, so a ridge hides what lies behind it), else y = 0 —
    /// as local (x east, z south).
    pub fn terrain_point(&self, px: f32, py: f32, width: u32, height: u32, ground: Option<&crate::terrain::Ground>) -> Option<[f32; 2]> {
        let Some(g) = ground else {
            return self.ground_point(px, py, width, height);
        };
        let (o, d) = self.ray(px, py, width, height);
        g.ray_hit(o.to_array(), d.to_array()).map(|p| [p[0], p[2]])
    }

    /// An oblique view framing a box of workspace coordinates (`[min_x, min_y, max_x, max_y]`,
    /// f64 metres, y north) grown by `margin_m` on every side; `origin` is the workspace origin.
    pub fn frame_world(
        origin: [f64; 2],
        bbox: [f64; 4],
        margin_m: f64,
        max_height_m: f32,
        aspect: f32,
        pitch_deg: f32,
        yaw_deg: f32,
    ) -> View {
        let extent = [
            (bbox[0] - margin_m - origin[0]) as f32,
            -((bbox[3] + margin_m - origin[1]) as f32),
            (bbox[2] + margin_m - origin[0]) as f32,
            -((bbox[1] - margin_m - origin[1]) as f32),
        ];
        View::frame(extent, max_height_m, aspect, pitch_deg, yaw_deg)
    }

    /// The pixel where a local point (x east, y up, z south) appears in a `width × height`
    /// frame; `None` behind the camera. The inverse of [`View::ray`].
    pub fn project(&self, p: [f32; 3], width: u32, height: u32) -> Option<[f32; 2]> {
        let t = self.transform();
        let c = t.rotation.inverse() * (Vec3::from(p) - t.translation);
        if c.z >= -1e-3 {
            return None;
        }
        let tan_v = (self.fov_deg.to_radians() / 2.0).tan();
        let aspect = width as f32 / height as f32;
        let (ndc_x, ndc_y) = (c.x / (-c.z * tan_v * aspect), c.y / (-c.z * tan_v));
        Some([(ndc_x + 1.0) / 2.0 * width as f32 - 0.5, (1.0 - ndc_y) / 2.0 * height as f32 - 0.5])
    }

    /// Metres covered by one pixel at the target, for pick tolerances and scale bars.
    pub fn metres_per_pixel(&self, height: u32) -> f32 {
        2.0 * self.distance_m * (self.fov_deg.to_radians() / 2.0).tan() / height as f32
    }

    /// The camera transform.
    pub fn transform(&self) -> Transform {
        let (p, y) = (self.pitch_deg.clamp(1.0, 89.99).to_radians(), self.yaw_deg.to_radians());
        let t = Vec3::from(self.target);
        // Yaw 0: camera south of the target (+z is south), looking north.
        let offset = Vec3::new(y.sin() * p.cos(), p.sin(), y.cos() * p.cos()) * self.distance_m;
        let up = if self.pitch_deg >= 89.99 { Vec3::NEG_Z } else { Vec3::Y };
        Transform::from_translation(t + offset).looking_at(t, up)
    }
}

/// Marks entities that belong to the current scene (replaced on [`Renderer::set_scene`]).
#[derive(Component)]
struct SceneEntity;

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
    /// Symbols and labels of the scene, drawn over each frame.
    annotations: Vec<Annotation>,
    view: Option<View>,
    last_placed: Vec<Placed>,
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

/// An RGBA8 frame, row-major, top row first.
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes.
    pub rgba: Vec<u8>,
}

impl Frame {
    /// Pixel at (x, y) as `[r, g, b, a]`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [self.rgba[i], self.rgba[i + 1], self.rgba[i + 2], self.rgba[i + 3]]
    }

    /// Encode as PNG.
    pub fn to_png(&self) -> Result<Vec<u8>, RenderError> {
        let img = image::RgbaImage::from_raw(self.width, self.height, self.rgba.clone())
            .ok_or_else(|| RenderError::Convert("buffer size".into()))?;
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| RenderError::Convert(e.to_string()))?;
        Ok(out.into_inner())
    }
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
                    ..default()
                })
                // Renderers are made more than once per process (tests, the app): leave the
                // global logger to the host program.
                .disable::<bevy::log::LogPlugin>()
                .disable::<bevy::render::pipelined_rendering::PipelinedRenderingPlugin>(),
        );
        crate::material::add_to(&mut app);
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
                    clear_color: ClearColorConfig::Custom(Color::srgb_u8(238, 241, 244)),
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

    /// Where the symbols and labels of the last frame went.
    pub fn last_placed(&self) -> &[Placed] {
        &self.last_placed
    }

    /// Replace the scene's meshes and annotations.
    pub fn set_scene(&mut self, scene: &SceneData) {
        self.needs_warmup = true;
        self.annotations = scene.annotations.clone();
        let world = self.apps.main.world_mut();
        let mut q = world.query_filtered::<Entity, With<SceneEntity>>();
        let old: Vec<Entity> = q.iter(world).collect();
        for e in old {
            world.despawn(e);
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
                    let mesh = world.resource_mut::<Assets<Mesh>>().add(m);
                    world.spawn((Mesh3d(mesh), MeshMaterial3d(material.clone()), Transform::IDENTITY, SceneEntity));
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
                let mesh = world.resource_mut::<Assets<Mesh>>().add(m);
                world.spawn((Mesh3d(mesh), MeshMaterial3d(material.clone()), Transform::IDENTITY, SceneEntity));
            }
        }
    }

    /// Move the camera.
    pub fn set_view(&mut self, view: &View) {
        self.view = Some(*view);
        let world = self.apps.main.world_mut();
        if let Some(mut t) = world.get_mut::<Transform>(self.camera) {
            *t = view.transform();
        }
        if let Some(mut p) = world.get_mut::<Projection>(self.camera)
            && let Projection::Perspective(pp) = p.as_mut()
        {
            pp.fov = view.fov_deg.to_radians();
            pp.near = (view.distance_m / 1000.0).clamp(0.5, 50.0);
            pp.far = view.distance_m * 20.0 + 10_000.0;
        }
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
        self.last_placed = match &self.view {
            Some(v) if !self.annotations.is_empty() => crate::overlay::draw(&mut frame, &self.annotations, v),
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

    /// Copy the target image into the persistent buffer, wait for it and unpad its rows. Done
    /// outside Bevy's schedule, right after the frame's update: no second update, no buffer
    /// allocated per frame.
    fn read_back(&mut self) -> Result<Frame, RenderError> {
        let (width, height) = (self.width, self.height);
        let world = self.apps.sub_apps.get(&RenderApp.intern()).ok_or(RenderError::NoFrame)?.world();
        let gpu = world
            .resource::<RenderAssets<GpuImage>>()
            .get(self.target.id())
            .ok_or(RenderError::NoFrame)?;
        let device = world.resource::<RenderDevice>();
        let queue = world.resource::<RenderQueue>();
        let row = width * 4;
        // Buffer rows are aligned to 256 bytes.
        let padded = row.div_ceil(256) * 256;
        let buffer = self.readback.get_or_insert_with(|| {
            device.create_buffer(&BufferDescriptor {
                label: Some("jingwei frame readback"),
                size: u64::from(padded) * u64::from(height),
                usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let mut encoder = device.create_command_encoder(&CommandEncoderDescriptor {
            label: Some("jingwei frame readback"),
        });
        encoder.copy_texture_to_buffer(
            gpu.texture.as_image_copy(),
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
        let slice = buffer.slice(..);
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

    #[test]
    fn project_inverts_the_pixel_ray() {
        let v = View {
            target: [120.0, 0.0, -340.0],
            distance_m: 800.0,
            pitch_deg: 35.0,
            yaw_deg: 70.0,
            fov_deg: 40.0,
        };
        for (px, py) in [(10.0, 20.0), (400.0, 300.0), (790.0, 590.0)] {
            let g = v.ground_point(px, py, 800, 600).unwrap();
            let back = v.project([g[0], 0.0, g[1]], 800, 600).unwrap();
            assert!((back[0] - px).abs() < 0.05 && (back[1] - py).abs() < 0.05, "{px},{py} → {back:?}");
        }
        // Behind the camera: nothing.
        let eye = v.transform().translation;
        let behind = eye + (eye - Vec3::from(v.target));
        assert!(v.project(behind.into(), 800, 600).is_none());
    }

    #[test]
    fn the_centre_pixel_looks_at_the_target() {
        let v = View {
            target: [120.0, 0.0, -340.0],
            distance_m: 800.0,
            pitch_deg: 40.0,
            yaw_deg: 30.0,
            fov_deg: 40.0,
        };
        let g = v.ground_point(399.5, 299.5, 800, 600).unwrap();
        assert!((g[0] - 120.0).abs() < 0.5 && (g[1] + 340.0).abs() < 0.5, "{g:?}");
        // Straight down, north up: a pixel above the centre is north (−z) of the target.
        let top = View {
            target: [0.0, 0.0, 0.0],
            distance_m: 1000.0,
            pitch_deg: 90.0,
            yaw_deg: 0.0,
            fov_deg: 40.0,
        };
        let n = top.ground_point(400.0, 100.0, 800, 600).unwrap();
        assert!(n[1] < -100.0 && n[0].abs() < 5.0, "{n:?}");
        let e = top.ground_point(700.0, 300.0, 800, 600).unwrap();
        assert!(e[0] > 100.0, "{e:?}");
    }
}
