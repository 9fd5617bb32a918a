//! `jingwei serve`: the field-app API (OGC API – Features with Part 4 transactions) of the
//! shared store, over TLS with a client certificate and a password per user.

use anyhow::{Context, Result};
use jingwei_app::gateway::Gateway;
use jingwei_app::shared::StoreAt;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The shared store as the gateway login (`jingwei store user NAME --role gateway`):
    /// postgresql://GATEWAY@HOST:PORT/DB?sslrootcert=CA&sslcert=CRT&sslkey=KEY; password in
    /// PGPASSWORD.
    #[arg(long, short = 's')]
    store: String,
    /// Where to listen (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// The server's certificate chain (PEM).
    #[arg(long)]
    tls_cert: PathBuf,
    /// The server's private key (PEM).
    #[arg(long)]
    tls_key: PathBuf,
    /// The CA of the users' client certificates (PEM); a certificate's CN is its user.
    #[arg(long)]
    client_ca: PathBuf,
    /// The CA's certificate revocation list (PEM): revoked certificates (a lost phone) are
    /// refused during the handshake.
    #[arg(long)]
    client_crl: Option<PathBuf>,
    /// The SM4 data key: personal fields are shown and accepted (sealed) only with it.
    #[arg(long)]
    data_key: Option<PathBuf>,
    /// No line per request on stderr.
    #[arg(long)]
    quiet: bool,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let gateway = Gateway::open(&StoreAt::parse(&a.store)?, a.data_key.as_deref())?;
    let target = gateway.target();
    let tls = jingwei_serve::Tls {
        cert: a.tls_cert,
        key: a.tls_key,
        client_ca: a.client_ca,
        client_crl: a.client_crl,
    };
    let server = jingwei_serve::start(gateway, a.listen, &tls, !a.quiet)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("serving on {}", a.listen))?;
    let mut out = std::io::stdout();
    writeln!(
        out,
        "jingwei serve: https://{} — OGC API – Features of {target} (definition at /api)",
        server.addr()
    )?;
    out.flush()?;
    server.wait();
    Ok(ExitCode::SUCCESS)
}
