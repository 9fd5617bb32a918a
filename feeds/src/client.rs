//! The polling client: one [`Feed`] per URL. Each poll sends a conditional request (ETag /
//! Last-Modified) with a timeout, retries server errors and network failures with exponential
//! backoff and jitter, parses the body strictly and applies the events to the feed's
//! [`EventStore`]. A poll that fails (after its retries) or brings a malformed document keeps
//! the last good data; after `stale_after` failed polls in a row the feed is stale until one
//! succeeds. For an Atom/RSS index of CAP alerts each listed alert is fetched once (again when
//! its entry's update time changes).

use crate::{Change, EventStore, FeedFormat, ParseOptions, parse};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// How to poll a feed.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// The URL.
    pub url: String,
    /// The format (detected from each document when `None`).
    pub format: Option<FeedFormat>,
    /// Time between polls.
    pub interval: Duration,
    /// Time limit of one request.
    pub timeout: Duration,
    /// Extra attempts of a failed request within one poll.
    pub retries: u32,
    /// The first retry's delay; each further one doubles, with ±50 % jitter.
    pub backoff: Duration,
    /// Failed polls in a row after which the feed is stale.
    pub stale_after: u32,
    /// Parser options (SensorThings thresholds).
    pub parse: ParseOptions,
}

impl FeedConfig {
    /// Defaults for `url`: poll every 60 s, 10 s timeout, 3 retries from 0.5 s, stale after 3.
    pub fn new(url: &str) -> FeedConfig {
        FeedConfig {
            url: url.to_string(),
            format: None,
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            retries: 3,
            backoff: Duration::from_millis(500),
            stale_after: 3,
            parse: ParseOptions::default(),
        }
    }
}

/// The health of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// The last poll (or one of the last `stale_after`) succeeded.
    Live,
    /// `stale_after` polls in a row failed; the data shown is the last good one.
    Stale,
}

/// How a poll went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// A document was fetched and parsed.
    Fetched {
        /// Events in it.
        events: usize,
    },
    /// The server said nothing changed (304).
    NotModified,
    /// The poll failed; the last good data is kept.
    Failed {
        /// Why.
        error: String,
    },
}

/// What one poll did.
#[derive(Debug, Clone, Serialize)]
pub struct PollReport {
    /// New, updated and cancelled events.
    pub changes: Vec<Change>,
    /// How it went.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// A change of health (stale, or live again).
    pub health_change: Option<Health>,
    /// Requests sent (retries included).
    pub requests: u32,
}

/// A polled feed.
pub struct Feed {
    cfg: FeedConfig,
    http: reqwest::Client,
    etag: Option<String>,
    last_modified: Option<String>,
    store: EventStore,
    failures_in_row: u32,
    health: Health,
    /// Index entries fetched: id → update time.
    fetched_entries: HashMap<String, Option<i64>>,
    rng: u64,
    last_error: Option<String>,
}

enum Fetch {
    Body(Vec<u8>, Option<String>, Option<String>),
    NotModified,
}

