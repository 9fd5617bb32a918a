//! `jingwei render [FILES…] [--workspace CATALOG] --size 1600x900 --out shot.png`

use anyhow::{Context, Result, bail};
use jingwei_layers::{RepairMode, Workspace};
use jingwei_scene::scene::{Highlight, build_scene_with};
use jingwei_scene::view::View;
use jingwei_viewer::render::Renderer;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Vector files to draw (every layer of each), styled by default.
    files: Vec<PathBuf>,
    /// A workspace catalog (e.g. assets/demo/catalog.json) instead of, or before, the files.
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// `oblique` (default) or `top` (straight down, north up).
    #[arg(long, default_value = "oblique")]
    view: String,
    /// Camera elevation for the oblique view, degrees.
    #[arg(long, default_value_t = 45.0)]
    pitch: f32,
    /// Camera azimuth for the oblique view, degrees (0: from the south).
    #[arg(long, default_value_t = 20.0)]
    yaw: f32,
    /// Image size WIDTHxHEIGHT.
    #[arg(long, default_value = "1600x900")]
    size: String,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
    /// Where glTF/GLB/b3dm models given as FILES stand: LON,LAT[,HEADING[,SCALE[,HEIGHT]]]
    /// (degrees, clockwise from north, model units to metres, metres); default: the map's origin.
    #[arg(long, value_name = "LON,LAT[,HEADING[,SCALE[,HEIGHT]]]")]
    place: Option<String>,
    /// A style file for a layer, as LAYER=FILE (JSON; see ARCHITECTURE.md); repeatable.
    #[arg(long = "style", value_name = "LAYER=FILE")]
    styles: Vec<String>,
    /// Bands of the image files shown as red, green, blue (e.g. 3,2,1 for Landsat), or one band.
    #[arg(long)]
    bands: Option<String>,
    /// Stretch the image files' bands over their 2nd–98th percentile.
    #[arg(long)]
    stretch: bool,
    /// How long a picture waits for 3D Tiles to stream in (seconds).
    #[arg(long, default_value_t = 120.0)]
    tiles_wait: f64,
    /// Press the 3D Tiles down inside a layer's polygons (压平), as LAYER:HEIGHT (metres).
    #[arg(long, value_name = "LAYER:HEIGHT")]
    flatten: Option<String>,
    /// Cut the view away above this height (剖切, metres as drawn).
    #[arg(long, value_name = "METRES")]
    clip_top: Option<f64>,
    /// Cut the view by a layer's polygons, as LAYER (a hole: what they hold is cut away) or
    /// LAYER:keep (only what they hold is drawn).
    #[arg(long, value_name = "LAYER[:keep]")]
    clip_area: Option<String>,
    /// Cut the view by a vertical section through two points (workspace CRS), as X1,Y1,X2,Y2:
    /// the right of the line from the first to the second is cut away.
    #[arg(long, value_name = "X1,Y1,X2,Y2")]
    clip_section: Option<String>,
    /// The 3D Tiles memory budget (MiB).
    #[arg(long, default_value_t = 512)]
    tiles_budget: usize,
    /// A benchmark: after the first frame, render this many orbit steps (5° each) with the same
    /// renderer and print where each frame's time went as one JSON line on stdout.
    #[arg(long, default_value_t = 0)]
    frames: u32,
}

/// Vulkan's window-system layers complain when there is no per-user runtime directory (a
/// headless server, a service account); give them a private one. Called before any thread
/// starts.
pub fn prepare_environment() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join(format!("jingwei-runtime-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            }
            // SAFETY: called from main before any other thread exists.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        }
    }
}

