//! # jingwei-feeds
//!
//! Live hazard feeds for the emergency-command 一张图, without UI dependencies:
//! - parsers, each strict with a clear error for what it rejects: GeoJSON event feeds in the
//!   USGS earthquake style ([`quake`]), CAP 1.0–1.2 alerts and their Atom/RSS indexes ([`cap`],
//!   [`index`]; XML with a DTD — the door to external entities — is refused), and OGC
//!   SensorThings entities with per-datastream thresholds that raise events ([`sta`]);
//! - an [`EventStore`] that deduplicates events by id, applies updates and cancellations;
//! - a polling [`client`] (conditional requests, timeouts, retries with backoff and jitter, last
//!   good data kept, stale after missed polls);
//! - a local replay [`server`] for drills, demos and tests (recorded feeds on 127.0.0.1, events
//!   revealed over time, injected faults).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cap;
pub mod client;
pub mod dsig;
pub mod index;
pub mod quake;
pub mod server;
pub mod sta;
mod store;
pub mod time;
pub mod xmltext;

pub use store::{Change, ChangeKind, EventStore};

use serde::Serialize;

/// A feed document's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedFormat {
    /// A GeoJSON FeatureCollection of events (the USGS earthquake feeds' form).
    GeojsonEvents,
    /// One CAP alert.
    Cap,
    /// An Atom or RSS index of CAP alerts.
    CapIndex,
    /// OGC SensorThings API entities (Things, Datastreams, Observations).
    SensorThings,
}

impl FeedFormat {
    /// Parse a format name (`geojson`, `cap`, `cap-index`, `sensorthings`).
    pub fn from_name(s: &str) -> Option<FeedFormat> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "geojson" | "geojson-events" | "usgs" => Some(FeedFormat::GeojsonEvents),
            "cap" => Some(FeedFormat::Cap),
            "cap-index" | "atom" | "rss" => Some(FeedFormat::CapIndex),
            "sensorthings" | "sta" => Some(FeedFormat::SensorThings),
            _ => None,
        }
    }
}

/// What a message does to earlier ones (CAP `msgType`; other feeds only send alerts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgType {
    /// A new event.
    Alert,
    /// Replaces the events it references.
    Update,
    /// Withdraws the events it references.
    Cancel,
}

/// An area of an event (CAP `<area>`; a point feed's location), lon/lat WGS 84 degrees.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Area {
    /// Description.
    pub desc: String,
    /// Polygons as closed rings of (lon, lat).
    pub polygons: Vec<Vec<(f64, f64)>>,
    /// Circles: centre (lon, lat) and radius in metres.
    pub circles: Vec<((f64, f64), f64)>,
    /// Geocodes (name, value), e.g. ("SAME", "006109") or a Chinese administrative code.
    pub geocodes: Vec<(String, String)>,
}

/// One hazard event, whatever feed it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Identity across polls: the USGS id; CAP `sender,identifier`; SensorThings
    /// `datastream@phenomenonTime`.
    pub id: String,
    /// Which feed format it came from.
    pub format: FeedFormat,
    /// Alert, update or cancellation.
    pub msg_type: MsgType,
    /// Ids this message updates or cancels.
    pub references: Vec<String>,
    /// What happened: `earthquake`, the CAP event, `sensor_threshold`, …
    pub kind: String,
    /// One-line title.
    pub title: String,
    /// CAP severity (Extreme, Severe, Moderate, Minor, Unknown) or a derived one.
    pub severity: Option<String>,
    /// CAP urgency.
    pub urgency: Option<String>,
    /// CAP certainty.
    pub certainty: Option<String>,
    /// Magnitude (earthquakes) or the observed value (sensors).
    pub magnitude: Option<f64>,
    /// When it happened (ms since the Unix epoch).
    pub time_ms: Option<i64>,
    /// Version of this event (USGS `updated`, CAP `sent`): a newer one replaces an older one.
    pub version_ms: Option<i64>,
    /// When it expires.
    pub expires_ms: Option<i64>,
    /// A representative point (lon, lat).
    pub point: Option<(f64, f64)>,
    /// Areas.
    pub areas: Vec<Area>,
    /// Everything else the feed said, as JSON.
    pub properties: serde_json::Value,
}

