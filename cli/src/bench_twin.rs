//! `jingwei-render bench-twin TILESET [--seconds S] [--budget MIB] [--size WxH]`: the city
//! twin's fly-through benchmark (not part of the test run; `scripts/bench-twin.sh`). It opens a
//! tileset, times the first frame and the first settled frame, flies a scripted path — a
//! circuit over the city at roof height and higher, looking ahead and down, then an orbit —
//! rendering every frame, samples resident memory (the process's RSS and the stream's bytes)
//! every second, rests and measures the share of resident tiles inside the view, removes the
//! tileset and measures memory again. One JSON object on stdout.

use anyhow::{Context, Result};
use jingwei_layers::Workspace;
use jingwei_layers::tiles3d::stream::StreamOptions;
use jingwei_scene::tiles::{Sources, stream};
use jingwei_scene::view::View;
use jingwei_viewer::render::Renderer;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The tileset.json.
    tileset: PathBuf,
    /// How long the flight lasts (seconds).
    #[arg(long, default_value_t = 600.0)]
    seconds: f64,
    /// The memory budget (MiB).
    #[arg(long, default_value_t = 512)]
    budget: usize,
    /// Frame size WIDTHxHEIGHT.
    #[arg(long, default_value = "960x540")]
    size: String,
}

/// The process's resident memory (bytes), from /proc.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

