//! How to reach the store: a libpq-style URL (`postgresql://user@host:port/db`) with TLS
//! settings. Over the network the server's certificate is always verified against the given
//! CA (libpq's `verify-full`), and a client certificate is presented when given (the second
//! factor next to the password when the server's `pg_hba.conf` says `clientcert=verify-full`).
//! A host that is a folder (a Unix socket) goes without TLS.

use crate::{Result, StoreError};
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use postgres::config::Host;
use std::path::PathBuf;
use std::str::FromStr;

/// Where and as whom to connect.
#[derive(Clone)]
pub struct Connect {
    /// Host name (checked against the server's certificate) or a Unix socket folder.
    pub host: String,
    /// Address to connect to instead of resolving `host` (libpq's `hostaddr`).
    pub hostaddr: Option<std::net::IpAddr>,
    /// Port.
    pub port: u16,
    /// Database.
    pub dbname: String,
    /// The user's own role.
    pub user: String,
    /// The password (SCRAM); `PGPASSWORD` when `None`.
    pub password: Option<String>,
    /// The CA that signed the server's certificate (libpq's `sslrootcert`).
    pub ca: Option<PathBuf>,
    /// The client certificate (`sslcert`) and its key (`sslkey`).
    pub cert: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.target())
    }
}

impl Connect {
    /// Parse `postgresql://user[:password]@host[:port]/db[?hostaddr=…&sslrootcert=…&sslcert=…&sslkey=…]`.
    pub fn parse(url: &str) -> Result<Connect> {
        let bad = |why: String| StoreError::Invalid(format!("store address '{}': {why}", redact(url)));
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut c = Connect {
            host: String::new(),
            hostaddr: None,
            port: 5432,
            dbname: String::new(),
            user: String::new(),
            password: None,
            ca: None,
            cert: None,
        };
        let mut cert = None;
        let mut key = None;
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').ok_or_else(|| bad(format!("'{kv}' is not key=value")))?;
            match k {
                "hostaddr" => c.hostaddr = Some(v.parse().map_err(|_| bad(format!("hostaddr '{v}' is not an IP address")))?),
                "sslrootcert" => c.ca = Some(PathBuf::from(v)),
                "sslcert" => cert = Some(PathBuf::from(v)),
                "sslkey" => key = Some(PathBuf::from(v)),
                "sslmode" if v == "verify-full" => {}
                "sslmode" => {
                    return Err(bad(
                        "only sslmode=verify-full is supported (the server's certificate is always checked)".into(),
                    ));
                }
                "host" => c.host = v.to_owned(),
                "port" => c.port = v.parse().map_err(|_| bad(format!("port '{v}'")))?,
                _ => return Err(bad(format!("unknown setting '{k}'"))),
            }
        }
        c.cert = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => return Err(bad("sslcert and sslkey go together".into())),
        };
        let config = postgres::Config::from_str(base).map_err(|e| bad(e.to_string()))?;
        if let Some(u) = config.get_user() {
            c.user = u.to_owned();
        }
        if let Some(p) = config.get_password() {
            c.password = Some(String::from_utf8_lossy(p).into_owned());
        }
        if let Some(d) = config.get_dbname() {
            c.dbname = d.to_owned();
        }
        if c.host.is_empty() {
            match config.get_hosts().first() {
                Some(Host::Tcp(h)) => c.host = h.clone(),
                Some(Host::Unix(p)) => c.host = p.display().to_string(),
                None => return Err(bad("no host".into())),
            }
        }
        if let Some(p) = config.get_ports().first() {
            c.port = *p;
        }
        if c.user.is_empty() {
            return Err(bad("no user (postgresql://USER@host/db)".into()));
        }
        if c.dbname.is_empty() {
            c.dbname = c.user.clone();
        }
        Ok(c)
    }

    /// The same place as another user.
    pub fn as_user(&self, user: &str, password: Option<&str>, cert: Option<(PathBuf, PathBuf)>) -> Connect {
        Connect {
            user: user.to_owned(),
            password: password.map(str::to_owned),
            cert,
            ..self.clone()
        }
    }

    /// The same server, another database.
    pub fn with_dbname(&self, dbname: &str) -> Connect {
        Connect {
            dbname: dbname.to_owned(),
            ..self.clone()
        }
    }

    /// `user@host:port/db`, for messages (never the password).
    pub fn target(&self) -> String {
        format!("{}@{}:{}/{}", self.user, self.host, self.port, self.dbname)
    }

    fn is_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// A new client.
    pub(crate) fn client(&self) -> Result<postgres::Client> {
        let mut config = postgres::Config::new();
        config
            .user(&self.user)
            .dbname(&self.dbname)
            .port(self.port)
            .application_name("jingwei")
            .connect_timeout(std::time::Duration::from_secs(10))
            // A half-open connection (a cable pulled, a server gone) is noticed in about a minute.
            .keepalives_idle(std::time::Duration::from_secs(30));
        if self.is_socket() {
            config.host_path(&self.host);
        } else {
            config.host(&self.host);
        }
        if let Some(a) = self.hostaddr {
            config.hostaddr(a);
        }
        let password = self.password.clone().or_else(|| std::env::var("PGPASSWORD").ok());
        if let Some(p) = &password {
            config.password(p);
        }
        let target = self.target();
        let connect_err = |source| StoreError::Connect {
            target: target.clone(),
            source,
        };
        if self.is_socket() {
            return config.connect(postgres::NoTls).map_err(connect_err);
        }
        config.ssl_mode(postgres::config::SslMode::Require);
        let ca = self.ca.as_ref().ok_or_else(|| {
            StoreError::Invalid(format!(
                "{target}: no CA for the server's certificate (sslrootcert=…); the store is reached over TLS only"
            ))
        })?;
        let tls_err = |what: &str, e: openssl::error::ErrorStack| StoreError::Invalid(format!("{target}: {what}: {e}"));
        let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| tls_err("TLS", e))?;
        // Only the given CA: not the system's roots as well (libpq's sslrootcert with verify-full).
        let pem = std::fs::read(ca).map_err(|e| StoreError::Invalid(format!("{target}: CA file {}: {e}", ca.display())))?;
        let certs = openssl::x509::X509::stack_from_pem(&pem).map_err(|e| tls_err(&format!("CA file {}", ca.display()), e))?;
        if certs.is_empty() {
            return Err(StoreError::Invalid(format!("{target}: CA file {}: no certificate", ca.display())));
        }
        let mut store = openssl::x509::store::X509StoreBuilder::new().map_err(|e| tls_err("TLS", e))?;
        for c in certs {
            store.add_cert(c).map_err(|e| tls_err(&format!("CA file {}", ca.display()), e))?;
        }
        b.set_cert_store(store.build());
        b.set_verify(SslVerifyMode::PEER);
        if let Some((cert, key)) = &self.cert {
            b.set_certificate_chain_file(cert)
                .map_err(|e| tls_err(&format!("client certificate {}", cert.display()), e))?;
            b.set_private_key_file(key, SslFiletype::PEM)
                .map_err(|e| tls_err(&format!("client key {}", key.display()), e))?;
        }
        let tls = postgres_openssl::MakeTlsConnector::new(b.build());
        config.connect(tls).map_err(connect_err)
    }
}

