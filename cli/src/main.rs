//! `jingwei` — the scriptable front door to Jingwei. Every subcommand prints readable text, or
//! JSON with `--json`; errors are one line on stderr naming the file and the problem, with a
//! non-zero exit status.

// Doc comments of the argument structs are the commands' --help text (`FILE[:LAYER]`, `[rest]`),
// not links.
#![allow(rustdoc::broken_intra_doc_links)]

mod about;
mod alloc;
mod args;
mod cases;
mod emergency;
mod exit;
mod feeds;
mod filter;
mod incidents;
mod info;
mod landuse;
mod layout;
mod overlap;
mod print;
mod query;
mod raster;
mod scenario;
mod serve;
mod sibling;
mod store;
mod tiles;
mod tileset;
mod transform;
mod violations;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "jingwei", about = "Jingwei 经纬 — GIS and digital-twin workstation (command line)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Version, commit, GDAL/PROJ/GEOS/SQLite versions and the licences of the bundled data (the app's About box).
    About(about::Args),
    /// Describe a GIS file: driver, layers, counts, geometry type, CRS, extent, fields, encoding.
    Info(info::Args),
    /// Query a layer through its R-tree: envelope, identify at a point, k nearest, within a distance.
    Query(query::Args),
    /// Render layers or a workspace to a PNG, headless (runs jingwei-render; `jingwei render --help`).
    #[command(disable_help_flag = true)]
    Render {
        /// The arguments of `jingwei-render render`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Image files: describe them, build their overviews.
    Raster(raster::Args),
    /// Map services: list their layers, package their tiles for offline use.
    Tiles(tiles::Args),
    /// Check a 3D Tiles tileset (1.0, 1.1): its tree, external tilesets and every content's
    /// header; broken contents named one per line, exit status 3.
    Tileset(tileset::Args),
    /// Build a 3D Tiles tileset of a city's buildings (extruded, a quadtree with the tallest
    /// buildings in the coarser tiles, ADD refinement), for the city twin.
    TilesetBuild(tileset::BuildArgs),
    /// Transform "x y" lines from stdin between CRSs (like PROJ's cs2cs); GCJ02 is accepted.
    Transform(transform::Args),
    /// Find suspected illegal construction (违法建设) by rule, headless; optionally store cases.
    Violations(Box<violations::Args>),
    /// 压占分析: a red line against the workspace's layers, per class, in m², 公顷 and 亩
    /// (plane and ellipsoidal), with the control-line verdicts; --csv writes the table.
    Overlap(overlap::Args),
    /// 用地平衡表: per class of the 2023 用地用海分类 (or any class field), status quo and
    /// plan side by side in 公顷 with shares adding up to 100.00 %.
    Balance(landuse::BalanceArgs),
    /// 合规性审查: a red line judged by a rules file (符合/不符合/部分符合 with reasons);
    /// exit status 3 when any rule is not 符合.
    Review(overlap::ReviewArgs),
    /// 多期对比: the from→to matrix in 公顷 between two epochs of a land-use layer.
    Change(landuse::ChangeArgs),
    /// Print the map on an A4/A3 sheet at a scale (title, legend, scale bar, north arrow, CRS,
    /// the template's fields) as PDF or PNG at 300 dpi.
    Print(print::Args),
    /// Work with the cases of a workspace: list, show, set-status, assign, note, attach, flag, export.
    Cases(cases::Args),
    /// The k nearest emergency resources of each type to a point, by straight line or by road.
    Nearest(emergency::NearestArgs),
    /// What an incident reaches: buildings, floor area, population and critical facilities per ring.
    Impact(emergency::ImpactArgs),
    /// Incidents and their action log in a workspace; drill copies for exercises.
    Incidents(incidents::Args),
    /// Hazard feeds: parse a document, watch a feed, serve recorded feeds on 127.0.0.1.
    Feeds(feeds::Args),
    /// What-if scenarios (模拟推演): flood, rainfall, gas release, earthquake — at a place or an
    /// incident (logged on it), with evacuation; replay a logged run.
    Scenario(scenario::Args),
    /// The pipe network (城市生命线): topology check, burst isolation (爆管关阀), traces.
    Pipes(scenario::PipesArgs),
    /// Video cameras: what one sees, which see a point, how much of an incident's area is seen.
    Cameras(scenario::CamerasArgs),
    /// The shared store (PostgreSQL + PostGIS): create and migrate it, departments and users,
    /// cases as your role and department see them, live changes, the SM4 data key.
    Store(store::Args),
    /// The tamper-evident audit chain (SM3, SM2-signed checkpoints) of a shared store or a
    /// workspace GeoPackage: verify, sign a checkpoint, make an auditor's key.
    Audit(store::AuditArgs),
    /// The field-app API: cases (read, flag, change with If-Match) and incidents (read) of the
    /// shared store as OGC API – Features with Part 4 transactions, over TLS with a client
    /// certificate and a password per user.
    Serve(serve::Args),
}

fn main() -> ExitCode {
    exit::panic_hook("jingwei");
    jingwei_services::tileset::register();
    let cli = parse();
    let result = match cli.command {
        Command::About(a) => about::run(a),
        Command::Info(a) => info::run(a),
        Command::Query(a) => query::run(a),
        Command::Transform(a) => transform::run(a),
        Command::Raster(a) => raster::run(a),
        Command::Tiles(a) => tiles::run(a),
        Command::Tileset(a) => tileset::run(a),
        Command::TilesetBuild(a) => tileset::run_build(a),
        Command::Render { args } => {
            let mut all: Vec<std::ffi::OsString> = vec!["render".into()];
            all.extend(args);
            sibling::run("jingwei-render", &all)
        }
        Command::Violations(a) => violations::run(*a),
        Command::Overlap(a) => overlap::run(a),
        Command::Balance(a) => landuse::balance(a),
        Command::Review(a) => overlap::review(a),
        Command::Change(a) => landuse::change(a),
        Command::Print(a) => print::run(a),
        Command::Cases(a) => cases::run(a),
        Command::Feeds(a) => feeds::run(a),
        Command::Incidents(a) => incidents::run(a),
        Command::Nearest(a) => emergency::nearest(a),
        Command::Impact(a) => emergency::run_impact(a),
        Command::Scenario(a) => scenario::run(a),
        Command::Pipes(a) => scenario::pipes(a),
        Command::Cameras(a) => scenario::cameras(a),
        Command::Store(a) => store::run(a),
        Command::Audit(a) => store::audit(a),
        Command::Serve(a) => serve::run(a),
    };
    exit::finish("jingwei", result)
}

/// The arguments, with `-V` (version and commit) and `--version` (and the libraries).
fn parse() -> Cli {
    // The long text asks GDAL and PROJ: only when it is wanted.
    let wants_long = std::env::args_os().skip(1).any(|a| a == "--version");
    args::parse(wants_long.then(about::long_version))
}

/// A progress bar on stderr that draws only when stderr is a terminal.
pub(crate) fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}