pub fn run(a: Args) -> Result<ExitCode> {
    let (w, h) = a
        .size
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .with_context(|| format!("--size '{}' must be WIDTHxHEIGHT", a.size))?;
    let budget = a.budget << 20;
    let mut renderer = Renderer::new(w, h)?;
    // The renderer alone, warmed up, is the baseline memory.
    renderer.set_view(&View::top_down([-100.0, -100.0, 100.0, 100.0], w as f32 / h as f32));
    renderer.render()?;
    // With its tile and imagery pipelines compiled, as the app has them after its first frame.
    renderer.prepare_pipelines()?;
    let rss_before = rss();
    let gpu_before = renderer.gpu_memory();

    let t0 = Instant::now();
    let mut ws: Option<Workspace> = None;
    Workspace::add_tileset(
        &mut ws,
        &a.tileset,
        StreamOptions {
            budget_bytes: budget,
            ..StreamOptions::default()
        },
    )?;
    let mut ws = ws.context("no workspace")?;
    let src = Sources::of(&ws).context("the tileset is not placed")?;
    let (extent, top) = jingwei_scene::tiles::extent_local(&ws).context("no extent")?;
    let aspect = w as f32 / h as f32;
    let start = View::frame(extent, top, aspect, 45.0, 20.0);
    renderer.set_view(&start);
    let f = stream(&src, &start, w, h);
    renderer.set_tiles(ws.origin_xy, &f.tiles);
    renderer.render()?;
    let first_frame_s = t0.elapsed().as_secs_f64();
    let mut settled_s = None;
    let mut frames_to_settle = 1;
    while t0.elapsed() < Duration::from_secs(300) {
        let f = stream(&src, &start, w, h);
        renderer.set_tiles(ws.origin_xy, &f.tiles);
        renderer.render()?;
        frames_to_settle += 1;
        if f.settled {
            settled_s = Some(t0.elapsed().as_secs_f64());
            break;
        }
    }

    // The flight: a circuit at 150–400 m over a circle of 40 % of the city's size, looking ahead
    // and down, then an orbit of the whole at the framing distance. Frame times and memory as it goes.
    let (cx, cz) = ((extent[0] + extent[2]) / 2.0, (extent[1] + extent[3]) / 2.0);
    // Over a city the circuit looks at the ground; over relief of more than 500 m (an oblique
    // model of hills) at the middle of its heights, so that it flies above them.
    let [lo, hi] = ws.tilesets[0].heights;
    let ground = if hi - lo > 500.0 { ((lo + hi) / 2.0) as f32 } else { 0.0 };
    let radius = ((extent[2] - extent[0]).max(extent[3] - extent[1])) * 0.4;
    let flight = Duration::from_secs_f64(a.seconds.max(1.0));
    let t_fly = Instant::now();
    let mut frame_ms = Vec::new();
    let mut orbit_ms = Vec::new();
    let mut set_tiles_ms = Vec::new();
    let mut samples: Vec<serde_json::Value> = Vec::new();
    let mut next_sample = 0.0;
    let mut peak_stream = 0usize;
    let mut peak_rss = 0u64;
    while t_fly.elapsed() < flight {
        let s = t_fly.elapsed().as_secs_f64() / flight.as_secs_f64();
        let view = if s < 0.8 {
            // Two laps of the circuit.
            let ang = s / 0.8 * 4.0 * std::f32::consts::PI as f64;
            let (x, z) = (cx + radius * ang.cos() as f32, cz + radius * ang.sin() as f32);
            View {
                target: [x, ground, z],
                distance_m: 250.0 + 150.0 * (ang * 3.0).sin().abs() as f32,
                pitch_deg: 30.0,
                yaw_deg: (ang.to_degrees() as f32) + 90.0,
                fov_deg: 40.0,
            }
        } else {
            View {
                yaw_deg: start.yaw_deg + ((s - 0.8) / 0.2 * 360.0) as f32,
                ..start
            }
        };
        let t = Instant::now();
        renderer.set_view(&view);
        let f = stream(&src, &view, w, h);
        // Meshing new tiles and handing them to Bevy happens on this thread: timed apart.
        let tm = Instant::now();
        renderer.set_tiles(ws.origin_xy, &f.tiles);
        set_tiles_ms.push(tm.elapsed().as_secs_f64() * 1000.0);
        renderer.render()?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if s < 0.8 {
            frame_ms.push(ms)
        } else {
            orbit_ms.push(ms)
        }
        let bytes: usize = f.updates.iter().map(|(_, u)| u.resident_bytes).sum();
        peak_stream = peak_stream.max(bytes);
        let now = t_fly.elapsed().as_secs_f64();
        let r = rss();
        peak_rss = peak_rss.max(r);
        if now >= next_sample {
            samples.push(serde_json::json!({
                "t_s": (now * 10.0).round() / 10.0,
                "rss_mb": r as f64 / 1e6,
                "stream_mb": bytes as f64 / 1e6,
                "tiles_drawn": f.tiles.len(),
                "sse_factor": f.updates.first().map_or(1.0, |(_, u)| u.sse_factor),
            }));
            next_sample = now + 1.0;
        }
    }
    // Growth: the RSS after the second minute (or the first fifth of a shorter flight) against
    // its end.
    let mark = (flight.as_secs_f64() / 5.0).min(120.0);
    let rss_at = |t: f64| {
        samples
            .iter()
            .filter(|s| s["t_s"].as_f64().unwrap_or(0.0) >= t)
            .map(|s| s["rss_mb"].as_f64().unwrap_or(0.0))
            .next()
            .unwrap_or(0.0)
    };
    let late: Vec<f64> = samples
        .iter()
        .filter(|s| s["t_s"].as_f64().unwrap_or(0.0) >= mark)
        .map(|s| s["rss_mb"].as_f64().unwrap_or(0.0))
        .collect();
    let growth = if late.is_empty() {
        0.0
    } else {
        (late.iter().cloned().fold(0.0, f64::max) - rss_at(mark)) / rss_at(mark).max(1.0)
    };

    // At rest over the city: settle, let what is out of view linger out, then count.
    let rest = View {
        distance_m: start.distance_m * 0.35,
        ..start
    };
    renderer.set_view(&rest);
    let t_rest = Instant::now();
    while t_rest.elapsed() < Duration::from_secs(8) {
        let f = stream(&src, &rest, w, h);
        renderer.set_tiles(ws.origin_xy, &f.tiles);
        renderer.render()?;
    }
    let cam = jingwei_scene::tiles::camera(&src, &rest, w, h).context("camera")?;
    let (resident, in_view) = {
        let s = ws.tilesets[0].stream.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let ts = s.tileset();
        let res: Vec<usize> = s.resident_tiles().collect();
        let inside = res.iter().filter(|t| !cam.culls(&ts.tiles[**t].bounds)).count();
        (res.len(), inside)
    };
    let rss_loaded = rss();
    let gpu_loaded = renderer.gpu_memory();

    // Removed: the workspace lets the tileset go, the renderer its tiles.
    drop(src);
    ws.tilesets.clear();
    renderer.set_tiles(ws.origin_xy, &[]);
    renderer.render()?;
    renderer.render()?;
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = rss();
    // What glibc's allocator keeps of the freed memory in its per-thread arenas, given back (as
    // the app does when its last tileset goes).
    jingwei_layers::give_back_freed_memory();
    let rss_trimmed = rss();
    let gpu_removed = renderer.gpu_memory();
    // Again: the same tileset opened, the same circuit flown for a fifth of the time, removed.
    // Memory the renderer keeps for reuse (its mesh buffers) shows as the same level after each
    // cycle; a leak as a rise.
    let mut again: Option<Workspace> = Some(ws.like());
    Workspace::add_tileset(
        &mut again,
        &a.tileset,
        StreamOptions {
            budget_bytes: budget,
            ..StreamOptions::default()
        },
    )?;
    let again = again.context("no workspace")?;
    let src2 = Sources::of(&again).context("the tileset is not placed")?;
    let t2 = Instant::now();
    let lap = flight.as_secs_f64() / 5.0;
    while t2.elapsed().as_secs_f64() < lap {
        let ang = t2.elapsed().as_secs_f64() / lap * 2.0 * std::f64::consts::PI;
        let view = View {
            target: [cx + radius * ang.cos() as f32, 0.0, cz + radius * ang.sin() as f32],
            distance_m: 300.0,
            pitch_deg: 30.0,
            yaw_deg: ang.to_degrees() as f32 + 90.0,
            fov_deg: 40.0,
        };
        renderer.set_view(&view);
        let f = stream(&src2, &view, w, h);
        renderer.set_tiles(again.origin_xy, &f.tiles);
        renderer.render()?;
    }
    drop(src2);
    drop(again);
    renderer.set_tiles(ws.origin_xy, &[]);
    renderer.render()?;
    std::thread::sleep(Duration::from_millis(500));
    jingwei_layers::give_back_freed_memory();
    let rss_second = rss();
    let gpu = [gpu_before, gpu_loaded, gpu_removed];
    let gpu_allocated = gpu.map(|g| g.map(|(a, _)| a as f64 / 1e6));
    let gpu_reserved = gpu.map(|g| g.map(|(_, r)| r as f64 / 1e6));
    println!(
        "{}",
        serde_json::json!({
            "tileset": a.tileset,
            "size": [w, h],
            "budget_mb": budget as f64 / 1e6,
            "first_frame_s": first_frame_s,
            "settled_s": settled_s,
            "frames_to_settle": frames_to_settle,
            "flight_s": flight.as_secs_f64(),
            "flight_frames": frame_ms.len(),
            "flight_frame_ms_median": median(frame_ms.clone()),
            "flight_frame_ms_p95": pct(frame_ms, 0.95),
            "orbit_frame_ms_median": median(orbit_ms.clone()),
            "orbit_frame_ms_p95": pct(orbit_ms, 0.95),
            "set_tiles_ms_median": median(set_tiles_ms.clone()),
            "set_tiles_ms_p95": pct(set_tiles_ms.clone(), 0.95),
            "set_tiles_ms_max": set_tiles_ms.iter().cloned().fold(0.0, f64::max),
            "peak_stream_mb": peak_stream as f64 / 1e6,
            "stream_over_budget": peak_stream as f64 / budget as f64,
            "rss_before_mb": rss_before as f64 / 1e6,
            "peak_rss_mb": peak_rss as f64 / 1e6,
            "rss_growth_after_mark": growth,
            "growth_mark_s": mark,
            "rest_resident_tiles": resident,
            "rest_resident_in_view": in_view,
            "rest_share_in_view": if resident > 0 { in_view as f64 / resident as f64 } else { 1.0 },
            "rss_loaded_mb": rss_loaded as f64 / 1e6,
            "rss_after_remove_mb": rss_after as f64 / 1e6,
            "rss_back_within": (rss_after as f64 - rss_before as f64) / rss_before.max(1) as f64,
            "rss_after_trim_mb": rss_trimmed as f64 / 1e6,
            "rss_after_second_cycle_mb": rss_second as f64 / 1e6,
            // The graphics allocator's live and reserved bytes (MB) before, loaded, removed.
            "gpu_allocated_mb": gpu_allocated,
            "gpu_reserved_mb": gpu_reserved,
            "rss_back_within_after_trim": (rss_trimmed as f64 - rss_before as f64) / rss_before.max(1) as f64,
            "samples": samples,
        })
    );
    Ok(ExitCode::SUCCESS)
}