fn redact(url: &str) -> String {
    // postgresql://user:secret@host → postgresql://user:***@host
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if url[s + 3..at].contains(':') => {
            let colon = s + 3 + url[s + 3..at].find(':').unwrap_or(0);
            format!("{}:***{}", &url[..colon], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_like_libpq_and_passwords_stay_out_of_messages() {
        let c = Connect::parse(
            "postgresql://insp_east@localhost:5433/city?hostaddr=127.0.0.1&sslrootcert=/t/ca.crt&sslcert=/t/a.crt&sslkey=/t/a.key",
        )
        .unwrap();
        assert_eq!(
            (c.user.as_str(), c.host.as_str(), c.port, c.dbname.as_str()),
            ("insp_east", "localhost", 5433, "city")
        );
        assert_eq!(c.hostaddr, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(c.ca.as_deref(), Some(std::path::Path::new("/t/ca.crt")));
        assert!(c.cert.is_some());
        let e = Connect::parse("postgresql://u:hunter2@h/db?sslmode=disable")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2") && e.contains("verify-full"), "{e}");
        assert!(Connect::parse("postgresql://u@h/db?sslcert=/a").is_err());
        assert!(Connect::parse("postgresql://h/db").is_err());
        assert_eq!(Connect::parse("postgresql://u@h").unwrap().dbname, "u");
    }
}
