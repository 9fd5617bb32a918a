//! `jingwei store …` and `jingwei audit …` end to end against the throwaway PostgreSQL +
//! PostGIS cluster of scripts/pg-store.sh (TLS, password and client certificate), as an
//! administrator, an inspector, a commander and an auditor would use them; and `jingwei audit
//! verify` on a workspace GeoPackage. The answers are the application API's (checked once).

#[path = "../../store/tests/support/pg_cluster.rs"]
mod pg_cluster;

use pg_cluster::{cluster, psql};
use std::collections::HashMap;
use std::process::{Command, Output};

/// The cluster's roles are shared: one test at a time makes and alters them.
static ROLES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn url(c: &HashMap<String, String>, db: &str, who: &str) -> String {
    if who == "postgres" {
        return format!("postgresql://postgres@localhost:{}/{db}?host={}", c["PG_PORT"], c["PG_SOCKET"]);
    }
    let t = &c["PG_TLS"];
    format!(
        "postgresql://{who}@{}:{}/{db}?hostaddr={}&sslrootcert={t}/ca.crt&sslcert={t}/{who}.crt&sslkey={t}/{who}.key",
        c["PG_HOST"], c["PG_PORT"], c["PG_HOSTADDR"]
    )
}

fn jw(who: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(args)
        .env("PGPASSWORD", format!("{who}-password"))
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(o: &Output) -> String {
    assert!(!o.status.success(), "went through: {}", String::from_utf8_lossy(&o.stdout));
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
    e
}

#[test]
fn a_bureau_sets_up_works_and_audits_its_shared_store_from_the_command_line() {
    let _one = ROLES.lock().unwrap_or_else(|e| e.into_inner());
    let c = cluster().clone();
    let db = format!("jw_cli_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    psql("postgres", &format!("CREATE DATABASE {db}"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let su = url(&c, &db, "postgres");
    let init: serde_json::Value = serde_json::from_str(&ok(&jw("postgres", &["store", "init", "-s", &su, "--json"]))).unwrap();
    assert_eq!(init["applied"], serde_json::json!([1, 2, 3]));
    // Again: nothing to do.
    let again: serde_json::Value = serde_json::from_str(&ok(&jw("postgres", &["store", "migrate", "-s", &su, "--json"]))).unwrap();
    assert_eq!(again["applied"], serde_json::json!([]));
    ok(&jw("postgres", &["store", "department", "城东", "城东区", "-s", &su]));
    for (who, role, dept) in [
        ("insp_east", "inspector", Some("城东")),
        ("cmd_east", "commander", Some("城东")),
        ("auditor1", "auditor", None),
    ] {
        let pw = d.join(format!("{who}.pw"));
        std::fs::write(&pw, format!("{who}-password\n")).unwrap();
        let mut args = vec![
            "store",
            "user",
            who,
            "--role",
            role,
            "--password-file",
            pw.to_str().unwrap(),
            "-s",
            &su,
        ];
        if let Some(dp) = dept {
            args.extend(["--department", dp]);
        }
        ok(&jw("postgres", &args));
    }
    let e = refused(&jw(
        "postgres",
        &[
            "store",
            "user",
            "x",
            "--role",
            "chief",
            "--password-file",
            "/nonexistent",
            "-s",
            &su,
        ],
    ));
    assert!(e.contains("/nonexistent"), "{e}");

    let insp = url(&c, &db, "insp_east");
    let cmd = url(&c, &db, "cmd_east");
    let who: serde_json::Value = serde_json::from_str(&ok(&jw("insp_east", &["store", "whoami", "-s", &insp, "--json"]))).unwrap();
    assert_eq!(
        (who["role"].as_str(), who["department"].as_str()),
        (Some("inspector"), Some("城东"))
    );
    // A wrong password is one line naming the store.
    let bad = Command::new(env!("CARGO_BIN_EXE_jingwei"))
        .args(["store", "whoami", "-s", &insp])
        .env("PGPASSWORD", "wrong-password")
        .output()
        .unwrap();
    let e = refused(&bad);
    assert!(e.contains("insp_east@localhost"), "{e}");

    // Personal fields need the data key.
    let key = d.join("data.key");
    ok(&jw("insp_east", &["store", "data-key", key.to_str().unwrap()]));
    let e = refused(&jw(
        "insp_east",
        &[
            "store",
            "flag",
            "--title",
            "违建",
            "--at",
            "121.5,31.23",
            "--phone",
            "13912345678",
            "-s",
            &insp,
        ],
    ));
    assert!(e.contains("data key"), "{e}");
    let flagged: serde_json::Value = serde_json::from_str(&ok(&jw(
        "insp_east",
        &[
            "store",
            "flag",
            "--title",
            "违建",
            "--at",
            "121.5,31.23",
            "--phone",
            "13912345678",
            "--data-key",
            key.to_str().unwrap(),
            "-s",
            &insp,
            "--json",
        ],
    )))
    .unwrap();
    let id = flagged["id"].as_i64().unwrap().to_string();
    assert_eq!(flagged["phone"], "13912345678");
    assert_eq!(flagged["version"], 1);
    ok(&jw(
        "insp_east",
        &[
            "store",
            "set-status",
            &id,
            "confirmed",
            "--version",
            "1",
            "--comment",
            "现场核实",
            "-s",
            &insp,
        ],
    ));
    // A stale write names who changed it and both versions.
    let e = refused(&jw(
        "cmd_east",
        &["store", "set-status", &id, "dismissed", "--version", "1", "-s", &cmd],
    ));
    assert!(
        e.contains("insp_east") && e.contains("version 2") && e.contains("read version 1"),
        "{e}"
    );
    // Only commanders close.
    let e = refused(&jw("insp_east", &["store", "set-status", &id, "closed", "-s", &insp]));
    assert!(e.contains("only commanders"), "{e}");
    ok(&jw("cmd_east", &["store", "set-status", &id, "closed", "-s", &cmd]));
    let listed = ok(&jw("insp_east", &["store", "cases", "-s", &insp, "--json"]));
    let cases: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(cases[0]["status"], "closed");
    assert_eq!(cases[0]["personal_sealed"], true, "no key given: sealed");
    // The same answer as the application API's.
    let with_pw = insp.replacen("insp_east@", "insp_east:insp_east-password@", 1);
    let api = jingwei_app::shared::shared_cases(&jingwei_app::shared::StoreAt::parse(&with_pw).unwrap(), None, &[]).unwrap();
    assert_eq!(serde_json::to_value(&api).unwrap(), cases);

    // Field work without a network: check out, work with `jingwei cases`, check in.
    let field = d.join("field.gpkg");
    let co: serde_json::Value = serde_json::from_str(&ok(&jw(
        "insp_east",
        &["store", "checkout", field.to_str().unwrap(), "-s", &insp, "--json"],
    )))
    .unwrap();
    assert_eq!(co["cases"], 1);
    let local: serde_json::Value =
        serde_json::from_str(&ok(&jw("x", &["cases", "list", "-w", field.to_str().unwrap(), "--json"]))).unwrap();
    let lid = local[0]["id"].to_string();
    ok(&jw(
        "x",
        &[
            "cases",
            "note",
            &lid,
            "离线补充材料",
            "-w",
            field.to_str().unwrap(),
            "--actor",
            "insp_east",
        ],
    ));
    let ci: serde_json::Value = serde_json::from_str(&ok(&jw(
        "insp_east",
        &["store", "checkin", field.to_str().unwrap(), "-s", &insp, "--json"],
    )))
    .unwrap();
    assert_eq!(
        (ci["notes"].as_i64(), ci["conflicts"].as_array().map(Vec::len)),
        (Some(1), Some(0)),
        "{ci}"
    );
    let e = refused(&jw("insp_east", &["store", "checkin", field.to_str().unwrap(), "-s", &insp]));
    assert!(e.contains("already checked in"), "{e}");

    // The auditor's key, a checkpoint kept outside, verify; then a superuser's edit is named.
    let akey = d.join("auditor.pem");
    ok(&jw("auditor1", &["audit", "keygen", akey.to_str().unwrap()]));
    let pubkey = d.join("auditor.pem.pub");
    let kept = d.join("checkpoints.jsonl");
    let aud = url(&c, &db, "auditor1");
    ok(&jw(
        "auditor1",
        &[
            "audit",
            "checkpoint",
            "-s",
            &aud,
            "--key",
            akey.to_str().unwrap(),
            "--keep",
            kept.to_str().unwrap(),
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&ok(&jw(
        "auditor1",
        &[
            "audit",
            "verify",
            "-s",
            &aud,
            "--pubkey",
            pubkey.to_str().unwrap(),
            "--kept",
            kept.to_str().unwrap(),
            "--json",
        ],
    )))
    .unwrap();
    assert!(
        v["broken"].is_null() && v["checkpoints"] == 1 && v["signatures_checked"] == true,
        "{v}"
    );
    // Inspectors cannot read the audit.
    let e = refused(&jw("insp_east", &["audit", "verify", "-s", &insp]));
    assert!(e.contains("permission denied"), "{e}");
    psql(
        &db,
        "SET session_replication_role = replica; UPDATE jingwei.audit SET actor = 'nobody' WHERE seq = 3",
    );
    let o = jw(
        "auditor1",
        &[
            "audit",
            "verify",
            "-s",
            &aud,
            "--pubkey",
            pubkey.to_str().unwrap(),
            "--kept",
            kept.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("BROKEN at row 3"), "{text}");

    // A workspace GeoPackage's chain, the same way.
    let w = d.join("w.gpkg");
    ok(&jw(
        "x",
        &[
            "cases",
            "flag",
            "-w",
            w.to_str().unwrap(),
            "--wkt",
            "POINT (121.5 31.23)",
            "--in",
            "EPSG:4490",
            "--title",
            "本地案件",
        ],
    ));
    let o = ok(&jw("x", &["audit", "verify", "-s", w.to_str().unwrap(), "--json"]));
    let v: serde_json::Value = serde_json::from_str(&o).unwrap();
    assert!(v["broken"].is_null() && v["rows"].as_i64().unwrap() >= 1, "{v}");
}

/// `jingwei store user … --role gateway` and `jingwei serve`: the field-app API from the command
/// line, answering curl with what `jingwei store cases` answers.
#[test]
fn the_field_app_api_runs_from_the_command_line() {
    let _one = ROLES.lock().unwrap_or_else(|e| e.into_inner());
    use std::io::BufRead;
    let c = cluster().clone();
    let db = format!("jw_cli_serve_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    psql("postgres", &format!("CREATE DATABASE {db}"));
    let dir = tempfile::tempdir().unwrap();
    let su = url(&c, &db, "postgres");
    ok(&jw("postgres", &["store", "init", "-s", &su]));
    ok(&jw("postgres", &["store", "department", "城东", "城东区", "-s", &su]));
    for (who, role) in [("insp_east", "inspector"), ("gw1", "gateway")] {
        let pw = dir.path().join(format!("{who}.pw"));
        std::fs::write(&pw, format!("{who}-password\n")).unwrap();
        let mut args = vec![
            "store",
            "user",
            who,
            "--role",
            role,
            "--password-file",
            pw.to_str().unwrap(),
            "-s",
            &su,
        ];
        if role == "inspector" {
            args.extend(["--department", "城东"]);
        }
        ok(&jw("postgres", &args));
    }
    let insp = url(&c, &db, "insp_east");
    ok(&jw(
        "insp_east",
        &["store", "flag", "--title", "违建", "--at", "121.5,31.23", "-s", &insp],
    ));
    let t = std::path::PathBuf::from(&c["PG_TLS"]);
    let serve = |who: &str| {
        Command::new(env!("CARGO_BIN_EXE_jingwei"))
            .args([
                "serve",
                "-s",
                &url(&c, &db, who),
                "--listen",
                "127.0.0.1:0",
                "--quiet",
                "--tls-cert",
            ])
            .arg(t.join("server.crt"))
            .arg("--tls-key")
            .arg(t.join("server.key"))
            .arg("--client-ca")
            .arg(t.join("ca.crt"))
            .env("PGPASSWORD", format!("{who}-password"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // An inspector's login is no gateway: refused in one line.
    let not_gateway = serve("insp_east").wait_with_output().unwrap();
    let e = refused(&not_gateway);
    assert!(e.contains("no gateway"), "{e}");
    let mut child = serve("gw1");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line
        .split("https://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let got = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(t.join("ca.crt"))
        .arg("--cert")
        .arg(t.join("insp_east.crt"))
        .arg("--key")
        .arg(t.join("insp_east.key"))
        .args([
            "-u",
            "insp_east:insp_east-password",
            &format!("https://{addr}/collections/cases/items"),
        ])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let fc: serde_json::Value =
        serde_json::from_slice(&got.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&got.stderr)));
    let cli: serde_json::Value = serde_json::from_str(&ok(&jw("insp_east", &["store", "cases", "-s", &insp, "--json"]))).unwrap();
    assert_eq!(fc["numberMatched"], 1);
    assert_eq!(fc["features"][0]["id"], cli[0]["id"]);
    assert_eq!(fc["features"][0]["properties"]["case_no"], cli[0]["case_no"]);
    assert_eq!(fc["features"][0]["properties"]["version"], cli[0]["version"]);
}
