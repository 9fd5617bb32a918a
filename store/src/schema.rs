//! The store's schema: the roles, versioned migrations, departments and users.

use crate::{Connect, Result, Shared, StoreError, error_of};
use serde::Serialize;

/// A versioned migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version (applied in order, each once).
    pub version: i32,
    /// What it does.
    pub name: &'static str,
    /// Its SQL, run as `jingwei_owner` in one transaction.
    pub sql: &'static str,
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "shared store: departments, users, cases, incidents, SM3 audit chain, row-level security",
        sql: include_str!("../migrations/0001_shared_store.sql"),
    },
    Migration {
        version: 2,
        name: "conflict records of offline check-ins",
        sql: include_str!("../migrations/0002_conflicts.sql"),
    },
    Migration {
        version: 3,
        name: "the field-app gateway acts as each user; personal fields only sealed; definers search no public",
        sql: include_str!("../migrations/0003_gateway.sql"),
    },
];

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 执法队员: flags and works cases of their department.
    Inspector,
    /// 指挥员: also closes cases and runs incidents.
    Commander,
    /// 审计员: reads and checks the audit, signs checkpoints; sees no cases.
    Auditor,
    /// 系统管理员: manages users and departments; sees no cases.
    Admin,
    /// The field-app API server (`jingwei serve`): no rights of its own; acts for an inspector
    /// or commander it has authenticated, with their rights and in their name.
    Gateway,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [Role::Inspector, Role::Commander, Role::Auditor, Role::Admin, Role::Gateway];

    /// Identifier.
    pub fn id(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::Commander => "commander",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Gateway => "gateway",
        }
    }

    /// Parse an identifier.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.id() == s.trim())
    }

    /// The database group role.
    pub fn group(self) -> String {
        format!("jingwei_{}", self.id())
    }
}

const BOOTSTRAP: &str = r#"
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['jingwei_owner', 'jingwei_inspector', 'jingwei_commander', 'jingwei_auditor', 'jingwei_admin',
                             'jingwei_gateway'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END LOOP;
    -- The owner makes the users (through jingwei.set_user only: it cannot log in).
    ALTER ROLE jingwei_owner CREATEROLE;
    -- The field-app gateway holds no user's rights until it becomes that user (SET ROLE).
    ALTER ROLE jingwei_gateway NOINHERIT;
    -- A transaction left open holds the audit chain's head, and so every writer: ended after a
    -- minute idle; a writer waits at most 30 s for a lock.
    EXECUTE format('ALTER DATABASE %I SET idle_in_transaction_session_timeout = %L', current_database(), '60s');
    EXECUTE format('ALTER DATABASE %I SET lock_timeout = %L', current_database(), '30s');
END $$;
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS jingwei AUTHORIZATION jingwei_owner;
CREATE TABLE IF NOT EXISTS jingwei.schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE jingwei.schema_migrations OWNER TO jingwei_owner;
GRANT USAGE ON SCHEMA jingwei TO PUBLIC;
GRANT SELECT ON jingwei.schema_migrations TO PUBLIC;
-- The gateway checks a field user's password against the SCRAM verifier PostgreSQL keeps, as
-- PgBouncer's auth_query does: only the superuser reads pg_authid, so this function is the
-- superuser's; it answers only gateways, and only for inspectors and commanders who may log in.
CREATE OR REPLACE FUNCTION jingwei.login_verifier(p_name text) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog
    AS $f$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_auth_members m
                   JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles l ON l.oid = m.member
                   WHERE g.rolname = 'jingwei_gateway' AND l.rolname = session_user) THEN
        RAISE EXCEPTION 'only the gateway checks passwords' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN (SELECT a.rolpassword FROM pg_authid a JOIN jingwei.users u ON u.name = a.rolname
            WHERE a.rolname = p_name AND u.role IN ('inspector', 'commander') AND a.rolcanlogin
              AND (a.rolvaliduntil IS NULL OR a.rolvaliduntil > now()));
END $f$;
REVOKE ALL ON FUNCTION jingwei.login_verifier(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION jingwei.login_verifier(text) TO jingwei_gateway;
"#;

pub(crate) fn valid_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with("pg_")
        && !name.starts_with("jingwei_");
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "user name '{name}': lower-case letters, digits and _ (at most 63, not starting with pg_ or jingwei_)"
        )))
    }
}

impl Shared {
    /// Create the roles, extensions and schema and apply every migration: `jingwei store
    /// init`, as a superuser (or a role that may create roles, extensions and schemas). Safe to
    /// run again. Returns the migrations applied now.
    pub fn init(connect: &Connect) -> Result<Vec<i32>> {
        let mut client = connect.client()?;
        client
            .batch_execute(BOOTSTRAP)
            .map_err(|e| error_of(&connect.target(), "creating the roles, extensions and schema", e))?;
        drop(client);
        Shared::migrate(connect)
    }

