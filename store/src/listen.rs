//! Live updates: a second connection that LISTENs on channel `jingwei`. A notification names
//! only `table:id`; the client re-reads the row through its own rights (notifications are seen
//! by every listener, whatever their department). After a dropped connection the listener logs
//! in again and says [`Change::Resync`]: re-read everything, something may have been missed.

use crate::{Connect, Result, error_of};
use postgres::fallible_iterator::FallibleIterator;
use std::time::{Duration, Instant};

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A row of a table (`cases`, `incidents`) changed, or a note, attachment or log entry of it.
    Row {
        /// `cases` or `incidents`.
        table: String,
        /// The row.
        id: i64,
    },
    /// The connection was lost and is back: re-read what is shown.
    Resync,
}

/// A listening connection.
pub struct Listener {
    connect: Connect,
    client: Option<postgres::Client>,
}

impl Listener {
    /// Log in and listen.
    pub fn open(connect: &Connect) -> Result<Listener> {
        let mut l = Listener {
            connect: connect.clone(),
            client: None,
        };
        l.client = Some(l.login()?);
        Ok(l)
    }

    fn login(&self) -> Result<postgres::Client> {
        let mut c = self.connect.client()?;
        c.batch_execute("LISTEN jingwei")
            .map_err(|e| error_of(&self.connect.target(), "listening", e))?;
        Ok(c)
    }

    /// Wait up to `timeout` for the next change. Reconnects (retrying until the timeout) when
    /// the connection dropped, then answers [`Change::Resync`].
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Change>> {
        let until = Instant::now() + timeout;
        loop {
            if self.client.is_none() {
                match self.login() {
                    Ok(c) => {
                        self.client = Some(c);
                        return Ok(Some(Change::Resync));
                    }
                    Err(e) => {
                        if Instant::now() >= until {
                            return Err(e);
                        }
                        std::thread::sleep(Duration::from_millis(200).min(until.saturating_duration_since(Instant::now())));
                        continue;
                    }
                }
            }
            let client = self.client.as_mut().expect("logged in above");
            let left = until.saturating_duration_since(Instant::now());
            let got = client.notifications().timeout_iter(left).next();
            match got {
                Ok(Some(n)) => {
                    let (table, id) = n.payload().split_once(':').unwrap_or((n.payload(), ""));
                    match id.parse() {
                        Ok(id) => {
                            return Ok(Some(Change::Row {
                                table: table.to_owned(),
                                id,
                            }));
                        }
                        Err(_) => continue,
                    }
                }
                Ok(None) => {
                    // A timeout, or a connection that dropped meanwhile.
                    if client.is_closed() {
                        self.client = None;
                        continue;
                    }
                    return Ok(None);
                }
                Err(_) => {
                    self.client = None;
                }
            }
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Listener({})", self.connect.target())
    }
}
