//! The real server on 127.0.0.1 before a fresh store of the throwaway cluster
//! (scripts/pg-store.sh), with its gateway login: for the API tests and the benchmark.
#![allow(dead_code)]

#[path = "../../../store/tests/support/mod.rs"]
pub mod support;

use jingwei_app::gateway::Gateway;
use jingwei_app::shared::StoreAt;
use jingwei_store::{Role, Shared};
use std::path::{Path, PathBuf};
use support::*;

/// A fresh store `name` with gateway `gw1`, served over the cluster's TLS files; answers the
/// server, the database and the folder of the TLS files.
pub fn start_server(name: &str, data_key: Option<&Path>, crl: Option<PathBuf>) -> (jingwei_serve::Server, String, PathBuf) {
    let db = fresh_store(name);
    Shared::open(&superuser(&db))
        .unwrap()
        .add_user("gw1", Role::Gateway, None, &password("gw1"))
        .unwrap();
    let gateway = Gateway::open(&StoreAt::Postgres(user(&db, "gw1")), data_key).expect("the gateway logs in");
    let tls = PathBuf::from(&cluster()["PG_TLS"]);
    let server = jingwei_serve::start(
        gateway,
        "127.0.0.1:0".parse().unwrap(),
        &jingwei_serve::Tls {
            cert: tls.join("server.crt"),
            key: tls.join("server.key"),
            client_ca: tls.join("ca.crt"),
            client_crl: crl,
        },
        false,
    )
    .expect("the server starts");
    (server, db, tls)
}
