//! `jingwei tileset FILE [--json]`: check a 3D Tiles tileset before it is loaded — its tree,
//! its external tilesets and every content's header. Exit status 3 when a content is broken.

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The tileset.json.
    file: PathBuf,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let r = jingwei_app::tileset::check_tileset(&a.file)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        let kinds: Vec<String> = r.contents.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!(
            "{}: 3D Tiles {} · {} tiles in {} files, {} deep · {} · {} features · {:.1} MB{}",
            r.path,
            r.version,
            r.tiles,
            r.files,
            r.depth,
            if kinds.is_empty() {
                "no contents".to_owned()
            } else {
                kinds.join(", ")
            },
            r.features,
            r.bytes as f64 / 1e6,
            if r.implicit_roots > 0 {
                format!(" · {} implicit roots, {} subtree files", r.implicit_roots, r.subtrees)
            } else {
                String::new()
            }
        );
        for b in &r.broken {
            println!("broken: {b}");
        }
    }
    Ok(if r.broken.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// `jingwei tileset-build BUILDINGS --out DIR [--layer L] [--leaf N] [--json]`.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// Building footprints with a height or floors field (GeoPackage, Shapefile, …).
    source: PathBuf,
    /// The folder to write tileset.json and content/ into.
    #[arg(long)]
    out: PathBuf,
    /// The layer (the first polygon layer by default).
    #[arg(long)]
    layer: Option<String>,
    /// Buildings per leaf tile at most.
    #[arg(long, default_value_t = 2000)]
    leaf: usize,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn run_build(a: BuildArgs) -> Result<ExitCode> {
    let r = jingwei_app::tileset::build_city_tileset(&jingwei_app::tileset::BuildRequest {
        source: a.source,
        layer: a.layer,
        out: a.out,
        leaf_max: a.leaf,
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{}: {} buildings in {} tiles (depth {}), {} triangles, {:.1} MB",
            r.tileset,
            r.buildings,
            r.tiles,
            r.depth,
            r.triangles,
            r.bytes as f64 / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}
