//! The command panel's live feeds: the demo's recorded feeds served on 127.0.0.1 by the replay
//! server (nothing leaves the machine), polled on demand; events drawn on the map, and an
//! incident opened from any of them.

use geo::{Coord, Geometry, LineString, Point, Polygon};
use jingwei_cases::incidents::Incident;
use jingwei_feeds::cap::CapOptions;
use jingwei_feeds::client::{Feed, FeedConfig, Health, Outcome};
use jingwei_feeds::dsig::Trust;
use jingwei_feeds::server::{ServeOptions, serve};
use jingwei_feeds::sta::{Threshold, Thresholds};
use jingwei_feeds::{FeedFormat, ParseOptions};
use serde::Serialize;
use std::path::PathBuf;

use crate::emergency::{IncidentInput, circle, create_incident};
use crate::error::{Error, Result};
use crate::session::{FeedsState, Session};

/// A feed as the panel shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct FeedDto {
    /// Its place in the list (what [`Session::incident_from_event`] takes).
    pub index: usize,
    /// Name.
    pub name: String,
    /// URL.
    pub url: String,
    /// Healthy, stale, …
    pub health: Health,
    /// When it last answered.
    pub last_ok: Option<String>,
    /// Its last error.
    pub error: Option<String>,
    /// Its current events.
    pub events: Vec<EventDto>,
}

/// An event as the panel shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct EventDto {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind (CAP event, `earthquake`, …).
    pub kind: String,
    /// The incident type it would open.
    pub incident_type: &'static str,
    /// Severity.
    pub severity: Option<String>,
    /// When (ISO 8601).
    pub time: Option<String>,
    /// Where (CGCS2000 lon/lat).
    pub lonlat: Option<(f64, f64)>,
    /// CAP: whether the alert follows its CAP version's rules (`None` for other feeds).
    pub valid: Option<bool>,
    /// CAP: the rules it breaks, as `<element>: rule` (kept by a lenient feed).
    pub violations: Vec<String>,
    /// CAP: its XML signature — `valid`, `invalid`, `unverified` (signed, no certificate
    /// configured for the feed) or `unsigned`; `None` for other feeds.
    pub signature: Option<String>,
    /// The signer of a valid signature, or why an invalid one fails.
    pub signature_detail: Option<String>,
}

/// The folder of the demo's recorded feeds (beside its catalog).
pub fn demo_feeds_dir() -> PathBuf {
    crate::files::demo_catalog().parent().map(|d| d.join("feeds")).unwrap_or_default()
}

/// Lenient CAP checking, trusting every PEM certificate in `certs` (none when it is absent).
fn cap_options(certs: &std::path::Path) -> Result<CapOptions> {
    Ok(CapOptions {
        lenient: true,
        trust: Trust::from_pem_dir(certs).map_err(|e| Error::Invalid(e.to_string()))?,
    })
}

fn start(dir: &std::path::Path) -> Result<FeedsState> {
    let server = serve(dir, 0, ServeOptions::default()).map_err(|e| Error::io(dir, e))?;
    let base = server.url();
    // CAP alerts: kept when they break the standard (marked invalid in the panel), their
    // signatures checked against the certificates in the feeds' `certs/` folder.
    let cap = cap_options(&dir.join("certs"))?;
    let mk = |name: &str, path: &str, format: FeedFormat, thresholds: Vec<Threshold>| -> Result<(String, Feed, Option<String>)> {
        let cfg = FeedConfig {
            format: Some(format),
            parse: ParseOptions {
                thresholds: Thresholds(thresholds),
                cap: cap.clone(),
            },
            retries: 1,
            ..FeedConfig::new(&format!("{base}{path}"))
        };
        Ok((name.to_string(), Feed::new(cfg)?, None))
    };
    let feeds = vec![
        mk("预警信息 CAP（示意）", "cap/index.atom", FeedFormat::CapIndex, vec![])?,
        mk(
            "黄浦江水位 SensorThings（示意）",
            "gauge_lujiazui.json",
            FeedFormat::SensorThings,
            vec![Threshold::parse("黄浦江水位>4.8")?],
        )?,
    ];
    Ok(FeedsState { _server: server, feeds })
}

