//! `jingwei overlap --catalog … --redline SITE.gpkg [--layers landuse,control_zones] [--csv out.csv] [--json]`
//! — 压占分析: a red line against the layers of a workspace, per class, in m², 公顷 and 亩, plane
//! and ellipsoidal, with the control-line verdicts (the same answer as the app's).

use anyhow::{Result, bail};
use jingwei_analysis::area::{M2_PER_HA, M2_PER_MU};
use jingwei_app::files;
use jingwei_app::planning::{self, OverlapRequest, Redline};

use crate::landuse::{Common, Sources};
use std::path::PathBuf;
use std::process::ExitCode;

/// The red line: one of a file, WKT, or features of a layer.
#[derive(clap::Args)]
pub struct RedlineArgs {
    /// The red line: a file of polygons (GeoPackage, Shapefile, DXF, GeoJSON …; a .txt is read
    /// as 界址点坐标), FILE or FILE:LAYER.
    #[arg(long, value_name = "FILE[:LAYER]")]
    redline: Option<String>,
    /// The red line as WKT in the workspace CRS.
    #[arg(long)]
    wkt: Option<String>,
    /// The red line as features of a layer of the workspace: LAYER:FID,FID…
    #[arg(long, value_name = "LAYER:FIDS")]
    redline_features: Option<String>,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    red: RedlineArgs,
    /// Layer ids to overlay, comma-separated (default: every polygon layer).
    #[arg(long, value_delimiter = ',')]
    layers: Vec<String>,
    /// Overlaps under this many m² are slivers, left out.
    #[arg(long)]
    sliver: Option<f64>,
    /// Print the report (the red line on the map sheet, then the tables) here: .pdf or .png.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    layout: crate::layout::Layout,
}

impl RedlineArgs {
    /// The red line of `--redline FILE[:LAYER]`, `--wkt`, or `--redline-features LAYER:FID,FID…`.
    fn redline(&self) -> Result<Redline> {
        let (redline, wkt) = (&self.redline, &self.wkt);
        if let Some(spec) = &self.redline_features {
            anyhow::ensure!(redline.is_none() && wkt.is_none(), "give one red line");
            let (layer, fids) = spec
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!("--redline-features '{spec}': give LAYER:FID,FID…"))?;
            let fids = fids
                .split(',')
                .map(|f| {
                    f.trim()
                        .parse::<i64>()
                        .map_err(|_| anyhow::anyhow!("--redline-features: '{f}' is not a feature id"))
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok(Redline::Features {
                layer: layer.to_owned(),
                fids,
            });
        }
        Ok(match (redline, wkt) {
            (Some(spec), None) => {
                let (path, layer) = match spec.rsplit_once(':').filter(|(p, _)| std::path::Path::new(p).exists()) {
                    Some((p, l)) => (PathBuf::from(p), Some(l.to_owned())),
                    None => (PathBuf::from(spec), None),
                };
                Redline::File { path, layer }
            }
            (None, Some(wkt)) => Redline::Wkt { wkt: wkt.clone() },
            _ => bail!("give the red line: --redline FILE[:LAYER] or --wkt WKT"),
        })
    }
}

#[derive(clap::Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    sources: Sources,
    /// The rules file (TOML; see assets/demo/compliance/rules.toml).
    #[arg(long)]
    rules: PathBuf,
    #[command(flatten)]
    red: RedlineArgs,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// 合规性审查: exit status 0 when every rule is 符合, 3 when any is not.
pub fn review(a: ReviewArgs) -> Result<ExitCode> {
    let redline = a.red.redline()?;
    let rules = planning::read_rules(&a.rules)?;
    let ws = a.sources.open()?;
    let r = planning::review_in(&ws, &rules, &redline)?;
    let all = r
        .results
        .iter()
        .all(|x| x.verdict == jingwei_analysis::compliance::Verdict::Complies);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{}\n红线 {:.2} m²（{:.4} 公顷）",
            r.title,
            r.redline.plane_m2,
            r.redline.plane_m2 / M2_PER_HA
        );
        for x in &r.results {
            let v = serde_json::to_value(x.verdict)?;
            println!("  {}：{} — {}", x.name, v.as_str().unwrap_or(""), x.reason);
        }
    }
    Ok(if all { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

pub fn run(a: Args) -> Result<ExitCode> {
    let redline = a.red.redline()?;
    let ws = a.common.sources.open()?;
    let req = OverlapRequest {
        redline,
        layers: a.layers.clone(),
        sliver_m2: a.sliver,
        add_pieces: false,
    };
    let o = match &a.report {
        None => planning::overlap_in(&ws, &req)?.0,
        // With a report, the red line is read and overlaid once for the table and the print.
        Some(out) => {
            let layout = a.layout.request(out.clone())?;
            let red = planning::redline_in(&ws, &req.redline)?;
            let with_pieces = OverlapRequest {
                add_pieces: true,
                ..req.clone()
            };
            let (o, pieces) = planning::overlap_of(&ws, &red, &with_pieces)?;
            let p =
                jingwei_app::print::print_overlap_report(&ws, &red, &o, pieces.as_ref(), &layout, &jingwei_app::print::compose_batch(&ws))?;
            if !a.common.json {
                crate::layout::report(&p, false)?;
            }
            o
        }
    };
    if let Some(path) = &a.common.csv {
        files::write_atomic(path, planning::overlap_csv(&o).as_bytes())?;
    }
    if let Some(path) = &a.common.xlsx {
        files::write_atomic(path, &planning::overlap_xlsx(&o)?)?;
    }
    if a.common.json {
        println!("{}", serde_json::to_string_pretty(&o)?);
        return Ok(ExitCode::SUCCESS);
    }
    let ha = |m2: f64| m2 / M2_PER_HA;
    let mu = |m2: f64| m2 / M2_PER_MU;
    println!(
        "红线 {:.2} m² = {:.4} 公顷 = {:.2} 亩 (平面, {}); 椭球面积 {:.2} m² (CGCS2000)",
        o.redline.plane_m2,
        ha(o.redline.plane_m2),
        mu(o.redline.plane_m2),
        o.plane_crs,
        o.redline.ellipsoid_m2
    );
    for v in &o.control {
        let (what, _) = planning::control_words(v);
        let yes = match v.hit {
            Some(true) => format!("是 ({:.2} m²)", v.areas.plane_m2),
            Some(false) => "否".into(),
            None => "无此管控线图层".into(),
        };
        println!("{what}: {yes}");
    }
    for l in &o.layers {
        println!("\n{} ({})", l.title, l.id);
        println!(
            "  {:<28} {:>6} {:>14} {:>12} {:>12} {:>14} {:>7}",
            "地类", "图斑数", "平面 m²", "公顷", "亩", "椭球 m²", "占比%"
        );
        let total = std::iter::once(&l.total).map(|t| (t, "合计".to_owned()));
        for (r, label) in l.rows.iter().map(|r| (r, r.class.clone())).chain(total) {
            let label = match &r.place {
                Some(p) if !p.is_empty() => format!("{label} · {p}"),
                _ => label,
            };
            println!(
                "  {:<28} {:>6} {:>14.2} {:>12.4} {:>12.2} {:>14.2} {:>7.2}",
                label,
                r.parcels,
                r.areas.plane_m2,
                ha(r.areas.plane_m2),
                mu(r.areas.plane_m2),
                r.areas.ellipsoid_m2,
                r.share * 100.0
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
