//! The field-app gateway's use cases (`jingwei serve`): the city's mobile field apps and case
//! platform read and write cases — and read incidents — of the shared store through one
//! gateway login that acts as each user it has authenticated. The database applies that
//! user's department, role, case loop and versions, and audits in that user's name, exactly as
//! for the desktop app; nothing here decides a right.
//!
//! Logins: a password is checked against the verifier PostgreSQL keeps for the user (the
//! second factor, a client certificate whose CN is the user, is the front door's to check).
//! Five wrong passwords in a row lock the name for five minutes (GB/T 22239's handling of
//! failed logins). The verifier is read for every request; the PBKDF2 of a password against it
//! is remembered for five minutes, so that a burst of requests does not pay for it each time,
//! while a new password, an expired or disabled login takes effect at once.

use crate::shared::{StoreAt, read_data_key};
use crate::{Error, Result};
use geo::Geometry;
use jingwei_cases::Status;
use jingwei_cases::incidents::IncidentStatus;
use jingwei_cases::seal::{DataKey, sm3};
pub use jingwei_store::{CaseChange, SharedIncident, SharedNote};
use jingwei_store::{Connect, NewSharedCase, Shared, SharedCase, SharedFilter, StoreError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords in a row before a name is locked.
pub const LOCK_AFTER: u32 = 5;
/// How long a name stays locked.
pub const LOCK_FOR: Duration = Duration::from_secs(300);
/// How long a password checked against a verifier is remembered (the verifier is read anew
/// each time, so a changed password or a login ended counts at once).
const REMEMBER: Duration = Duration::from_secs(300);
/// Connections kept open between requests.
const KEEP_IDLE: usize = 8;

/// The answer to a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// The password is the user's.
    Ok,
    /// It is not (or the user is no inspector or commander of the store).
    Wrong,
    /// Too many wrong passwords: locked for this many more seconds.
    Locked(u64),
}

/// A page of records and how many match in all.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The records of this page.
    pub items: Vec<T>,
    /// How many match the query in all.
    pub matched: i64,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// Only these statuses (all when empty).
    pub statuses: Vec<Status>,
    /// Only cases whose geometry meets this lon/lat envelope.
    pub bbox: Option<[f64; 4]>,
    /// At most this many.
    pub limit: i64,
    /// After skipping this many, newest first.
    pub offset: i64,
}

/// A case flagged from the field.
#[derive(Debug, Clone, Default)]
pub struct FieldCase {
    /// Title.
    pub title: String,
    /// Priority 0–100.
    pub priority: f64,
    /// Location or outline, CGCS2000 longitude/latitude.
    pub geometry: Option<Geometry>,
    /// Phone of the party (sealed with the data key; refused when the gateway has none).
    pub phone: Option<String>,
    /// ID number of the party (likewise).
    pub id_number: Option<String>,
}

/// The gateway: its login, a few open connections, the login throttle.
pub struct Gateway {
    connect: Connect,
    key: Option<DataKey>,
    idle: Mutex<Vec<Shared>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    remembered: Mutex<HashMap<[u8; 32], Instant>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("target", &self.connect.target()).finish()
    }
}

impl Gateway {
    /// Log in as the gateway (a login of role `gateway`, see `jingwei store user`) and check
    /// that it is one and that the store can check passwords for it; `key` opens and seals
    /// personal fields.
    pub fn open(at: &StoreAt, key: Option<&Path>) -> Result<Gateway> {
        let connect = match at {
            StoreAt::Postgres(c) => c.clone(),
            StoreAt::GeoPackage(p) => {
                return Err(Error::Invalid(format!(
                    "{}: the field-app API serves the shared store (postgresql://gateway@host/db), not a GeoPackage",
                    p.display()
                )));
            }
        };
        let key = key.map(read_data_key).transpose()?;
        let g = Gateway {
            connect,
            key,
            idle: Mutex::new(Vec::new()),
            failures: Mutex::new(HashMap::new()),
            remembered: Mutex::new(HashMap::new()),
        };
        let mut s = g.connection()?;
        if !s.is_gateway()? {
            return Err(Error::Invalid(format!(
                "{}: this login is no gateway of the store (a superuser adds one: jingwei store user NAME --role gateway)",
                s.target()
            )));
        }
        let found = s.raw("SELECT count(*) FROM pg_proc WHERE proname = 'login_verifier'")?;
        if found == "0" {
            return Err(Error::Invalid(format!(
                "{}: the store cannot check passwords for a gateway yet: run `jingwei store init` once as a superuser",
                s.target()
            )));
        }
        g.give_back(s, false);
        Ok(g)
    }

    /// Whether the gateway holds the data key (without it, personal fields are neither shown
    /// nor accepted).
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// `gateway@host:port/db`.
    pub fn target(&self) -> String {
        self.connect.target()
    }

    fn connection(&self) -> Result<Shared> {
        if let Some(s) = self.idle.lock().map_err(|_| Error::Poisoned)?.pop() {
            return Ok(s);
        }
        let s = Shared::open(&self.connect)?;
        // The key goes with the connection, once, into the pool.
        Ok(match &self.key {
            Some(k) => s.with_key(k.clone()),
            None => s,
        })
    }

    /// Put a connection back for the next request; one that acted as a user first becomes the
    /// gateway again (no rights).
    fn give_back(&self, mut s: Shared, acted: bool) {
        if (!acted || s.act_as(None).is_ok())
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEEP_IDLE
        {
            idle.push(s);
        }
    }