impl Session {
    /// Poll every feed once (starting the local replay server and the feeds on the first
    /// call); the events' areas and points are drawn on the map.
    pub async fn poll_feeds(&self) -> Result<Vec<FeedDto>> {
        let mut guard = self.feeds.lock().await;
        if guard.is_none() {
            *guard = Some(start(&demo_feeds_dir())?);
        }
        let st = guard.as_mut().ok_or(Error::Poisoned)?;
        let mut out = Vec::new();
        // The events' shapes in lon/lat, and how each is drawn.
        enum Shape {
            /// An alert's polygon.
            Area(Geometry),
            /// An alert's circle: centre (lon/lat) and radius in metres, drawn in the workspace.
            Circle(Point, f64),
            /// An event's point.
            Point(Point),
        }
        let mut shapes: Vec<Shape> = Vec::new();
        for (i, (name, feed, last_ok)) in st.feeds.iter_mut().enumerate() {
            let r = feed.poll().await;
            if !matches!(r.outcome, Outcome::Failed { .. }) {
                *last_ok = Some(jingwei_cases::now_utc());
            }
            for e in feed.store().events() {
                for a in &e.areas {
                    shapes.extend(a.polygons.iter().map(|r| {
                        let ring: Vec<Coord> = r.iter().map(|p| Coord { x: p.0, y: p.1 }).collect();
                        Shape::Area(Geometry::Polygon(Polygon::new(LineString::from(ring), vec![])))
                    }));
                    shapes.extend(
                        a.circles
                            .iter()
                            .filter(|c| c.1 > 0.0)
                            .map(|c| Shape::Circle(Point::new(c.0.0, c.0.1), c.1)),
                    );
                }
                shapes.extend(e.point.map(|p| Shape::Point(Point::new(p.0, p.1))));
            }
            out.push(FeedDto {
                index: i,
                name: name.clone(),
                url: feed.config().url.clone(),
                health: feed.health(),
                last_ok: last_ok.clone(),
                error: feed.last_error().map(str::to_string),
                events: feed
                    .store()
                    .events()
                    .map(|e| EventDto {
                        id: e.id.clone(),
                        title: e.title.clone(),
                        kind: e.kind.clone(),
                        incident_type: crate::emergency::incident_kind(&e.kind),
                        severity: e.severity.clone(),
                        time: e.time_ms.map(jingwei_feeds::time::iso8601),
                        lonlat: e.point,
                        valid: e.properties["valid"].as_bool(),
                        violations: e.cap_violations(),
                        signature: e.signature().map(|s| s.0),
                        signature_detail: e.signature().and_then(|s| s.1),
                    })
                    .collect(),
            });
        }
        drop(guard);
        // Events on the map: from lon/lat into the workspace.
        let ws_guard = self.workspace.lock()?;
        if let Some(ws) = ws_guard.as_ref() {
            let t = ws.crs.from_lonlat()?;
            let point = |p: Point| t.transform(p.x(), p.y()).ok().map(|(x, y)| Coord { x, y });
            let items = shapes
                .into_iter()
                .filter_map(|sh| match sh {
                    Shape::Area(mut g) => {
                        t.transform_geometry(&mut g).ok()?;
                        Some(("alert_area".to_string(), g))
                    }
                    Shape::Circle(c, r) => Some(("alert_area".to_string(), circle(point(c)?, r))),
                    Shape::Point(p) => Some(("event_point".to_string(), Geometry::Point(Point(point(p)?)))),
                })
                .collect();
            self.set_overlay(ws, "events", items)?;
        }
        Ok(out)
    }

    /// Open an incident from event `event_id` of feed `feed` (as [`Session::poll_feeds`]
    /// listed them).
    pub async fn incident_from_event(&self, feed: usize, event_id: &str) -> Result<Incident> {
        let input = {
            let guard = self.feeds.lock().await;
            let st = guard
                .as_ref()
                .ok_or_else(|| Error::Missing("no feeds yet: poll them first".into()))?;
            let (_, f, _) = st.feeds.get(feed).ok_or_else(|| Error::Invalid(format!("no feed {feed}")))?;
            let e = f
                .store()
                .get(event_id)
                .ok_or_else(|| Error::Invalid(format!("no event '{event_id}'")))?;
            IncidentInput::from_event(e, None)?
        };
        self.with_store(|s| create_incident(s, &input, self.actor()))
    }
}
