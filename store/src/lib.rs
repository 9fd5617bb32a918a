//! # jingwei-store
//!
//! The shared store: the cases (线索) and incidents of a bureau's many users in PostgreSQL +
//! PostGIS, the server their IT already runs. The GeoPackage store of `jingwei-cases` stays the
//! single-user and offline mode.
//!
//! What the database itself enforces (so that no client, ours or another, can skip it):
//! - **Roles**: `jingwei_inspector`, `jingwei_commander`, `jingwei_auditor`, `jingwei_admin`
//!   (administrator and auditor separate: neither sees cases); every object is owned by
//!   `jingwei_owner`, which cannot log in. Users log in as their own role.
//! - **Departments**: row-level security, forced, on cases, notes, attachments, incidents and
//!   their log: a user reads and writes only their department's rows.
//! - **The case loop** ([`jingwei_cases::Status::next`]) and that only commanders close or
//!   reopen; **versions**: every write carries the version it read, a stale one is refused.
//! - **The audit chain** (`jingwei_cases::chain`, layout 1): every change appends a row in its
//!   own transaction, hashed with SM3 by the database (pgcrypto over OpenSSL); updates, deletes
//!   and truncation of the audit are refused.
//! - **Notifications** on channel `jingwei` carry only `table:id`.
//!
//! Incidents: commanders open them and keep their log; the department reads them.
//!
//! Personal fields and attachments are sealed with SM4-GCM by the client
//! ([`jingwei_cases::seal::DataKey`]) before they reach the server.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod cases;
mod connect;
mod gateway;
mod incidents;
mod listen;
mod offline;
mod schema;

pub use audit::{AuditSummary, RoleCheck};
pub use cases::{CaseChange, NewSharedCase, SharedAttachment, SharedCase, SharedFilter, SharedNote};
pub use connect::Connect;
pub use gateway::scram_matches;
pub use incidents::SharedIncident;
pub use listen::{Change, Listener};
pub use offline::{CheckinReport, CheckoutSummary, Conflict};
pub use schema::{MIGRATIONS, Migration, Role};

use jingwei_cases::seal::{DataKey, SealError};

/// Errors of the shared store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The server could not be reached or logged into.
    #[error("{target}: {source}")]
    Connect {
        /// `user@host:port/db`.
        target: String,
        /// The driver's error.
        source: postgres::Error,
    },
    /// A statement failed.
    #[error("{target}: {what}: {message}")]
    Sql {
        /// `user@host:port/db`.
        target: String,
        /// What we were doing.
        what: String,
        /// The server's message.
        message: String,
        /// SQLSTATE, when the server sent one.
        code: Option<String>,
    },
    /// The database refused for lack of rights (a role, a department, a closed loop).
    #[error("{target}: refused: {message}")]
    Denied {
        /// `user@host:port/db`.
        target: String,
        /// The server's message.
        message: String,
    },
    /// Someone else changed the row since it was read; both versions are here.
    #[error("case {}: changed by {} at {} (version {}) since you read version {}; read it again and redo your change", theirs.case_no, theirs.updated_by, theirs.updated_at, theirs.version, read_version)]
    Stale {
        /// The version the write carried.
        read_version: i32,
        /// The row as it is now.
        theirs: Box<SharedCase>,
    },
    /// Someone else changed the incident since it was read.
    #[error("incident {}: changed by {} at {} (version {}) since you read version {}; read it again", theirs.incident_no, theirs.updated_by, theirs.updated_at, theirs.version, read_version)]
    StaleIncident {
        /// The version the write carried.
        read_version: i32,
        /// The incident as it is now.
        theirs: Box<SharedIncident>,
    },
    /// A status change the case loop does not allow.
    #[error("{0}")]
    Transition(String),
    /// No row with that id visible to this user.
    #[error("{target}: no {what} '{id}' (or not in your department)")]
    NotFound {
        /// `user@host:port/db`.
        target: String,
        /// `case`, `incident`, …
        what: &'static str,
        /// The key asked for.
        id: String,
    },
    /// The store's schema is older or newer than this program.
    #[error("{target}: {why}")]
    Schema {
        /// `user@host:port/db`.
        target: String,
        /// What is wrong.
        why: String,
    },
    /// Sealed data could not be opened.
    #[error("{0}")]
    Seal(#[from] SealError),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
}

/// Result of the shared store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// A connection to the shared store as one user.
pub struct Shared {
    pub(crate) client: postgres::Client,
    pub(crate) connect: Connect,
    pub(crate) role: Option<Role>,
    pub(crate) department: Option<String>,
    pub(crate) key: Option<DataKey>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("target", &self.connect.target())
            .field("role", &self.role)
            .field("department", &self.department)
            .finish()
    }
}

