//! `jingwei cases list|show|set-status|assign|note|attach|flag|export --workspace W` — the
//! inspector's case operations for scripts and other systems; each change is one transaction.

use anyhow::{Context, Result, bail};
use jingwei_cases::{Case, CaseDetail, CaseStore, CsvOptions, Status, csv_string, geojson_value, rules_zh};
use jingwei_layers::{Crs, Layer, RepairMode, Transformer, Workspace};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use jingwei_app::data::open_layer_spec;
use jingwei_app::files;

use crate::filter::FilterArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

/// The options every workspace subcommand takes (cases, incidents).
#[derive(clap::Args, Clone)]
pub(crate) struct Common {
    /// The workspace GeoPackage (cases and incidents; a drill copy works the same way).
    #[arg(long, short = 'w')]
    pub(crate) workspace: PathBuf,
    /// Who makes the change (recorded in the audit trail; default: $USER).
    #[arg(long)]
    pub(crate) actor: Option<String>,
    /// JSON output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// List cases, highest priority first.
    List {
        #[command(flatten)]
        c: Common,
        #[command(flatten)]
        f: FilterArgs,
    },
    /// Show one case with its evidence, notes, attachments and audit trail.
    Show {
        /// Case number (WJ2026-000001) or id.
        case: String,
        #[command(flatten)]
        c: Common,
    },
    /// Move a case along the loop: pending → confirmed | dismissed → rectifying → closed.
    SetStatus {
        /// Case number or id.
        case: String,
        /// New status (id or Chinese name).
        status: String,
        /// A comment kept as a note with the change.
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        c: Common,
    },
    /// Assign a case to an inspector (empty name: unassign).
    Assign {
        /// Case number or id.
        case: String,
        /// Inspector.
        name: String,
        #[command(flatten)]
        c: Common,
    },
    /// Add a note to a case.
    Note {
        /// Case number or id.
        case: String,
        /// The note.
        text: String,
        #[command(flatten)]
        c: Common,
    },
    /// Attach photos or files to a case (stored inside the GeoPackage).
    Attach {
        /// Case number or id.
        case: String,
        /// Files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        c: Common,
    },
    /// Flag a case by hand: on a building (--building FILE[:LAYER] --fid N) or a polygon (--wkt).
    Flag {
        /// The buildings layer.
        #[arg(long, value_name = "FILE[:LAYER]")]
        building: Option<String>,
        /// Feature id of the building.
        #[arg(long)]
        fid: Option<i64>,
        /// A drawn polygon (or point) as WKT.
        #[arg(long)]
        wkt: Option<String>,
        /// CRS of --wkt (default: the store's CRS), e.g. EPSG:4490.
        #[arg(long = "in", value_name = "CRS")]
        in_crs: Option<String>,
        /// Title.
        #[arg(long, default_value = "人工标记疑似违建")]
        title: String,
        /// A first note.
        #[arg(long)]
        note: Option<String>,
        /// CRS of a new store (default: the CGCS2000 3° zone of the building or polygon).
        #[arg(long)]
        crs: Option<String>,
        #[command(flatten)]
        c: Common,
    },
    /// Export cases: csv (UTF-8 with BOM), geojson (CGCS2000 lon/lat), gpkg (with notes,
    /// attachments and audit), or report (one printable HTML page per case with a map).
    Export {
        /// csv, geojson, gpkg or report.
        #[arg(long)]
        format: String,
        /// Output file (a folder for report).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        c: Common,
        #[command(flatten)]
        f: FilterArgs,
    },
}

