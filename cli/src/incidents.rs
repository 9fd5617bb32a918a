//! `jingwei incidents create|list|show|log|set-status|drill --workspace W` — incidents and their
//! action log in the workspace GeoPackage; `drill` makes the drill copy (模拟推演) that
//! exercises never write into the real records.

use anyhow::{Context, Result, bail};
use jingwei_cases::CaseStore;
use jingwei_cases::incidents::{Incident, IncidentStatus, NewIncident};
use jingwei_feeds::{ParseOptions, parse};
use jingwei_layers::{Crs, Transformer};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cases::Common;
use crate::violations::actor;

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
            // Where and what: from the event, or given.
            let (mut kind, mut title, mut severity, mut lonlat, mut occurred, mut event_id, mut source) =
                (kind, title, severity, None, None, None, "manual".to_string());
            let mut area: Option<geo::Geometry> = None;
            if let Some(feed) = &from_feed {
                let id = event.as_deref().context("--from-feed needs --event ID")?;
                let bytes = std::fs::read(feed).with_context(|| format!("{}: cannot read", feed.display()))?;
                let p = parse(&bytes, None, &ParseOptions::default()).with_context(|| feed.display().to_string())?;
                let e = p
                    .events
                    .iter()
                    .find(|e| e.id == id)
                    .with_context(|| format!("{}: no event '{id}'", feed.display()))?;
                kind = kind.or_else(|| {
                    Some(if e.kind == "earthquake" {
                        "earthquake".into()
                    } else {
                        e.kind.to_lowercase()
                    })
                });
                if title.is_empty() {
                    title = e.title.clone();
                }
                severity = severity.or_else(|| e.severity.clone());
                lonlat = e.point;
                area = e.area();
                occurred = e.time_ms.map(jingwei_feeds::time::iso8601);
                event_id = Some(e.id.clone());
                source = format!("{:?}", e.format).to_lowercase();
            }
            let kind = kind.context("give --type (or --from-feed with --event)")?;
            let (x, y) = match (&at, lonlat) {
                (Some(s), _) => {
                    let (x, y) = s.split_once(',').with_context(|| format!("--at '{s}': write X,Y"))?;
                    let (x, y): (f64, f64) = (x.trim().parse()?, y.trim().parse()?);
                    let from = Crs::parse(in_crs.as_deref().unwrap_or("EPSG:4490"))?;
                    Transformer::new(&from, &Crs::from_epsg(4490)?)?.transform(x, y)?
                }
                (None, Some(p)) => p,
                (None, None) => bail!("give --at X,Y (the event has no location)"),
            };
            let mut store = if c.workspace.exists() {
                open(&c)?
            } else {
                let crs = match crs {
                    Some(s) => Crs::parse(&s)?,
                    None => Crs::from_epsg(jingwei_layers::crs::default_workspace_epsg(x, y))?,
                };
                CaseStore::open_or_create(&c.workspace, &crs)?
            };
            let to = store.crs().cloned().context("the workspace CRS is unknown")?;
            let (px, py) = Transformer::new(&Crs::from_epsg(4490)?, &to)?.transform(x, y)?;
            let rings = if rings.is_empty() {
                jingwei_analysis::impact::default_rings(&kind)
            } else {
                rings
            };
            // The alert's own area when it has one, else its point.
            let g = match area {
                Some(mut a) => {
                    Transformer::new(&Crs::from_epsg(4490)?, &to)?.transform_geometry(&mut a)?;
                    a
                }
                None => geo::Geometry::Point(geo::Point::new(px, py)),
            };
            let title = if title.is_empty() { kind.clone() } else { title };
            let inc = store.create_incident(
                &NewIncident {
                    kind: &kind,
                    severity: severity.as_deref(),
                    title: &title,
                    source: &source,
                    event_id: event_id.as_deref(),
                    rings_m: &rings,
                    occurred_at: occurred.as_deref(),
                    geometry: &g,
                },
                &actor(c.actor.clone()),
            )?;
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
            store.log_action(&incident, &text, &actor(c.actor.clone()))?;
            writeln!(out, "logged on {incident}")?;
        }
        Cmd::SetStatus { incident, status, c } => {
            let to = IncidentStatus::parse(&status).with_context(|| format!("unknown status '{status}' (active, contained, closed)"))?;
            let mut store = open(&c)?;
            let i = store.set_incident_status(&incident, to, &actor(c.actor.clone()))?;
            print(&mut out, &i, c.json)?;
        }
        Cmd::SetRings { incident, rings, c } => {
            if rings.iter().any(|r| !(r.is_finite() && *r >= 0.0)) {
                bail!("rings are distances in metres, 0 or more");
            }
            let mut store = open(&c)?;
            let i = store.set_incident_rings(&incident, &rings, &actor(c.actor.clone()))?;
            print(&mut out, &i, c.json)?;
        }
        Cmd::Drill { out: dest, c } => {
            let store = open(&c)?;
            let drill = store.drill_copy(&dest, &actor(c.actor.clone()))?;
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