impl Shared {
    /// Log in and check the store's schema version.
    pub fn open(connect: &Connect) -> Result<Shared> {
        let client = connect.client()?;
        let mut s = Shared {
            client,
            connect: connect.clone(),
            role: None,
            department: None,
            key: None,
        };
        s.check_schema()?;
        let row = s.q_one("reading who you are", "SELECT jingwei.my_role(), jingwei.my_department()", &[])?;
        s.role = row.get::<_, Option<String>>(0).as_deref().and_then(Role::parse);
        s.department = row.get(1);
        Ok(s)
    }

    /// Open personal fields and attachments with this key (and seal new ones with it).
    pub fn with_key(mut self, key: DataKey) -> Shared {
        self.key = Some(key);
        self
    }

    /// The user's role in the store (`None` for a login that is no store user, such as the
    /// superuser).
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// The user's department.
    pub fn department(&self) -> Option<&str> {
        self.department.as_deref()
    }

    /// `user@host:port/db`.
    pub fn target(&self) -> String {
        self.connect.target()
    }

    /// Whether the connection is still up.
    pub fn is_alive(&mut self) -> bool {
        !self.client.is_closed() && self.client.simple_query("SELECT 1").is_ok()
    }

    /// Log in again after the connection dropped (the server restarted, the backend was killed).
    pub fn reconnect(&mut self) -> Result<()> {
        self.client = self.connect.client()?;
        Ok(())
    }

    /// Run one statement as this user and answer the rows it touched or the first value it
    /// returned (for checks and administration scripts; the use cases have their own methods).
    pub fn raw(&mut self, sql: &str) -> Result<String> {
        let msgs = match self.client.simple_query(sql) {
            Ok(m) => m,
            Err(e) => return Err(self.err("running a statement", e)),
        };
        for m in &msgs {
            match m {
                postgres::SimpleQueryMessage::Row(r) => return Ok(r.get(0).unwrap_or("").to_owned()),
                postgres::SimpleQueryMessage::CommandComplete(n) => return Ok(n.to_string()),
                _ => {}
            }
        }
        Ok(String::new())
    }

    pub(crate) fn err(&self, what: &str, e: postgres::Error) -> StoreError {
        error_of(&self.connect.target(), what, e)
    }

    pub(crate) fn q(&mut self, what: &str, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> Result<Vec<postgres::Row>> {
        match self.client.query(sql, params) {
            Ok(r) => Ok(r),
            Err(e) => Err(self.err(what, e)),
        }
    }

    pub(crate) fn q_one(&mut self, what: &str, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> Result<postgres::Row> {
        match self.client.query_one(sql, params) {
            Ok(r) => Ok(r),
            Err(e) => Err(self.err(what, e)),
        }
    }
}

/// How the store's queries give times: ISO 8601 UTC with milliseconds (`to_char` pattern).
pub(crate) const TS: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"#;

/// No `what` with this key visible to the user.
pub(crate) fn not_found(target: &str, what: &'static str, id: impl ToString) -> StoreError {
    StoreError::NotFound {
        target: target.to_owned(),
        what,
        id: id.to_string(),
    }
}

/// A geometry read with `ST_AsBinary` (NULL: none); `record` names it in an error.
pub(crate) fn geometry_of(wkb: Option<Vec<u8>>, record: &str) -> Result<Option<geo::Geometry>> {
    wkb.map(|b| jingwei_layers::wkb::parse_wkb(&b).map_err(|e| StoreError::Invalid(format!("{record}: geometry: {e}"))))
        .transpose()
}

/// A driver error as one of ours: refusals by rights or row security as [`StoreError::Denied`],
/// the rest as [`StoreError::Sql`] with the server's message and code.
pub(crate) fn error_of(target: &str, what: &str, e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code().to_owned();
            let message = db.message().to_owned();
            match (code.as_str(), db.hint()) {
                ("42501", _) => StoreError::Denied {
                    target: target.to_owned(),
                    message,
                },
                (_, Some("jingwei:transition")) => StoreError::Transition(message),
                _ => StoreError::Sql {
                    target: target.to_owned(),
                    what: what.to_owned(),
                    message,
                    code: Some(code),
                },
            }
        }
        None => StoreError::Sql {
            target: target.to_owned(),
            what: what.to_owned(),
            message: e.to_string(),
            code: None,
        },
    }
}
