//! The programs installed beside `jingwei`: `jingwei-render` draws (headless renders, case
//! reports with site maps) so that `jingwei` itself links no graphics stack. `jingwei render …`
//! and `jingwei cases export --format report …` run it with the same arguments.

use anyhow::{Context, Result, bail};
use std::ffi::OsString;
use std::process::ExitCode;

/// Run the program `name` found beside this executable with `args`, on this terminal; its
/// exit status becomes ours.
pub fn run(name: &str, args: &[OsString]) -> Result<ExitCode> {
    let me = std::env::current_exe().context("cannot find the jingwei executable")?;
    let path = me.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!(
            "{}: not installed beside jingwei (it draws renders and case reports)",
            path.display()
        );
    }
    let status = std::process::Command::new(&path)
        .args(args)
        .status()
        .with_context(|| format!("{}: cannot run", path.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}
