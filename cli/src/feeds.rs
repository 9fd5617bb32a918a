//! `jingwei feeds parse|watch|serve` — hazard feeds from the shell: parse one document, poll a
//! feed and print each new, updated or cancelled event as it arrives, or serve recorded feeds on
//! 127.0.0.1 for drills and tests.

use anyhow::{Context, Result, bail};
use jingwei_feeds::client::{Feed, FeedConfig, Health, Outcome};
use jingwei_feeds::server::{Fault, FaultPlan, ServeOptions, serve};
use jingwei_feeds::sta::{Threshold, Thresholds};
use jingwei_feeds::{Event, FeedFormat, ParseOptions, parse};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Parse one feed document (format detected, or given) and print its events.
    Parse {
        /// The document.
        file: PathBuf,
        /// geojson, cap, cap-index or sensorthings (detected if absent).
        #[arg(long)]
        format: Option<String>,
        /// A SensorThings threshold, DATASTREAM>MAX or DATASTREAM<MIN (repeatable).
        #[arg(long)]
        threshold: Vec<String>,
        #[command(flatten)]
        cap: CapArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Poll a feed and print each new, updated or cancelled event as one line as it arrives;
    /// health changes (stale, recovered) go to stderr.
    Watch {
        /// The feed's URL.
        url: String,
        /// Seconds between polls.
        #[arg(long, default_value_t = 60.0)]
        interval: f64,
        /// geojson, cap, cap-index or sensorthings (detected if absent).
        #[arg(long)]
        format: Option<String>,
        /// A SensorThings threshold, DATASTREAM>MAX or DATASTREAM<MIN (repeatable).
        #[arg(long)]
        threshold: Vec<String>,
        #[command(flatten)]
        cap: CapArgs,
        /// Time limit of one request, seconds.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
        /// Extra attempts of a failed request.
        #[arg(long, default_value_t = 3)]
        retries: u32,
        /// Failed polls in a row after which the feed is reported stale.
        #[arg(long, default_value_t = 3)]
        stale_after: u32,
        /// Stop after this many polls (default: never).
        #[arg(long)]
        polls: Option<u64>,
        /// JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Serve the recorded feeds in DIR on 127.0.0.1 (a folder of CAP files also gets an
    /// index.atom), optionally replaying events over time and injecting faults.
    Serve {
        /// The folder of recorded feeds.
        dir: PathBuf,
        /// Port (0: any free one).
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// Replay: data seconds per real second (e.g. 3600 plays an hour a second).
        #[arg(long)]
        replay: Option<f64>,
        /// A fault on every N-th request: 500@N, truncate@N, malformed@N, delay=MS@N (repeatable).
        #[arg(long)]
        fault: Vec<String>,
    },
}

fn format_of(s: &Option<String>) -> Result<Option<FeedFormat>> {
    s.as_deref()
        .map(|f| FeedFormat::from_name(f).with_context(|| format!("--format '{f}': use geojson, cap, cap-index or sensorthings")))
        .transpose()
}

/// How CAP alerts are checked.
#[derive(clap::Args)]
struct CapArgs {
    /// Keep CAP alerts that break the standard's rules, marked invalid with each violation,
    /// instead of refusing them.
    #[arg(long)]
    lenient: bool,
    /// A PEM file of the certificate(s) whose XML signatures on CAP alerts are trusted
    /// (repeatable); signed alerts are reported valid, invalid or unverified.
    #[arg(long, value_name = "PEM")]
    cert: Vec<PathBuf>,
}

impl CapArgs {
    fn options(&self) -> Result<jingwei_feeds::cap::CapOptions> {
        Ok(jingwei_feeds::cap::CapOptions {
            lenient: self.lenient,
            trust: jingwei_feeds::dsig::Trust::from_pem_files(&self.cert)?,
        })
    }
}

fn options(thresholds: &[String], cap: &CapArgs) -> Result<ParseOptions> {
    Ok(ParseOptions {
        cap: cap.options()?,
        thresholds: Thresholds(
            thresholds
                .iter()
                .map(|t| Threshold::parse(t).map_err(anyhow::Error::msg))
                .collect::<Result<_>>()?,
        ),
    })
}

fn line(e: &Event) -> String {
    let when = e.time_ms.map(jingwei_feeds::time::iso8601).unwrap_or_default();
    let at = e.point.map(|(x, y)| format!("{x:.4},{y:.4}")).unwrap_or_default();
    let mut s = format!(
        "{when}  {:<10} {:<9} {}  {}  [{}]",
        e.kind.chars().take(10).collect::<String>(),
        e.severity.as_deref().unwrap_or("-"),
        e.title,
        at,
        e.id
    );
    // CAP: the alert's standing against the standard and its signature.
    let violations = e.cap_violations();
    if !violations.is_empty() {
        s.push_str(&format!("  INVALID CAP ({})", violations.join("; ")));
    }
    if let Some((status, detail)) = e.signature() {
        s.push_str(&format!("  signature: {status}"));
        if let Some(d) = detail {
            s.push_str(&format!(" ({d})"));
        }
    }
    s
}

pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        Cmd::Parse {
            file,
            format,
            threshold,
            cap,
            json,
        } => {
            let bytes = std::fs::read(&file).with_context(|| format!("{}: cannot read", file.display()))?;
            let p = parse(&bytes, format_of(&format)?, &options(&threshold, &cap)?).with_context(|| file.display().to_string())?;
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer(&mut out, &p)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "{}: {:?}, {} events, {} index entries",
                    file.display(),
                    p.format,
                    p.events.len(),
                    p.entries.len()
                )?;
                for e in &p.events {
                    writeln!(out, "{}", line(e))?;
                }
                for e in &p.entries {
                    writeln!(out, "entry {}  {}", e.id, e.link)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Watch {
            url,
            interval,
            format,
            threshold,
            cap,
            timeout,
            retries,
            stale_after,
            polls,
            json,
        } => {
            let seconds = |v: f64, name: &str| -> Result<Duration> {
                Duration::try_from_secs_f64(v)
                    .ok()
                    .filter(|d| !d.is_zero() && *d <= Duration::from_secs(7 * 86_400))
                    .with_context(|| format!("{name} {v}: give seconds above 0 and at most a week"))
            };
            let cfg = FeedConfig {
                format: format_of(&format)?,
                interval: seconds(interval, "--interval")?,
                timeout: seconds(timeout, "--timeout")?,
                retries,
                stale_after: stale_after.max(1),
                parse: options(&threshold, &cap)?,
                ..FeedConfig::new(&url)
            };
            let mut feed = Feed::new(cfg).map_err(anyhow::Error::msg)?;
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let mut n = 0u64;
            loop {
                let r = rt.block_on(feed.poll());
                let mut out = std::io::stdout().lock();
                for c in &r.changes {
                    if json {
                        serde_json::to_writer(&mut out, &json!({"change": c.kind, "event": c.event}))?;
                        writeln!(out)?;
                    } else {
                        writeln!(out, "{:<9} {}", format!("{:?}", c.kind).to_lowercase(), line(&c.event))?;
                    }
                }
                out.flush()?;
                drop(out);
                match (&r.outcome, r.health_change) {
                    (_, Some(Health::Stale)) => eprintln!("jingwei: feed {url} is stale: {}", feed.last_error().unwrap_or("")),
                    (_, Some(Health::Live)) => eprintln!("jingwei: feed {url} recovered"),
                    (Outcome::Failed { error }, None) => eprintln!("jingwei: poll failed (keeping the last good data): {error}"),
                    _ => {}
                }
                n += 1;
                if polls.is_some_and(|p| n >= p) {
                    break;
                }
                std::thread::sleep(feed.config().interval);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Serve { dir, port, replay, fault } => {
            let mut every = Vec::new();
            for f in &fault {
                let (spec, n) = f
                    .rsplit_once('@')
                    .with_context(|| format!("--fault '{f}': write FAULT@N, e.g. 500@3"))?;
                let n: u64 = n.parse().with_context(|| format!("--fault '{f}': N must be a whole number"))?;
                every.push((Fault::parse(spec).map_err(anyhow::Error::msg)?, n));
            }
            if replay.is_some_and(|r| !(r > 0.0)) {
                bail!("--replay must be above 0");
            }
            let server = serve(
                &dir,
                port,
                ServeOptions {
                    replay_speed: replay,
                    faults: FaultPlan { every, script: Vec::new() },
                },
            )
            .with_context(|| format!("{}: cannot serve on 127.0.0.1:{port}", dir.display()))?;
            println!("serving {} at {}", dir.display(), server.url());
            std::io::stdout().flush()?;
            server.wait();
            Ok(ExitCode::SUCCESS)
        }
    }
}
