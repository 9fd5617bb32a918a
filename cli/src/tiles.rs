//! `jingwei tiles package URL --kind wmts … --bbox W,S,E,N --levels A-B --out area.mbtiles`,
//! `jingwei tiles layers URL --kind wmts`

use anyhow::{Context, Result, bail};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// A map service, as the command line names it.
#[derive(clap::Args)]
pub struct ServiceArgs {
    /// The capabilities URL (WMTS, WMS), the tile URL template (XYZ: {z}/{x}/{y}) or the
    /// ArcGIS REST service (…/MapServer).
    url: String,
    /// wmts, wms, xyz, tms or arcgis.
    #[arg(long, default_value = "wmts")]
    kind: String,
    /// The layer; the first when absent.
    #[arg(long)]
    layer: Option<String>,
    /// The WMTS tile matrix set.
    #[arg(long = "set")]
    matrix_set: Option<String>,
    /// The style.
    #[arg(long)]
    style: Option<String>,
    /// The image format (image/png, image/jpeg, …).
    #[arg(long)]
    format: Option<String>,
    /// A parameter added to every request, as NAME=VALUE (e.g. tk=YOUR_KEY for 天地图); repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// A header sent with every request, as NAME=VALUE; repeatable.
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// WMTS: ask for tiles by KVP even where REST templates are published.
    #[arg(long)]
    kvp: bool,
}

impl ServiceArgs {
    fn spec(&self) -> Result<jingwei_services::ServiceSpec> {
        let pairs = |v: &[String], what: &str| -> Result<Vec<(String, String)>> {
            v.iter()
                .map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                        .with_context(|| format!("--{what} '{}': NAME=VALUE", p.split('=').next().unwrap_or("")))
                })
                .collect()
        };
        Ok(jingwei_services::ServiceSpec {
            kind: self.kind.to_ascii_lowercase(),
            url: self.url.clone(),
            layer: self.layer.clone(),
            style: self.style.clone(),
            format: self.format.clone(),
            matrix_set: self.matrix_set.clone(),
            params: pairs(&self.params, "param")?,
            headers: pairs(&self.headers, "header")?,
            kvp: self.kvp,
            ..Default::default()
        })
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// List a service's layers.
    Layers {
        #[command(flatten)]
        service: ServiceArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Package a service's tiles over an area for offline use (.mbtiles for Web Mercator, .gpkg
    /// for any CRS); running it again resumes. The package opens as a layer like any file.
    Package {
        #[command(flatten)]
        service: ServiceArgs,
        /// The area: west,south,east,north in CGCS2000 degrees.
        #[arg(long, value_name = "W,S,E,N")]
        bbox: String,
        /// Levels A-B, counted from the service's coarsest (0); for Web Mercator these are the
        /// usual zoom numbers.
        #[arg(long, value_name = "A-B")]
        levels: String,
        /// The package file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Convert an oblique-photography model (OSGB: a folder with metadata.xml and
    /// Data/Tile_*/…osgb) to a 3D Tiles 1.1 tileset, textures embedded.
    Convert {
        /// The model's folder (or its metadata.xml).
        source: PathBuf,
        /// The folder to write the tileset into (absent or empty).
        #[arg(long)]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        Sub::Convert { source, out, json } => {
            let r = jingwei_app::tileset::convert_oblique(&source, &out)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "{}: {} OSGB files → {} tiles, {:.1} MB",
                    out.join("tileset.json").display(),
                    r.files,
                    r.contents,
                    r.bytes as f64 / 1e6
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Sub::Layers { service, json } => {
            let layers = jingwei_services::list_layers(&service.spec()?)?;
            if json {
                let v: Vec<serde_json::Value> = layers.iter().map(|(id, t)| serde_json::json!({"id": id, "title": t})).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for (id, t) in layers {
                    println!("{id}\t{t}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Sub::Package {
            service,
            bbox,
            levels,
            out,
        } => {
            let b: Vec<f64> = bbox
                .split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .with_context(|| format!("--bbox '{bbox}': four numbers W,S,E,N"))?;
            if b.len() != 4 {
                bail!("--bbox '{bbox}': four numbers W,S,E,N");
            }
            let (l0, l1) = levels
                .split_once('-')
                .and_then(|(a, b)| Some((a.trim().parse::<usize>().ok()?, b.trim().parse::<usize>().ok()?)))
                .or_else(|| levels.trim().parse::<usize>().ok().map(|l| (l, l)))
                .with_context(|| format!("--levels '{levels}': A-B, e.g. 10-16"))?;
            let tty = std::io::stderr().is_terminal();
            let pb = crate::progress(1, "packaging tiles");
            let mut last = 0;
            let report =
                jingwei_app::imagery::package_service(&service.spec()?, [b[0], b[1], b[2], b[3]], (l0, l1), &out, &mut |done, total| {
                    pb.set_length(total);
                    pb.set_position(done);
                    if !tty && (done * 10 / total.max(1) > last || done == total) {
                        last = done * 10 / total.max(1);
                        eprintln!("packaging tiles: {done}/{total}");
                    }
                    true
                })?;
            pb.finish_and_clear();
            println!(
                "{}: {} tiles — {} written, {} already there, {} empty, {} failed",
                out.display(),
                report.tiles,
                report.written,
                report.kept,
                report.empty,
                report.failed
            );
            if let Some(e) = &report.first_error {
                eprintln!("first failure: {e}\nrun the same command again to fetch what failed");
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
