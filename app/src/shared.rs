//! The shared store's use cases (`jingwei store …`, `jingwei audit …`): making and migrating a
//! PostgreSQL store, its departments and users; cases as one user sees them; live changes; and
//! the audit chain — verify a store (PostgreSQL or a workspace GeoPackage), sign checkpoints,
//! make the auditor's SM2 key and the SM4 data key.

use crate::{Error, Result};
use geo::{Geometry, Point};
use jingwei_cases::chain::{AuditReport, Checkpoint};
use jingwei_cases::seal::{AuditSigner, AuditVerifier, DataKey};
use jingwei_cases::{CaseStore, Status};
use jingwei_store::{Change, Connect, Listener, NewSharedCase, Role, Shared, SharedFilter};
pub use jingwei_store::{SharedCase, StoreError};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where a store is: a PostgreSQL URL or a GeoPackage file.
#[derive(Debug, Clone)]
pub enum StoreAt {
    /// The shared store.
    Postgres(Connect),
    /// A workspace's GeoPackage.
    GeoPackage(PathBuf),
}

impl StoreAt {
    /// `postgresql://…` or `postgres://…` is the shared store; anything else a file.
    pub fn parse(s: &str) -> Result<StoreAt> {
        if s.starts_with("postgresql://") || s.starts_with("postgres://") {
            Ok(StoreAt::Postgres(Connect::parse(s)?))
        } else {
            Ok(StoreAt::GeoPackage(PathBuf::from(s)))
        }
    }

    fn postgres(&self, what: &str) -> Result<&Connect> {
        match self {
            StoreAt::Postgres(c) => Ok(c),
            StoreAt::GeoPackage(p) => Err(Error::Invalid(format!(
                "{}: {what} needs the shared store (postgresql://user@host/db), not a GeoPackage",
                p.display()
            ))),
        }
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// The SM4 data key from a file of 32 hex digits.
pub fn read_data_key(path: &Path) -> Result<DataKey> {
    DataKey::from_hex(read_text(path)?.trim()).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

/// The auditor's public key (PEM).
pub fn read_verifier(path: &Path) -> Result<AuditVerifier> {
    AuditVerifier::from_pem(&read_text(path)?).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))
}

/// Checkpoints an auditor kept in a file (one JSON line each; a missing file is none).
pub fn read_kept(path: &Path) -> Result<Vec<Checkpoint>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    read_text(path)?
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Checkpoint::from_line(l).map_err(|e| Error::Invalid(format!("{}:{}: {e}", path.display(), i + 1))))
        .collect()
}

/// What `store init` or `store migrate` did.
#[derive(Debug, Clone, Serialize)]
pub struct Migrated {
    /// `user@host:port/db`.
    pub store: String,
    /// Migrations applied now.
    pub applied: Vec<i32>,
    /// The schema version the store is at.
    pub version: i32,
}

/// Make the store (roles, extensions, schema) and apply every migration; safe to repeat.
pub fn store_init(at: &StoreAt) -> Result<Migrated> {
    let c = at.postgres("store init")?;
    let applied = Shared::init(c)?;
    Ok(migrated(c, applied))
}

/// Apply the migrations not yet applied.
pub fn store_migrate(at: &StoreAt) -> Result<Migrated> {
    let c = at.postgres("store migrate")?;
    let applied = Shared::migrate(c)?;
    Ok(migrated(c, applied))
}

fn migrated(c: &Connect, applied: Vec<i32>) -> Migrated {
    Migrated {
        store: c.target(),
        applied,
        version: jingwei_store::MIGRATIONS.last().map_or(0, |m| m.version),
    }
}

/// Add a department (administrators).
pub fn store_add_department(at: &StoreAt, code: &str, name: &str) -> Result<()> {
    Shared::open(at.postgres("adding a department")?)?.add_department(code, name)?;
    Ok(())
}

/// Add a user (administrators).
pub fn store_add_user(at: &StoreAt, name: &str, role: &str, department: Option<&str>, password: &str) -> Result<()> {
    let role =
        Role::parse(role).ok_or_else(|| Error::Invalid(format!("role '{role}': one of inspector, commander, auditor, admin, gateway")))?;
    Shared::open(at.postgres("adding a user")?)?.add_user(name, role, department, password)?;
    Ok(())
}

/// Who the user is in the store.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Whoami {
    /// `user@host:port/db`.
    pub store: String,
    /// Role.
    pub role: Option<Role>,
    /// Department.
    pub department: Option<String>,
}

