//! `jingwei transform --from CRS --to CRS` — "x y [rest]" lines on stdin to transformed lines.
//! A point outside the area of use of either CRS is a `*` line and one message naming the area.

use anyhow::{Context, Result};
use jingwei_layers::{Crs, Transformer};
use std::io::{BufRead, Write};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Source CRS: EPSG:n, a bare code, GCJ02, a PROJ string or WKT.
    #[arg(long)]
    from: String,
    /// Target CRS.
    #[arg(long)]
    to: String,
    /// Read and write coordinates in each CRS's authority axis order (EPSG:4490 is lat, lon;
    /// the CGCS2000 Gauss-Krüger CRSs are north, east). Default: easting/northing (lon/lat).
    #[arg(long)]
    authority_order: bool,
    /// Seven-parameter shift of the source CRS to WGS84/CGCS2000 (dx,dy,dz m, rx,ry,rz ″, ds ppm),
    /// for Xi'an 1980 or Beijing 1954 data.
    #[arg(long, value_name = "DX,DY,DZ,RX,RY,RZ,DS", allow_hyphen_values = true)]
    from_towgs84: Option<String>,
    /// Seven-parameter shift of the target CRS.
    #[arg(long, value_name = "DX,DY,DZ,RX,RY,RZ,DS", allow_hyphen_values = true)]
    to_towgs84: Option<String>,
    /// Decimals in the output (default: 4 for metres, 9 for degrees; at most 17).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=17))]
    precision: Option<u8>,
}

pub(crate) fn seven(s: &str) -> Result<[f64; 7]> {
    let v: Vec<f64> = s
        .split(',')
        .map(|t| t.trim().parse())
        .collect::<Result<_, _>>()
        .with_context(|| format!("'{s}' must be 7 comma-separated numbers"))?;
    v.try_into().map_err(|_| anyhow::anyhow!("'{s}' must be 7 comma-separated numbers"))
}

fn crs(def: &str, towgs84: Option<&str>) -> Result<Crs> {
    let c = Crs::parse(def)?;
    Ok(match towgs84 {
        Some(p) => c.with_towgs84(seven(p)?)?,
        None => c,
    })
}

pub fn run(a: Args) -> Result<ExitCode> {
    let from = crs(&a.from, a.from_towgs84.as_deref())?;
    let to = crs(&a.to, a.to_towgs84.as_deref())?;
    let t = Transformer::new(&from, &to)?;
    let swap_in = a.authority_order && from.authority_north_first;
    let swap_out = a.authority_order && to.authority_north_first;
    let decimals = usize::from(a.precision.unwrap_or(if to.is_geographic() { 9 } else { 4 }));
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0usize;
    for (no, line) in stdin.lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            writeln!(out, "{line}")?;
            continue;
        }
        let mut tok = trimmed.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty());
        let parsed = (|| -> Option<(f64, f64)> { Some((tok.next()?.parse().ok()?, tok.next()?.parse().ok()?)) })();
        let rest: Vec<&str> = tok.collect();
        let Some((mut x, mut y)) = parsed else {
            eprintln!("jingwei: stdin line {}: expected two numbers, got '{trimmed}'", no + 1);
            writeln!(out, "*\t*")?;
            failed += 1;
            continue;
        };
        if swap_in {
            std::mem::swap(&mut x, &mut y);
        }
        match t.point(x, y, None) {
            Ok((mut ox, mut oy)) => {
                if swap_out {
                    std::mem::swap(&mut ox, &mut oy);
                }
                let mut s = format!("{ox:.decimals$}\t{oy:.decimals$}");
                for r in rest {
                    s.push(' ');
                    s.push_str(r);
                }
                writeln!(out, "{s}")?;
            }
            Err(e) => {
                eprintln!("jingwei: stdin line {}: {e}", no + 1);
                writeln!(out, "*\t*")?;
                failed += 1;
            }
        }
    }
    out.flush()?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
