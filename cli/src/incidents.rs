//! `jingwei incidents create|list|show|log|set-status|drill --workspace W` — incidents and their
//! action log in the workspace GeoPackage; `drill` makes the drill copy (模拟推演) that
//! exercises never write into the real records.

use anyhow::{Context, Result};
use jingwei_app::emergency::{IncidentInput, check_rings, create_incident};
use jingwei_app::{data, files};
use jingwei_cases::CaseStore;
use jingwei_cases::incidents::{Incident, IncidentStatus};
use jingwei_feeds::{ParseOptions, parse};
use jingwei_layers::Crs;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cases::Common;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Open an incident by hand (--type --at) or from a feed event (--from-feed FILE --event ID).
    Create {
        /// fire, hazardous_chemical_leak, gas_leak, building_collapse, flood, earthquake, …
        #[arg(long = "type")]
        kind: Option<String>,
        /// Location X,Y.
        #[arg(long, value_name = "X,Y", allow_hyphen_values = true)]
        at: Option<String>,
        /// CRS of --at (default EPSG:4490 lon/lat).
        #[arg(long = "in", value_name = "CRS")]
        in_crs: Option<String>,
        /// Title.
        #[arg(long, default_value = "")]
        title: String,
        /// Severity.
        #[arg(long)]
        severity: Option<String>,
        /// Impact rings in metres (default: those of the type).
        #[arg(long, value_delimiter = ',')]
        rings: Vec<f64>,
        /// A feed document holding the event.
        #[arg(long)]
        from_feed: Option<PathBuf>,
        /// The event's id in that document.
        #[arg(long)]
        event: Option<String>,
        /// CRS of a new workspace (default: the CGCS2000 3° zone of the location).
        #[arg(long)]
        crs: Option<String>,
        #[command(flatten)]
        c: Common,
    },
    /// List incidents (open ones unless --all).
    List {
        /// Closed ones too.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        c: Common,
    },
    /// Show an incident with its action log.
    Show {
        /// Incident number or id.
        incident: String,
        #[command(flatten)]
        c: Common,
    },
    /// Record an action taken.
    Log {
        /// Incident number or id.
        incident: String,
        /// What was done.
        text: String,
        #[command(flatten)]
        c: Common,
    },
    /// Set the status: active, contained, closed.
    SetStatus {
        /// Incident number or id.
        incident: String,
        /// New status.
        status: String,
        #[command(flatten)]
        c: Common,
    },
    /// Change the impact rings of an incident (metres, comma-separated).
    SetRings {
        /// Incident number or id.
        incident: String,
        /// Distances in metres.
        #[arg(value_delimiter = ',', required = true)]
        rings: Vec<f64>,
        #[command(flatten)]
        c: Common,
    },
    /// Make a drill copy of the workspace at --out and print its path.
    Drill {
        /// The drill copy (must not exist).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        c: Common,
    },
}

fn open(c: &Common) -> Result<CaseStore> {
    let s = CaseStore::open(&c.workspace)?;
    if s.is_drill()? {
        eprintln!(
            "【演练 DRILL】{} is a drill copy: nothing here touches the real records",
            c.workspace.display()
        );
    }
    Ok(s)
}

fn print(out: &mut impl Write, i: &Incident, json: bool) -> Result<()> {
    if json {
        serde_json::to_writer(&mut *out, i)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{}  {:<9} {:<24} {:<9} {}  rings {:?} m",
            i.incident_no,
            i.status.id(),
            i.kind,
            i.severity.as_deref().unwrap_or("-"),
            i.title,
            i.rings_m
        )?;
    }
    Ok(())
}