pub fn run(a: Args) -> Result<ExitCode> {
    let (w, h) = a
        .size
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .with_context(|| format!("--size '{}' must be WIDTHxHEIGHT", a.size))?;
    if !(a.pitch.is_finite() && (1.0..=90.0).contains(&a.pitch)) {
        bail!("--pitch {}: degrees above the horizon, from 1 to 90", a.pitch);
    }
    if !a.yaw.is_finite() {
        bail!("--yaw {}: degrees (0: from the south)", a.yaw);
    }
    let mut ws: Option<Workspace> = match &a.workspace {
        Some(c) => Some(Workspace::open_catalog(c, None, RepairMode::Repair)?),
        None => None,
    };
    let place = a
        .place
        .as_deref()
        .map(|p| -> Result<jingwei_layers::gltf::Placement> {
            let v: Vec<f64> = p
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .with_context(|| format!("--place '{p}': numbers LON,LAT[,HEADING[,SCALE[,HEIGHT]]]"))?;
            if !(2..=5).contains(&v.len()) || v.iter().any(|x| !x.is_finite()) {
                bail!("--place '{p}': LON,LAT[,HEADING[,SCALE[,HEIGHT]]] (finite numbers)");
            }
            jingwei_app::data::check_lonlat(v[0], v[1]).with_context(|| format!("--place '{p}'"))?;
            if !(v.get(3).copied().unwrap_or(1.0) > 0.0) {
                bail!("--place '{p}': the scale must be above 0");
            }
            Ok(jingwei_layers::gltf::Placement {
                lon: v[0],
                lat: v[1],
                heading_deg: v.get(2).copied().unwrap_or(0.0),
                scale: v.get(3).copied().unwrap_or(1.0),
                height_m: v.get(4).copied().unwrap_or(0.0),
            })
        })
        .transpose()?;
    for f in &a.files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match &place {
            Some(at) if matches!(ext.as_str(), "glb" | "gltf" | "b3dm") => Workspace::add_model(&mut ws, f, at)?,
            _ => {
                Workspace::load_file(&mut ws, f, None)?;
            }
        }
    }
    let Some(mut ws) = ws else {
        bail!("nothing to render: give files or --workspace")
    };
    for s in &a.styles {
        let (id, file) = s.split_once('=').with_context(|| format!("--style '{s}' must be LAYER=FILE"))?;
        let text = std::fs::read_to_string(file).with_context(|| format!("{file}: cannot read the style file"))?;
        let v: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{file}: not JSON"))?;
        let names: Vec<String> = ws.layers.iter().map(|l| l.id.clone()).collect();
        let wl = ws
            .layers
            .iter_mut()
            .find(|l| l.id == id || l.layer.name == id)
            .with_context(|| format!("--style: no layer '{id}' (layers: {})", names.join(", ")))?;
        jingwei_scene::style::StyleFile::parse(&v).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        wl.style = Some(v);
    }
    jingwei_scene::style::check_workspace(&ws).map_err(anyhow::Error::msg)?;
    if a.bands.is_some() || a.stretch {
        let ids: Vec<String> = ws.imagery.iter().map(|l| l.id.clone()).collect();
        for id in ids {
            let bands = a.bands.as_deref().map(jingwei_app::imagery::parse_bands).transpose()?;
            jingwei_app::imagery::set_display(&mut ws, &id, bands, a.stretch)?;
        }
    }
    // Imagery is read here and now, at the resolution the scene's texture needs.
    let cache = jingwei_layers::imagery::cache::TileCache::new(256 << 20);
    let compose =
        |l: &jingwei_layers::ImageryLayer, t: &jingwei_layers::imagery::warp::Target| jingwei_app::imagery::compose_now(l, t, &cache);
    if let Some(f) = &a.flatten {
        let (layer, h) = f
            .rsplit_once(':')
            .with_context(|| format!("--flatten '{f}' must be LAYER:HEIGHT"))?;
        let h: f64 = h.trim().parse().with_context(|| format!("--flatten '{f}': the height is metres"))?;
        ws.set_flatten(Some(layer), h)?;
    }
    if a.clip_top.is_some() || a.clip_area.is_some() || a.clip_section.is_some() {
        let area = match &a.clip_area {
            Some(spec) => {
                let (layer, keep) = match spec.rsplit_once(':') {
                    Some((l, "keep")) => (l, true),
                    _ => (spec.as_str(), false),
                };
                Some((ws.polygons_of(layer)?, keep))
            }
            None => None,
        };
        let section = match &a.clip_section {
            Some(s) => {
                let v: Vec<f64> = s
                    .split(',')
                    .map(|v| v.trim().parse::<f64>())
                    .collect::<std::result::Result<_, _>>()
                    .with_context(|| format!("--clip-section '{s}' must be X1,Y1,X2,Y2"))?;
                anyhow::ensure!(v.len() == 4, "--clip-section '{s}' must be X1,Y1,X2,Y2");
                Some([[v[0], v[1]], [v[2], v[3]]])
            }
            None => None,
        };
        ws.clip = jingwei_layers::workspace::Clip {
            top_m: a.clip_top,
            section,
            area,
            area_layer: a.clip_area.as_ref().map(|s| s.trim_end_matches(":keep").to_owned()),
        };
    }
    for t in &ws.tilesets {
        if let Ok(mut s) = t.stream.lock() {
            s.set_budget(a.tiles_budget << 20);
        }
    }
    let scene = build_scene_with(&ws, &Highlight::default(), Some(&compose));
    let twin = jingwei_scene::tiles::extent_local(&ws);
    let (extent, top) = match (scene.extent_local, twin) {
        (Some(e), Some((t, h))) => (
            [e[0].min(t[0]), e[1].min(t[1]), e[2].max(t[2]), e[3].max(t[3])],
            scene.max_height_m.max(h),
        ),
        (Some(e), None) => (e, scene.max_height_m),
        (None, Some(t)) => t,
        (None, None) => bail!("the layers have no geometry to draw"),
    };
    let aspect = w as f32 / h as f32;
    let view = match a.view.as_str() {
        "top" => View::top_down(extent, aspect),
        "oblique" => View::frame(extent, top, aspect, a.pitch, a.yaw),
        other => bail!("--view '{other}': use oblique or top"),
    };
    let t0 = std::time::Instant::now();
    let mut renderer = Renderer::new(w, h)?;
    renderer.set_scene(&scene);
    renderer.set_view(&view);
    let mut tiles = None;
    if let Some(src) = jingwei_scene::tiles::Sources::of(&ws) {
        let f = jingwei_scene::tiles::settle(&src, &view, w, h, std::time::Duration::from_secs_f64(a.tiles_wait.max(0.0)));
        renderer.set_tiles(ws.origin_xy, &f.tiles);
        tiles = Some(f);
    }
    let frame = renderer.render()?;
    let first_s = t0.elapsed().as_secs_f64();
    if let Some(f) = &tiles {
        for (id, u) in &f.updates {
            eprintln!(
                "{id}: {} tiles drawn, {} wanted ({} at their detail), {} culled, {:.1} MB resident{}",
                f.tiles.iter().filter(|t| &t.layer_id == id).count(),
                u.wanted,
                u.wanted_resident,
                u.culled,
                u.resident_bytes as f64 / 1e6,
                if u.settled { "" } else { " — not settled in time" }
            );
        }
    }
    if a.frames > 0 {
        let mut steps = Vec::new();
        let mut v = view;
        for _ in 0..a.frames {
            v.yaw_deg += 5.0;
            renderer.set_view(&v);
            renderer.render()?;
            steps.push(renderer.last_timing());
        }
        let median = |f: fn(&jingwei_viewer::render::FrameTiming) -> f64| {
            let mut x: Vec<f64> = steps.iter().map(f).collect();
            x.sort_by(f64::total_cmp);
            x[x.len() / 2]
        };
        println!(
            "{}",
            serde_json::json!({
                "width": w, "height": h, "triangles": scene.triangles(), "first_frame_s": first_s,
                "frames": a.frames,
                "median_render_ms": median(|t| t.render_ms),
                "median_readback_ms": median(|t| t.readback_ms),
                "median_total_ms": median(|t| t.render_ms + t.readback_ms),
                "steps": steps,
            })
        );
    }
    std::fs::write(&a.out, frame.to_png()?).with_context(|| format!("{}: cannot write", a.out.display()))?;
    eprintln!(
        "wrote {} ({}×{}, {} layers, {} triangles)",
        a.out.display(),
        w,
        h,
        ws.layers.len(),
        scene.triangles()
    );
    Ok(ExitCode::SUCCESS)
}
