//! `jingwei raster info FILE [--json]`, `jingwei raster overviews FILE`

use anyhow::Result;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Describe an image file: driver, size, bands, CRS, pixel size, extent, overviews.
    Info {
        /// The image (GeoTIFF/COG, GeoPackage tiles, MBTiles, JPEG 2000, …).
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Build overviews (2×, 4×, … down to one tile) into FILE.ovr beside it; the image itself is
    /// not rewritten. Large images then open at once at any scale.
    Overviews {
        /// The image.
        file: PathBuf,
    },
}

pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        Sub::Info { file, json } => {
            let i = jingwei_app::imagery::raster_info(&file)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&i)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(out, "{} ({})", i.path.display(), i.driver)?;
            writeln!(
                out,
                "  size: {} × {} pixels, {} band(s) of {} [{}]",
                i.size[0],
                i.size[1],
                i.bands,
                i.band_type,
                i.colors.join(", ")
            )?;
            writeln!(out, "  CRS: {}", i.crs)?;
            writeln!(out, "  pixel: {} × {}", i.pixel_size[0], i.pixel_size[1])?;
            writeln!(
                out,
                "  extent: {:.3}, {:.3} – {:.3}, {:.3}",
                i.extent[0], i.extent[1], i.extent[2], i.extent[3]
            )?;
            writeln!(out, "  blocks: {} × {}", i.block[0], i.block[1])?;
            if i.overviews.is_empty() {
                writeln!(out, "  overviews: none")?;
            } else {
                let o: Vec<String> = i.overviews.iter().map(|o| format!("{}×{}", o[0], o[1])).collect();
                writeln!(out, "  overviews: {}", o.join(", "))?;
            }
            if let Some(h) = &i.hint {
                writeln!(out, "  hint: {h}")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Sub::Overviews { file } => {
            let tty = std::io::stderr().is_terminal();
            let pb = crate::progress(1000, "building overviews");
            let mut last_tenth = -1i64;
            let factors = jingwei_app::imagery::build_overviews(&file, &mut |f| {
                pb.set_position((f * 1000.0) as u64);
                let tenth = (f * 10.0).floor() as i64;
                if !tty && tenth > last_tenth {
                    last_tenth = tenth;
                    eprintln!("building overviews: {}%", tenth * 10);
                }
                true
            })?;
            pb.finish_and_clear();
            if factors.is_empty() {
                println!("{}: small enough to need no overviews", file.display());
            } else {
                let f: Vec<String> = factors.iter().map(|f| f.to_string()).collect();
                println!("{}: overviews {} built into {}.ovr", file.display(), f.join(", "), file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