pub fn run(a: Args) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match a.command {
        Cmd::Create {
            kind,
            at,
            in_crs,
            title,
            severity,
            rings,
            from_feed,
            event,
            crs,
            c,
        } => {
            // A typed point (in CGCS2000 lon/lat).
            let typed = match &at {
                Some(s) => {
                    let xy = data::parse_xy(s).context("--at")?;
                    let from = Crs::parse(in_crs.as_deref().unwrap_or("EPSG:4490"))?;
                    Some(data::typed_point(xy, &from, &Crs::cgcs2000()?).context("--at")?)
                }
                None => None,
            };
            // What and where: from the event (the one event → incident mapping), or given.
            let mut input = match &from_feed {
                Some(feed) => {
                    let id = event.as_deref().context("--from-feed needs --event ID")?;
                    let bytes = std::fs::read(feed).with_context(|| format!("{}: cannot read", feed.display()))?;
                    let p = parse(&bytes, None, &ParseOptions::default()).with_context(|| feed.display().to_string())?;
                    let e = p
                        .events
                        .iter()
                        .find(|e| e.id == id)
                        .with_context(|| format!("{}: no event '{id}'", feed.display()))?;
                    IncidentInput::from_event(e, typed)?
                }
                None => {
                    let (lon, lat) = typed.context("give --at X,Y")?;
                    let kind = kind.as_deref().context("give --type (or --from-feed with --event)")?;
                    IncidentInput::manual(kind, geo::Geometry::Point(geo::Point::new(lon, lat)))
                }
            };
            if let Some(k) = kind {
                input.kind = k;
            }
            if !title.is_empty() {
                input.title = title;
            }
            if severity.is_some() {
                input.severity = severity;
            }
            if !rings.is_empty() {
                check_rings(&rings)?;
                input.rings_m = Some(rings);
            }
            let mut store = if c.workspace.exists() {
                open(&c)?
            } else {
                let centre = geo::Centroid::centroid(&input.lonlat).context("the incident has no location")?;
                let crs = match crs {
                    Some(s) => Crs::parse(&s)?,
                    None => Crs::from_epsg(jingwei_layers::crs::default_workspace_epsg(centre.x(), centre.y()))?,
                };
                CaseStore::open_or_create(&c.workspace, &crs)?
            };
            let inc = create_incident(&mut store, &input, &files::actor(c.actor.as_deref()))?;
            print(&mut out, &inc, c.json)?;
        }
        Cmd::List { all, c } => {
            let store = open(&c)?;
            let list = store.incidents(all)?;
            if c.json {
                serde_json::to_writer(&mut out, &list)?;
                writeln!(out)?;
            } else {
                for i in &list {
                    print(&mut out, i, false)?;
                }
            }
        }
        Cmd::Show { incident, c } => {
            let store = open(&c)?;
            let i = store.incident(&incident)?;
            let log = store.incident_log(&incident)?;
            if c.json {
                serde_json::to_writer(&mut out, &json!({"incident": i, "log": log, "drill": store.is_drill()?}))?;
                writeln!(out)?;
            } else {
                print(&mut out, &i, false)?;
                for l in &log {
                    writeln!(
                        out,
                        "  {} {:<8} {:<7} {}",
                        l.at,
                        l.actor,
                        l.action,
                        l.detail.as_deref().unwrap_or("")
                    )?;
                }
            }
        }
        Cmd::Log { incident, text, c } => {
            let mut store = open(&c)?;
            store.log_action(&incident, &text, &files::actor(c.actor.as_deref()))?;
            writeln!(out, "logged on {incident}")?;
        }
        Cmd::SetStatus { incident, status, c } => {
            let to = IncidentStatus::parse(&status).with_context(|| format!("unknown status '{status}' (active, contained, closed)"))?;
            let mut store = open(&c)?;
            let i = store.set_incident_status(&incident, to, &files::actor(c.actor.as_deref()))?;
            print(&mut out, &i, c.json)?;
        }
        Cmd::SetRings { incident, rings, c } => {
            check_rings(&rings)?;
            let mut store = open(&c)?;
            let i = store.set_incident_rings(&incident, &rings, &files::actor(c.actor.as_deref()))?;
            print(&mut out, &i, c.json)?;
        }
        Cmd::Drill { out: dest, c } => {
            let store = open(&c)?;
            let drill = store.drill_copy(&dest, &files::actor(c.actor.as_deref()))?;
            if c.json {
                writeln!(out, "{}", json!({"drill": drill.path(), "of": c.workspace}))?;
            } else {
                writeln!(
                    out,
                    "drill copy: {} (use it with -w; the real workspace is not touched)",
                    drill.path().display()
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