/// Log in as the URL's user and say who that is.
pub fn store_whoami(at: &StoreAt) -> Result<Whoami> {
    let s = Shared::open(at.postgres("whoami")?)?;
    Ok(Whoami {
        store: s.target(),
        role: s.role(),
        department: s.department().map(str::to_owned),
    })
}

fn open_shared(at: &StoreAt, key: Option<&Path>) -> Result<Shared> {
    let s = Shared::open(at.postgres("the shared cases")?)?;
    Ok(match key {
        Some(k) => s.with_key(read_data_key(k)?),
        None => s,
    })
}

/// The cases the user may see.
pub fn shared_cases(at: &StoreAt, key: Option<&Path>, statuses: &[Status]) -> Result<Vec<SharedCase>> {
    let mut s = open_shared(at, key)?;
    Ok(s.cases(&SharedFilter {
        statuses: statuses.to_vec(),
        ..Default::default()
    })?)
}

/// A case to flag in the shared store.
#[derive(Debug, Clone, Default)]
pub struct SharedFlagInput {
    /// Title.
    pub title: String,
    /// Longitude, latitude (CGCS2000).
    pub at: Option<(f64, f64)>,
    /// Priority 0–100.
    pub priority: f64,
    /// Phone of the party.
    pub phone: Option<String>,
    /// ID number of the party.
    pub id_number: Option<String>,
}

/// Flag a case in the user's department.
pub fn shared_flag(at: &StoreAt, key: Option<&Path>, input: &SharedFlagInput) -> Result<SharedCase> {
    if let Some((x, y)) = input.at
        && !(x.is_finite() && y.is_finite() && (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y))
    {
        return Err(Error::Invalid(format!("--at {x},{y}: not a longitude, latitude")));
    }
    let mut s = open_shared(at, key)?;
    Ok(s.flag_case(&NewSharedCase {
        title: input.title.clone(),
        priority: input.priority,
        geometry: input.at.map(|(x, y)| Geometry::Point(Point::new(x, y))),
        phone: input.phone.clone(),
        id_number: input.id_number.clone(),
        ..Default::default()
    })?)
}

/// Move a case, carrying the version read (`None`: the version it has now — for scripts that
/// accept a last-writer-wins race; the app always passes what it showed).
pub fn shared_set_status(
    at: &StoreAt,
    key: Option<&Path>,
    id: i64,
    version: Option<i32>,
    to: &str,
    comment: Option<&str>,
) -> Result<SharedCase> {
    let to = Status::parse(to)
        .ok_or_else(|| Error::Invalid(format!("status '{to}': one of pending, confirmed, dismissed, rectifying, closed")))?;
    let mut s = open_shared(at, key)?;
    let v = match version {
        Some(v) => v,
        None => s.case(id)?.version,
    };
    Ok(s.set_status(id, v, to, comment)?)
}

/// Print the changes others make for `seconds` (0: until interrupted), one `table:id` or
/// `resync` per line, re-reading nothing (the caller re-reads through its rights).
pub fn shared_watch(at: &StoreAt, seconds: u64, out: &mut dyn Write) -> Result<usize> {
    let mut l = Listener::open(at.postgres("watching")?)?;
    let until = (seconds > 0).then(|| Instant::now() + Duration::from_secs(seconds));
    let mut n = 0;
    loop {
        let left = match until {
            Some(u) => u.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(3600),
        };
        if left.is_zero() {
            return Ok(n);
        }
        let line = match l.next(left)? {
            Some(Change::Row { table, id }) => format!("{table}:{id}"),
            Some(Change::Resync) => "resync".into(),
            None => continue,
        };
        n += 1;
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("stdout", e))?;
    }
}

/// Check a store's audit chain (PostgreSQL as an auditor, or a GeoPackage) against its
/// checkpoints and those kept in `kept`; signatures with the auditor's public key when given.
pub fn audit_verify(at: &StoreAt, pubkey: Option<&Path>, kept: Option<&Path>) -> Result<AuditReport> {
    let key = pubkey.map(read_verifier).transpose()?;
    let kept = kept.map(read_kept).transpose()?.unwrap_or_default();
    match at {
        StoreAt::Postgres(c) => Ok(Shared::open(c)?.verify_audit(key.as_ref(), &kept)?),
        StoreAt::GeoPackage(p) => Ok(CaseStore::open(p)?.verify_audit(key.as_ref(), &kept)?),
    }
}

