//! The throwaway cluster of `scripts/pg-store.sh` (PostgreSQL 15 + PostGIS on 127.0.0.1, TLS,
//! password and client certificate), and a fresh database per test with the store made in it
//! and the test users added.
#![allow(dead_code)]

pub mod pg_cluster;

use jingwei_store::{Connect, Role, Shared};
#[allow(unused_imports)]
pub use pg_cluster::{cluster, psql, run_script};
use std::path::PathBuf;

/// The superuser over the Unix socket.
pub fn superuser(db: &str) -> Connect {
    let c = cluster();
    Connect {
        host: c["PG_SOCKET"].clone(),
        hostaddr: None,
        port: c["PG_PORT"].parse().unwrap(),
        dbname: db.to_owned(),
        user: "postgres".into(),
        password: None,
        ca: None,
        cert: None,
    }
}

pub fn password(user: &str) -> String {
    format!("{user}-password")
}

/// A test user over TLS with password and client certificate.
pub fn user(db: &str, name: &str) -> Connect {
    let c = cluster();
    let tls = PathBuf::from(&c["PG_TLS"]);
    Connect {
        host: c["PG_HOST"].clone(),
        hostaddr: Some(c["PG_HOSTADDR"].parse().unwrap()),
        port: c["PG_PORT"].parse().unwrap(),
        dbname: db.to_owned(),
        user: name.to_owned(),
        password: Some(password(name)),
        ca: Some(tls.join("ca.crt")),
        cert: Some((tls.join(format!("{name}.crt")), tls.join(format!("{name}.key")))),
    }
}

/// A new database with the store, departments 城东 and 城西 and the test users:
/// admin1, auditor1, insp_east, insp_west, cmd_east, cmd_west, w1…w8 (inspectors of 城东; w8 a commander).
pub fn fresh_store(name: &str) -> String {
    // Roles are the cluster's: one test at a time alters them.
    static ROLES: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ROLES.lock().unwrap_or_else(|e| e.into_inner());
    let db = format!("jw_{name}_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    psql("postgres", &format!("CREATE DATABASE {db}"));
    Shared::init(&superuser(&db)).expect("store init");
    let mut su = Shared::open(&superuser(&db)).expect("superuser opens");
    su.add_department("城东", "城东区").unwrap();
    su.add_department("城西", "城西区").unwrap();
    su.add_user("admin1", Role::Admin, None, &password("admin1")).unwrap();
    su.add_user("auditor1", Role::Auditor, None, &password("auditor1")).unwrap();
    for (u, r, d) in [
        ("insp_east", Role::Inspector, "城东"),
        ("insp_west", Role::Inspector, "城西"),
        ("cmd_east", Role::Commander, "城东"),
        ("cmd_west", Role::Commander, "城西"),
    ] {
        su.add_user(u, r, Some(d), &password(u)).unwrap();
    }
    for i in 1..=8 {
        let u = format!("w{i}");
        let r = if i == 8 { Role::Commander } else { Role::Inspector };
        su.add_user(&u, r, Some("城东"), &password(&u)).unwrap();
    }
    db
}

pub fn open(db: &str, name: &str) -> Shared {
    Shared::open(&user(db, name)).unwrap_or_else(|e| panic!("{name} logs in: {e}"))
}