    /// Apply the migrations not yet applied (`jingwei store migrate`), each in one transaction
    /// as `jingwei_owner`. Refuses a store newer than this program.
    pub fn migrate(connect: &Connect) -> Result<Vec<i32>> {
        let target = connect.target();
        let mut client = connect.client()?;
        let e = |what: &str| {
            let what = what.to_owned();
            let target = target.clone();
            move |err| error_of(&target, &what, err)
        };
        let mut applied = Vec::new();
        for m in MIGRATIONS {
            let mut tx = client.transaction().map_err(e("starting a migration"))?;
            // One migrator at a time (a second waits, then finds the work done).
            tx.execute("SELECT pg_advisory_xact_lock(7146170002)", &[])
                .map_err(e("waiting for another migration"))?;
            let done: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM jingwei.schema_migrations WHERE version = $1)",
                    &[&m.version],
                )
                .map_err(e("reading the schema version (run `jingwei store init` first)"))?
                .get(0);
            if done {
                continue;
            }
            tx.batch_execute("SET LOCAL ROLE jingwei_owner")
                .map_err(e("becoming jingwei_owner"))?;
            tx.batch_execute(m.sql)
                .map_err(e(&format!("migration {} ({})", m.version, m.name)))?;
            tx.execute(
                "INSERT INTO jingwei.schema_migrations (version, name) VALUES ($1, $2)",
                &[&m.version, &m.name],
            )
            .map_err(e("recording the migration"))?;
            tx.commit().map_err(e("committing the migration"))?;
            applied.push(m.version);
        }
        let newest: Option<i32> = client
            .query_one("SELECT max(version) FROM jingwei.schema_migrations", &[])
            .map_err(e("reading the schema version"))?
            .get(0);
        let ours = MIGRATIONS.last().map(|m| m.version);
        if newest > ours {
            return Err(StoreError::Schema {
                target,
                why: format!(
                    "the store is at schema version {}; this Jingwei knows up to {} (update Jingwei)",
                    newest.unwrap_or(0),
                    ours.unwrap_or(0)
                ),
            });
        }
        Ok(applied)
    }

    pub(crate) fn check_schema(&mut self) -> Result<()> {
        let target = self.target();
        let v: Option<i32> = match self.client.query_one("SELECT max(version) FROM jingwei.schema_migrations", &[]) {
            Ok(r) => r.get(0),
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => {
                return Err(StoreError::Schema {
                    target,
                    why: "not a Jingwei store (run `jingwei store init` as the database's owner)".into(),
                });
            }
            Err(e) => return Err(self.err("reading the schema version", e)),
        };
        let ours = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
        match v {
            Some(v) if v == ours => Ok(()),
            Some(v) if v > ours => Err(StoreError::Schema {
                target,
                why: format!("the store is at schema version {v}; this Jingwei knows up to {ours} (update Jingwei)"),
            }),
            v => Err(StoreError::Schema {
                target,
                why: format!(
                    "the store is at schema version {}; run `jingwei store migrate` to bring it to {ours}",
                    v.unwrap_or(0)
                ),
            }),
        }
    }

    /// Add or rename a department (administrators).
    pub fn add_department(&mut self, code: &str, name: &str) -> Result<()> {
        if code.trim().is_empty() {
            return Err(StoreError::Invalid("a department needs a code".into()));
        }
        self.q(
            "adding a department",
            "INSERT INTO jingwei.departments (code, name) VALUES ($1, $2) \
             ON CONFLICT (code) DO UPDATE SET name = excluded.name",
            &[&code, &name],
        )?;
        Ok(())
    }

    /// Add a user with a role and (for inspectors and commanders) a department, or give an
    /// existing store user a new password, role or department: through `jingwei.set_user`, which
    /// makes the login role and its one group membership (administrators add inspectors,
    /// commanders and auditors; a superuser adds administrators). The password reaches the
    /// server only as a SCRAM-SHA-256 verifier computed here.
    pub fn add_user(&mut self, name: &str, role: Role, department: Option<&str>, password: &str) -> Result<()> {
        valid_name(name)?;
        if password.chars().count() < 8 {
            return Err(StoreError::Invalid(format!("user {name}: a password of at least 8 characters")));
        }
        if matches!(role, Role::Inspector | Role::Commander) && department.is_none() {
            return Err(StoreError::Invalid(format!("user {name}: {} need a department", role.id())));
        }
        if role == Role::Gateway && department.is_some() {
            return Err(StoreError::Invalid(format!("user {name}: a gateway belongs to no department")));
        }
        let verifier = postgres_protocol_scram(password);
        self.q(
            "adding a user",
            "SELECT jingwei.set_user($1, $2, $3, $4)",
            &[&name, &role.id(), &department, &verifier],
        )?;
        Ok(())
    }
}

fn postgres_protocol_scram(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}
