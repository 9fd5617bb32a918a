//! `jingwei scenario flood|rain|plume|quake|replay` (what-if scenarios at a place or an
//! incident, logged on the incident), `jingwei pipes check|burst|trace` (the pipe network's
//! topology, burst isolation, traces) and `jingwei cameras viewshed|see|coverage` — the same
//! use cases of the application API the command panel calls.

use anyhow::{Context, Result, bail};
use jingwei_app::scenario::{Model, ScenarioDto, ScenarioInput};
use jingwei_app::session::Canvas;
use jingwei_app::{Session, files};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where and on what a command runs.
#[derive(clap::Args, Clone)]
pub struct Place {
    /// A workspace catalog (default: the demo city).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// The place as LON,LAT (CGCS2000).
    #[arg(long, value_name = "LON,LAT", allow_hyphen_values = true)]
    at: Option<String>,
    /// An incident (number or id) of --workspace: the scenario runs at its place and is logged on it.
    #[arg(long)]
    incident: Option<String>,
    /// The workspace GeoPackage holding the incidents (a drill copy works the same way).
    #[arg(long, short = 'w')]
    workspace: Option<PathBuf>,
    /// Who runs it (recorded in the incident's log; default: $USER).
    #[arg(long)]
    actor: Option<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Water standing at a level (m, the DEM's heights) connected to the water at the place.
    Flood {
        /// The water level, m.
        #[arg(long, allow_hyphen_values = true)]
        level: f64,
        /// Rising from this level, m (with --steps).
        #[arg(long, allow_hyphen_values = true)]
        from: Option<f64>,
        /// Steps of the rise.
        #[arg(long, default_value_t = 1)]
        steps: u32,
        /// Roads under more water than this (m) are closed.
        #[arg(long, default_value_t = jingwei_app::scenario::PASSABLE_M)]
        passable: f64,
        /// Evacuate the people reached to shelters within this many minutes by road.
        #[arg(long)]
        evacuate: Option<f64>,
        #[command(flatten)]
        p: Place,
    },
    /// Rainfall over the incident's area (or a circle) filled into depressions.
    Rain {
        /// Rainfall, mm.
        #[arg(long, allow_hyphen_values = true)]
        mm: f64,
        /// Share that runs off (0–1).
        #[arg(long, default_value_t = 0.9)]
        runoff: f64,
        /// Radius of the rain's circle about a point (m).
        #[arg(long)]
        radius: Option<f64>,
        /// Roads under more water than this (m) are closed.
        #[arg(long, default_value_t = jingwei_app::scenario::PASSABLE_M)]
        passable: f64,
        /// Evacuate the people reached within this many minutes by road.
        #[arg(long)]
        evacuate: Option<f64>,
        #[command(flatten)]
        p: Place,
    },
    /// A continuous gas or toxic release (Gaussian plume).
    Plume {
        /// Release rate, g/s.
        #[arg(long, allow_hyphen_values = true)]
        rate: f64,
        /// Wind speed, m/s.
        #[arg(long, allow_hyphen_values = true)]
        wind: f64,
        /// Where the wind blows from, degrees from north.
        #[arg(long = "wind-from", allow_hyphen_values = true)]
        wind_from: f64,
        /// Pasquill–Gifford stability class A–F.
        #[arg(long, default_value = "D")]
        stability: String,
        /// Release height, m.
        #[arg(long, default_value_t = 0.0)]
        height: f64,
        /// Thresholds in mg/m³, comma-separated (e.g. AEGL-3,AEGL-2,AEGL-1).
        #[arg(long, value_delimiter = ',', required = true)]
        thresholds: Vec<f64>,
        /// Minutes since the release began.
        #[arg(long, default_value_t = 30.0)]
        minutes: f64,
        /// Steps of the time slider.
        #[arg(long, default_value_t = 1)]
        steps: u32,
        /// Evacuate the people reached within this many minutes by road.
        #[arg(long)]
        evacuate: Option<f64>,
        #[command(flatten)]
        p: Place,
    },
    /// An earthquake (intensity by the 汪素云 et al. 2000 attenuation relations).
    Quake {
        /// Surface-wave magnitude (default: the one the incident's title states).
        #[arg(long)]
        magnitude: Option<f64>,
        /// The fault's strike, degrees from north.
        #[arg(long, default_value_t = 0.0)]
        strike: f64,
        /// east or west China (default: by longitude).
        #[arg(long)]
        region: Option<String>,
        /// Evacuate the people reached within this many minutes by road.
        #[arg(long)]
        evacuate: Option<f64>,
        #[command(flatten)]
        p: Place,
    },
    /// Run again a scenario logged on an incident.
    Replay {
        /// The log entry's id.
        #[arg(long)]
        log: i64,
        #[command(flatten)]
        p: Place,
    },
}

/// A session on the catalog, its incidents in `workspace` (or a private file when none).
pub(crate) fn session(p: &Place) -> Result<(Session, Option<tempfile::TempDir>)> {
    let (store, tmp) = match &p.workspace {
        Some(w) => (w.clone(), None),
        None => {
            if p.incident.is_some() {
                bail!("--incident needs --workspace (the GeoPackage holding the incidents)");
            }
            let t = tempfile::tempdir()?;
            (t.path().join("cases.gpkg"), Some(t))
        }
    };
    let s = Session::new(store, files::actor(p.actor.as_deref()));
    let catalog = p.catalog.clone().unwrap_or_else(files::demo_catalog);
    s.open_catalog(&catalog).with_context(|| catalog.display().to_string())?;
    Ok((s, tmp))
}

pub(crate) fn lonlat(at: &str) -> Result<[f64; 2]> {
    let (lon, lat) = jingwei_app::data::parse_xy(at).context("--at")?;
    Ok([lon, lat])
}

pub(crate) fn canvas() -> Canvas {
    Canvas {
        width: 1280,
        height: 720,
        current: None,
    }
}

pub(crate) fn print<T: Serialize>(json: bool, v: &T, text: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, v)?;
        writeln!(out)?;
    } else {
        text(&mut out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn report(d: &ScenarioDto, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        w,
        "{}: {:.0} m² reached, {} buildings, {} people (estimated), max {:.2}",
        d.model, d.area_m2, d.buildings, d.people, d.max_value
    )?;
    if let Some(v) = d.volume_m3 {
        writeln!(
            w,
            "water: {v:.0} m³{}",
            d.runoff_m3.map(|r| format!(", {r:.0} m³ ran off the DEM")).unwrap_or_default()
        )?;
    }
    for s in &d.steps {
        writeln!(
            w,
            "  step {} {}: {:.0} m², {} buildings, {} people",
            s.value, s.unit, s.area_m2, s.buildings, s.people
        )?;
    }
    for b in &d.bands {
        writeln!(
            w,
            "  {}: {:.0} m², {} buildings, {} people",
            b.label, b.area_m2, b.buildings, b.people
        )?;
    }
    if d.roads_closed > 0 {
        writeln!(w, "roads closed: {} segments, {:.0} m", d.roads_closed, d.roads_closed_m)?;
    }
    if let Some(e) = &d.evacuation {
        writeln!(
            w,
            "evacuation within {} min: {} people, {} placed, {} left over; {} shelters used, {} unusable (in the hazard)",
            e.limit_min,
            e.people,
            e.placed,
            e.left_over,
            e.shelters.iter().filter(|s| s.placed > 0.0).count(),
            d.shelters_unusable
        )?;
    }
    if let Some(id) = d.log_id {
        writeln!(w, "logged on the incident as #{id}{}", if d.drill { " (drill)" } else { "" })?;
    }
    Ok(())
}

pub fn run(a: Args) -> Result<ExitCode> {
    let (model, evacuate, p) = match a.command {
        Cmd::Replay { log, p } => {
            let (s, _tmp) = session(&p)?;
            let key = p.incident.as_deref().context("replay needs --incident")?;
            let d = s.replay_scenario(key, log, canvas())?;
            return print(p.json, &d, |w| report(&d, w));
        }
        Cmd::Flood {
            level,
            from,
            steps,
            passable,
            evacuate,
            p,
        } => (
            Model::Flood {
                level_m: level,
                from_m: from,
                steps,
                passable_m: passable,
            },
            evacuate,
            p,
        ),
        Cmd::Rain {
            mm,
            runoff,
            radius,
            passable,
            evacuate,
            p,
        } => (
            Model::Rain {
                depth_mm: mm,
                runoff,
                radius_m: radius,
                passable_m: passable,
            },
            evacuate,
            p,
        ),
        Cmd::Plume {
            rate,
            wind,
            wind_from,
            stability,
            height,
            thresholds,
            minutes,
            steps,
            evacuate,
            p,
        } => (
            Model::Plume {
                rate_g_s: rate,
                wind_m_s: wind,
                wind_from_deg: wind_from,
                stability,
                height_m: height,
                thresholds_mg_m3: thresholds,
                minutes,
                steps,
                receptor_m: 1.5,
            },
            evacuate,
            p,
        ),
        Cmd::Quake {
            magnitude,
            strike,
            region,
            evacuate,
            p,
        } => (
            Model::Quake {
                magnitude,
                strike_deg: strike,
                region,
            },
            evacuate,
            p,
        ),
    };
    if p.at.is_none() && p.incident.is_none() {
        bail!("say where: --at LON,LAT or --incident N --workspace W");
    }
    let (s, _tmp) = session(&p)?;
    let input = ScenarioInput {
        model,
        incident: p.incident.clone(),
        at: p.at.as_deref().map(lonlat).transpose()?,
        evacuate_min: evacuate,
    };
    let d = s.run_scenario(&input, canvas())?;
    print(p.json, &d, |w| report(&d, w))
}

#[derive(clap::Args)]
pub struct PipesArgs {
    #[command(subcommand)]
    command: PipesCmd,
}

#[derive(clap::Subcommand)]
enum PipesCmd {
    /// The network's topology: nodes, pieces, T-junctions joined, gaps, stray valves.
    Check {
        #[command(flatten)]
        p: Place,
    },
    /// Burst isolation (爆管关阀) for a break at --at LON,LAT or on --pipe FID.
    Burst {
        /// The broken pipe's fid.
        #[arg(long)]
        pipe: Option<i64>,
        #[command(flatten)]
        p: Place,
    },
    /// The latest readings of pipe sensors (a SensorThings document) on the network, with alarms.
    Sensors {
        /// The SensorThings document (default: the demo's pipe sensors).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Alarm limits, `DATASTREAM<MIN` or `DATASTREAM>MAX` (repeatable; else the Datastreams' own).
        #[arg(long)]
        threshold: Vec<String>,
        #[command(flatten)]
        p: Place,
    },
    /// The pipes downstream (or with --up upstream) of a pipe.
    Trace {
        /// The pipe's fid.
        #[arg(long)]
        pipe: i64,
        /// Upstream instead of downstream.
        #[arg(long)]
        up: bool,
        #[command(flatten)]
        p: Place,
    },
}

pub fn pipes(a: PipesArgs) -> Result<ExitCode> {
    match a.command {
        PipesCmd::Check { p } => {
            let (s, _tmp) = session(&p)?;
            let t = s.pipe_topology()?;
            print(p.json, &t, |w| {
                writeln!(
                    w,
                    "{} pipes ({} left out) → {} nodes, {} pieces, {} components; {} T-junctions joined, {} gaps, {} valves ({} off the network), {} supply points, {} customers ({} unattached)",
                    t.pipes,
                    t.pipes_skipped,
                    t.nodes,
                    t.edges,
                    t.components,
                    t.t_junctions,
                    t.gaps.len(),
                    t.valves,
                    t.valves_off_network.len(),
                    t.sources,
                    t.customers,
                    t.customers_unattached.len()
                )?;
                for g in &t.gaps {
                    writeln!(
                        w,
                        "  gap: pipe {} ends {:.2} m from pipe {} at ({:.2}, {:.2})",
                        g.pipe, g.distance_m, g.near_pipe, g.x, g.y
                    )?;
                }
                Ok(())
            })
        }
        PipesCmd::Burst { pipe, p } => {
            let (s, _tmp) = session(&p)?;
            let at = p.at.as_deref().map(lonlat).transpose()?;
            let b = s.pipe_burst(at, pipe, canvas())?;
            print(p.json, &b, |w| {
                writeln!(w, "break on pipe {}: close valves {:?}", b.pipe, b.valves)?;
                writeln!(
                    w,
                    "isolated: {} pipes, {:.0} m, {} customers; cut off beyond: {} pipes, {:.0} m; customers out {} ({} people)",
                    b.isolated_pipes, b.isolated_m, b.isolated_customers, b.cut_off_pipes, b.cut_off_m, b.customers_out, b.people_out
                )?;
                for f in &b.if_valve_fails {
                    writeln!(
                        w,
                        "  if valve {} fails: close {:?} ({} customers out)",
                        f.failed, f.next_valves, f.customers_out
                    )?;
                }
                writeln!(w, "{:.1} ms", b.ms)
            })
        }
        PipesCmd::Sensors { file, threshold, p } => {
            let (s, _tmp) = session(&p)?;
            let file = file.unwrap_or_else(jingwei_app::lifelines::demo_pipe_sensors);
            let list = s.pipe_sensors(&file, &threshold)?;
            print(p.json, &list, |w| {
                for r in &list {
                    let g = &r.reading;
                    writeln!(
                        w,
                        "{} {} {}{} at {} [{}]{}",
                        g.thing,
                        g.datastream,
                        g.value,
                        g.unit,
                        g.time,
                        g.state,
                        r.pipe.map(|p| format!(" on pipe {p}")).unwrap_or_default()
                    )?;
                }
                Ok(())
            })
        }
        PipesCmd::Trace { pipe, up, p } => {
            let (s, _tmp) = session(&p)?;
            let t = s.pipe_trace(pipe, !up)?;
            print(p.json, &t, |w| {
                writeln!(
                    w,
                    "{} of pipe {}: {} pipes, {:.0} m",
                    if up { "upstream" } else { "downstream" },
                    pipe,
                    t.pipes.len(),
                    t.length_m
                )
            })
        }
    }
}

#[derive(clap::Args)]
pub struct CamerasArgs {
    #[command(subcommand)]
    command: CamerasCmd,
}

#[derive(clap::Subcommand)]
enum CamerasCmd {
    /// What a camera sees over the DEM and the buildings.
    Viewshed {
        /// The camera's fid.
        #[arg(long)]
        camera: i64,
        #[command(flatten)]
        p: Place,
    },
    /// The cameras that see the ground at --at LON,LAT.
    See {
        #[command(flatten)]
        p: Place,
    },
    /// How much of an incident's area (or a circle of --radius about it) the cameras see.
    Coverage {
        /// Radius about a point incident, m.
        #[arg(long, default_value_t = 200.0)]
        radius: f64,
        #[command(flatten)]
        p: Place,
    },
}

pub fn cameras(a: CamerasArgs) -> Result<ExitCode> {
    match a.command {
        CamerasCmd::Viewshed { camera, p } => {
            let (s, _tmp) = session(&p)?;
            let v = s.camera_viewshed(camera, canvas())?;
            print(p.json, &v, |w| {
                writeln!(
                    w,
                    "camera {camera} sees {:.0} m² of the {:.0} m² in its range and field of view ({} m cells)",
                    v.seen_m2, v.covered_m2, v.cell_m
                )
            })
        }
        CamerasCmd::See { p } => {
            let (s, _tmp) = session(&p)?;
            let [lon, lat] = lonlat(p.at.as_deref().context("see needs --at LON,LAT")?)?;
            let hits = s.cameras_seeing(lon, lat)?;
            print(p.json, &hits, |w| {
                writeln!(w, "{} cameras see ({lon}, {lat})", hits.len())?;
                for h in &hits {
                    writeln!(w, "  {} {} at {:.0} m", h.fid, h.name.as_deref().unwrap_or(""), h.distance_m)?;
                }
                Ok(())
            })
        }
        CamerasCmd::Coverage { radius, p } => {
            let (s, _tmp) = session(&p)?;
            let key = p.incident.as_deref().context("coverage needs --incident and --workspace")?;
            let c = s.camera_coverage(key, radius)?;
            print(p.json, &c, |w| {
                writeln!(
                    w,
                    "{:.0}% of {:.0} m² seen by {} cameras",
                    c.seen_share * 100.0,
                    c.area_m2,
                    c.cameras.len()
                )
            })
        }
    }
}