    /// Check `user`'s password. The attempt counts against the name before the check runs, so
    /// that parallel guesses cannot slip past the lock; a right password clears the count.
    pub fn login(&self, user: &str, password: &str) -> Result<Login> {
        let now = Instant::now();
        {
            let mut failures = self.failures.lock().map_err(|_| Error::Poisoned)?;
            let e = failures.entry(user.to_owned()).or_insert((0, now));
            if e.0 >= LOCK_AFTER {
                let left = LOCK_FOR.saturating_sub(now - e.1);
                if !left.is_zero() {
                    return Ok(Login::Locked(left.as_secs().max(1)));
                }
                *e = (0, now);
            }
            e.0 += 1;
            e.1 = now;
        }
        // The verifier is read every time (a new password, an expiry or NOLOGIN count at once);
        // only the PBKDF2 over it is remembered, keyed by the verifier and the password.
        let mut s = self.connection()?;
        let verifier = s.login_verifier(user);
        self.give_back(s, false);
        let ok = match verifier? {
            None => false,
            Some(v) => {
                let token = sm3(format!("{v}\0{password}").as_bytes());
                let known = {
                    let mut remembered = self.remembered.lock().map_err(|_| Error::Poisoned)?;
                    remembered.retain(|_, at| now - *at < REMEMBER);
                    remembered.contains_key(&token)
                };
                let ok = known || jingwei_store::scram_matches(&v, password);
                if ok && !known {
                    self.remembered.lock().map_err(|_| Error::Poisoned)?.insert(token, now);
                }
                ok
            }
        };
        if ok {
            self.failures.lock().map_err(|_| Error::Poisoned)?.remove(user);
            Ok(Login::Ok)
        } else {
            Ok(Login::Wrong)
        }
    }

    /// Run `f` as `user` on one of the gateway's connections; a connection that broke is
    /// dropped (the next request opens a new one).
    fn as_user<T>(&self, user: &str, f: impl FnOnce(&mut Shared) -> jingwei_store::Result<T>) -> Result<T> {
        let mut s = self.connection()?;
        let r = s.act_as(Some(user)).and_then(|_| f(&mut s));
        // Only a failure needs asking whether the connection still stands.
        if r.is_ok() || s.is_alive() {
            self.give_back(s, true);
        }
        Ok(r?)
    }

    /// A page of the cases the user may see.
    pub fn cases(&self, user: &str, q: &CaseQuery) -> Result<Page<SharedCase>> {
        let f = SharedFilter {
            statuses: q.statuses.clone(),
            bbox: q.bbox,
            limit: Some(q.limit.max(0)),
            offset: q.offset.max(0),
            ..Default::default()
        };
        self.as_user(user, |s| {
            let matched = s.count_cases(&f)?;
            let items = if q.limit > 0 { s.cases(&f)? } else { Vec::new() };
            Ok(Page { items, matched })
        })
    }

    /// One case.
    pub fn case(&self, user: &str, id: i64) -> Result<SharedCase> {
        self.as_user(user, |s| s.case(id))
    }

    /// A case's notes, oldest first.
    pub fn notes(&self, user: &str, id: i64) -> Result<Vec<SharedNote>> {
        self.as_user(user, |s| {
            s.case(id)?;
            s.notes(id)
        })
    }

    /// Flag a case in the user's department.
    pub fn flag(&self, user: &str, c: &FieldCase) -> Result<SharedCase> {
        if c.title.trim().is_empty() {
            return Err(Error::Invalid("a case needs a title".into()));
        }
        if !(0.0..=100.0).contains(&c.priority) {
            return Err(Error::Invalid(format!("priority {} is outside 0–100", c.priority)));
        }
        let new = NewSharedCase {
            title: c.title.trim().to_owned(),
            priority: c.priority,
            geometry: c.geometry.clone(),
            phone: c.phone.clone(),
            id_number: c.id_number.clone(),
            ..Default::default()
        };
        self.as_user(user, |s| s.flag_case(&new))
    }

    /// Change a case carrying the version read. A status equal to the case's is no step.
    pub fn change(&self, user: &str, id: i64, read_version: i32, change: &CaseChange) -> Result<SharedCase> {
        self.as_user(user, |s| {
            let mut change = change.clone();
            if let Some(to) = change.status {
                let now = s.case(id)?;
                if now.version == read_version && now.status == to {
                    change.status = None;
                }
            }
            if change.status.is_none() && change.assignee.is_none() && change.comment.is_none() {
                // Nothing to do: the case as it is, if the version read is still its own.
                let now = s.case(id)?;
                return if now.version == read_version {
                    Ok(now)
                } else {
                    Err(StoreError::Stale {
                        read_version,
                        theirs: Box::new(now),
                    })
                };
            }
            s.change_case(id, read_version, &change)
        })
    }

    /// A page of the incidents of the user's department (all statuses unless given).
    pub fn incidents(&self, user: &str, statuses: &[IncidentStatus], limit: i64, offset: i64) -> Result<Page<SharedIncident>> {
        let all = self.as_user(user, |s| s.incidents(true))?;
        let all: Vec<SharedIncident> = all
            .into_iter()
            .filter(|i| statuses.is_empty() || statuses.contains(&i.status))
            .collect();
        let matched = all.len() as i64;
        let items = all.into_iter().skip(offset.max(0) as usize).take(limit.max(0) as usize).collect();
        Ok(Page { items, matched })
    }

    /// One incident.
    pub fn incident(&self, user: &str, id: i64) -> Result<SharedIncident> {
        self.as_user(user, |s| s.incident(id))
    }
}
