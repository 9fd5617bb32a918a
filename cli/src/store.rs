//! `jingwei store init|migrate|department|user|whoami|cases|flag|set-status|watch|data-key` —
//! the shared PostgreSQL store — and `jingwei audit verify|checkpoint|keygen` — its SM3 audit
//! chain (and a workspace GeoPackage's). The password is PGPASSWORD or in the URL; TLS settings
//! ride in the URL as libpq writes them (`?sslrootcert=…&sslcert=…&sslkey=…`).

use anyhow::{Context, Result};
use jingwei_app::shared::{self, SharedFlagInput, StoreAt};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::scenario::print;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Cmd,
}

/// The store and output options.
#[derive(clap::Args, Clone)]
struct On {
    /// The shared store: postgresql://USER@HOST:PORT/DB?sslrootcert=CA&sslcert=CRT&sslkey=KEY
    #[arg(long, short = 's')]
    store: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Create the roles, extensions and schema and apply every migration (a superuser or the database's owner; safe to repeat).
    Init(On),
    /// Apply the migrations this Jingwei has and the store has not.
    Migrate(On),
    /// Add or rename a department (administrators).
    Department {
        /// Code (城东, 320102, …).
        code: String,
        /// Name.
        name: String,
        #[command(flatten)]
        on: On,
    },
    /// Add a user, or give an existing one a new password and role (administrators).
    User {
        /// Login name (lower-case letters, digits, _).
        name: String,
        /// inspector, commander, auditor or admin.
        #[arg(long)]
        role: String,
        /// Department (inspectors and commanders).
        #[arg(long)]
        department: Option<String>,
        /// A file holding the new user's password (first line).
        #[arg(long)]
        password_file: PathBuf,
        #[command(flatten)]
        on: On,
    },
    /// Who the store says you are (role, department).
    Whoami(On),
    /// The cases you may see (your department's).
    Cases {
        /// Only these statuses.
        #[arg(long, value_delimiter = ',')]
        status: Vec<String>,
        /// The SM4 data key file (to open phone and ID numbers).
        #[arg(long)]
        data_key: Option<PathBuf>,
        #[command(flatten)]
        on: On,
    },
    /// Flag a case in your department.
    Flag {
        /// Title.
        #[arg(long)]
        title: String,
        /// Longitude,latitude (CGCS2000).
        #[arg(long, value_name = "LON,LAT", allow_hyphen_values = true)]
        at: Option<String>,
        /// Priority 0–100.
        #[arg(long, default_value_t = 50.0)]
        priority: f64,
        /// Phone of the party (stored sealed with SM4-GCM; needs --data-key).
        #[arg(long)]
        phone: Option<String>,
        /// ID number of the party (sealed likewise).
        #[arg(long)]
        id_number: Option<String>,
        /// The SM4 data key file.
        #[arg(long)]
        data_key: Option<PathBuf>,
        #[command(flatten)]
        on: On,
    },
    /// Move a case to another status; --version is the version you read (a stale one is refused).
    SetStatus {
        /// Case id.
        id: i64,
        /// pending, confirmed, dismissed, rectifying, closed (or 待核查 … 已结案).
        status: String,
        /// The version read (default: the case's version now).
        #[arg(long)]
        version: Option<i32>,
        /// Why (kept as a note).
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        on: On,
    },
    /// Print the changes others make (table:id per line; resync after a dropped connection).
    Watch {
        /// Stop after this many seconds (0: never).
        #[arg(long, default_value_t = 0)]
        seconds: u64,
        #[command(flatten)]
        on: On,
    },
    /// Check out your cases (within --bbox) to a new GeoPackage for work without a network;
    /// work on it with `jingwei cases … -w FILE`, then check it in.
    Checkout {
        /// The GeoPackage to write (new).
        out: PathBuf,
        /// MINLON,MINLAT,MAXLON,MAXLAT.
        #[arg(long, value_delimiter = ',', num_args = 4, allow_hyphen_values = true)]
        bbox: Vec<f64>,
        #[command(flatten)]
        on: On,
    },
    /// Check a checked-out GeoPackage back in (one transaction; conflicts recorded, never overwritten).
    Checkin {
        /// The checked-out GeoPackage.
        file: PathBuf,
        /// The SM4 data key file (needed when photos were attached offline).
        #[arg(long)]
        data_key: Option<PathBuf>,
        #[command(flatten)]
        on: On,
    },
    /// Conflicts of offline check-ins in your department (open ones unless --all).
    Conflicts {
        /// Resolved ones too.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        on: On,
    },
    /// Resolve a conflict (commanders): --take mine applies the field's value, theirs keeps the store's.
    Resolve {
        /// Conflict id.
        id: i64,
        /// mine or theirs.
        #[arg(long)]
        take: String,
        #[command(flatten)]
        on: On,
    },
    /// Make a new SM4 data key file (32 hex digits, mode 600) for photos and personal fields.
    DataKey {
        /// The key file to write (never overwritten).
        out: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCmd,
}

#[derive(clap::Subcommand)]
enum AuditCmd {
    /// Check a store's audit chain (the shared store as an auditor, or a workspace GeoPackage);
    /// names the first broken row. Exit status 3 when broken.
    Verify {
        /// postgresql://… or a .gpkg file.
        #[arg(long, short = 's')]
        store: String,
        /// The auditor's SM2 public key (PEM): checkpoints' signatures are checked with it.
        #[arg(long)]
        pubkey: Option<PathBuf>,
        /// The auditor's own file of checkpoints (kept outside the store).
        #[arg(long)]
        kept: Option<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Sign the chain's head with the auditor's SM2 key, in the store and in --keep.
    Checkpoint {
        /// postgresql://… or a .gpkg file.
        #[arg(long, short = 's')]
        store: String,
        /// The auditor's SM2 private key (PKCS#8 PEM).
        #[arg(long)]
        key: PathBuf,
        /// Append the checkpoint to this file too.
        #[arg(long)]
        keep: Option<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Make an auditor's SM2 key pair: OUT (private, mode 600) and OUT.pub.
    Keygen {
        /// The private key file to write.
        out: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn at(on: &On) -> Result<StoreAt> {
    Ok(StoreAt::parse(&on.store)?)
}

fn lonlat(s: &str) -> Result<(f64, f64)> {
    let (x, y) = s.split_once(',').context("--at takes LON,LAT")?;
    Ok((x.trim().parse().context("longitude")?, y.trim().parse().context("latitude")?))
}

fn case_line(c: &shared::SharedCase, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        w,
        "{:>5}  {}  {}  {}  v{}  {}  {}{}",
        c.id,
        c.case_no,
        c.department,
        c.status.name_zh(),
        c.version,
        c.title,
        c.updated_by,
        if c.personal_sealed { "  (personal fields sealed)" } else { "" }
    )
}

fn conflict_line(c: &shared::Conflict, w: &mut dyn Write) -> std::io::Result<()> {
    let v = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".into());
    writeln!(
        w,
        "conflict {} case {} {}: base {}, store {}, field {} (by {}){}{}",
        c.id,
        c.case_id,
        c.field,
        v(&c.base),
        v(&c.theirs),
        v(&c.mine),
        c.mine_by,
        if c.why.is_empty() { String::new() } else { format!(": {}", c.why) },
        c.resolution.as_deref().map(|r| format!(" — resolved: {r}")).unwrap_or_default()
    )
}

pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        Cmd::Init(on) => {
            let m = shared::store_init(&at(&on)?)?;
            print(on.json, &m, |w| {
                writeln!(w, "{}: schema version {} (applied now: {:?})", m.store, m.version, m.applied)
            })
        }
        Cmd::Migrate(on) => {
            let m = shared::store_migrate(&at(&on)?)?;
            print(on.json, &m, |w| {
                writeln!(w, "{}: schema version {} (applied now: {:?})", m.store, m.version, m.applied)
            })
        }
        Cmd::Department { code, name, on } => {
            shared::store_add_department(&at(&on)?, &code, &name)?;
            print(on.json, &serde_json::json!({"department": code, "name": name}), |w| {
                writeln!(w, "department {code} ({name})")
            })
        }
        Cmd::User {
            name,
            role,
            department,
            password_file,
            on,
        } => {
            let pw = std::fs::read_to_string(&password_file).with_context(|| password_file.display().to_string())?;
            let pw = pw.lines().next().unwrap_or("");
            shared::store_add_user(&at(&on)?, &name, &role, department.as_deref(), pw)?;
            print(
                on.json,
                &serde_json::json!({"user": name, "role": role, "department": department}),
                |w| {
                    writeln!(
                        w,
                        "user {name}: {role}{}",
                        department.as_deref().map(|d| format!(", {d}")).unwrap_or_default()
                    )
                },
            )
        }
        Cmd::Whoami(on) => {
            let me = shared::store_whoami(&at(&on)?)?;
            print(on.json, &me, |w| {
                writeln!(
                    w,
                    "{}: {} {}",
                    me.store,
                    me.role.map_or("not a store user", |r| r.id()),
                    me.department.as_deref().unwrap_or("")
                )
            })
        }
        Cmd::Cases { status, data_key, on } => {
            let statuses = status
                .iter()
                .map(|s| jingwei_cases::Status::parse(s).with_context(|| format!("unknown status '{s}'")))
                .collect::<Result<Vec<_>>>()?;
            let cases = shared::shared_cases(&at(&on)?, data_key.as_deref(), &statuses)?;
            print(on.json, &cases, |w| cases.iter().try_for_each(|c| case_line(c, w)))
        }
        Cmd::Flag {
            title,
            at: place,
            priority,
            phone,
            id_number,
            data_key,
            on,
        } => {
            let input = SharedFlagInput {
                title,
                at: place.as_deref().map(lonlat).transpose()?,
                priority,
                phone,
                id_number,
            };
            let c = shared::shared_flag(&at(&on)?, data_key.as_deref(), &input)?;
            print(on.json, &c, |w| case_line(&c, w))
        }
        Cmd::SetStatus {
            id,
            status,
            version,
            comment,
            on,
        } => {
            let c = shared::shared_set_status(&at(&on)?, None, id, version, &status, comment.as_deref())?;
            print(on.json, &c, |w| case_line(&c, w))
        }
        Cmd::Watch { seconds, on } => {
            let mut out = std::io::stdout().lock();
            shared::shared_watch(&at(&on)?, seconds, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Checkout { out, bbox, on } => {
            let bbox = (bbox.len() == 4).then(|| [bbox[0], bbox[1], bbox[2], bbox[3]]);
            let r = shared::check_out(&at(&on)?, bbox, &out)?;
            print(on.json, &r, |w| {
                writeln!(w, "{}: {} cases, {} notes from {}", r.file, r.cases, r.notes, r.store)
            })
        }
        Cmd::Checkin { file, data_key, on } => {
            let r = shared::check_in(&at(&on)?, data_key.as_deref(), &file)?;
            print(on.json, &r, |w| {
                writeln!(
                    w,
                    "{}: {} cases updated ({} merged with changes in the store), {} added, {} notes, {} attachments, {} conflict(s) for a commander",
                    file.display(),
                    r.updated,
                    r.merged,
                    r.added,
                    r.notes,
                    r.attachments,
                    r.conflicts.len()
                )?;
                r.conflicts.iter().try_for_each(|c| conflict_line(c, w))
            })
        }
        Cmd::Conflicts { all, on } => {
            let cs = shared::conflicts(&at(&on)?, all)?;
            print(on.json, &cs, |w| cs.iter().try_for_each(|c| conflict_line(c, w)))
        }
        Cmd::Resolve { id, take, on } => {
            let c = shared::resolve_conflict(&at(&on)?, id, &take)?;
            print(on.json, &c, |w| conflict_line(&c, w))
        }
        Cmd::DataKey { out, json } => {
            let k = shared::data_keygen(&out)?;
            print(json, &k, |w| writeln!(w, "{}: SM4 data key {}", k.private.display(), k.fingerprint))
        }
    }
}

pub fn audit(a: AuditArgs) -> Result<ExitCode> {
    match a.command {
        AuditCmd::Verify { store, pubkey, kept, json } => {
            let r = shared::audit_verify(&StoreAt::parse(&store)?, pubkey.as_deref(), kept.as_deref())?;
            print(json, &r, |w| match &r.broken {
                None => writeln!(
                    w,
                    "{}: audit chain intact: {} rows, head {} (row {}), {} checkpoint(s){}",
                    r.store,
                    r.rows,
                    &r.head[..16],
                    r.last_seq,
                    r.checkpoints,
                    if r.signatures_checked {
                        " with signatures checked"
                    } else {
                        " (signatures not checked: no --pubkey)"
                    }
                ),
                Some(b) => writeln!(w, "{}: audit chain BROKEN at row {}: {}", r.store, b.seq, b.why),
            })?;
            Ok(if r.ok() { ExitCode::SUCCESS } else { ExitCode::from(3) })
        }
        AuditCmd::Checkpoint { store, key, keep, json } => {
            let c = shared::audit_checkpoint(&StoreAt::parse(&store)?, &key, keep.as_deref())?;
            print(json, &c, |w| {
                writeln!(w, "checkpoint at row {} ({}), head {}, key {}", c.seq, c.at, &c.head[..16], c.key)
            })
        }
        AuditCmd::Keygen { out, json } => {
            let k = shared::audit_keygen(&out)?;
            print(json, &k, |w| {
                writeln!(
                    w,
                    "{} and {}: SM2 key {}",
                    k.private.display(),
                    k.public.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                    k.fingerprint
                )
            })
        }
    }
}