impl Feed {
    /// A feed for `cfg` (nothing is fetched yet).
    pub fn new(cfg: FeedConfig) -> Result<Feed, crate::FeedError> {
        reqwest::Url::parse(&cfg.url).map_err(|e| crate::FeedError::Config(format!("{}: not a URL ({e})", cfg.url)))?;
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .user_agent(concat!("jingwei/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| crate::FeedError::Config(format!("cannot start the HTTP client: {e}")))?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        Ok(Feed {
            cfg,
            http,
            etag: None,
            last_modified: None,
            store: EventStore::default(),
            failures_in_row: 0,
            health: Health::Live,
            fetched_entries: HashMap::new(),
            rng: seed,
            last_error: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FeedConfig {
        &self.cfg
    }

    /// The current events (the last good data).
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Health.
    pub fn health(&self) -> Health {
        self.health
    }

    /// The last poll's error, if it failed.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    fn jitter(&mut self) -> f64 {
        // xorshift64*: enough to spread retries of many clients apart.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        0.5 + (r >> 11) as f64 / (1u64 << 53) as f64
    }

    /// GET `url` (conditionally when `conditional`), retrying server errors and network
    /// failures.
    async fn fetch(&mut self, url: &str, conditional: bool, requests: &mut u32) -> Result<Fetch, String> {
        let mut last = String::new();
        for attempt in 0..=self.cfg.retries {
            if attempt > 0 {
                let d = self.cfg.backoff.mul_f64(f64::from(1u32 << (attempt - 1).min(10)) * self.jitter());
                tokio::time::sleep(d).await;
            }
            *requests += 1;
            let mut req = self.http.get(url);
            if conditional {
                if let Some(e) = &self.etag {
                    req = req.header(reqwest::header::IF_NONE_MATCH, e);
                }
                if let Some(m) = &self.last_modified {
                    req = req.header(reqwest::header::IF_MODIFIED_SINCE, m);
                }
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = format!("{url}: {}", error_chain(&e));
                    continue;
                }
            };
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_MODIFIED {
                return Ok(Fetch::NotModified);
            }
            if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                last = format!("{url}: HTTP {status}");
                continue;
            }
            if !status.is_success() {
                return Err(format!("{url}: HTTP {status}"));
            }
            let header = |h: reqwest::header::HeaderName| resp.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
            let (etag, modified) = (header(reqwest::header::ETAG), header(reqwest::header::LAST_MODIFIED));
            match resp.bytes().await {
                Ok(b) => return Ok(Fetch::Body(b.to_vec(), etag, modified)),
                Err(e) => last = format!("{url}: body cut short ({})", error_chain(&e)),
            }
        }
        Err(last)
    }

    /// Poll once.
    pub async fn poll(&mut self) -> PollReport {
        let mut requests = 0;
        let mut changes = Vec::new();
        let url = self.cfg.url.clone();
        let result: Result<Outcome, String> = async {
            match self.fetch(&url, true, &mut requests).await? {
                Fetch::NotModified => Ok(Outcome::NotModified),
                Fetch::Body(body, etag, modified) => {
                    let parsed = parse(&body, self.cfg.format, &self.cfg.parse).map_err(|e| format!("{url}: {e}"))?;
                    let mut n = parsed.events.len();
                    for e in parsed.events {
                        changes.extend(self.store.apply(e));
                    }
                    // An index: fetch the alerts not fetched yet (or updated since).
                    let mut entry_error = None;
                    for entry in &parsed.entries {
                        if self.fetched_entries.get(&entry.id) == Some(&entry.updated_ms) {
                            continue;
                        }
                        let link = reqwest::Url::parse(&url)
                            .and_then(|base| base.join(&entry.link))
                            .map(|u| u.to_string())
                            .unwrap_or_else(|_| entry.link.clone());
                        let got = match self.fetch(&link, false, &mut requests).await {
                            Ok(Fetch::Body(b, ..)) => crate::cap::parse_with(&b, &self.cfg.parse.cap).map_err(|e| format!("{link}: {e}")),
                            Ok(Fetch::NotModified) => Err(format!("{link}: unexpected 304")),
                            Err(e) => Err(e),
                        };
                        match got {
                            Ok(ev) => {
                                changes.extend(self.store.apply(ev));
                                self.fetched_entries.insert(entry.id.clone(), entry.updated_ms);
                                n += 1;
                            }
                            // Fetched again at the next poll; the others are kept.
                            Err(e) => entry_error = Some(e),
                        }
                    }
                    if let Some(e) = entry_error {
                        return Err(e);
                    }
                    // Only a fully processed document may answer later polls with 304.
                    self.etag = etag;
                    self.last_modified = modified;
                    Ok(Outcome::Fetched { events: n })
                }
            }
        }
        .await;
        let (outcome, health_change) = match result {
            Ok(o) => {
                self.failures_in_row = 0;
                self.last_error = None;
                let change = (self.health == Health::Stale).then_some(Health::Live);
                self.health = Health::Live;
                (o, change)
            }
            Err(error) => {
                self.failures_in_row += 1;
                self.last_error = Some(error.clone());
                let change = (self.health == Health::Live && self.failures_in_row >= self.cfg.stale_after).then_some(Health::Stale);
                if change.is_some() {
                    self.health = Health::Stale;
                }
                (Outcome::Failed { error }, change)
            }
        };
        PollReport {
            changes,
            outcome,
            health_change,
            requests,
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