pub fn run(a: Args) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match a.command {
        Cmd::List { c, f } => {
            let store = CaseStore::open(&c.workspace)?;
            let cases = store.list(&f.filter()?)?;
            if c.json {
                serde_json::to_writer(&mut out, &cases)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "{:<14} {:<6} {:>5}  {:<10} {:>8}  rules",
                    "case", "status", "prio", "assignee", "fid"
                )?;
                for k in &cases {
                    writeln!(
                        out,
                        "{:<14} {:<6} {:>5.1}  {:<10} {:>8}  {}",
                        k.case_no,
                        k.status.name_zh(),
                        k.priority,
                        k.assignee.as_deref().unwrap_or("-"),
                        k.building_fid.map(|f| f.to_string()).unwrap_or_default(),
                        rules_zh(k)
                    )?;
                }
                writeln!(out, "{} cases", cases.len())?;
            }
        }
        Cmd::Show { case, c } => {
            let store = CaseStore::open(&c.workspace)?;
            let d = store.detail(&case)?;
            if c.json {
                serde_json::to_writer(&mut out, &detail_json(&store, &d))?;
                writeln!(out)?;
            } else {
                print_detail(&mut out, &d)?;
            }
        }
        Cmd::SetStatus { case, status, comment, c } => {
            let to = Status::parse(&status)
                .with_context(|| format!("unknown status '{status}' (pending, confirmed, dismissed, rectifying, closed)"))?;
            let mut store = CaseStore::open(&c.workspace)?;
            let k = store.set_status(&case, to, comment.as_deref(), &files::actor(c.actor.as_deref()))?;
            report_case(&mut out, &k, c.json)?;
        }
        Cmd::Assign { case, name, c } => {
            let mut store = CaseStore::open(&c.workspace)?;
            let name = Some(name.trim()).filter(|n| !n.is_empty());
            let k = store.assign(&case, name, &files::actor(c.actor.as_deref()))?;
            report_case(&mut out, &k, c.json)?;
        }
        Cmd::Note { case, text, c } => {
            let mut store = CaseStore::open(&c.workspace)?;
            let id = store.add_note(&case, &text, &files::actor(c.actor.as_deref()))?;
            if c.json {
                writeln!(out, "{}", json!({"note": id}))?;
            } else {
                writeln!(out, "note {id} added to {case}")?;
            }
        }
        Cmd::Attach { case, files, c } => {
            let mut store = CaseStore::open(&c.workspace)?;
            let who = files::actor(c.actor.as_deref());
            let mut ids = Vec::new();
            for f in &files {
                ids.push(store.attach(&case, f, &who)?);
            }
            if c.json {
                writeln!(out, "{}", json!({"attachments": ids}))?;
            } else {
                writeln!(out, "{} file(s) attached to {case}", ids.len())?;
            }
        }
        Cmd::Flag {
            building,
            fid,
            wkt,
            in_crs,
            title,
            note,
            crs,
            c,
        } => {
            let k = flag(&c, building, fid, wkt, in_crs, &title, note.as_deref(), crs)?;
            report_case(&mut out, &k, c.json)?;
        }
        Cmd::Export { format, out: path, c, f } => {
            let store = CaseStore::open(&c.workspace)?;
            let filter = f.filter()?;
            let to_ll = match store.crs() {
                Some(crs) => Some(Transformer::new(crs, &Crs::cgcs2000()?)?),
                None => None,
            };
            let n = match format.as_str() {
                "csv" => {
                    let cases = store.list(&filter)?;
                    files::write_atomic(&path, csv_string(&cases, to_ll.as_ref(), CsvOptions::default()).as_bytes())?;
                    cases.len()
                }
                "geojson" => {
                    let cases = store.list(&filter)?;
                    files::write_atomic(&path, serde_json::to_string(&geojson_value(&cases, to_ll.as_ref()))?.as_bytes())?;
                    cases.len()
                }
                "gpkg" => store.export_gpkg(&filter, &path)?,
                "report" => {
                    // Site maps need the renderer, which lives in its own program.
                    drop(store);
                    let mut args: Vec<std::ffi::OsString> = vec![
                        "report".into(),
                        "-w".into(),
                        c.workspace.clone().into(),
                        "--out".into(),
                        path.clone().into(),
                    ];
                    for (flag, v) in [
                        ("--status", &f.status),
                        ("--rule", &f.rule),
                        ("--zone-type", &f.zone_type),
                        ("--assignee", &f.assignee),
                    ] {
                        if let Some(v) = v {
                            args.extend([flag.into(), v.into()]);
                        }
                    }
                    if let Some(p) = f.min_priority {
                        args.extend(["--min-priority".into(), p.to_string().into()]);
                    }
                    if c.json {
                        args.push("--json".into());
                    }
                    return crate::sibling::run("jingwei-render", &args);
                }
                other => bail!("--format '{other}': use csv, geojson, gpkg or report"),
            };
            if c.json {
                writeln!(out, "{}", json!({"exported": n, "format": format, "out": path}))?;
            } else {
                writeln!(out, "{n} cases exported to {} ({format})", path.display())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn flag(
    c: &Common,
    building: Option<String>,
    fid: Option<i64>,
    wkt: Option<String>,
    in_crs: Option<String>,
    title: &str,
    note: Option<&str>,
    crs: Option<String>,
) -> Result<Case> {
    let who = files::actor(c.actor.as_deref());
    // The geometry (and its layer) in its own CRS.
    let (mut layer, building_ref): (Layer, Option<(String, i64)>) = match (&building, fid, &wkt) {
        (Some(spec), Some(fid), None) => {
            let mut l = open_layer_spec(spec)?;
            let row = l
                .row_of_fid(fid)
                .with_context(|| format!("{}: layer '{}' has no feature {fid}", l.source_path.display(), l.name))?;
            let name = l.name.clone();
            l.geometries = vec![l.geometries.geometry(row)].into();
            l.fids = vec![fid];
            l.columns.clear();
            l.fields.clear();
            (l, Some((name, fid)))
        }
        (None, None, Some(w)) => {
            let g = parse_wkt(w)?;
            let crs = match (&in_crs, CaseStore::open(&c.workspace).ok().and_then(|s| s.crs().cloned())) {
                (Some(s), _) => Crs::parse(s)?,
                (None, Some(store_crs)) => store_crs,
                (None, None) => bail!("--wkt needs --in CRS for a new store"),
            };
            let mut l = Layer::single("flag", Some(crs), g);
            l.source_path = PathBuf::from("--wkt");
            (l, None)
        }
        _ => bail!("flag a building (--building FILE[:LAYER] --fid N) or a polygon (--wkt …), one of the two"),
    };
    let mut store = if c.workspace.exists() {
        CaseStore::open(&c.workspace)?
    } else {
        let crs = match crs {
            Some(s) => Crs::parse(&s)?,
            None => Workspace::for_layer(&layer)?.crs,
        };
        CaseStore::open_or_create(&c.workspace, &crs)?
    };
    let crs = store.crs().cloned().context("the store's CRS is unknown to PROJ")?;
    layer.validate(RepairMode::Repair);
    layer.reproject(&crs)?;
    let g = layer.geometries.geometry(0).context("the building has no geometry")?;
    Ok(store.flag(&g, building_ref.as_ref().map(|(l, f)| (l.as_str(), *f)), title, note, &who)?)
}

fn parse_wkt(s: &str) -> Result<geo::Geometry> {
    jingwei_layers::ops::from_wkt(s).context("--wkt")
}

fn report_case(out: &mut impl Write, k: &Case, json: bool) -> Result<()> {
    if json {
        serde_json::to_writer(&mut *out, k)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} {} — {} (priority {:.1}, assignee {})",
            k.case_no,
            k.status.name_zh(),
            rules_zh(k),
            k.priority,
            k.assignee.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

fn detail_json(store: &CaseStore, d: &CaseDetail) -> serde_json::Value {
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let (Some(g), Some(crs)) = (&d.case.geometry, store.crs()) {
        let mut ll = g.clone();
        if let Ok(t) = Crs::cgcs2000().and_then(|to| Transformer::new(crs, &to))
            && t.transform_geometry(&mut ll).is_ok()
        {
            v["geometry_lonlat"] = jingwei_layers::geojson::geometry(&ll);
        }
    }
    v
}

fn print_detail(out: &mut impl Write, d: &CaseDetail) -> Result<()> {
    let k = &d.case;
    writeln!(out, "{}  {}  priority {:.1}", k.case_no, k.status.name_zh(), k.priority)?;
    writeln!(out, "  rules:     {}", rules_zh(k))?;
    writeln!(out, "  title:     {}", k.title)?;
    if let (Some(l), Some(f)) = (&k.building_layer, k.building_fid) {
        writeln!(out, "  building:  {l} #{f}")?;
    }
    writeln!(out, "  assignee:  {}", k.assignee.as_deref().unwrap_or("-"))?;
    writeln!(out, "  created:   {} by {}", k.created_at, k.created_by)?;
    writeln!(out, "  evidence:  {}", k.evidence)?;
    for n in &d.notes {
        writeln!(out, "  note {} {}: {}", n.at, n.actor, n.text)?;
    }
    for a in &d.attachments {
        writeln!(out, "  attachment #{} {} ({}, {} bytes)", a.id, a.name, a.mime, a.size)?;
    }
    writeln!(out, "  audit trail:")?;
    for e in &d.audit {
        writeln!(
            out,
            "    {} {:<8} {:<9} {} {} → {}",
            e.at,
            e.actor,
            e.action,
            e.field.as_deref().unwrap_or(""),
            e.old_value.as_deref().unwrap_or("∅"),
            e.new_value.as_deref().unwrap_or("∅")
        )?;
    }
    Ok(())
}