impl Event {
    /// CAP: the rules the alert breaks, as `<element>: rule` (empty for a valid alert and for
    /// other feeds).
    pub fn cap_violations(&self) -> Vec<String> {
        self.properties["violations"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|x| format!("<{}>: {}", x["element"].as_str().unwrap_or(""), x["rule"].as_str().unwrap_or("")))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// CAP: the signature's status (`valid`, `invalid`, `unverified`, `unsigned`) and its
    /// detail; `None` for other feeds.
    pub fn signature(&self) -> Option<(String, Option<String>)> {
        let s = &self.properties["signature"];
        Some((s["status"].as_str()?.to_owned(), s["detail"].as_str().map(str::to_owned)))
    }

    /// The event's area as one lon/lat geometry: its polygons and circles (as 72-gons), or
    /// `None` for a point event.
    pub fn area(&self) -> Option<geo::Geometry> {
        use geo::{Coord, LineString, MultiPolygon, Polygon};
        let mut polys: Vec<Polygon> = Vec::new();
        for a in &self.areas {
            for r in &a.polygons {
                polys.push(Polygon::new(LineString::from(r.clone()), vec![]));
            }
            for ((lon, lat), radius) in a.circles.iter().filter(|c| c.1 > 0.0) {
                // Metres to degrees at this latitude (WGS 84 mean radii; plenty for a warning area).
                let (dx, dy) = (radius / (111_320.0 * lat.to_radians().cos().max(1e-6)), radius / 110_540.0);
                let ring: Vec<Coord> = (0..=72)
                    .map(|i| {
                        let t = f64::from(i) * std::f64::consts::TAU / 72.0;
                        Coord {
                            x: lon + dx * t.cos(),
                            y: lat + dy * t.sin(),
                        }
                    })
                    .collect();
                polys.push(Polygon::new(LineString::from(ring), vec![]));
            }
        }
        match polys.len() {
            0 => None,
            1 => polys.pop().map(geo::Geometry::Polygon),
            _ => Some(geo::Geometry::MultiPolygon(MultiPolygon(polys))),
        }
    }
}

/// Why a feed document was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeedError {
    /// Not the format expected (or none recognised).
    #[error("not a recognised feed document: {0}")]
    Unrecognised(String),
    /// Not well-formed JSON.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// Not well-formed XML, or XML with a DTD.
    #[error("malformed or unsafe XML: {0}")]
    Xml(String),
    /// Well-formed, but breaks the format's rules.
    #[error("{0}")]
    Invalid(String),
    /// A feed that cannot be set up (a URL that is not one, an HTTP client that cannot start).
    #[error("{0}")]
    Config(String),
}

/// What a feed document holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parsed {
    /// The format.
    pub format: FeedFormat,
    /// Events.
    pub events: Vec<Event>,
    /// For an index: the alerts it lists (link, last update).
    pub entries: Vec<index::Entry>,
}

/// Guess the format of a document from its first bytes and root element.
pub fn detect(bytes: &[u8]) -> Option<FeedFormat> {
    let text = std::str::from_utf8(bytes).ok()?;
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        let v: serde_json::Value = serde_json::from_str(t).ok()?;
        if v["type"] == "FeatureCollection" {
            return Some(FeedFormat::GeojsonEvents);
        }
        return Some(FeedFormat::SensorThings);
    }
    if t.starts_with('<') {
        // The root element's local name decides.
        let after_decl = t.find("?>").map_or(t, |i| &t[i + 2..]);
        let mut rest = after_decl;
        loop {
            rest = rest.trim_start();
            if rest.starts_with("<!--") {
                rest = rest.find("-->").map_or("", |i| &rest[i + 3..]);
            } else if rest.starts_with("<?") {
                rest = rest.find("?>").map_or("", |i| &rest[i + 2..]);
            } else {
                break;
            }
        }
        let name: String = rest
            .trim_start_matches('<')
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        let local = name.rsplit(':').next().unwrap_or("");
        return match local {
            "alert" => Some(FeedFormat::Cap),
            "feed" | "rss" => Some(FeedFormat::CapIndex),
            _ => None,
        };
    }
    None
}

/// True for bytes that start (after a byte-order mark and white space) like an XML document.
fn looks_like_xml(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    b.starts_with(b"\xFF\xFE") || b.starts_with(b"\xFE\xFF") || b.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'<')
}

/// Standard base64 with white space ignored (as XML Signature values are wrapped).
pub(crate) fn base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let clean: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// Options of parsing.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Thresholds of SensorThings datastreams.
    pub thresholds: sta::Thresholds,
    /// How CAP alerts are checked: strict or lenient, and the certificates trusted.
    pub cap: cap::CapOptions,
}

/// Parse a feed document (format given, or detected).
pub fn parse(bytes: &[u8], format: Option<FeedFormat>, opts: &ParseOptions) -> Result<Parsed, FeedError> {
    // XML in whatever encoding it declares becomes UTF-8 first, so that a DTD hidden in UTF-16
    // or GBK is still seen and the root element still recognised.
    let decoded = if looks_like_xml(bytes) {
        Some(xmltext::to_utf8(bytes)?)
    } else {
        None
    };
    let bytes = decoded.as_deref().map_or(bytes, str::as_bytes);
    let head = &bytes[..bytes.len().min(4096)];
    if head.windows(9).any(|w| w == b"<!DOCTYPE") || head.windows(8).any(|w| w == b"<!ENTITY") {
        return Err(FeedError::Xml("a DTD or entity declaration is not allowed in a feed".into()));
    }
    let format = match format.or_else(|| detect(bytes)) {
        Some(f) => f,
        None => {
            let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
            return Err(FeedError::Unrecognised(format!("starts with {head:?}")));
        }
    };
    let (events, entries) = match format {
        FeedFormat::GeojsonEvents => (quake::parse(bytes)?, Vec::new()),
        FeedFormat::Cap => match &decoded {
            Some(text) => (vec![cap::parse_text(text, &opts.cap)?], Vec::new()),
            None => (vec![cap::parse_with(bytes, &opts.cap)?], Vec::new()),
        },
        FeedFormat::CapIndex => match &decoded {
            Some(text) => (Vec::new(), index::parse_text(text)?),
            None => (Vec::new(), index::parse(bytes)?),
        },
        FeedFormat::SensorThings => (sta::parse(bytes, &opts.thresholds)?, Vec::new()),
    };
    Ok(Parsed { format, events, entries })
}
