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