/// A signed checkpoint, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointDto {
    /// The last row covered.
    pub seq: i64,
    /// Its hash (hex).
    pub head: String,
    /// When.
    pub at: String,
    /// The signing key's fingerprint.
    pub key: String,
    /// The file the checkpoint was also appended to.
    pub kept_in: Option<PathBuf>,
}

/// Sign the chain's head with the auditor's private key (PEM), in the store and, when given,
/// appended to the auditor's own file.
pub fn audit_checkpoint(at: &StoreAt, key: &Path, keep: Option<&Path>) -> Result<CheckpointDto> {
    let signer = AuditSigner::from_pem(&read_text(key)?).map_err(|e| Error::Invalid(format!("{}: {e}", key.display())))?;
    let cp = match at {
        StoreAt::Postgres(c) => Shared::open(c)?.sign_checkpoint(&signer)?,
        StoreAt::GeoPackage(p) => CaseStore::open(p)?.sign_checkpoint(&signer)?,
    };
    if let Some(k) = keep {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(k)
            .map_err(|e| Error::io(k, e))?;
        writeln!(f, "{}", cp.to_line())
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(k, e))?;
    }
    Ok(CheckpointDto {
        seq: cp.seq,
        head: jingwei_cases::seal::hex(&cp.head),
        at: cp.at,
        key: cp.key,
        kept_in: keep.map(Path::to_path_buf),
    })
}

/// Key files written.
#[derive(Debug, Clone, Serialize)]
pub struct KeyFiles {
    /// The private key (or the data key), readable by its owner only.
    pub private: PathBuf,
    /// The public key, if any.
    pub public: Option<PathBuf>,
    /// The key's fingerprint.
    pub fingerprint: String,
}

fn write_secret(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        return Err(Error::Invalid(format!(
            "{}: already exists; a key is never overwritten",
            path.display()
        )));
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// A new SM2 key pair for an auditor: `out` (PKCS#8 PEM, mode 600) and `out.pub`.
pub fn audit_keygen(out: &Path) -> Result<KeyFiles> {
    let signer = AuditSigner::generate();
    let public = PathBuf::from(format!("{}.pub", out.display()));
    if public.exists() {
        return Err(Error::Invalid(format!(
            "{}: already exists; a key is never overwritten",
            public.display()
        )));
    }
    write_secret(out, &signer.to_pem())?;
    std::fs::write(&public, signer.verifier().to_pem()).map_err(|e| Error::io(&public, e))?;
    Ok(KeyFiles {
        private: out.to_path_buf(),
        public: Some(public),
        fingerprint: signer.verifier().fingerprint(),
    })
}

/// A new SM4 data key (32 hex digits, mode 600).
pub fn data_keygen(out: &Path) -> Result<KeyFiles> {
    let k = DataKey::generate();
    write_secret(out, &format!("{}\n", k.to_hex()))?;
    Ok(KeyFiles {
        private: out.to_path_buf(),
        public: None,
        fingerprint: k.fingerprint(),
    })
}

pub use jingwei_store::{CheckinReport, CheckoutSummary, Conflict};

/// Check out the user's cases (within `bbox`, lon/lat, when given) to a new GeoPackage for
/// offline work.
pub fn check_out(at: &StoreAt, bbox: Option<[f64; 4]>, out: &Path) -> Result<CheckoutSummary> {
    Ok(Shared::open(at.postgres("check-out")?)?.check_out(bbox, out)?)
}

/// Check a file back in: one transaction; disjoint edits merge, conflicts are recorded; photos
/// taken offline go up sealed with the data key (needed when there are any).
pub fn check_in(at: &StoreAt, key: Option<&Path>, file: &Path) -> Result<CheckinReport> {
    Ok(open_shared(at, key)?.check_in(file)?)
}

/// The department's conflicts (open ones unless `all`).
pub fn conflicts(at: &StoreAt, all: bool) -> Result<Vec<Conflict>> {
    Ok(Shared::open(at.postgres("conflicts")?)?.conflicts(all)?)
}

/// Resolve a conflict (commanders): `mine` applies the field's value, `theirs` keeps the store's.
pub fn resolve_conflict(at: &StoreAt, id: i64, take: &str) -> Result<Conflict> {
    let mine = match take {
        "mine" => true,
        "theirs" => false,
        t => return Err(Error::Invalid(format!("'{t}': take mine or theirs"))),
    };
    Ok(Shared::open(at.postgres("resolving")?)?.resolve_conflict(id, mine)?)
}
