//! The 3D view in the app: the viewer's offscreen renderer on a thread of its own (Bevy owns
//! its world there), fed scenes and views, answering with RGBA frames.

use jingwei_viewer::render::{Frame, FrameTiming, Renderer, View};
use jingwei_viewer::scene::SceneData;
use std::sync::mpsc::{Sender, channel};
use std::time::Instant;

enum Job {
    Scene(SceneData),
    Render {
        width: u32,
        height: u32,
        view: View,
        reply: Sender<Result<(Frame, f64, FrameTiming), String>>,
    },
}

/// Handle to the render thread.
pub struct RenderService {
    tx: Sender<Job>,
}

impl RenderService {
    /// Start the render thread (the renderer itself is made on the first frame).
    pub fn start() -> RenderService {
        let (tx, rx) = channel::<Job>();
        std::thread::Builder::new()
            .name("jingwei-render".into())
            .spawn(move || {
                let mut renderer: Option<Renderer> = None;
                let mut scene = SceneData::default();
                let mut scene_dirty = true;
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Scene(s) => {
                            scene = s;
                            scene_dirty = true;
                        }
                        Job::Render {
                            width,
                            height,
                            view,
                            reply,
                        } => {
                            let t0 = Instant::now();
                            if renderer.as_ref().is_none_or(|r| r.size() != (width, height)) {
                                match Renderer::new(width, height) {
                                    Ok(r) => {
                                        renderer = Some(r);
                                        scene_dirty = true;
                                    }
                                    Err(e) => {
                                        let _ = reply.send(Err(e.to_string()));
                                        continue;
                                    }
                                }
                            }
                            let r = renderer.as_mut().expect("made above");
                            if scene_dirty {
                                r.set_scene(&scene);
                                scene_dirty = false;
                            }
                            r.set_view(&view);
                            let out = r
                                .render()
                                .map(|f| (f, t0.elapsed().as_secs_f64() * 1000.0, r.last_timing()))
                                .map_err(|e| e.to_string());
                            let _ = reply.send(out);
                        }
                    }
                }
            })
            .expect("spawn the render thread");
        RenderService { tx }
    }

    /// Replace the scene.
    pub fn set_scene(&self, scene: SceneData) {
        let _ = self.tx.send(Job::Scene(scene));
    }

    /// Render a frame; returns it with the milliseconds spent on the render thread (render,
    /// readback and any renderer set-up) and the renderer's own split of them.
    pub fn render(&self, width: u32, height: u32, view: View) -> Result<(Frame, f64, FrameTiming), String> {
        let (reply, rx) = channel();
        self.tx
            .send(Job::Render {
                width,
                height,
                view,
                reply,
            })
            .map_err(|_| "the renderer has stopped".to_string())?;
        rx.recv().map_err(|_| "the renderer has stopped".to_string())?
    }
}
